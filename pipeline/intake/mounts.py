"""How ``watch`` learns of new files: native file events, or polling on a network file system.

inotify only reports what this machine's kernel writes. On an SMB or NFS share another computer's
writes raise no event here, so with ``watch_mode = "auto"`` (the default) the watcher reads the type
of the file system the inbox lies on from ``/proc/self/mountinfo`` and polls on a network type
(``NETWORK_TYPES``); native events otherwise. The loop rescans the inbox every ``poll_seconds`` in
either mode, so a wrong guess costs latency, never a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.settings import Settings

MOUNTINFO = Path("/proc/self/mountinfo")

# File systems whose writes by other machines raise no local event (fuse: only network ones).
NETWORK_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "smb2", "9p", "afs", "ceph", "glusterfs", "lustre", "gpfs",
    "ocfs2", "gfs2", "ncpfs", "coda", "davfs", "virtiofs", "vboxsf", "vmhgfs", "beegfs", "orangefs",
    "fuse.sshfs", "sshfs", "fuse.glusterfs", "fuse.cephfs", "fuse.s3fs", "fuse.rclone", "fuse.davfs2",
    "fuse.vmhgfs-fuse", "fuse.gcsfuse", "fuse.juicefs", "fuse.smbnetfs", "fuse.curlftpfs",
})


@dataclass(frozen=True)
class Mount:
    point: Path
    fstype: str
    source: str


@dataclass(frozen=True)
class WatchMethod:
    mode: str  # "native" or "polling"
    fstype: str  # the inbox's file system type; "" when not known
    reason: str  # Chinese, for the log, ``watch``'s first line and ``doctor``

    @property
    def label(self) -> str:
        return "轮询" if self.mode == "polling" else "系统文件事件"


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash in paths as octal escapes (\040 …).
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts of a ``/proc/<pid>/mountinfo`` text, in mount order.

    A line: ``id parent major:minor root mount-point options [optional fields…] - fstype source super-options``."""
    mounts = []
    for line in text.splitlines():
        before, sep, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if sep and len(fields) >= 5 and tail:
            mounts.append(Mount(Path(_unescape(fields[4])), tail[0], _unescape(tail[1]) if len(tail) > 1 else ""))
    return mounts


def mount_of(path: Path, mounts: list[Mount]) -> Mount | None:
    """The mount ``path`` lies on: the deepest mount point above it, the last one mounted there."""
    best: Mount | None = None
    for mount in mounts:
        if (path == mount.point or mount.point in path.parents) \
                and (best is None or len(mount.point.parts) >= len(best.point.parts)):
            best = mount
    return best


def _resolved(path: Path) -> Path:
    # Links followed as far as the path exists: the inbox may not exist yet (--create makes it).
    path, missing = path.absolute(), []
    while not path.exists() and path != path.parent:
        missing.append(path.name)
        path = path.parent
    return path.resolve().joinpath(*reversed(missing))


def inbox_filesystem(inbox: Path, mountinfo: Path = MOUNTINFO) -> str:
    """The file system type of the inbox's mount ("" when the mount table cannot be read)."""
    try:
        mounts = parse_mountinfo(mountinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return ""
    mount = mount_of(_resolved(inbox), mounts)
    return mount.fstype if mount else ""


def is_network(fstype: str) -> bool:
    return fstype in NETWORK_TYPES


def watch_method(settings: Settings, mountinfo: Path = MOUNTINFO) -> WatchMethod:
    """What ``watch`` uses for ``settings.inbox`` now (``auto``: by the file system type)."""
    fstype = inbox_filesystem(settings.inbox, mountinfo)
    shown = fstype or "未知"
    if settings.watch_mode != "auto":
        label = "轮询" if settings.watch_mode == "polling" else "系统文件事件"
        return WatchMethod(settings.watch_mode, fstype,
                           f"按设置项 watch_mode = {settings.watch_mode} 使用{label}（收件箱在 {shown} 文件系统上）")
    if is_network(fstype):
        return WatchMethod("polling", fstype, f"收件箱在网络文件系统 {fstype} 上，看不到其他机器写入的文件事件，改为轮询")
    return WatchMethod("native", fstype, f"收件箱在本机文件系统 {shown} 上，使用系统文件事件")
