"""公示表汇总 and ``status`` agree: a mixed batch through real passes, then the count of cases in each state, read
from the 汇总 written in the outbox and from ``status`` (per state, and with --all), is the same."""

from __future__ import annotations

import io
import re
from collections import Counter

from openpyxl import load_workbook
from rich.console import Console

from pipeline.cli.status import StatusFilter, print_status
from pipeline.core.codes import CaseStatus
from pipeline.core.settings import Settings
from pipeline.intake.process import Context, open_context, process_inbox
from tests.conftest import Samples


def _summary_counts(settings: Settings) -> Counter[str]:
    wb = load_workbook(settings.outbox / "公示表" / "公示表汇总.xlsx")
    counts: Counter[str] = Counter()
    for ws in wb.worksheets:
        header, *rows = list(ws.iter_rows(values_only=True))
        state = header.index("状态")
        counts.update(str(row[state]) for row in rows if row[0])
    return counts


def _status_count(ctx: Context, only: StatusFilter) -> int:
    out = io.StringIO()
    print_status(ctx, Console(file=out, width=400), only=only)
    found = re.search(r"案卷状态（(\d+)/(\d+)）", out.getvalue())
    assert found, out.getvalue()
    return int(found.group(1))


def _assert_agree(ctx: Context, settings: Settings) -> Counter[str]:
    summary = _summary_counts(settings)
    for state in CaseStatus:
        assert summary.get(state.label, 0) == _status_count(ctx, StatusFilter(state=state)), (state.label, summary)
    assert sum(summary.values()) == _status_count(ctx, StatusFilter(include_archived=True))
    return summary


def _pass_then_agree(settings: Settings) -> Counter[str]:
    ctx = open_context(settings)
    try:
        process_inbox(ctx)
        return _assert_agree(ctx, settings)
    finally:
        ctx.store.close()


def test_summary_and_status_count_the_same_cases_in_every_state(settings: Settings, samples: Samples) -> None:
    samples.lists()
    samples.check_table("完整.docx")                                                         # → 已公示
    samples.check_table("名录外.docx", inspected_unit="莱阳市北郊农机修造厂")                  # → 待补充
    samples.check_table("结果不明.docx", company=samples.companies[1], situation="已对企业进行检查。",
                        handling="另行研究。")                                               # → 待审核
    samples.check_table("投诉.docx", company=samples.companies[2], basis="群众投诉举报线索核查")  # → 已接收
    samples.site_record("只有笔录.docx", company=samples.companies[3])                       # → 已接收, no check table
    first = _pass_then_agree(settings)
    assert first == Counter({"已公示": 1, "待补充": 1, "待审核": 1, "已接收": 2}), first
    # Archiving on: the next pass moves the published case to 已归档, and the 汇总 follows in that same pass.
    second = _pass_then_agree(settings.replace(archive_auto=True))
    assert second == Counter({"已归档": 1, "待补充": 1, "待审核": 1, "已接收": 2}), second
