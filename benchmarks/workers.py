"""Scale-out: files per second with 1, 2 and 3 workers over one inbox and one PostgreSQL database.

The inbox is the kill -9 test's batch (``tests/batch_inputs.py``: check tables that publish, that wait
for the lists, and damaged files; the lists imported first). For each worker count the same batch is
dropped into a fresh inbox, outbox, data folder and database, N ``shuangsui process`` workers are
started together and the clock stops when the last one has finished and the inbox is empty. With
``--sqlite`` one worker runs on the SQLite file for comparison. A throwaway PostgreSQL cluster is
started (``tests/pg_cluster.py``) unless ``--database-url`` names a server whose databases may be made.

    .venv/bin/python benchmarks/workers.py [--published 12 --waiting 240 --rejected 48] [--workers 1 2 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.settings import Settings, load_settings  # noqa: E402
from pipeline.samples.demo import write_roster_sheet, write_tasks_sheet, write_units_sheet  # noqa: E402
from tests.batch_inputs import Batch, build_batch  # noqa: E402
from tests.conftest import cli_env  # noqa: E402
from tests.pg_cluster import Cluster, find_pg_bin  # noqa: E402


def workspace(root: Path, database_url: str) -> Settings:
    settings = load_settings(env={}, inbox=root / "inbox", outbox=root / "outbox", data_dir=root / "var",
                             database_url=database_url, settle_seconds=0.1, poll_seconds=0.2,
                             require_signed_scan=False, archive_auto=False, bundle_interval="off",
                             print_forms_auto=False, empty_wait_seconds=0)
    settings.inbox.mkdir(parents=True)
    return settings


def run(settings: Settings, workers: int, cwd: Path) -> subprocess.CompletedProcess[str] | None:
    procs = [subprocess.Popen([sys.executable, "-m", "pipeline", "process"], env=cli_env(settings), cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(workers)]
    failed = None
    for proc in procs:
        _out, err = proc.communicate()
        if proc.returncode:
            failed = subprocess.CompletedProcess(proc.args, proc.returncode, "", err)
    return failed


def measure(batch: Batch, root: Path, database_url: str, workers: int) -> float:
    settings = workspace(root, database_url)
    lists = settings.inbox / "名录库"
    lists.mkdir()
    write_units_sheet(lists / "检查对象名录库.xlsx", list(batch.companies))
    write_tasks_sheet(lists / "抽查任务.xlsx", list(batch.companies), "民用爆炸物品销售的安全生产监督管理")
    write_roster_sheet(lists / "执法检查人员名录库.xlsx", list(batch.people))  # type: ignore[arg-type]
    if failed := run(settings, 1, root):
        raise SystemExit(failed.stderr)
    for f in batch.files:
        (settings.inbox / f.name).write_bytes(f.data)
    start = time.perf_counter()
    if failed := run(settings, workers, root):
        raise SystemExit(failed.stderr)
    elapsed = time.perf_counter() - start
    left = [p for p in settings.inbox.rglob("*") if p.is_file()]
    if left:
        raise SystemExit(f"{len(left)} files left in the inbox")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--published", type=int, default=12)
    parser.add_argument("--waiting", type=int, default=240)
    parser.add_argument("--rejected", type=int, default=48)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--sqlite", action="store_true", help="also one worker on the SQLite file")
    parser.add_argument("--database-url", help="a PostgreSQL server (postgresql://…/postgres) instead of a throwaway one")
    args = parser.parse_args()
    cluster = None
    if not args.database_url:
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise SystemExit("找不到 PostgreSQL（initdb）：请安装 postgresql。")
        cluster = Cluster(bin_dir)
        cluster.start()
    try:
        with tempfile.TemporaryDirectory(prefix="shuangsui-workers-") as tmp:
            base = workspace(Path(tmp) / "base", "")
            batch = build_batch(base, Path(tmp) / "batch", published=args.published, waiting=args.waiting,
                                rejected=args.rejected)
            n = len(batch.files)
            print(f"{n} files ({args.published} published, {args.waiting} waiting, {args.rejected} returned)")
            print("| database | workers | seconds | files/s | speed-up |\n| --- | ---: | ---: | ---: | ---: |")
            if args.sqlite:
                took = measure(batch, Path(tmp) / "sqlite", "", 1)
                print(f"| SQLite | 1 | {took:.1f} | {n / took:.2f} | |", flush=True)
            first = None
            for workers in args.workers:
                url = cluster.new_database() if cluster else args.database_url
                took = measure(batch, Path(tmp) / f"pg-{workers}", url, workers)
                first = first or took
                print(f"| PostgreSQL | {workers} | {took:.1f} | {n / took:.2f} | {first / took:.2f}× |", flush=True)
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
