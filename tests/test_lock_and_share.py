"""One writer per data folder, and an inbox on a share that may be missing, unmounted, or come and go."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.core.codes import FileStatus
from pipeline.core.errors import ExitCode
from pipeline.core.settings import Settings
from pipeline.intake.share import fstab_mount_points, unmounted_share
from pipeline.store import open_store
from tests.conftest import Samples, cli_env, run_cli

pytestmark = pytest.mark.slow


def start_watch(settings: Settings, log: Path, *args: str, **env: str) -> subprocess.Popen[Any]:
    with log.open("w") as err:
        return subprocess.Popen([sys.executable, "-m", "pipeline", "watch", *args], env=cli_env(settings) | env,
                                cwd=settings.data_dir.parent, stdout=subprocess.DEVNULL, stderr=err)


def wait_for_text(log: Path, text: str, proc: subprocess.Popen[Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(encoding="utf-8", errors="replace"):
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def stop(proc: subprocess.Popen[Any]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def test_a_second_writer_is_refused_until_the_first_one_dies(settings: Settings, samples: Samples,
                                                             tmp_path: Path) -> None:
    first = start_watch(settings, tmp_path / "first.log")
    try:
        wait_for_text(tmp_path / "first.log", "正在监视", first)
        samples.check_table("检查表.docx")
        refused = run_cli(settings, "process", "--json")
        assert refused.returncode == ExitCode.data_folder_busy == 10, refused.stderr
        assert "正由另一个 shuangsui 程序使用" in refused.stderr and f"进程 {first.pid}" in refused.stderr
        # The JSON object all the same, saying why (contracts.md): no file was touched.
        result = json.loads(refused.stdout)
        assert result["files"] == [] and result["error"]["exit_code"] == 10
        assert result["error"]["type"] == "DataFolderBusyError" and f"进程 {first.pid}" in result["error"]["message"]
        second = run_cli(settings, "watch")
        assert second.returncode == 10 and "同一个数据目录同时只能运行一个" in second.stderr
        first.kill()  # kill -9: the kernel releases the lock, no stale lock file to remove
        first.wait(timeout=30)
        done = run_cli(settings, "process", "--json")
        assert done.returncode == 0, done.stderr
    finally:
        stop(first)
    assert (settings.data_dir / "shuangsui.lock").exists()


def test_watch_refuses_a_missing_inbox_unless_told_to_create_it(settings: Settings, tmp_path: Path) -> None:
    settings.inbox.rmdir()
    for command in ("watch", "process"):
        proc = run_cli(settings, command)
        assert proc.returncode == ExitCode.inbox_unavailable == 11, proc.stderr
        assert "不存在" in proc.stderr and "--create" in proc.stderr
        assert not settings.inbox.exists()
    log = tmp_path / "watch.log"
    proc = start_watch(settings, log, "--create")
    try:
        wait_for_text(log, "正在监视", proc)
        assert "已新建收件箱" in log.read_text(encoding="utf-8")
        assert settings.inbox.is_dir()
    finally:
        assert stop(proc) == 0


def test_an_unmounted_share_is_refused_even_with_create(settings: Settings, tmp_path: Path) -> None:
    share = tmp_path / "share"  # a plain folder: what an unmounted mount point looks like
    share.mkdir()
    on_share = settings.replace(inbox=share / "收件箱")
    env = {"SHUANGSUI_SHARE_MOUNT": str(share)}
    for command in ("watch", "process"):
        proc = subprocess.run([sys.executable, "-m", "pipeline", command, "--create"],
                              env=cli_env(on_share) | env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 11, proc.stderr
        assert "没有挂载" in proc.stderr
        assert not on_share.inbox.exists()  # never created on the local disk under the mount point
    # A real mount point is accepted.
    proc = subprocess.run([sys.executable, "-m", "pipeline", "process", "--create"], cwd=tmp_path,
                          env=cli_env(on_share) | {"SHUANGSUI_SHARE_MOUNT": "/proc"} | {"SHUANGSUI_INBOX": str(share)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_fstab_mount_points_that_have_nothing_mounted(tmp_path: Path) -> None:
    fstab = tmp_path / "fstab"
    fstab.write_text("# comment\n"
                     "UUID=1234 / ext4 defaults 0 1\n"
                     f"//nas/双随机 {tmp_path}/mnt\\040share cifs credentials=/etc/x,noauto 0 0\n"
                     "proc /proc proc defaults 0 0\n"
                     "/swapfile none swap sw 0 0\n", encoding="utf-8")
    (tmp_path / "mnt share").mkdir()
    assert fstab_mount_points(fstab) == [tmp_path / "mnt share", Path("/proc")]
    assert unmounted_share(tmp_path / "mnt share" / "收件箱", None, fstab) == tmp_path / "mnt share"
    assert unmounted_share(tmp_path / "mnt share", None, fstab) == tmp_path / "mnt share"
    assert unmounted_share(tmp_path / "elsewhere", None, fstab) is None
    assert unmounted_share(Path("/proc/self"), None, fstab) is None


def test_watch_keeps_running_when_the_inbox_goes_away_and_comes_back(
        settings: Settings, samples: Samples, tmp_path: Path) -> None:
    samples.lists()
    log = tmp_path / "watch.log"
    proc = start_watch(settings, log)
    gone = tmp_path / "收件箱-断开"
    try:
        wait_for_text(log, "正在监视", proc)
        deadline = time.monotonic() + 60
        while any((settings.inbox / "名录库").iterdir()):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        settings.inbox.rename(gone)  # the share drops away
        wait_for_text(log, "收件箱暂时不可用", proc)
        time.sleep(1.0)
        assert proc.poll() is None
        gone.rename(settings.inbox)
        wait_for_text(log, "收件箱已恢复", proc)
        samples.check_table("恢复后.docx")
        deadline = time.monotonic() + 60
        while (settings.inbox / "恢复后.docx").exists():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        assert stop(proc) == 0
    text = log.read_text(encoding="utf-8")
    assert text.count("收件箱暂时不可用") == 1 and text.count("收件箱已恢复") == 1
    assert "使用系统文件事件" in text.replace("\n", "")  # watching chosen again for the inbox that came back
    assert "Traceback" not in text
    store = open_store(settings.db_url)
    try:
        names = {f.original_name: f.status for f in store.list_files()}
    finally:
        store.close()
    assert names["恢复后.docx"] in (FileStatus.accepted, FileStatus.waiting)
