"""A font face's tables as the direct PDF writer uses them, kept between processes.

Opening the Noto CJK faces with fontTools (the character map, the advances, the ``locl`` variants, the
CFF charstrings a glyph is converted from) costs about a second per process: a ``shuangsui process``
run paid it every time, and a batch of 100 公示表 spent a tenth of its time on it. What that work
yields is small and plain (numbers, names and glyph bytes), so it is written once with ``marshal`` to
a per-user folder of the temporary directory and read back in milliseconds.

The cache is only a cache: keyed by the font file's path, face index, size and modification time
and by ``CACHE_VERSION``, and checked when read. A missing, stale, foreign or unreadable file is
ignored and the face is read from the font again. Files are replaced whole (a temporary name, then a
rename), so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

CACHE_VERSION = 1
MAX_CACHE_BYTES = 64 * 1024 * 1024  # a face's cache is a few MB; anything larger is not ours


def cache_dir() -> Path | None:
    """This user's cache folder (created mode 0700), or None where it cannot be trusted or made."""
    folder = Path(tempfile.gettempdir()) / f"shuangsui-fontcache-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        st = folder.lstat()
    except OSError:
        return None
    # Another user's folder, or a link planted in a shared /tmp, is not read from or written to.
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return folder


def _file_for(font: Path, index: int) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(f"{font.resolve()}\0{index}".encode()).hexdigest()[:24]
    return folder / f"{digest}.marshal"


def stamp_of(font: Path) -> tuple[int, int]:
    st = font.stat()
    return st.st_size, st.st_mtime_ns


def load(font: Path, index: int, stamp: tuple[int, int]) -> dict[str, Any] | None:
    """The cached tables of face ``index`` of ``font`` if they were made from this very file."""
    target = _file_for(font, index)
    if target is None:
        return None
    try:
        with target.open("rb") as fh:
            raw = fh.read(MAX_CACHE_BYTES + 1)
        if len(raw) > MAX_CACHE_BYTES:
            return None
        data = marshal.loads(raw)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    key = (CACHE_VERSION, str(font.resolve()), index, tuple(stamp))
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    return data


def save(font: Path, index: int, stamp: tuple[int, int], data: dict[str, Any]) -> None:
    """Write the tables (best effort: a cache that cannot be written is read from the font next time)."""
    target = _file_for(font, index)
    if target is None:
        return
    payload = marshal.dumps({**data, "key": (CACHE_VERSION, str(font.resolve()), index, tuple(stamp))})
    if len(payload) > MAX_CACHE_BYTES:
        return
    tmp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        tmp = Path(name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        tmp.replace(target)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
