"""The cost of the conversion queue (roles, issue 14): the same .docx → PDF conversions on a local
``ConverterPool`` and through the queue to one converter (``shuangsui watch --role convert``) over one
PostgreSQL database, both with one LibreOffice profile and warmed up by one conversion first.

Prints the time of one batch of ``--files`` check tables each way, and of a single file through the queue
(one round trip: queue, claim, one soffice start, result read back). A throwaway PostgreSQL cluster is
started (``tests/pg_cluster.py``).

    .venv/bin/python benchmarks/conversion_queue.py [--files 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.settings import load_settings  # noqa: E402
from pipeline.documents.conversion_queue import QueuedConverter, queue_root  # noqa: E402
from pipeline.documents.libreoffice import ConverterPool  # noqa: E402
from pipeline.documents.render import render_check_table  # noqa: E402
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors  # noqa: E402
from pipeline.store import open_store  # noqa: E402
from tests.pg_cluster import Cluster, find_pg_bin  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="shuangsui-bench-queue-"))
    settings = load_settings(env={}, data_dir=base / "var")
    rng = random.Random(14)
    people = make_inspectors(rng, 2)
    sources = []
    for n, company in enumerate(make_companies(rng, args.files)):
        path = base / "src" / f"{n}.docx"
        path.parent.mkdir(exist_ok=True)
        render_check_table(check_table_fields(rng, company, people, dt.datetime(2026, 11, 9, 9, 30)), path,
                           template_dir=settings.templates_dir, bureau=settings.bureau, case_id=None)
        sources.append(path)
    with ConverterPool(1, profile_root=base / "profiles") as pool:
        pool.convert_many(sources[:1], "pdf", base / "warm")
        start = time.monotonic()
        pool.convert_many(sources, "pdf", base / "local")
        local = time.monotonic() - start
    bin_dir = find_pg_bin()
    if bin_dir is None:
        sys.exit("PostgreSQL (initdb) not found: scripts/install-system-deps.sh")
    cluster = Cluster(bin_dir)
    cluster.start()
    try:
        url = cluster.new_database()
        store = open_store(url)
        env = {**os.environ, "SHUANGSUI_DATABASE_URL": url, "SHUANGSUI_DATA_DIR": str(settings.data_dir),
               "SHUANGSUI_PDF_WORKERS": "1", "SHUANGSUI_POLL_SECONDS": "0.2", "PYTHONPATH": str(ROOT)}
        converter = subprocess.Popen([sys.executable, "-m", "pipeline", "watch", "--role", "convert"], env=env,
                                     stderr=subprocess.DEVNULL)
        try:
            while not store.live_converters():
                time.sleep(0.05)
            queued = QueuedConverter(store, queue_root(settings.data_dir), timeout=120, wait=60)
            queued.convert_many(sources[:1], "pdf", base / "warm-queue")
            start = time.monotonic()
            done = queued.convert_many(sources, "pdf", base / "queued")
            through_queue = time.monotonic() - start
            start = time.monotonic()
            for source in sources[:5]:
                queued.convert_many([source], "pdf", base / "single")
            single = (time.monotonic() - start) / 5
        finally:
            converter.terminate()
            converter.wait()
            store.close()
    finally:
        cluster.stop()
    print(f"{args.files} .docx → PDF, one LibreOffice profile: local pool {local:.1f} s, through the queue "
          f"{through_queue:.1f} s ({len(done)} converted); one file through the queue {single:.2f} s")


if __name__ == "__main__":
    main()
