"""Job folders of workers killed with -9 are cleared when a worker starts, and a live worker's are not
(issue 14: several workers share the data folder).

A worker is parked deterministically: it runs the real CLI with the analysis of files named
``held-…`` waiting for a gate file (the analysis child is forked, so it inherits the patch). By then
the worker has its file's job folder ``jobs/<file id>`` and its read-ahead folder
``jobs/ahead-<host>-<pid>``; then it is killed with SIGKILL.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline.core.codes import FileStatus
from pipeline.core.errors import InputFileError
from pipeline.core.settings import Settings
from pipeline.intake.list_import import import_list_file
from pipeline.intake.process import open_context
from pipeline.intake.recovery import clear_leftovers_of
from pipeline.store import SqlStore
from tests.accounting import Expected, assert_accounted
from tests.conftest import Samples, cli_env, run_cli
from tests.pg_cluster import Cluster

pytestmark = pytest.mark.slow

PARKED = """
import sys, time
from pathlib import Path
from pipeline.cli.main import main
from pipeline.intake import worker
gate, real = Path(sys.argv[1]), worker.analyse_file
def parked(task, settings):
    while task.name.startswith("held") and not gate.exists():
        time.sleep(0.02)
    return real(task, settings)
worker.analyse_file = parked
sys.exit(main(sys.argv[2:]))
"""


def _worker(settings: Settings, gate: Path, cwd: Path, lease: float) -> subprocess.Popen[bytes]:
    env = cli_env(dataclasses.replace(settings, claim_lease_seconds=lease))
    log = (cwd / f"worker-{gate.name}.log").open("ab")
    with log:
        return subprocess.Popen([sys.executable, "-c", PARKED, str(gate), "process"], env=env, cwd=cwd,
                                stdout=log, stderr=log)


def _until(what: str, done: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not done():
        assert proc.poll() is None, f"the worker ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within two minutes"
        time.sleep(0.05)


def _parked_on(settings: Settings, name: str) -> Callable[[], bool]:
    """True once a worker has the job folder of inbox file ``name`` and its read-ahead folder."""
    jobs = settings.jobs_dir

    def parked() -> bool:
        if not jobs.is_dir():
            return False
        ids = {int(p.name) for p in jobs.iterdir() if p.name.isdigit()}
        if not ids or not any(p.name.startswith("ahead-") for p in jobs.iterdir()):
            return False
        ctx = open_context(settings)
        try:
            return any((row := ctx.store.get_file(i)) is not None and row.original_name == name for i in ids)
        finally:
            ctx.close()
    return parked


def _folders(settings: Settings) -> set[str]:
    return {p.name for p in settings.jobs_dir.iterdir()}


def _file_id(settings: Settings, name: str) -> str:
    ctx = open_context(settings)
    try:
        return str(next(f.id for f in ctx.store.list_files() if f.original_name == name))
    finally:
        ctx.close()


def _drop(settings: Settings, *names: str) -> list[Expected]:
    dropped = []
    for name in names:
        data = f"不是文书：{name}".encode()
        (settings.inbox / name).write_bytes(data)
        dropped.append(Expected(name, data, FileStatus.rejected))
    return dropped


def _stale_step_folder(settings: Settings) -> Path:
    """An end-of-pass step's job folder as a kill in the middle of the step leaves it."""
    stale = settings.jobs_dir / "reports" / "公示表汇总.xlsx"
    stale.parent.mkdir()
    stale.write_bytes(b"half")
    return stale


def _killed(proc: subprocess.Popen[bytes]) -> str:
    proc.kill()  # SIGKILL: no cleanup
    proc.wait()
    return f"ahead-{socket.gethostname()}-{proc.pid}"


def test_sqlite_clears_every_job_folder_of_a_killed_worker_at_start(settings: Settings, tmp_path: Path) -> None:
    expected = _drop(settings, "a-1.docx", "held-a.docx")
    worker = _worker(settings, tmp_path / "gate-a", tmp_path, settings.claim_lease_seconds)
    _until("a parked worker", _parked_on(settings, "held-a.docx"), worker)
    ahead = _killed(worker)
    held = _file_id(settings, "held-a.docx")
    stale = _stale_step_folder(settings)
    assert _folders(settings) == {held, ahead, stale.parent.name}

    done = run_cli(settings, "process")
    assert done.returncode == 0, done.stderr
    assert not stale.exists()
    # The resumed file's folder is the new run's and went with its file; the others by the clearing.
    assert not {held, ahead} & _folders(settings)
    assert_accounted(settings, expected)


def _live_claims(store: SqlStore, pid: int) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM claims WHERE owner LIKE :o AND expires_at > :now"),
                                {"o": f"%:{pid}:%", "now": time.time()}).scalar_one())


def test_postgresql_clears_a_killed_workers_job_folders_and_leaves_a_live_workers(
        settings: Settings, pg_cluster: Cluster, tmp_path: Path) -> None:
    settings = dataclasses.replace(settings, database_url=pg_cluster.new_database())
    expected = _drop(settings, "b-1.docx", "held-b.docx")
    gate_b = tmp_path / "gate-b"
    live = _worker(settings, gate_b, tmp_path, 60.0)
    _until("the live worker parked", _parked_on(settings, "held-b.docx"), live)
    live_ahead = f"ahead-{socket.gethostname()}-{live.pid}"
    live_held = _file_id(settings, "held-b.docx")

    expected += _drop(settings, "a-1.docx", "held-a.docx")
    victim = _worker(settings, tmp_path / "gate-a", tmp_path, 1.0)  # a short lease: its claims run out soon
    _until("the victim parked", _parked_on(settings, "held-a.docx"), victim)
    dead_ahead = _killed(victim)
    dead_held = _file_id(settings, "held-a.docx")
    stale = _stale_step_folder(settings)
    assert _folders(settings) == {live_held, live_ahead, dead_held, dead_ahead, "reports"}

    ctx = open_context(settings)
    try:
        _until("the killed worker's claims to run out", lambda: _live_claims(ctx.store, victim.pid) == 0, live)
        # What a worker starting now does first.
        removed = {p.name for p in clear_leftovers_of(ctx)}
        assert removed == {dead_held, dead_ahead, "reports"}
        assert _folders(settings) == {live_held, live_ahead}  # the live worker's, untouched
        assert _live_claims(ctx.store, live.pid) == 2  # its claims too (inbox path and content)
        assert not stale.exists()
    finally:
        ctx.close()
    gate_b.touch()
    assert live.wait(timeout=120) == 0, (tmp_path / "worker-gate-b.log").read_text(errors="replace")
    done = run_cli(settings, "process")  # the killed worker's file, resumed
    assert done.returncode == 0, done.stderr
    assert_accounted(settings, expected)
    assert not {dead_held, dead_ahead, live_held, live_ahead} & _folders(settings)


def test_lists_import_claims_its_content_like_a_dropped_file(
        settings: Settings, samples: Samples, pg_cluster: Cluster, tmp_path: Path) -> None:
    """Its job folder is then a live claim's, and a worker busy with the same bytes is not raced."""
    settings = dataclasses.replace(settings, database_url=pg_cluster.new_database())
    samples.settings = settings
    units, _tasks, _roster = samples.lists(folder=tmp_path / "lists")
    sha = hashlib.sha256(units.read_bytes()).hexdigest()
    ctx = open_context(settings)
    try:
        assert ctx.store.claim(f"sha:{sha}", "other:1:live", 3600)
        with pytest.raises(InputFileError, match="另一个处理进程正在处理内容相同的文件"):
            import_list_file(ctx, units)
        assert ctx.store.list_files() == []
        assert ctx.store.claim(f"sha:{sha}", "other:1:live", -1)  # that worker died
        assert import_list_file(ctx, units).status is FileStatus.accepted
        assert ctx.store.claim_owner(f"sha:{sha}") is None  # given back once recorded
    finally:
        ctx.close()
