"""Archiving off the hot path: a pass with files publishes without archiving; an empty pass, or the
watcher's idle time, archives (LibreOffice in a background thread, packaging a case at a time)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.archive.idle import IdleArchiver
from pipeline.archive.normalise import cache_dir
from pipeline.core.codes import CaseStatus
from pipeline.core.settings import Settings
from pipeline.intake.process import open_context, process_inbox
from pipeline.intake.watch import watch
from tests.conftest import Samples

pytestmark = pytest.mark.libreoffice


def wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def zips(settings: Settings) -> list[Path]:
    return sorted((settings.outbox / "归档").rglob("*.zip")) if (settings.outbox / "归档").exists() else []


def test_a_pass_with_files_publishes_and_an_empty_pass_archives(settings: Settings, samples: Samples) -> None:
    settings = settings.replace(archive_auto=True)
    samples.lists()
    samples.check_table("检查表-1.docx", company=samples.companies[0])
    ctx = open_context(settings)
    try:
        process_inbox(ctx)
        assert [c.status for c in ctx.store.list_cases()] == [CaseStatus.published]
        assert zips(settings) == []
        process_inbox(ctx)  # nothing in the inbox: the time to archive
        assert [c.status for c in ctx.store.list_cases()] == [CaseStatus.archived]
    finally:
        ctx.store.close()
    assert len(zips(settings)) == 1


def test_idle_archiver_normalises_in_the_background_and_stops_packaging_when_busy(
        settings: Settings, samples: Samples) -> None:
    settings = settings.replace(archive_auto=True)
    samples.lists()
    for n in range(3):
        samples.check_table(f"检查表-{n}.docx", company=samples.companies[n])
    ctx = open_context(settings)
    try:
        process_inbox(ctx)
        assert {c.status for c in ctx.store.list_cases()} == {CaseStatus.published}
        archiver = IdleArchiver(ctx)
        archiver.step(busy=lambda: False)
        assert archiver.normalising()  # LibreOffice runs in its thread; this call returned at once
        assert archiver.results == []
        wait_for(lambda: not archiver.normalising())
        assert len(list(cache_dir(settings).glob("*.pdf"))) == 3  # the three check tables' PDF/A
        archiver.step(busy=lambda: True)  # a file came: nothing packaged
        assert archiver.results == []
        answers = iter([False, True])
        archiver.step(busy=lambda: next(answers))  # one case, then a file came
        assert len(archiver.results) == 1
        archiver.step(busy=lambda: False)
        assert [r.error for r in archiver.results] == ["", "", ""]
        assert {c.status for c in ctx.store.list_cases()} == {CaseStatus.archived}
        archiver.step(busy=lambda: False)  # nothing changed: nothing to do
        assert len(archiver.results) == 3 and not archiver.normalising()
        archiver.close()
    finally:
        ctx.store.close()
    assert len(zips(settings)) == 3


def test_watch_publishes_first_and_archives_when_idle(settings: Settings, samples: Samples) -> None:
    settings = settings.replace(archive_auto=True)
    samples.lists()
    samples.check_table("检查表-1.docx", company=samples.companies[0])
    ctx = open_context(settings)
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(ctx,), kwargs={"stop": stop})
    thread.start()
    try:
        pdf = settings.outbox / "公示表" / f"{samples.companies[0].name}-2026-11-09.pdf"
        wait_for(pdf.is_file)
        wait_for(lambda: len(zips(settings)) == 1)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert pdf.stat().st_mtime_ns <= zips(settings)[0].stat().st_mtime_ns
    assert [c.status for c in ctx.store.list_cases()] == [CaseStatus.archived]
    ctx.store.close()
