"""公示表汇总.xlsx: read back with types, one sheet per month, formulas neutralised, written only on change."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from pipeline.core.cells import neutralise
from pipeline.core.errors import BadArgsError
from pipeline.core.settings import Settings
from pipeline.intake.process import open_context, process_inbox
from pipeline.outputs.summary import (
    HEADERS,
    LATE,
    NOT_DUE,
    ON_TIME,
    OVERDUE,
    refresh_reports,
    summary_rows,
    write_summary,
)
from tests.conftest import Samples
from tests.test_public_forms import FORMULA_NAME, MARKUP_NAME, Published, published_workspace


@pytest.fixture
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return published_workspace(tmp_path_factory)


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+86 535", "'+86 535"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=x", "'\t=x"),
    ("烟台=公司", "烟台=公司"), ("", ""), (None, None), (3, 3), (dt.date(2026, 11, 9), dt.date(2026, 11, 9)),
])
def test_neutralise_makes_only_formula_looking_text_inert(value: object, expected: object) -> None:
    assert neutralise(value) == expected


@pytest.mark.libreoffice
def test_summary_in_the_outbox_reads_back_with_real_dates_and_inert_names(published: Published) -> None:
    path = published.settings.outbox / "公示表" / "公示表汇总.xlsx"
    wb = load_workbook(path)
    assert wb.sheetnames == ["2026年11月"]
    ws = wb["2026年11月"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == list(HEADERS)
    rows = [dict(zip(HEADERS, row, strict=True)) for row in ws.iter_rows(min_row=2)]
    assert [r["企业名称"].value for r in rows] == [published.companies[0].name, "'" + FORMULA_NAME, MARKUP_NAME]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    with published.ctx.store.engine.connect() as conn:
        dues = dict(conn.execute(text("SELECT id, due_publish FROM cases")).all())
    for row, company in zip(rows, published.companies, strict=True):
        assert row["统一社会信用代码"].value == company.uscc
        assert row["检查实施机关"].value == published.settings.bureau
        assert row["状态"].value in ("已公示", "已移交", "已归档")
        for header in ("检查抽查日期（起）", "检查抽查日期（止）", "公示期限", "公示日期"):
            assert row[header].is_date and "yy" in row[header].number_format, header
        assert row["检查抽查日期（起）"].value == dt.datetime(2026, 11, 9)
        assert row["公示期限"].value.date().isoformat() == dues[row["案卷编号"].value]
        published_on = row["公示日期"].value.date()
        assert row["是否按期"].value == (ON_TIME if published_on <= row["公示期限"].value.date() else LATE)
    assert ws.column_dimensions["B"].width > ws.column_dimensions["A"].width > 10


def test_summary_has_a_sheet_per_month_due_dates_and_overdue_marks(
        settings: Settings, samples: Samples, tmp_path: Path) -> None:
    # No lists: both cases wait (待补充), with their due dates counted from the check end.
    samples.check_table("十月.docx", check_start="2026-10-20T09:30", check_end="2026-10-20T11:00",
                        dept_opinion_date="2026-10-14", leader_approval_date="2026-10-15",
                        authority_opinion_date="2026-10-15", leader_confirmation_date="2026-10-21",
                        authority_seal_date="2026-10-21")
    samples.check_table("十一月.docx", company=samples.companies[1])
    ctx = open_context(settings)
    process_inbox(ctx)

    rows = sorted(summary_rows(ctx, today=dt.date(2026, 11, 28)), key=lambda r: r.month or "")
    assert [(r.month, r.status) for r in rows] == [("2026-10", "待补充"), ("2026-11", "待补充")]
    october, november = rows
    assert october.due_publish is not None and october.due_publish < dt.date(2026, 11, 28)
    assert october.on_time == OVERDUE
    assert november.due_publish is not None and november.on_time == NOT_DUE
    assert october.published_on is None and october.uscc == ""

    out = write_summary(ctx, tmp_path / "all.xlsx")
    assert load_workbook(out).sheetnames == ["2026年10月", "2026年11月"]
    only = load_workbook(write_summary(ctx, tmp_path / "nov.xlsx", period="2026-11"))
    assert only.sheetnames == ["2026年11月"]
    assert [c.value for c in only["2026年11月"]["B"]][1:] == [samples.companies[1].name]
    empty = load_workbook(write_summary(ctx, tmp_path / "sep.xlsx", period="2026-9"))
    assert empty.sheetnames == ["2026年9月"] and empty.active.max_row == 1
    with pytest.raises(BadArgsError, match="2026-11"):
        write_summary(ctx, tmp_path / "bad.xlsx", period="2026/13")


def test_summary_is_rewritten_only_when_a_row_changed_and_a_locked_file_waits(
        settings: Settings, samples: Samples) -> None:
    samples.check_table("检查表.docx")
    ctx = open_context(settings)
    process_inbox(ctx)
    summary = settings.outbox / "公示表" / "公示表汇总.xlsx"
    assert summary.is_file()
    assert refresh_reports(ctx) == []  # nothing changed

    # The file is in the way (as when Excel holds it open on a share): the pass goes on, the next writes it.
    summary.unlink()
    summary.mkdir()
    assert refresh_reports(ctx) == []
    shutil.rmtree(summary)
    assert refresh_reports(ctx) == ["公示表/公示表汇总.xlsx"]
    assert load_workbook(summary)["2026年11月"]["B2"].value == samples.companies[0].name
