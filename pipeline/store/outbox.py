"""Writing into the shared outbox: safe file names, and files that appear whole or not at all."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
from pathlib import Path

from pipeline.core.errors import OutputError

# User-facing folder names inside the outbox (stable: staff and other sections rely on them).
PUBLIC_FORMS = "公示表"
RETURNED = "退回"
WAITING = "待补充"
UNMATCHED = "待匹配"          # scans that match no case yet
GENERAL_OFFICE = "综合科"     # handoff bundles (第十三条、第十五条)
PUBLICITY = "双公示"          # 行政处罚 export for the 双公示 system
WEBSITE = "网站公示"          # 公示表 PDFs and the static listing page
ARCHIVE = "归档"              # BagIt packages per case
PRINT = "打印"                # forms regenerated for printing, one folder per case
RECEIPTS = "回执"             # one line per dropped file, one file per day

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
MAX_NAME = 120


def safe_filename(name: str) -> str:
    """A name Windows, macOS and Linux shares all accept; Chinese text is kept."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip().strip(".")
    name = re.sub(r"\s+", " ", name)
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME]
    return name or "未命名"


def unique_path(path: Path) -> Path:
    """``path`` itself, or ``name (2).ext`` … when it is taken."""
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def publish(src: Path, dest: Path) -> str:
    """Copy ``src`` to ``dest`` through a hidden partial file and an atomic rename; returns its sha256."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.part")
        shutil.copyfile(src, partial)
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
            digest = hashlib.sha256(fh.read()).hexdigest()
        partial.replace(dest)
    except OSError as exc:
        raise OutputError(f"无法写出 {dest}：{exc}。请检查发件箱目录的权限和磁盘空间。") from exc
    return digest
