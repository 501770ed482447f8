"""Roles on one PostgreSQL database (issue 14): an intake worker that never starts LibreOffice, converters
that do the conversions off the queue, a converter killed with -9 mid-batch whose jobs another takes, and an
archive that waits for a converter rather than being made without its PDFs."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from pypdf import PdfReader

from pipeline.archive import archive_ready_cases
from pipeline.archive.normalise import cache_dir
from pipeline.core.codes import CaseStatus
from pipeline.core.settings import Settings
from pipeline.documents.conversion_queue import QueuedConverter, queue_root
from pipeline.documents.libreoffice import Converter
from pipeline.documents.render import render_check_table
from pipeline.intake.process import open_context, process_inbox
from pipeline.store import SqlStore, open_store
from tests.conftest import Samples, cli_env
from tests.hostile_files import BILLION_LAUGHS, deflated, stored, write_zip
from tests.pg_cluster import Cluster
from tests.system_deps import require_soffice

pytestmark = pytest.mark.slow

RECORDER = """#!/bin/sh
echo "$@" >> "{log}"
exit 1
"""


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**cli_env(settings), "SHUANGSUI_PDF_WORKERS": "1", **extra}


def _converter(settings: Settings, cwd: Path, log: str = "converter.log") -> subprocess.Popen[bytes]:
    with (cwd / log).open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "pipeline", "watch", "--role", "convert"],
                                env=_env(settings), cwd=cwd, stdout=out, stderr=out)


def _until(check: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _pdf_text(path: Path) -> str:
    return "".join(page.extract_text() or "" for page in PdfReader(str(path)).pages).replace("\n", "")


def _stop(proc: subprocess.Popen[bytes], cwd: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, (cwd / "converter.log").read_text(errors="replace")[-3000:]


def test_an_intake_worker_and_a_converter_process_a_batch_and_intake_never_runs_libreoffice(
        settings: Settings, samples: Samples, pg_cluster: Cluster, tmp_path: Path) -> None:
    require_soffice()
    settings = dataclasses.replace(settings, database_url=pg_cluster.new_database(), claim_lease_seconds=3.0,
                                   print_forms_auto=True, require_signed_scan=True)
    samples.settings = settings
    samples.lists()
    samples.check_table("检查表.docx")
    # A real Word 97 file, made by LibreOffice from a check table of another unit.
    made = tmp_path / "made"
    made.mkdir()
    word = samples.check_table("检查表二.docx", folder=made, company=samples.companies[1])
    with Converter() as converter:
        doc = converter.convert(word, "doc:MS Word 97", made)
    (settings.inbox / "检查表二.doc").write_bytes(doc.read_bytes())
    # An old-format file over a limit (an XML bomb in an .odt): refused before any conversion is queued.
    write_zip(settings.inbox / "炸弹.odt", [stored("mimetype", b"application/vnd.oasis.opendocument.text"),
                                           deflated("content.xml", b'<?xml version="1.0"?>\n'
                                                    + BILLION_LAUGHS.encode() + b"<x>&lol9;</x>")])
    calls = tmp_path / "soffice-calls.txt"
    recorder = tmp_path / "soffice"
    recorder.write_text(RECORDER.format(log=calls))
    recorder.chmod(0o755)

    def intake() -> dict[str, dict[str, object]]:
        done = subprocess.run([sys.executable, "-m", "pipeline", "process", "--role", "intake", "--json"],
                              env=_env(settings, SHUANGSUI_SOFFICE=str(recorder)), cwd=tmp_path,
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr
        return {str(f["name"]): f for f in json.loads(done.stdout)["files"]}

    store = open_store(settings.database_url)
    # No converter running yet: the Word file is taken, the old-format file waits in the inbox (not refused),
    # the forms to print come as Word files only.
    files = intake()
    assert files["检查表.docx"]["status"] == "waiting" and files["检查表.docx"]["case"], files
    assert files["检查表二.doc"]["status"] == "processing" and "等待转换机器" in str(files["检查表二.doc"]), files
    assert (settings.inbox / "检查表二.doc").is_file()
    assert files["炸弹.odt"]["status"] == "rejected" and "文件过于复杂" in str(files["炸弹.odt"]), files
    printed = settings.outbox / "打印" / str(files["检查表.docx"]["case"])
    assert (printed / "随机抽查事项检查表.docx").is_file() and not (printed / "随机抽查事项检查表.pdf").exists()
    assert store.conversion_counts()["queued"] == 1, "the old-format file's conversion waits in the queue"
    converter_proc = _converter(settings, tmp_path)
    try:
        _until(lambda: store.live_converters() == 1, "the converter started")
        files = {**files, **intake()}  # the next pass catches up
        assert files["检查表二.doc"]["status"] == "waiting" and files["检查表二.doc"]["case"], files
        cases = {files["检查表.docx"]["case"], files["检查表二.doc"]["case"]}
        assert len(cases) == 2
        for case_id, company in zip(sorted(cases), samples.companies[:2], strict=True):
            pdf = settings.outbox / "打印" / case_id / "随机抽查事项检查表.pdf"
            assert pdf.read_bytes().startswith(b"%PDF") and company.name[:6] in _pdf_text(pdf)
        assert not calls.exists(), f"the intake worker ran soffice: {calls.read_text()}"
        assert list(settings.inbox.glob("*.do*")) == []
        counts = store.conversion_counts()
        assert counts["queued"] == counts["running"] == counts["failed"] == 0, counts
        assert list(queue_root(settings.data_dir).iterdir()) == [], "every batch folder removed once read"
    finally:
        _stop(converter_proc, tmp_path)
        store.close()


def test_a_converter_killed_mid_batch_loses_nothing_and_converts_nothing_twice_into_the_outbox(
        settings: Settings, samples: Samples, pg_cluster: Cluster, tmp_path: Path) -> None:
    require_soffice()
    settings = dataclasses.replace(settings, database_url=pg_cluster.new_database(), claim_lease_seconds=2.0)
    sources = []
    for n, company in enumerate(samples.companies):
        path = tmp_path / "forms" / f"表{n}.docx"
        path.parent.mkdir(exist_ok=True)
        render_check_table(samples.fields(company=company), path, template_dir=settings.templates_dir,
                           bureau=settings.bureau, case_id=None)
        sources.append(path)
    store: SqlStore = open_store(settings.database_url)
    outbox = settings.outbox / "打印"
    first = _converter(settings, tmp_path)
    results: dict[Path, Path] = {}
    intake = threading.Thread(target=lambda: results.update(QueuedConverter(
        store, queue_root(settings.data_dir), timeout=120, wait=120).convert_many(sources, "pdf", outbox)))
    try:
        _until(lambda: store.live_converters() == 1, "the first converter started")
        intake.start()

        def converting() -> bool:
            for child in psutil.Process(first.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):  # gone meanwhile
                    if "--convert-to" in child.cmdline():
                        return True
            return False

        _until(converting, "the first converter runs LibreOffice on the batch")
        first.kill()  # SIGKILL mid-batch: no cleanup, its jobs stay running under its lease
        first.wait()
        assert store.conversion_counts()["running"] == len(sources)
        # Another converter, this one draining the queue once: it waits for the lease, takes the jobs over
        # and exits when the queue is empty.
        second = subprocess.run([sys.executable, "-m", "pipeline", "process", "--role", "convert"],
                                env=_env(settings), cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert second.returncode == 0 and f"共转换 {len(sources)} 个文件" in second.stderr, second.stderr
        intake.join(timeout=180)
        assert not intake.is_alive()
    finally:
        if first.poll() is None:
            first.kill()
    assert sorted(results) == sorted(sources), "nothing lost"
    assert sorted(p.name for p in outbox.iterdir()) == sorted(f"表{n}.pdf" for n in range(len(sources))), \
        "each converted once into the outbox, nothing else there"
    for n, company in enumerate(samples.companies):
        assert company.name[:6] in _pdf_text(outbox / f"表{n}.pdf")
    assert store.conversion_counts() == {"queued": 0, "running": 0, "done": 0, "failed": 0}
    assert list(queue_root(settings.data_dir).iterdir()) == [], "the intake side removed every batch folder"
    store.close()


def test_an_archive_waits_for_a_converter_and_is_never_made_without_its_pdfs(
        settings: Settings, samples: Samples, pg_cluster: Cluster, tmp_path: Path) -> None:
    require_soffice()
    settings = dataclasses.replace(settings, database_url=pg_cluster.new_database(), claim_lease_seconds=3.0,
                                   role="intake", archive_auto=True)
    samples.settings = settings
    samples.lists()
    table = samples.check_table("检查表.docx")
    sha = hashlib.sha256(table.read_bytes()).hexdigest()
    ctx = open_context(settings)
    converter_proc = None
    try:
        [case_id] = {o.case for o in process_inbox(ctx) if o.case}  # a pass with files does not archive
        case = ctx.store.get_case(case_id)
        assert case is not None and case.status is CaseStatus.published
        [result] = archive_ready_cases(ctx)  # no converter running
        assert "没有正在运行的转换机器" in result.error and not result.changed
        assert not (settings.outbox / "归档").exists() and not (cache_dir(settings) / f"{sha}.pdf").exists()
        assert ctx.run.archive_failed == {}, "postponed, not failed: tried again without a change to the case"
        converter_proc = _converter(settings, tmp_path)
        _until(lambda: ctx.store.live_converters() == 1, "the converter started")
        [result] = archive_ready_cases(ctx)
        assert result.changed and not result.error, result
        assert (settings.outbox / result.zip_path).is_file()
        assert (cache_dir(settings) / f"{sha}.pdf").read_bytes().startswith(b"%PDF"), "the 版式文件 came from the converter"
        assert ctx.store.get_case(case_id).status is CaseStatus.archived  # type: ignore[union-attr]
    finally:
        if converter_proc is not None:
            _stop(converter_proc, tmp_path)
        ctx.close()
