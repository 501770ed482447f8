"""A unit name near the listed one, confirmed by the clerk in 待审核.xlsx: the case adopts the listed unit (name,
统一社会信用代码, 抽查任务), moves on and is published under the listed name, end to end through the inbox."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from openpyxl import load_workbook

from pipeline.cases.overview import case_lines
from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.settings import Settings
from pipeline.intake.process import open_context, process_inbox
from tests.conftest import Samples
from tests.end_states import assert_published


def _answer(sheet: Path, case_id: str, code_label: str, answer: str, dropped: Path) -> None:
    """Fill 确认 of the case's question whose row mentions ``code_label`` and save the sheet as ``dropped``."""
    wb = load_workbook(sheet)
    ws = wb.worksheets[0]
    header = next(r for r in ws.iter_rows() if any(c.value == "确认" for c in r))
    col = {c.value: c.column for c in header}
    [row] = [r[0].row for r in ws.iter_rows(min_row=header[0].row + 1)
             if r[col["案卷编号"] - 1].value == case_id and code_label in "".join(str(c.value or "") for c in r)]
    ws.cell(row, col["确认"]).value = answer
    wb.save(dropped)


def test_a_confirmed_near_match_adopts_the_listed_unit_its_code_and_its_task(
        settings: Settings, samples: Samples) -> None:
    company = samples.companies[0]
    assert "有限公司" in company.name
    written = company.name.replace("有限公司", "有限责任公司")
    ctx = open_context(settings)
    try:
        samples.lists()
        process_inbox(ctx)
        samples.check_table("检查表.docx", inspected_unit=written)
        [outcome] = [o for o in process_inbox(ctx) if o.name == "检查表.docx"]
        found = {f.code: f.severity for f in outcome.findings}
        assert outcome.status is FileStatus.waiting
        assert found.get("UNIT_NEAR_MATCH") == "review" and found.get("TASK_MISSING") == "waiting"
        case_id = outcome.case or ""

        _answer(settings.outbox / "待审核.xlsx", case_id, "相近", "是", settings.inbox / "待审核.xlsx")
        [answered] = [o for o in process_inbox(ctx) if o.name == "待审核.xlsx"]
        assert answered.status is FileStatus.accepted and answered.findings == ()

        assert_published(ctx, case_id)
        case = ctx.store.get_case(case_id)
        assert case is not None and case.unit_name == company.name and case.record
        assert case.record["inspected_unit"] == written  # what was written stays on record
        assert [e.detail for e in ctx.store.events("case", case_id) if e.action == "unit_adopted"] == [
            {"unit": company.name, "written": written}]
        # The 公示表, named and filled with the listed unit, its code and its task.
        [form] = sorted((settings.outbox / "公示表").glob(f"{company.name}-*.docx"))
        cells = [c.text for t in Document(str(form)).tables for r in t.rows for c in r.cells]
        assert company.name in cells and written not in "".join(cells) and company.uscc in cells
        assert "2026年度民用爆炸物品销售的安全生产监督管理双随机抽查" in cells and "不定向抽查" in cells
        # 公示表汇总 and the case list say the same.
        ws = load_workbook(settings.outbox / "公示表" / "公示表汇总.xlsx").worksheets[0]
        rows = {r[0]: r for r in ws.iter_rows(values_only=True)}
        assert rows[case_id][1:3] == (company.name, company.uscc) and rows[case_id][-1] == CaseStatus.published.label
        [line] = [line for line in case_lines(ctx) if line.case_id == case_id]
        assert line.unit == company.name
    finally:
        ctx.store.close()
