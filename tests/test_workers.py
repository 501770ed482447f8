"""Three workers over one inbox and one PostgreSQL database, killed with -9 at seeded moments and
restarted: every one of 300 files is handled once — nothing lost, nothing doubled (``accounting``)."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.core.codes import FileStatus
from pipeline.core.settings import Settings
from pipeline.intake.process import open_context, process_inbox
from tests.accounting import Expected, assert_accounted
from tests.batch_inputs import build_batch
from tests.conftest import Samples, cli_env
from tests.pg_cluster import Cluster

pytestmark = pytest.mark.slow

WORKERS = 3
LEASE = 2.0  # seconds: a killed worker's files come back quickly


def _start(settings: Settings, cwd: Path) -> subprocess.Popen[bytes]:
    # The output into a file (a pipe nobody reads would fill and stop the worker).
    log = (cwd / "workers.log").open("ab")
    with log:
        return subprocess.Popen([sys.executable, "-m", "pipeline", "process"], env=cli_env(settings), cwd=cwd,
                                stdout=log, stderr=log)


def _left(settings: Settings) -> int:
    return sum(1 for p in settings.inbox.rglob("*") if p.is_file())


def test_three_workers_killed_and_restarted_handle_each_file_once(
        settings: Settings, samples: Samples, pg_cluster: Cluster, tmp_path: Path) -> None:
    settings = dataclasses.replace(settings, database_url=pg_cluster.new_database(), claim_lease_seconds=LEASE)
    samples.settings = settings
    # 300 files; mostly returned ones, so that the end-of-pass re-evaluation of every waiting case (which
    # each restarted worker's pass runs once) does not dominate the run.
    batch = build_batch(settings, tmp_path / "batch", published=6, waiting=60, rejected=234)
    samples.people = list(batch.people)  # type: ignore[arg-type]
    lists = samples.lists(companies=list(batch.companies))
    expected = [Expected(p.relative_to(settings.inbox).as_posix(), p.read_bytes(), FileStatus.accepted)
                for p in lists]
    first = subprocess.run([sys.executable, "-m", "pipeline", "process"], env=cli_env(settings), cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    for f in batch.files:
        (settings.inbox / f.name).write_bytes(f.data)
        expected.append(Expected(f.name, f.data, f.status))

    rng = random.Random(1414)
    kill_at = sorted(rng.sample(range(10, 280), 6))  # files taken from the inbox when a worker is killed
    workers = [_start(settings, tmp_path) for _ in range(WORKERS)]
    kills = 0
    deadline = time.monotonic() + 300
    try:
        while _left(settings) or any(w.poll() is None for w in workers):
            assert time.monotonic() < deadline, f"{_left(settings)} files still in the inbox"
            for n, worker in enumerate(workers):
                done = worker.poll()
                if done is not None:
                    assert done == 0, (tmp_path / "workers.log").read_text(errors="replace")[-5000:]
                    if _left(settings):  # a pass ends; files claimed by a killed worker come back later
                        workers[n] = _start(settings, tmp_path)
            if kills < len(kill_at) and len(batch.files) - _left(settings) >= kill_at[kills]:
                victim = workers[rng.randrange(WORKERS)]
                victim.kill()  # SIGKILL: no cleanup, claims and a half-done file left behind
                victim.wait()
                workers[workers.index(victim)] = _start(settings, tmp_path)
                kills += 1
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert kills == len(kill_at)
    # A last pass, as the next start of any worker does: the killed runs' leftovers are cleared.
    last = subprocess.run([sys.executable, "-m", "pipeline", "process"], env=cli_env(settings), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert last.returncode == 0, last.stderr
    assert_accounted(settings, expected)
    ctx = open_context(settings)
    try:
        assert ctx.store.shared and len(ctx.store.list_files()) == len(expected)
    finally:
        ctx.close()


def test_a_file_claimed_by_a_live_worker_is_left_and_an_expired_claim_is_taken_over(
        settings: Settings, samples: Samples, pg_cluster: Cluster) -> None:
    settings = dataclasses.replace(settings, database_url=pg_cluster.new_database())
    samples.settings = settings
    first = samples.check_table("检查表.docx")
    copy = settings.inbox / "检查表-副本.docx"
    copy.write_bytes(first.read_bytes())
    sha = hashlib.sha256(first.read_bytes()).hexdigest()
    ctx = open_context(settings)
    try:
        assert ctx.store.claim("inbox:检查表.docx", "other:1:live", 3600)
        assert ctx.store.claim(f"sha:{sha}", "other:1:live", 3600)  # it is reading the same bytes
        assert process_inbox(ctx) == []
        assert first.exists() and copy.exists() and ctx.store.list_files() == []
        # The other worker died: its leases ran out.
        assert ctx.store.claim("inbox:检查表.docx", "other:1:live", -1)
        assert ctx.store.claim(f"sha:{sha}", "other:1:live", -1)
        outcomes = process_inbox(ctx)
        assert len(outcomes) == 2 and {o.status for o in outcomes} == {FileStatus.waiting, FileStatus.duplicate}
        assert not first.exists() and not copy.exists()
        assert ctx.store.claim_owner("inbox:检查表.docx") is None and ctx.store.claim_owner(f"sha:{sha}") is None
    finally:
        ctx.close()
