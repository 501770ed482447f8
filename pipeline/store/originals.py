"""The content-addressed originals store: every received file, kept by SHA-256, never modified."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pipeline.core.errors import InputFileError, StoreError

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read(src: BinaryIO) -> bytes:
    try:
        return src.read(CHUNK)
    except OSError as exc:
        raise InputFileError(f"读取文件时出错：{exc.strerror or exc}。请重新放入收件箱。", code="FILE_UNREADABLE") from exc


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    path: Path


class OriginalsStore:
    """``root/ab/cd/<sha256>``: written once through a temporary file, fsynced, then read-only."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, source: Path) -> Stored:
        """Copy ``source`` in while hashing it; the source is left untouched."""
        try:
            with source.open("rb") as src:
                return self.put_stream(src)
        except FileNotFoundError as exc:
            raise InputFileError("文件在读取时被移走了。请重新放入收件箱。", code="FILE_UNREADABLE") from exc
        except PermissionError as exc:
            raise InputFileError("没有读取该文件的权限。请检查共享目录的权限后重新放入。",
                                 code="FILE_UNREADABLE") from exc

    def put_stream(self, src: BinaryIO) -> Stored:
        """Copy an open file in while hashing it: the digest is of the bytes copied, whatever the
        file's name points to by now."""
        self.root.mkdir(parents=True, exist_ok=True)
        # The host too: on a shared data folder a pid says nothing about another machine's copies.
        tmp = self.root / f".incoming-{os.getpid()}-{id(src)}@{socket.gethostname()}"
        digest = hashlib.sha256()
        size = 0
        try:
            with tmp.open("wb") as dst:
                while chunk := _read(src):
                    digest.update(chunk)
                    size += len(chunk)
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
        except InputFileError:
            tmp.unlink(missing_ok=True)
            raise
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"无法写入原件库 {self.root}：{exc}。请检查磁盘空间和权限。") from exc
        sha = digest.hexdigest()
        final = self.path_for(sha)
        if final.exists():
            tmp.unlink()
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp.chmod(stat.S_IRUSR | stat.S_IRGRP)
            tmp.replace(final)
        return Stored(sha, size, final)

    def verify(self, sha256: str) -> bool:
        path = self.path_for(sha256)
        return path.exists() and sha256_file(path) == sha256
