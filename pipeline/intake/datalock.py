"""One writer per data folder: ``watch`` and ``process`` hold an exclusive lock on ``<data>/shuangsui.lock``.

The lock is a POSIX record lock (``fcntl.lockf``) on an open descriptor, so the kernel releases it when
the process ends in any way (kill -9 included): there is no stale lock to clean up. Unlike ``flock``, it
belongs to the process, not to the descriptor, so the analysis worker (a fork, ``intake.worker``) does not
keep it alive after its parent died. The file itself stays; it only says
who held the lock last (pid, host, command, start time), for the message a second program prints.
With a shared PostgreSQL database (``Settings.shared_store``) several workers may run on one data
folder: the claims of ``intake.claims`` replace this lock, and ``data_folder_lock`` only makes the folder.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.core.errors import DataFolderBusyError, StoreError
from pipeline.store.sql import now_iso

LOCK_NAME = "shuangsui.lock"


def lock_path(data_dir: Path) -> Path:
    return data_dir / LOCK_NAME


@contextmanager
def data_folder_lock(data_dir: Path, command: str, shared: bool = False) -> Iterator[Path]:
    """Hold the data folder for this process; ``DataFolderBusyError`` when another process holds it.

    ``shared``: several workers share the database and this folder, nothing to hold."""
    path = lock_path(data_dir)
    if shared:
        data_dir.mkdir(parents=True, exist_ok=True)
        yield path
        return
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        raise StoreError(f"无法在数据目录中建立锁文件 {path}：{exc}。请检查数据目录的权限。") from exc
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read(fd)
            raise DataFolderBusyError(
                f"数据目录 {data_dir.resolve()} 正由另一个 shuangsui 程序使用（{holder or '进程信息不详'}）。"
                "同一个数据目录同时只能运行一个 watch 或 process。请先停止正在运行的那个"
                "（在它的窗口按 Ctrl-C），或给这次运行另指一个数据目录（--data）。") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"进程 {os.getpid()}，主机 {socket.gethostname()}，命令 {command}，开始于 {now_iso()}\n"
                  .encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode("utf-8", errors="replace").strip()
    except OSError:
        return ""


def command_line() -> str:
    return " ".join(["shuangsui", *sys.argv[1:]])
