"""A .docx/.xlsx provably whole is taken without waiting out the settle time; every way a copy can be
unfinished (a prefix, a preallocated tail, blocks landing out of order, bytes after the end) is not.

The inputs are the LibreOffice-saved fixtures and zips written by Info-ZIP's ``zip``, not by the
``zipfile`` module that checks them."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
import types
import zipfile
from pathlib import Path

import pytest

from pipeline.core.settings import Settings
from pipeline.intake import inbox as intake
from pipeline.intake.inbox import SettleTracker
from pipeline.intake.process import LISTS_FOLDER, Context, open_context, process_inbox
from pipeline.intake.whole import MAX_WHOLE_BYTES, MAX_WHOLE_PARTS, provably_whole
from tests.conftest import Samples
from tests.system_deps import require_program

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DOCX = FIXTURES / "检查表-福瑞达.docx"
XLSX = FIXTURES / "检查表-福瑞达.xlsx"


def test_office_files_saved_by_libreoffice_and_zipped_by_info_zip_are_whole(tmp_path: Path) -> None:
    assert provably_whole(DOCX) and provably_whole(XLSX)
    # The same parts zipped again by another tool, with an archive comment at the end.
    parts = tmp_path / "parts"
    with zipfile.ZipFile(DOCX) as zf:
        zf.extractall(parts)
    rezipped = tmp_path / "再压缩.docx"
    subprocess.run([require_program("zip", "zip"), "-q", "-r", "-X", "-z", str(rezipped), "."], cwd=parts, input=b"comment\n.\n",
                   check=True)
    assert provably_whole(rezipped)
    for other in (FIXTURES / "检查表-福瑞达.pdf", FIXTURES / "检查表-福瑞达.doc"):
        assert not provably_whole(other)  # no CRC to prove a PDF or an OLE file whole: they wait
    renamed = tmp_path / "检查表.pdf"
    shutil.copyfile(DOCX, renamed)
    assert not provably_whole(renamed)


@pytest.mark.parametrize("source", [DOCX, XLSX])
def test_no_unfinished_copy_passes(tmp_path: Path, source: Path) -> None:
    data = source.read_bytes()
    target = tmp_path / f"copy{source.suffix}"
    # Every prefix a sequential copy leaves (chunk boundaries of 4 KB and 64 KB, and the last bytes).
    cuts = sorted({*range(0, len(data), 4096), *range(0, len(data), 65536), *range(len(data) - 30, len(data))})
    for cut in cuts:
        target.write_bytes(data[:cut])
        assert not provably_whole(target), cut
    # The final size set first and filled in order: zeros where the end record belongs.
    target.write_bytes(data[: len(data) - 1000] + bytes(1000))
    assert not provably_whole(target)
    # Filled out of order (SMB writes in flight): the tail landed, a block in the middle not yet.
    for start in range(0, len(data) - 4096, 4096):
        target.write_bytes(data[:start] + bytes(4096) + data[start + 4096:])
        assert not provably_whole(target), start
    # A copy appended to a leftover, or written twice over the same name.
    target.write_bytes(data + b"\0" * 100)
    assert not provably_whole(target)
    target.write_bytes(data + data)
    assert not provably_whole(target)
    target.write_bytes(data)
    assert provably_whole(target)


def test_an_embedded_zip_at_the_cut_is_not_taken_for_the_file(tmp_path: Path) -> None:
    """A copy cut right after a stored workbook embedded in a .docx ends with that workbook's end record."""
    outer = tmp_path / "含嵌入.docx"
    inner = XLSX.read_bytes()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>", compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("word/embeddings/Microsoft_Excel_Worksheet.xlsx", inner, compress_type=zipfile.ZIP_STORED)
        zf.writestr("word/document.xml", "<w:document/>" * 50, compress_type=zipfile.ZIP_DEFLATED)
    data = outer.read_bytes()
    end = data.index(inner) + len(inner)
    cut = tmp_path / "cut.docx"
    cut.write_bytes(data[:end])
    assert zipfile.is_zipfile(cut)  # zipfile alone would read the embedded workbook as the file
    assert not provably_whole(cut)
    assert provably_whole(outer)


def test_bombs_and_passwords_wait_instead_of_being_checked(tmp_path: Path) -> None:
    bomb = tmp_path / "炸弹.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", b"\0" * (MAX_WHOLE_BYTES + 1))
    start = time.process_time()
    assert not provably_whole(bomb)
    assert time.process_time() - start < 1.0  # refused from the directory, not by inflating it
    crowded = tmp_path / "部件太多.docx"
    with zipfile.ZipFile(crowded, "w") as zf:
        for n in range(MAX_WHOLE_PARTS + 1):
            zf.writestr(f"p{n}", b"")
    assert not provably_whole(crowded)
    secret = tmp_path / "加密.docx"
    parts = tmp_path / "p"
    parts.mkdir()
    (parts / "word.xml").write_text("<w/>")
    subprocess.run([require_program("zip", "zip"), "-q", "-P", "口令", str(secret), "word.xml"], cwd=parts, check=True)
    assert not provably_whole(secret)


def test_the_watcher_hands_over_a_whole_file_at_first_sight(tmp_path: Path) -> None:
    whole, partial = tmp_path / "a.docx", tmp_path / "b.docx"
    shutil.copyfile(DOCX, whole)
    partial.write_bytes(DOCX.read_bytes()[:-10])
    tracker = SettleTracker(settle=2.0)
    assert tracker.ready([whole, partial], now=0.0) == [whole]
    assert tracker.ready([partial], now=1.0) == []
    assert tracker.ready([partial], now=2.5) == [partial]  # unchanged for the settle time: taken as before


def _record_order(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    events: list[str] = []
    monkeypatch.setattr(intake, "time", types.SimpleNamespace(
        sleep=lambda seconds: events.append("settle wait"), monotonic=time.monotonic, time=time.time))
    return events


def test_a_pass_takes_whole_files_before_the_settle_wait(samples: Samples, settings: Settings,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = open_context(dataclasses.replace(settings, settle_seconds=60.0))  # the wait is recorded, not slept
    samples.lists()
    process_inbox(ctx)
    first = samples.check_table("检查表一.docx", company=samples.companies[0])
    second = samples.check_table("检查表二.docx", company=samples.companies[1])
    pdf = settings.inbox / "说明.pdf"
    shutil.copyfile(FIXTURES / "检查表-福瑞达.pdf", pdf)
    events = _record_order(monkeypatch)
    try:
        process_inbox(ctx, on_outcome=lambda o: events.append(o.name))
    finally:
        ctx.close()
    assert events[:2] == sorted([first.name, second.name]) and events[2] == "settle wait", events
    assert events[3:] == [pdf.name]


def test_a_list_still_settling_holds_the_whole_pass(ctx: Context, samples: Samples, settings: Settings,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Check tables may need the list: with a list not yet provably whole, nothing goes early."""
    _units, tasks, _roster = samples.lists()
    table = samples.check_table("检查表.docx")
    data = tasks.read_bytes()
    tasks.write_bytes(data[:-5])  # the list's copy has not finished at the first look
    events = _record_order(monkeypatch)
    original_sleep = intake.time.sleep

    def finish_copy(seconds: float) -> None:
        original_sleep(seconds)
        tasks.write_bytes(data)
        os.utime(tasks, ns=(time.time_ns() - 10**9, time.time_ns() - 10**9))

    monkeypatch.setattr(intake.time, "sleep", finish_copy)
    process_inbox(ctx, on_outcome=lambda o: events.append(o.name))
    assert events[0] == "settle wait", events
    assert f"{LISTS_FOLDER}/抽查任务.xlsx" not in events[1:]  # changed during the wait: taken next pass
    assert table.name in events
