"""kill -9 over a batch of 303 files (300 check tables and damaged files, 3 lists), in ``process`` and
in ``watch`` mode (issue #10).

The main process is killed at seeded random moments (after a random number of files left the inbox,
plus a random fraction of a second, so that kills land inside a file's work), restarted, and killed
again, until the batch is done. Then every input must be accounted for exactly once
(``tests/accounting.assert_accounted``): recorded once with its status, its 公示表, 待补充 note or
退回 copy in the outbox once, the originals store complete, byte-identical and read-only.

In ``watch`` mode the files arrive the way a slow SMB share writes them while the watcher runs and
is killed: some as a 0-byte placeholder filled later, some in two halves with a pause between.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.core.codes import FileStatus
from pipeline.core.settings import Settings
from pipeline.intake.process import LISTS_FOLDER
from pipeline.samples.demo import write_roster_sheet, write_tasks_sheet, write_units_sheet
from tests.accounting import Expected, assert_accounted
from tests.batch_inputs import Batch, build_batch
from tests.conftest import cli_env
from tests.system_deps import require_soffice

pytestmark = pytest.mark.slow

KILLS = 6
SEED = int(os.environ.get("KILL_SEED", "9010"))  # other kill moments: KILL_SEED=n pytest ...


def _lists(settings: Settings, batch: Batch, folder: Path) -> list[Expected]:
    folder.mkdir(parents=True, exist_ok=True)
    units, tasks, roster = folder / "检查对象名录库.xlsx", folder / "抽查任务.xlsx", folder / "执法检查人员名录库.xlsx"
    write_units_sheet(units, list(batch.companies))
    write_tasks_sheet(tasks, list(batch.companies), "民用爆炸物品销售的安全生产监督管理")
    write_roster_sheet(roster, list(batch.people))  # type: ignore[arg-type]
    return [Expected(f"{LISTS_FOLDER}/{p.name}", p.read_bytes(), FileStatus.accepted) for p in (units, tasks, roster)]


def _batch(settings: Settings, tmp_path: Path) -> tuple[Batch, list[Expected]]:
    batch = build_batch(settings, tmp_path / "work", published=12, waiting=240, rejected=48)
    expected = [Expected(f.name, f.data, f.status) for f in batch.files]
    return batch, expected


def _inbox_files(settings: Settings) -> int:
    return sum(1 for p in settings.inbox.rglob("*") if p.is_file())


def _start(settings: Settings, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """The command in the background; its messages go to a log file (returned) that the test reads."""
    env = cli_env(settings) | {"SHUANGSUI_SETTLE_SECONDS": "0.5"}
    log = tmp_path / f"run-{len(list(tmp_path.glob('run-*.log')))}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=err)
    return proc, log


def _kill_after_progress(proc: subprocess.Popen[bytes], settings: Settings, rng: random.Random,
                         fed: threading.Event | None = None) -> bool:
    """Kill -9 once ``rng`` more files have left the inbox and a random fraction of a second has
    passed; False when the process ended (or, watching, the inbox emptied out) first."""
    start = _inbox_files(settings)
    target = max(0, start - rng.randint(3, 25))
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        left = _inbox_files(settings)
        if left <= target or (fed is not None and fed.is_set() and left == 0):
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.05)
    if proc.poll() is not None:
        return False
    try:
        proc.wait(timeout=rng.uniform(0.0, 0.4))
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def test_process_killed_at_random_moments_loses_and_doubles_nothing(settings: Settings, tmp_path: Path) -> None:
    require_soffice()
    rng = random.Random(SEED)
    batch, expected = _batch(settings, tmp_path)
    expected += _lists(settings, batch, settings.inbox / LISTS_FOLDER)
    for f in batch.files:
        (settings.inbox / f.name).write_bytes(f.data)
    kills = 0
    for _ in range(KILLS):
        proc, _log = _start(settings, tmp_path, "process")
        kills += _kill_after_progress(proc, settings, rng)
        if proc.returncode == 0:
            break
    assert kills >= KILLS // 2, "the kills landed while files were being processed"
    proc, log = _start(settings, tmp_path, "process")
    proc.wait(timeout=300)
    assert proc.returncode == 0, log.read_text(encoding="utf-8")
    assert_accounted(settings, expected)


def _feed(settings: Settings, batch: Batch, rng: random.Random, fed: threading.Event) -> None:
    """Write the batch into the inbox like a slow share: placeholders filled later, halves, pauses."""
    pending: list[tuple[Path, bytes]] = []
    for n, f in enumerate(batch.files):
        target = settings.inbox / f.name
        way = n % 5
        if way == 0:  # a 0-byte placeholder, filled after others were written
            target.touch()
            pending.append((target, f.data))
        elif way == 1:  # two halves with a pause shorter than the settle time
            with target.open("wb") as fh:
                fh.write(f.data[: len(f.data) // 2])
                fh.flush()
                fed.wait(rng.uniform(0.05, 0.2))
                fh.write(f.data[len(f.data) // 2:])
        else:
            target.write_bytes(f.data)
        if len(pending) >= 4:
            for path, data in pending:
                path.write_bytes(data)
            pending.clear()
        if n % 25 == 0:
            fed.wait(rng.uniform(0.1, 0.6))  # a pause of the copy
    for path, data in pending:
        path.write_bytes(data)
    fed.set()


def test_watch_killed_at_random_moments_while_files_arrive_loses_and_doubles_nothing(
        settings: Settings, tmp_path: Path) -> None:
    require_soffice()
    rng = random.Random(SEED + 1)
    batch, expected = _batch(settings, tmp_path)
    expected += _lists(settings, batch, settings.inbox / LISTS_FOLDER)
    fed = threading.Event()
    feeder = threading.Thread(target=_feed, args=(settings, batch, random.Random(SEED + 2), fed))
    feeder.start()
    kills = 0
    try:
        for _ in range(KILLS):
            proc, log = _start(settings, tmp_path, "watch")
            killed = _kill_after_progress(proc, settings, rng, fed)
            assert killed or proc.returncode is None, log.read_text(encoding="utf-8")
            kills += killed
            if not killed:
                break
    finally:
        feeder.join()
    proc, log = _start(settings, tmp_path, "watch")
    try:
        deadline = time.monotonic() + 300
        while (_inbox_files(settings) or "正在监视" not in log.read_text(encoding="utf-8")) \
                and time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, log.read_text(encoding="utf-8")
    assert kills >= KILLS // 2
    assert_accounted(settings, expected)
