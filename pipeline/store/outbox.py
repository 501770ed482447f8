"""Writing into the shared outbox: safe file names, and files that appear whole or not at all."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
from pathlib import Path

from pipeline.core.errors import OutputError
from pipeline.core.names import MAX_NAME_BYTES, name_hash, portable_name, utf8_len

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
# A stem from safe_filename gets an extension or a suffix such as "-SS-2026-00001.说明.txt" appended.
MAX_STEM_BYTES = 150


def safe_filename(name: str) -> str:
    """A name Windows, macOS and Linux shares all accept; Chinese text is kept."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip().strip(".")
    name = re.sub(r"\s+", " ", name)
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME]
    if utf8_len(name) > MAX_STEM_BYTES or (name and portable_name(name) != name):
        # Too long in bytes (120 Chinese characters are 360) or a reserved device name (CON, NUL …).
        name = portable_name(name, MAX_STEM_BYTES)
    return name or "未命名"


def unique_path(path: Path) -> Path:
    """``path`` itself, or ``name (2).ext`` … when it is taken."""
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        if utf8_len(candidate.name) > MAX_NAME_BYTES:
            candidate = path.with_name(portable_name(f"{path.stem} ({n}){path.suffix}", utf8_len(path.name)))
        if not candidate.exists():
            return candidate
        n += 1


def publish(src: Path, dest: Path) -> str:
    """Copy ``src`` to ``dest`` through a hidden partial file and an atomic rename; returns its sha256.

    The partial file is written in ``dest``'s own folder, so the rename never crosses file systems
    (the job folder may be on a local disk and the outbox on a share: a rename between them would be
    a copy that readers can see half done). The data is on disk before the rename (fsync), and the
    rename is on disk before this returns (the folder's fsync, where the file system has one)."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(_partial_name(dest.name))
        digest = hashlib.sha256()
        with src.open("rb") as source, partial.open("wb") as target:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                target.write(chunk)
            target.flush()
            os.fsync(target.fileno())
        partial.replace(dest)
        sync_folder(dest.parent)
    except OSError as exc:
        raise OutputError(f"无法写出 {dest}：{exc}。请检查发件箱目录的权限和磁盘空间。") from exc
    return digest.hexdigest()


def publish_folder(src: Path, dest: Path) -> None:
    """Put a copy of the folder ``src`` at ``dest`` in one rename (an old folder there is replaced whole).

    The copy is made in a hidden folder beside ``dest`` (same file system, as for ``publish``) and its
    files are on disk before the rename; the old folder is renamed away first and removed after."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.with_name(_partial_name(dest.name))
        old = dest.with_name(f".{dest.name}.old")
        for leftover in (staging, old):
            shutil.rmtree(leftover, ignore_errors=True)
        shutil.copytree(src, staging)
        for path in sorted(staging.rglob("*"), reverse=True):  # files, then their folders
            if path.is_file():
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
            else:
                sync_folder(path)
        sync_folder(staging)
        if dest.exists():
            dest.rename(old)
        staging.replace(dest)
        sync_folder(dest.parent)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise OutputError(f"无法写出 {dest}：{exc}。请检查发件箱目录的权限和磁盘空间，并关闭打开其中文件的程序。") from exc


def sync_folder(folder: Path) -> None:
    """Make the names in ``folder`` durable (a rename into it). SMB and some NFS setups cannot fsync a
    folder; the server then orders the rename itself, so that is not an error."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _partial_name(name: str) -> str:
    """The hidden temporary name next to ``name``; never longer than a name may be (ENAMETOOLONG)."""
    partial = f".{name}.part"
    return partial if utf8_len(partial) <= MAX_NAME_BYTES else f".{name_hash(name)}-{os.getpid()}.part"
