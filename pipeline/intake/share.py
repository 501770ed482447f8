"""Is the inbox really there? A missing inbox or an unmounted share must not look like an empty day.

When the share is not mounted, its mount point is an ordinary empty folder on the local disk: a
watcher started then would watch (or, creating the inbox, fill) the wrong disk and report nothing.
So ``watch`` and ``process`` refuse to start when

- the inbox does not exist (``--create`` makes it, for a fresh checkout: ``make run`` passes it);
- the inbox lies on a mount point listed in ``/etc/fstab`` that has nothing mounted on it (what IT
  sets up for an SMB/NFS share anyway); or
- the setting ``share_mount`` names a folder that is not a mount point (for shares mounted some other
  way: systemd units, autofs, by hand).

``--create`` never creates an inbox on an unmounted share. While watching, ``watch`` checks the same
before every scan, waits while the inbox is gone and says so, and goes on when it is back.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipeline.core.errors import InboxUnavailableError
from pipeline.core.settings import Settings

FSTAB = Path("/etc/fstab")
# fstab targets that are never a share (or always mounted).
_NOT_SHARES = frozenset({"/", "none", "swap"})


def fstab_mount_points(fstab: Path = FSTAB) -> list[Path]:
    """Mount targets listed in ``fstab`` (octal escapes such as ``\\040`` decoded)."""
    try:
        text = fstab.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    points = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[1] not in _NOT_SHARES:
            target = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
            if target.startswith("/"):
                points.append(Path(target))
    return points


def unmounted_share(inbox: Path, share_mount: Path | None, fstab: Path = FSTAB) -> Path | None:
    """The mount point the inbox depends on that has nothing mounted on it, if any."""
    where = inbox.resolve()  # an inbox reached through a link lies on the link's target
    candidates = [share_mount] if share_mount is not None else []
    candidates += [p for p in fstab_mount_points(fstab) if where == p or p in where.parents]
    for point in candidates:
        if not os.path.ismount(point):
            return point
    return None


def mount_problem(settings: Settings, fstab: Path = FSTAB) -> str | None:
    """Why the share the inbox lives on is not there (Chinese), or None."""
    mount = settings.share_mount if str(settings.share_mount) not in ("", ".") else None
    point = unmounted_share(settings.inbox, mount, fstab)
    if point is None:
        return None
    return (f"收件箱所在的共享盘没有挂载：{point} 上没有挂载任何东西（收件箱 {settings.inbox}）。"
            "请信息化人员挂载共享盘（如 mount -a），再启动 shuangsui。")


def inbox_problem(settings: Settings, fstab: Path = FSTAB) -> str | None:
    """Why the inbox cannot be used now (Chinese), or None."""
    problem = mount_problem(settings, fstab)
    if problem is not None:
        return problem
    if not settings.inbox.exists():
        return (f"收件箱 {settings.inbox} 不存在。如果它在共享盘上，请检查共享盘是否已挂载；"
                "如果确实要新建收件箱，请加 --create 重新运行。")
    if not settings.inbox.is_dir():
        return f"收件箱 {settings.inbox} 不是文件夹。请检查设置 inbox。"
    return None


def require_inbox(settings: Settings, create: bool, fstab: Path = FSTAB) -> bool:
    """Refuse (``InboxUnavailableError``) an unusable inbox; make a missing one with ``create``.
    Returns whether it was created."""
    problem = inbox_problem(settings, fstab)
    if problem is None:
        return False
    if create and not settings.inbox.exists() and mount_problem(settings, fstab) is None:
        settings.inbox.mkdir(parents=True)
        return True
    raise InboxUnavailableError(problem)
