"""What ``fonts.Face`` learns about a font file, kept on disk between processes.

Opening Noto Sans CJK with fontTools (its 65,000-entry character map, its advances, its CFF index)
costs one to three seconds, and converting a CFF outline for embedding a fraction of a millisecond
per glyph; every ``shuangsui process`` would pay both again. The metrics are kept as JSON and each
converted outline as a line appended to a second file, in a folder of the user's own under the
system temp folder (like the LibreOffice profiles), named by the font file's path, face, size and
modification time: a replaced font file is read afresh. Only data is stored (no pickle); a damaged
line or file is ignored and recomputed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

_VERSION = 1  # of what is stored; bump when fonts.py changes what it computes


def default_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"shuangsui-fonts-{os.getuid()}"


class FontCache:
    """The cache files of face ``index`` of ``path`` in ``folder`` (None: no cache at all)."""

    def __init__(self, path: Path, index: int, folder: Path | None) -> None:
        self.metrics_file: Path | None = None
        self.outlines_file: Path | None = None
        if folder is None:
            return
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if folder.stat().st_uid != os.getuid():
                return  # someone else's folder: never read what another user could have written
            st = path.stat()
        except OSError:
            return
        key = hashlib.sha256(f"{_VERSION}|{path.resolve()}|{index}|{st.st_size}|{st.st_mtime_ns}".encode())
        stem = folder / key.hexdigest()[:32]
        self.metrics_file, self.outlines_file = stem.with_suffix(".json"), stem.with_suffix(".glyphs")

    def metrics(self) -> dict[str, Any] | None:
        if self.metrics_file is None:
            return None
        try:
            data = json.loads(self.metrics_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("version") == _VERSION else None

    def save_metrics(self, data: dict[str, Any]) -> None:
        if self.metrics_file is None:
            return
        partial = self.metrics_file.with_name(f".{self.metrics_file.name}.{os.getpid()}.part")
        with contextlib.suppress(OSError):
            partial.write_text(json.dumps({**data, "version": _VERSION}), encoding="utf-8")
            partial.replace(self.metrics_file)

    def outlines(self) -> dict[str, tuple[bytes, int]]:
        """Glyph name → (glyf bytes, left side bearing), as appended by ``add_outline``."""
        out: dict[str, tuple[bytes, int]] = {}
        if self.outlines_file is None:
            return out
        try:
            lines = self.outlines_file.read_text(encoding="ascii").splitlines()
        except (OSError, ValueError):
            return out
        for line in lines:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                item = json.loads(line)
                out[str(item["n"])] = (base64.b64decode(item["d"], validate=True), int(item["l"]))
        return out

    def add_outline(self, name: str, data: bytes, lsb: int) -> None:
        if self.outlines_file is None:
            return
        line = json.dumps({"n": name, "d": base64.b64encode(data).decode("ascii"), "l": lsb}) + "\n"
        with contextlib.suppress(OSError), self.outlines_file.open("a", encoding="ascii") as fh:
            fh.write(line)  # one write of a whole line: processes appending at once do not interleave
