"""Whether a dropped Word or Excel file is provably whole, so it need not wait out ``settle_seconds``.

A file is normally taken once its size and mtime have stood still for ``settle_seconds``: nothing
else tells a finished copy from one that paused. A .docx or .xlsx can tell: it is a zip whose last
bytes (the end record) say where its directory starts and how long it is, and whose every part
carries a CRC-32 of its content. A copy still under way has no end record at its end (it is written
last), or, for a copy that set the final size first and fills it out of order (SMB writes in
flight), parts whose bytes do not match their CRC. So a file that

- starts with a local header at byte 0, and ends exactly with its end record (no ZIP64, no
  bytes after the comment);
- has its directory exactly before the end record, and every part's header before the directory;
- has every part read back whole with a matching CRC (at most ``MAX_WHOLE_PARTS`` parts and
  ``MAX_WHOLE_BYTES`` declared in all, so that checking costs milliseconds, not a zip bomb's worth: it
  runs in the watching process, before the isolated analysis worker sees the file);
- and has the same size and mtime after all that as before,

is taken now. Anything else (a PDF, a scan, a .doc, a large workbook, a zip that fails one test)
waits the settle time as before, and ``process.commit`` still checks that the inbox file is the one
copied before removing it.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from pipeline.core.limits import end_record

MAX_WHOLE_BYTES = 32 * 1024 * 1024  # declared content of all parts; a check table is a few hundred KB
MAX_WHOLE_FILE_BYTES = 16 * 1024 * 1024  # the file itself
MAX_WHOLE_PARTS = 1_000  # a .docx has about 20 parts
MAX_WHOLE_DIRECTORY_BYTES = 256 * 1024  # its directory a few KB
_EOCD_SIZE = 22  # the end record without its comment
_OFFICE_SUFFIXES = (".docx", ".xlsx", ".docm", ".xlsm", ".wps", ".et")  # WPS saves zips under its own names too


def _snapshot(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def provably_whole(path: Path) -> bool:
    """True when ``path`` is a complete, self-consistent zip (see the module docstring); never raises."""
    if path.suffix.lower() not in _OFFICE_SUFFIXES:
        return False
    before = _snapshot(path)
    if before is None or not _EOCD_SIZE < before[0] <= MAX_WHOLE_FILE_BYTES:
        return False
    try:
        whole = _zip_is_whole(path, before[0])
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, RuntimeError, struct.error,
            zlib.error):
        return False
    return whole and _snapshot(path) == before


def _zip_is_whole(path: Path, size: int) -> bool:
    with path.open("rb") as fh:
        found = end_record(fh, size) if fh.read(4) == b"PK\x03\x04" else None
    if found is None:
        return False
    _sig, disk, cd_disk, on_disk, total, cd_size, cd_offset, comment = found.fields
    eocd_at = found.at
    if (disk, cd_disk) != (0, 0) or on_disk != total or 0xFFFF in (on_disk, total) or 0xFFFFFFFF in (cd_size, cd_offset):
        return False  # split archives and ZIP64: not worth proving, they wait
    if eocd_at + _EOCD_SIZE + comment != size or cd_offset + cd_size != eocd_at:
        return False
    if total > MAX_WHOLE_PARTS or cd_size > MAX_WHOLE_DIRECTORY_BYTES:
        return False  # zipfile would build an entry per record of a directory this large, in this process
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if not infos or len(infos) != total or sum(i.file_size for i in infos) > MAX_WHOLE_BYTES:
            return False
        if min(i.header_offset for i in infos) != 0 or max(i.header_offset for i in infos) >= cd_offset:
            return False  # bytes before the first part: this end record is not the file's own
        for info in infos:
            with zf.open(info) as part:  # zipfile raises BadZipFile when the CRC does not match at the end
                while part.read(1 << 20):
                    pass
    return True
