"""Crashes at the two dangerous points of ``commit``, injected in-process: the rerun recovers."""

from __future__ import annotations

import pytest

from pipeline.core.codes import FileStatus
from pipeline.core.settings import Settings
from pipeline.intake import process
from pipeline.intake.process import open_context, process_inbox
from tests.conftest import Samples


class Crash(Exception):
    pass


def test_crash_inside_the_record_transaction_resumes_the_same_file(
        settings: Settings, samples: Samples, monkeypatch: pytest.MonkeyPatch) -> None:
    samples.lists()
    path = samples.check_table("检查表.docx")
    ctx = open_context(settings)
    process_inbox(ctx, paths=sorted((settings.inbox / "名录库").iterdir()))

    def broken_finish_file(self: object, *args: object, **kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr("pipeline.store.sql.SqlTx.finish_file", broken_finish_file)
    with pytest.raises(Crash):
        process.process_file(path, ctx)
    assert path.exists()
    assert [f.status for f in ctx.store.list_files() if f.original_name == "检查表.docx"] == [FileStatus.processing]
    monkeypatch.undo()

    [outcome] = process_inbox(ctx)
    assert outcome.status is FileStatus.accepted
    rows = [f for f in ctx.store.list_files() if f.original_name == "检查表.docx"]
    assert [r.status for r in rows] == [FileStatus.accepted]
    assert len(list((settings.outbox / "公示表").glob("*.docx"))) == 1
    assert not path.exists()


def test_crash_after_record_before_inbox_removal_is_not_a_duplicate(
        settings: Settings, samples: Samples, monkeypatch: pytest.MonkeyPatch) -> None:
    samples.lists()
    path = samples.check_table("检查表.docx")
    ctx = open_context(settings)
    process_inbox(ctx, paths=sorted((settings.inbox / "名录库").iterdir()))

    def broken_remove(p: object) -> None:
        raise Crash

    monkeypatch.setattr(process, "_remove_from_inbox", broken_remove)
    with pytest.raises(Crash):
        process_inbox(ctx)
    assert path.exists()
    monkeypatch.undo()

    [outcome] = process_inbox(ctx)
    assert outcome.status is FileStatus.accepted
    # The case was evaluated at the end of the pass: its 公示表 exists exactly once.
    assert len(list((settings.outbox / "公示表").glob("*.docx"))) == 1
    assert [r.status for r in ctx.store.list_files() if r.original_name == "检查表.docx"] == [FileStatus.accepted]
    assert not path.exists()


def test_crash_after_record_before_case_evaluation_is_caught_up_next_pass(
        settings: Settings, samples: Samples, monkeypatch: pytest.MonkeyPatch) -> None:
    samples.lists()
    path = samples.check_table("检查表.docx")
    ctx = open_context(settings)
    process_inbox(ctx, paths=sorted((settings.inbox / "名录库").iterdir()))

    def broken_add_output(self: object, row: object) -> None:
        raise Crash

    monkeypatch.setattr("pipeline.store.sql.SqlTx.add_output", broken_add_output)
    with pytest.raises(Crash):
        process.process_file(path, ctx)
    monkeypatch.undo()
    assert not path.exists()  # recorded: the file's own outcome is safe
    [row] = [f for f in ctx.store.list_files() if f.original_name == "检查表.docx"]
    assert row.status is FileStatus.accepted
    assert process_inbox(ctx) == []
    forms = list((settings.outbox / "公示表").glob("*.docx"))
    assert [p.suffix for p in forms] == [".docx"]
