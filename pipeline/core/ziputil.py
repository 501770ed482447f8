"""Deterministic rewriting of zip containers (docx templates, archives).

A zip written by Python's ``zipfile`` (and so by python-docx) stamps every member with the current
time, so two builds of the same content differ byte for byte. ``normalize_zip`` rewrites a zip so
that its bytes depend only on its members' names and contents: fixed 1980-01-01 timestamps, fixed
permissions, one compression method and level, and a stable member order.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

# The earliest timestamp a zip can store; used for every member.
FIXED_DATE_TIME: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)

# Members that readers expect at the start of the container, in this order.
# ``mimetype`` is the ODF/EPUB convention (stored uncompressed); ``[Content_Types].xml`` is OOXML's.
_LEADING_MEMBERS: tuple[str, ...] = ("mimetype", "[Content_Types].xml")

_FILE_MODE = 0o100644  # regular file, rw-r--r--
_DIR_MODE = 0o040755  # directory, rwxr-xr-x
_COMPRESS_LEVEL = 9


def _member_order(name: str) -> tuple[int, str]:
    """Sort key: the leading members first, then everything else by name."""
    if name in _LEADING_MEMBERS:
        return (_LEADING_MEMBERS.index(name), "")
    return (len(_LEADING_MEMBERS), name)


def normalize_zip(path: Path, transform: Callable[[str, bytes], bytes] | None = None) -> None:
    """Rewrite the zip at ``path`` in place so that equal contents give equal bytes.

    Every member gets the timestamp 1980-01-01 00:00:00, Unix permissions 0644 (0755 for
    directories), deflate compression at level 9 (``mimetype`` is stored), no comments and no extra
    fields. Members are ordered ``mimetype``, ``[Content_Types].xml``, then by name. The file is
    replaced atomically. ``transform(name, data)`` may rewrite a member's bytes on the way
    (for example a save-time timestamp inside ``docProps/core.xml``).
    """
    with zipfile.ZipFile(path) as src:
        members = [(info.filename, info.is_dir(), src.read(info)) for info in src.infolist()]
    if transform is not None:
        members = [(name, is_dir, data if is_dir else transform(name, data)) for name, is_dir, data in members]
    members.sort(key=lambda m: _member_order(m[0]))

    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp_path = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as dst:
            for name, is_dir, data in members:
                info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
                info.create_system = 3  # Unix, so that external_attr means permissions
                info.external_attr = (_DIR_MODE if is_dir else _FILE_MODE) << 16
                if is_dir:
                    info.external_attr |= 0x10  # MS-DOS directory flag
                stored = is_dir or name == "mimetype"
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                dst.writestr(info, data, compresslevel=None if stored else _COMPRESS_LEVEL)
        tmp_path.chmod(path.stat().st_mode & 0o777)
        tmp_path.replace(path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
