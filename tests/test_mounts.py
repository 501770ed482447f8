"""``watch_mode = "auto"``: the inbox's file system type, read from the mount table, decides between
native file events and polling (issue 14: nothing relies on inotify across machines)."""

from __future__ import annotations

import dataclasses
import subprocess
import threading
from pathlib import Path

import pytest
from watchdog.observers.polling import PollingObserver

from pipeline.cli.doctor import run_checks
from pipeline.core.errors import ConfigError
from pipeline.core.settings import Settings, load_settings
from pipeline.intake.mounts import inbox_filesystem, mount_of, parse_mountinfo, watch_method
from pipeline.intake.watch import observer_for

# A real /proc/self/mountinfo of a worker with its shares mounted (a space in one mount point).
MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683784k
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
30 27 0:40 / /srv/share rw,relatime shared:30 - cifs //fileserver/shuangsui rw,vers=3.0,cache=strict,uid=998
31 30 0:41 / /srv/share/归档 rw,relatime - ext4 /dev/vdb rw
32 27 0:42 / /mnt/nfs rw,relatime shared:31 - nfs4 nas:/export/in rw,vers=4.2,rsize=1048576
33 27 0:43 / /mnt/ssh rw,nosuid,nodev,relatime - fuse.sshfs user@host:/in rw,user_id=0,group_id=0
34 27 0:44 / /mnt/vm rw,relatime - 9p hostshare rw,trans=virtio
35 27 0:45 / /mnt/smb\040共享 rw,relatime - smb3 //nas/共享 rw
36 27 0:46 / /var/lib/docker/overlay2/x/merged rw,relatime - overlay overlay rw,lowerdir=/a
37 27 0:47 / /mnt/old rw,relatime - nfs old:/x rw
38 37 0:48 / /mnt/old rw,relatime - ext4 /dev/vdc rw
"""


def _settings(tmp_path: Path, inbox: str, mode: str = "auto") -> Settings:
    return load_settings(env={}, inbox=Path(inbox), outbox=tmp_path / "outbox", data_dir=tmp_path / "var",
                         watch_mode=mode)


@pytest.mark.parametrize(("inbox", "fstype", "mode"), [
    ("/srv/share/收件箱", "cifs", "polling"),
    ("/srv/share/归档/收件箱", "ext4", "native"),  # a local disk mounted inside the share
    ("/srv/share", "cifs", "polling"),
    ("/srv/shared/收件箱", "ext4", "native"),  # not under /srv/share: a name prefix is not a folder
    ("/mnt/nfs/in", "nfs4", "polling"),
    ("/mnt/ssh/in", "fuse.sshfs", "polling"),
    ("/mnt/vm/in", "9p", "polling"),
    ("/mnt/smb 共享/收件箱", "smb3", "polling"),
    ("/var/lib/docker/overlay2/x/merged/inbox", "overlay", "native"),
    ("/dev/shm/inbox", "tmpfs", "native"),
    ("/mnt/old/inbox", "ext4", "native"),  # mounted over an nfs mount: the last one counts
    ("/home/staff/inbox", "ext4", "native"),
])
def test_the_inbox_mount_decides_polling_or_native(tmp_path: Path, inbox: str, fstype: str, mode: str) -> None:
    table = tmp_path / "mountinfo"
    table.write_text(MOUNTINFO, encoding="utf-8")
    method = watch_method(_settings(tmp_path, inbox), table)
    assert (method.fstype, method.mode) == (fstype, mode)
    assert fstype in method.reason
    # An explicit setting wins over the file system.
    assert watch_method(_settings(tmp_path, inbox, "native"), table).mode == "native"
    assert watch_method(_settings(tmp_path, inbox, "polling"), table).mode == "polling"


def test_mountinfo_fields_are_parsed_with_escapes() -> None:
    mounts = parse_mountinfo(MOUNTINFO + "garbage line\n")
    assert len(mounts) == 12
    smb = mount_of(Path("/mnt/smb 共享/a/b"), mounts)
    assert smb is not None and (smb.point, smb.fstype, smb.source) == (Path("/mnt/smb 共享"), "smb3", "//nas/共享")
    assert mount_of(Path("/proc/1"), mounts) == mounts[0]


def _findmnt(path: Path) -> str:
    return subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--target", str(path)], capture_output=True, text=True,
                          check=True).stdout.split()[-1]  # the last of stacked mounts


def test_the_real_inbox_is_on_a_local_file_system_and_watched_natively(settings: Settings) -> None:
    fstype = inbox_filesystem(settings.inbox)
    assert fstype == _findmnt(settings.inbox)  # util-linux reads the same table its own way
    assert fstype in ("ext4", "xfs", "btrfs", "tmpfs", "overlay")
    assert settings.watch_mode == "auto"  # the default
    method = watch_method(settings)
    assert (method.mode, method.fstype) == ("native", fstype)
    shm = Path("/dev/shm")
    assert inbox_filesystem(shm / "no-such-inbox" / "收件箱") == _findmnt(shm) == "tmpfs"
    observer = observer_for(settings, threading.Event())
    assert not isinstance(observer, PollingObserver)
    polling = observer_for(dataclasses.replace(settings, watch_mode="polling"), threading.Event())
    assert isinstance(polling, PollingObserver)
    [doctor] = [c for c in run_checks(settings) if c.name == "收件箱监视方式"]
    assert doctor.ok and "使用系统文件事件" in doctor.detail and fstype in doctor.detail


def test_an_unknown_watch_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="auto、native 或 polling"):
        _settings(tmp_path, "/srv/in", "inotify")
