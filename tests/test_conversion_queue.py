"""The conversion queue of the store (migration 0009) on SQLite and on PostgreSQL: jobs taken once, leases,
takeover after a converter died, giving up on a job that kills every converter, housekeeping; doctor's view."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from pipeline.cases.context import Context
from pipeline.cases.stage import Outcome
from pipeline.cli.doctor import role_check
from pipeline.cli.status import print_status
from pipeline.core import checks
from pipeline.core.codes import FileStatus, FindingCode
from pipeline.core.errors import ConfigError, ConversionPending
from pipeline.core.settings import Settings, load_settings
from pipeline.documents.conversion_queue import QueuedConverter, QueueTimeout, queue_root
from pipeline.intake.convert_worker import STALE_SECONDS, ConverterWorker
from pipeline.intake.watch import quiet_repeats
from pipeline.store import ConversionJob, NewConversion, SqlStore
from pipeline.store.conversions import GAVE_UP
from pipeline.store.originals import OriginalsStore
from tests.pg_cluster import Cluster

OpenDb = Callable[[str], SqlStore]


def _jobs(n: int, batch: str = "b1") -> list[NewConversion]:
    return [NewConversion(batch, f"{batch}/in/{i:04d}.docx", "pdf", key=f"k{i}") for i in range(n)]


def test_jobs_are_taken_once_with_a_lease_and_taken_over_after_it(store_url: str, open_db: OpenDb) -> None:
    first, second = open_db(store_url), open_db(store_url)
    ids = first.enqueue_conversions(_jobs(3))
    assert first.conversion_counts() == {"queued": 3, "running": 0, "done": 0, "failed": 0}
    a = first.claim_conversions("A", 2, 30, now=1000)
    b = second.claim_conversions("B", 2, 30, now=1000)
    assert [j.id for j in a] == ids[:2] and [j.id for j in b] == ids[2:]
    assert {j.state for j in a + b} == {"running"} and {j.attempts for j in a + b} == {1}
    assert second.claim_conversions("C", 5, 30, now=1010) == [], "every lease runs"
    assert first.renew_conversions("A", 30, now=1025) == 2  # A's leases end at 1055 now, B's at 1030
    taken = second.claim_conversions("C", 5, 30, now=1040)
    assert [j.id for j in taken] == ids[2:] and taken[0].attempts == 2 and taken[0].owner == "C"
    assert not second.finish_conversion(ids[2], "B", output="b1/out/0002.pdf"), "B lost it to C"
    assert second.finish_conversion(ids[2], "C", output="b1/out/0002.pdf")
    assert first.finish_conversion(ids[0], "A", output="b1/out/0000.pdf")
    assert first.finish_conversion(ids[1], "A", error="LibreOffice 无法打开此文件")
    done = {j.id: j for j in first.conversion_jobs(ids)}
    assert (done[ids[0]].state, done[ids[0]].output) == ("done", "b1/out/0000.pdf")
    assert (done[ids[1]].state, done[ids[1]].error) == ("failed", "LibreOffice 无法打开此文件")
    assert first.conversion_with_key("k2") == done[ids[2]] and first.conversion_with_key("nope") is None
    # Housekeeping: the done jobs' rows go once their results are read; a failed job keeps its error.
    assert first.drop_conversions(ids, ("done",)) == 2
    assert [(j.id, j.state) for j in first.conversion_jobs(ids)] == [(ids[1], "failed")]


def test_a_job_that_outlives_its_converters_is_given_up(store_url: str, open_db: OpenDb) -> None:
    store = open_db(store_url)
    [job_id] = store.enqueue_conversions(_jobs(1))
    for attempt in range(3):  # each converter dies on it (kill -9: no finish, the lease runs out)
        [job] = store.claim_conversions(f"C{attempt}", 10, 30, max_attempts=3, now=1000 + 100 * attempt)
        assert job.attempts == attempt + 1
    assert store.claim_conversions("C3", 10, 30, max_attempts=3, now=1400) == []
    [job] = store.conversion_jobs([job_id])
    assert (job.state, job.error) == ("failed", GAVE_UP)


def test_a_stopping_converter_gives_its_jobs_back(store_url: str, open_db: OpenDb) -> None:
    store = open_db(store_url)
    ids = store.enqueue_conversions(_jobs(2))
    assert len(store.claim_conversions("A", 10, 30)) == 2
    assert store.release_conversions("A") == 2
    again = store.claim_conversions("B", 10, 30)
    assert [(j.id, j.owner, j.attempts) for j in again] == [(ids[0], "B", 1), (ids[1], "B", 1)]
    assert store.drop_conversions(ids, ("queued",)) == 0, "running jobs are not cancelled"


def test_converters_claiming_at_once_share_the_jobs_on_postgresql(pg_cluster: Cluster, open_db: OpenDb) -> None:
    url = pg_cluster.new_database()
    stores = [open_db(url) for _ in range(4)]
    ids = stores[0].enqueue_conversions(_jobs(60))
    taken: dict[str, list[int]] = {}
    start = threading.Barrier(len(stores))

    def converter(n: int) -> None:
        start.wait()
        mine = taken.setdefault(f"C{n}", [])
        while batch := stores[n].claim_conversions(f"C{n}", 3, 30):
            mine += [j.id for j in batch]

    threads = [threading.Thread(target=converter, args=(n,)) for n in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    every = [i for mine in taken.values() for i in mine]
    assert sorted(every) == ids, "each job taken exactly once"


def test_doctor_shows_the_role_and_the_queue(settings: Settings, pg_cluster: Cluster, open_db: OpenDb) -> None:
    assert role_check(settings).detail.startswith("role = all") and role_check(settings).ok
    settings = settings.replace(database_url=pg_cluster.new_database(), role="intake")
    store = open_db(settings.database_url)
    ids = store.enqueue_conversions(_jobs(3))
    store.claim_conversions("C", 1, 30)
    store.finish_conversion(ids[0], "C", error="LibreOffice 无法打开此文件")
    check = role_check(settings)
    assert not check.ok and check.optional, "no converter is running"
    assert "排队 2 个，转换中 0 个，失败 1 个" in check.detail and "shuangsui watch --role convert" in check.detail
    store.claim("converter:C", "C", 30)
    assert role_check(settings).ok and "运行中的转换机器 1 台" in role_check(settings).detail
    console = Console(record=True, width=200)
    print_status(Context(settings, store, OriginalsStore(settings.originals_dir)), console)
    assert "转换队列：排队 2 个，转换中 0 个，失败 1 个；运行中的转换机器 1 台。" in console.export_text()


def test_a_converter_sweeps_batches_nobody_will_read(ctx: Context) -> None:
    root = queue_root(ctx.settings.data_dir)
    old = time.time() - STALE_SECONDS - 60
    batches = {}
    for name, state in (("done", "done"), ("failed", "failed"), ("fresh", "done"), ("waiting", "queued")):
        [job_id] = ctx.store.enqueue_conversions([NewConversion(name, f"{name}/in/0000.doc", "docx")])
        if state != "queued":
            ctx.store.claim_conversions("C", 1, 30)
            ctx.store.finish_conversion(job_id, "C", output=f"{name}/out/0000.docx" if state == "done" else None,
                                        error="LibreOffice 无法打开此文件" if state == "failed" else None)
        (root / name / "in").mkdir(parents=True)
        if name != "fresh":
            os.utime(root / name, (old, old))
        batches[name] = job_id
    assert sorted(ConverterWorker(ctx).sweep()) == ["done", "failed"]
    assert sorted(p.name for p in root.iterdir()) == ["fresh", "waiting"]
    left = {j.batch: j.state for j in ctx.store.conversion_jobs(batches.values())}
    assert left == {"failed": "failed", "waiting": "queued", "fresh": "done"}, "a failed job keeps its error"


def test_the_role_setting_and_its_checks(tmp_path: Path) -> None:
    assert load_settings(env={}).role == "all"
    pg = "postgresql://u@db.example.internal/ss"
    assert load_settings(env={"SHUANGSUI_ROLE": "intake", "SHUANGSUI_DATABASE_URL": pg}).role == "intake"
    assert load_settings(env={"SHUANGSUI_ROLE": "intake", "SHUANGSUI_DATABASE_URL": pg}, role="convert").role \
        == "convert", "--role wins over the environment"
    with pytest.raises(ConfigError, match="role 只能是"):
        load_settings(env={"SHUANGSUI_ROLE": "converter", "SHUANGSUI_DATABASE_URL": pg})
    with pytest.raises(ConfigError, match="PostgreSQL"):  # one SQLite file cannot be shared by machines
        load_settings(env={"SHUANGSUI_DATA_DIR": str(tmp_path)}, role="intake")


def test_the_queue_client_without_a_converter_in_time_and_with_one(tmp_path: Path, open_db: OpenDb) -> None:
    store = open_db(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    root = tmp_path / "转换队列"
    sources = []
    for name in ("甲.docx", "乙.docx"):
        sources.append(tmp_path / name)
        sources[-1].write_bytes(b"PK fake docx " + name.encode())
    client = QueuedConverter(store, root, timeout=0, wait=0.3)
    with pytest.raises(QueueTimeout, match="没有正在运行的转换机器"):
        client.convert_many(sources, "pdf", tmp_path / "out")
    assert store.conversion_counts() == {"queued": 0, "running": 0, "done": 0, "failed": 0}
    assert list(root.iterdir()) == [], "withdrawn: rows and folder"
    store.claim("converter:F", "F", 30)  # a converter is running, but never gets to the jobs
    with pytest.raises(QueueTimeout, match="没有完成"):
        client.convert_many(sources, "pdf", tmp_path / "out")
    assert store.conversion_counts()["queued"] == 0 and list(root.iterdir()) == []

    def converter() -> None:  # what convert_worker does, by hand: one result, one failure
        jobs: list[ConversionJob] = []
        while len(jobs) < 2:
            jobs += store.claim_conversions("F", 10, 30)
        out = root / jobs[0].batch / "out"
        out.mkdir()
        (out / "0000.pdf").write_bytes(b"%PDF-1.7 made by the converter")
        store.finish_conversion(jobs[0].id, "F", output=f"{jobs[0].batch}/out/0000.pdf")
        store.finish_conversion(jobs[1].id, "F", error="LibreOffice 无法打开此文件，文件可能已损坏。")

    thread = threading.Thread(target=converter)
    thread.start()
    outputs, failures = QueuedConverter(store, root, timeout=30, wait=30).convert_report(
        sources, "pdf", tmp_path / "out")
    thread.join()
    assert outputs == {sources[0]: tmp_path / "out" / "甲.pdf"} and outputs[sources[0]].read_bytes().startswith(b"%PDF")
    assert failures == {sources[1]: "LibreOffice 无法打开此文件，文件可能已损坏。"}
    assert store.conversion_counts() == {"queued": 0, "running": 0, "done": 0, "failed": 1}, "a failure keeps its row"
    assert list(root.iterdir()) == []


def test_watch_says_a_waiting_file_once_until_something_changes() -> None:
    said: list[tuple[str, FileStatus]] = []
    report = quiet_repeats(lambda o: said.append((o.name, o.status)))
    assert report is not None and quiet_repeats(None) is None
    waiting = Outcome("旧.doc", "", FileStatus.processing, None,
                      (checks.warning(FindingCode.internal_error, "file", ConversionPending.message),))
    for _retry in range(3):  # retried every few seconds while no converter runs
        report(waiting)
    report(Outcome("新.docx", "", FileStatus.processing, None, waiting.findings))
    report(Outcome("旧.doc", "abc", FileStatus.waiting, "SS-2026-00001"))  # converted at last
    report(waiting)  # dropped again later: said again
    assert said == [("旧.doc", FileStatus.processing), ("新.docx", FileStatus.processing),
                    ("旧.doc", FileStatus.waiting), ("旧.doc", FileStatus.processing)]


def test_a_converter_converts_only_files_in_the_queue_folder(ctx: Context) -> None:
    worker = ConverterWorker(ctx)
    ids = ctx.store.enqueue_conversions([NewConversion("b1", "b1/../../../etc/passwd", "pdf"),
                                         NewConversion("b2", "/etc/passwd", "pdf")])
    jobs = ctx.store.claim_conversions(worker.owner, 10, 30)
    worker.convert(None, jobs)  # type: ignore[arg-type]  # no LibreOffice is reached
    assert [(j.state, j.error) for j in ctx.store.conversion_jobs(ids)] == [
        ("failed", "转换任务的文件不在转换队列中：b1/../../../etc/passwd"),
        ("failed", "转换任务的文件不在转换队列中：/etc/passwd")]
