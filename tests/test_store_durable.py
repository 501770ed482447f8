"""Durable and non-durable commits (``Store.begin(durable=…)``): which setting each transaction runs
with on both databases, that a non-durable commit still survives the process being killed, and that the
pipeline syncs the log once per file rather than once per transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline.core.codes import FileStatus
from pipeline.intake.process import Context, process_inbox
from pipeline.store import SqlStore
from tests.conftest import Samples
from tests.system_deps import require_program

ROOT = Path(__file__).resolve().parent.parent


def _sync_setting(tx: object, sqlite: bool) -> str:
    conn = tx.conn  # type: ignore[attr-defined]
    query = "PRAGMA synchronous" if sqlite else "SHOW synchronous_commit"
    return str(conn.exec_driver_sql(query).scalar())


def test_each_transaction_runs_with_its_own_durability(store_url: str,
                                                       open_db: Callable[[str], SqlStore]) -> None:
    store = open_db(store_url)
    sqlite = store_url.startswith("sqlite")
    with store.begin() as tx:  # the server's own setting (the test cluster runs with it off)
        server = "2" if sqlite else _sync_setting(tx, sqlite)
    full, normal = (server, "1") if sqlite else (server, "off")
    for _ in range(3):  # the pooled connection goes back to its default after a durable commit
        with store.begin(durable=False) as tx:
            assert _sync_setting(tx, sqlite) == normal
            tx.log("case", "X", "fast")
        with store.begin() as tx:
            assert _sync_setting(tx, sqlite) == full
            tx.log("case", "X", "durable")
    with store.begin(durable=False) as tx:
        assert _sync_setting(tx, sqlite) == normal
    assert [e.action for e in store.events("case", "X")] == ["fast", "durable"] * 3


def test_a_failed_durable_transaction_leaves_nothing_and_the_connection_fast(
        store_url: str, open_db: Callable[[str], SqlStore]) -> None:
    store = open_db(store_url)
    sqlite = store_url.startswith("sqlite")
    try:
        with store.begin() as tx:
            tx.log("case", "Y", "half")
            raise KeyError("stop")
    except KeyError:
        pass
    assert list(store.events("case", "Y")) == []
    with store.begin(durable=False) as tx:
        assert _sync_setting(tx, sqlite) == ("1" if sqlite else "off")


def test_a_non_durable_commit_survives_kill_9(tmp_path: Path, open_db: Callable[[str], SqlStore]) -> None:
    """Only a power cut may take it (WAL with synchronous=NORMAL), never the process dying."""
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    script = ("import os, sys\nfrom pipeline.store import open_store\nstore = open_store(sys.argv[1])\n"
              "with store.begin(durable=False) as tx:\n    tx.log('case', 'Z', 'kept')\n"
              "print('committed', flush=True)\nos.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, check=False)
    assert proc.returncode == -signal.SIGKILL and "committed" in proc.stdout, proc.stderr
    assert [e.action for e in open_db(url).events("case", "Z")] == ["kept"]


def test_a_file_costs_one_log_sync(ctx: Context, samples: Samples, settings: object) -> None:
    """Counted with strace on a real pass: one fsync of the write-ahead log per file, not one per
    transaction (received, case number, outcome, evaluation)."""
    samples.lists()
    process_inbox(ctx)
    ctx.close()  # the data folder is the traced process's now
    for n in range(4):
        samples.check_table(f"检查表{n}.docx", company=samples.companies[n])
    trace = Path(ctx.settings.data_dir) / "strace.txt"
    script = ("import sys\nfrom pathlib import Path\nfrom pipeline.core.settings import load_settings\n"
              "from pipeline.intake.process import open_context, process_inbox\n"
              "ctx = open_context(load_settings(env={}, inbox=Path(sys.argv[1]), outbox=Path(sys.argv[2]),"
              " data_dir=Path(sys.argv[3]),"
              " settle_seconds=0, require_signed_scan=False, archive_auto=False, bundle_interval='off',"
              " print_forms_auto=False))\n"
              "print(sorted(o.status.value for o in process_inbox(ctx)))\nctx.close()\n")
    proc = subprocess.run([require_program("strace", "strace"), "-f", "-qq", "-e", "trace=fsync,fdatasync", "-y", "-o", str(trace),
                           sys.executable, "-c", script, str(ctx.settings.inbox), str(ctx.settings.outbox),
                           str(ctx.settings.data_dir)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                          check=False)
    assert proc.stdout.strip() == str([FileStatus.accepted.value] * 4), proc.stderr
    wal_syncs = [line for line in trace.read_text().splitlines() if "sqlite3-wal>" in line]
    # One per file's outcome, plus the end of pass's few durable commits.
    assert 4 <= len(wal_syncs) <= 4 + 4, "\n".join(wal_syncs)
