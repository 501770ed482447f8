"""What is really in the inbox, and opening one of its files without being fooled.

A share holds more than finished regular files: placeholders that are filled later, files still
growing, files replaced while we read them, symbolic links (possibly pointing out of the inbox),
FIFOs, device nodes, folders named like files, files we may not read. ``survey`` sorts them without
following any link; ``open_inbox_file`` opens one without following a link and without blocking on a
FIFO swapped in since, and ``InboxFile.finish`` says whether what we copied is what is still there.
Nothing here moves or deletes anything: an entry we do not take stays where it is.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pipeline.core.codes import FileStatus, FindingCode

# Deeper than any folder tree staff make; a link loop cannot happen (links are not followed) but a
# runaway tree on the share should not make one pass endless.
MAX_DEPTH = 64


@dataclass(frozen=True)
class Skipped:
    """An inbox entry that is not processed: why, in Chinese, and the status and code it is reported with."""

    path: Path
    code: FindingCode
    message: str
    status: FileStatus = FileStatus.ignored


@dataclass
class Survey:
    candidates: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _not_regular(path: Path, what: str) -> Skipped:
    return Skipped(path, FindingCode.file_not_regular,
                   f"这是{what}，不是普通文件，系统不处理它，也不会移动或删除它。请把文件本身（而不是{what}）放入收件箱。")


def _no_permission(path: Path) -> Skipped:
    return Skipped(path, FindingCode.file_no_permission,
                   "系统没有读取该文件的权限，文件仍留在收件箱中。请信息化人员检查共享目录的权限；"
                   "权限改好后会自动处理，不需要重新放入。")


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in Chinese; None for a regular file or a folder."""
    if stat.S_ISLNK(mode):
        return "符号链接（快捷方式）"
    if stat.S_ISFIFO(mode):
        return "管道文件（FIFO）"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备文件"
    if stat.S_ISSOCK(mode):
        return "套接字文件"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return "特殊文件"


def survey(inbox: Path, ignored_name: Callable[[Path], bool]) -> Survey:
    """Every entry below ``inbox``, links never followed, sorted by path; hidden folders are skipped.

    ``ignored_name``: lock and temporary files, listed as ignored (regular files only)."""
    result = Survey()
    if not inbox.is_dir():
        return result
    stack: list[tuple[Path, int]] = [(inbox, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except FileNotFoundError:
            continue
        except PermissionError:
            if folder != inbox:
                result.skipped.append(Skipped(folder, FindingCode.file_no_permission,
                                              "系统没有读取该文件夹的权限，其中的文件暂不处理。请信息化人员检查共享目录的权限。"))
            continue
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue  # gone since the listing
            if stat.S_ISDIR(mode):
                # A folder named "x.docx" is a folder like any other: its files are taken.
                if not entry.name.startswith(".") and depth + 1 < MAX_DEPTH:
                    stack.append((path, depth + 1))
                continue
            if ignored_name(path):
                if stat.S_ISREG(mode):
                    result.ignored.append(path)
                continue
            what = kind_of(mode)
            if what is not None:
                result.skipped.append(_not_regular(path, what))
            elif not os.access(path, os.R_OK):
                result.skipped.append(_no_permission(path))
            else:
                result.candidates.append(path)
    result.candidates.sort(key=str)
    result.ignored.sort(key=str)
    result.skipped.sort(key=lambda s: str(s.path))
    return result


class NotTaken(Exception):
    """The file cannot be taken now: it stays in the inbox, and the pass reports ``skipped``."""

    def __init__(self, skipped: Skipped) -> None:
        super().__init__(skipped.message)
        self.skipped = skipped


def still_writing(path: Path) -> NotTaken:
    return NotTaken(Skipped(path, FindingCode.file_busy, "文件仍在写入（大小或修改时间在读取时发生了变化），"
                                                         "文件留在收件箱中，写完后自动处理。", FileStatus.busy))


@dataclass
class InboxFile:
    path: Path
    fh: BinaryIO
    before: os.stat_result

    def finish(self, copied: int) -> os.stat_result:
        """The file's state as copied; ``NotTaken`` when it changed while it was read."""
        after = os.fstat(self.fh.fileno())
        if (after.st_size, after.st_mtime_ns) != (self.before.st_size, self.before.st_mtime_ns) \
                or copied != after.st_size:
            raise still_writing(self.path)
        return after


@contextmanager
def open_inbox_file(path: Path) -> Iterator[InboxFile]:
    """Open a regular inbox file for reading: never through a link, never blocking on a FIFO."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotTaken(Skipped(path, FindingCode.file_busy, "文件在读取前被移走或改名了。", FileStatus.busy)) from None
    except PermissionError:
        raise NotTaken(_no_permission(path)) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link put in its place since the survey
            raise NotTaken(_not_regular(path, "符号链接（快捷方式）")) from None
        # A share hiccup (EIO, ESTALE …) must not end the pass: the file is tried again later.
        raise NotTaken(Skipped(path, FindingCode.file_busy, f"文件暂时无法打开（{exc.strerror or exc}），稍后自动重试。",
                               FileStatus.busy)) from None
    try:
        before = os.fstat(fd)
        what = kind_of(before.st_mode)
        if what is not None or not stat.S_ISREG(before.st_mode):
            raise NotTaken(_not_regular(path, what or "文件夹"))
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield InboxFile(path, fh, before)


def unchanged_since(path: Path, copied: os.stat_result) -> bool:
    """Whether ``path`` is still the very file we copied (same inode, size and mtime)."""
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns) == \
        (copied.st_dev, copied.st_ino, copied.st_size, copied.st_mtime_ns)
