"""The watcher over a live inbox, and a batch killed half-way: nothing lost, nothing done twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.core.codes import FileStatus
from pipeline.core.settings import Settings
from pipeline.samples.demo import write_check_table
from pipeline.store import open_store
from pipeline.store.originals import sha256_file
from tests.conftest import Samples, cli_env, process_json

pytestmark = pytest.mark.slow


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def public_forms(settings: Settings) -> list[Path]:
    folder = settings.outbox / "公示表"
    return sorted(folder.glob("*.docx")) if folder.exists() else []


def test_watcher_processes_settled_files_ignores_locks_and_stops_on_ctrl_c(
        settings: Settings, samples: Samples, tmp_path: Path) -> None:
    samples.lists()
    samples.check_table("检查表-启动前.docx", company=samples.companies[0])
    env = cli_env(settings) | {"SHUANGSUI_SETTLE_SECONDS": "1.0"}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "watch"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(public_forms(settings)) == 1)

        lock = settings.inbox / "~$检查表-运行中.docx"
        lock.write_bytes(b"owner lock")
        staged = tmp_path / "staged.docx"
        write_check_table(staged, samples.fields(company=samples.companies[1]), settings)
        data = staged.read_bytes()
        target = settings.inbox / "检查表-运行中.docx"
        with target.open("wb") as fh:  # written in pieces, as a slow network copy does
            for i in range(0, len(data), len(data) // 4 + 1):
                fh.write(data[i:i + len(data) // 4 + 1])
                fh.flush()
                time.sleep(0.4)
        wait_for(lambda: len(public_forms(settings)) == 2)

        (settings.inbox / "检查表-重复.docx").write_bytes(data)
        store = open_store(settings.db_url)
        wait_for(lambda: any(f.status is FileStatus.duplicate for f in store.list_files()))
        store.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "已停止监视" in err
    assert lock.exists()
    assert len(public_forms(settings)) == 2
    assert not target.exists()
    store = open_store(settings.db_url)
    rows = store.list_files()
    store.close()
    names = Counter((r.original_name, r.status) for r in rows)
    assert names[("检查表-运行中.docx", FileStatus.accepted)] == 1
    assert names[("检查表-重复.docx", FileStatus.duplicate)] == 1
    # The half-written states were never taken: one accepted row per check table.
    assert sum(1 for r in rows if r.status is FileStatus.rejected) == 0


@pytest.mark.parametrize("kill_after_forms", [1, 4])
def test_killed_batch_leaves_each_file_processed_once_or_in_inbox(
        settings: Settings, samples: Samples, tmp_path: Path, kill_after_forms: int) -> None:
    samples.lists()
    expected = {}
    for n, company in enumerate(samples.companies):
        for day in (9, 10):
            path = settings.inbox / f"检查表-{n}-{day}.docx"
            fields = samples.fields(company=company, check_start=f"2026-11-{day:02d}T09:30",
                                    check_end=f"2026-11-{day:02d}T11:00")
            write_check_table(path, fields, settings)
            expected[path.name] = sha256_file(path)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "process"], env=cli_env(settings),
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(public_forms(settings)) >= kill_after_forms or proc.poll() is not None)
    finally:
        proc.kill()
        proc.wait()

    store = open_store(settings.db_url)
    rows = store.list_files()
    store.close()
    for name, sha in expected.items():
        in_inbox = (settings.inbox / name).exists()
        done = [r for r in rows if r.sha256 == sha and r.status is FileStatus.accepted]
        assert in_inbox or len(done) == 1, name
        assert len(done) <= 1

    files = process_json(settings)
    assert {f["status"] for f in files} <= {"accepted"}
    assert not [p for p in settings.inbox.glob("*.docx")]
    assert len(public_forms(settings)) == len(expected)
    store = open_store(settings.db_url)
    rows = store.list_files()
    store.close()
    per_sha = Counter(r.sha256 for r in rows if r.status is not FileStatus.duplicate)
    assert all(per_sha[sha] == 1 for sha in expected.values())
    assert not any(r.status in (FileStatus.duplicate, FileStatus.processing) for r in rows)


def test_polling_mode_picks_up_a_file_dropped_while_watching(settings: Settings, samples: Samples) -> None:
    """Network shares send no file events: the polling observer and the rescan still find the file."""
    import threading

    from pipeline.intake.process import open_context
    from pipeline.intake.watch import watch

    samples.lists()
    ctx = open_context(settings.replace(watch_mode="polling"))
    stop = threading.Event()
    seen: list[str] = []
    thread = threading.Thread(target=watch, args=(ctx,), kwargs={"stop": stop, "on_outcome": lambda o: seen.append(o.status)})
    thread.start()
    try:
        wait_for(lambda: len(seen) == 3)  # the three lists present at start
        samples.check_table("检查表.docx")
        wait_for(lambda: len(public_forms(settings)) == 1)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert seen == [FileStatus.accepted] * 4
