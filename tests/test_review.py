"""The 待审核 loop (sheet out, answers back) and the HTML page beside a returned file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from markupsafe import escape
from rich.console import Console

from pipeline.cases import casework, review
from pipeline.cases.notes import rejection_html
from pipeline.cli.printing import print_questions
from pipeline.core.codes import CaseStatus
from pipeline.core.errors import BadArgsError
from pipeline.core.models import Finding
from pipeline.core.settings import Settings
from pipeline.intake.process import Context, open_context
from pipeline.samples.fictional import Company
from pipeline.store import Ask
from tests.conftest import Samples, process_json
from tests.end_states import assert_published

LONG_OPTIONS = tuple(f"第{n}种情况：企业已按要求完成整改并提交了书面报告" for n in range(1, 13))


def _header(ws: Any) -> list[str]:
    return [c.value for c in ws[review.HEADER_ROW]]


def _rows(path: Path) -> dict[int, dict[str, Any]]:
    """Question id → row (by header) of the first sheet; also gives the sheet row as ``_row``."""
    ws = openpyxl.load_workbook(path).worksheets[0]
    header = _header(ws)
    out = {}
    for row in ws.iter_rows(min_row=review.FIRST_ROW):
        if isinstance(row[0].value, int):
            out[row[0].value] = {h: c for h, c in zip(header, row, strict=True)} | {"_row": row[0].row}
    return out


def _validation_for(ws: Any, coordinate: str) -> Any:
    return next((dv for dv in ws.data_validations.dataValidation if coordinate in dv.sqref), None)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    ctx = open_context(settings)
    with ctx.store.begin() as tx:
        tx.create_case("SS-2026-00001", unit_name="=1+1", unit_key="=1+1", check_date="2026-11-09",
                       status=CaseStatus.review, record=None)
        tx.create_case("SS-2026-00002", unit_name="烟台恒信精密机械有限公司", unit_key="烟台恒信精密机械",
                       check_date="2026-11-10", status=CaseStatus.review, record=None)
        tx.sync_questions("SS-2026-00001", [
            Ask("UNIT_NEAR_MATCH", "UNIT_NEAR_MATCH", "inspected_unit", "是否为同一企业？", "烟台恒信（9137…）",
                ("是", "否")),
            Ask("RESULT_UNDECIDED", "RESULT_UNDECIDED", "situation", "请选择检查抽查结果。", "抽查情况：见附页",
                ("未发现问题", "发现问题已责令改正")),
        ])
        tx.sync_questions("SS-2026-00002", [
            Ask("USCC_INVALID", "USCC_INVALID", "uscc", "代码校验位不符，请核对。", "91370600MA3C0000X0",
                ("代码无误", "代码有误，需更正名录库")),
            Ask("OTHER", "OTHER", "handling", "选择整改情况。", None, LONG_OPTIONS),
        ])
    yield ctx
    ctx.store.close()


def test_sheet_lists_open_questions_with_drop_downs_and_text_only_cells(ctx: Context) -> None:
    path = ctx.settings.outbox / review.REVIEW_SHEET
    assert review.write_review_sheet(ctx.store, path) == 4
    assert not list(path.parent.glob(".*"))  # no partial file left behind
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["待审核", "填写说明"]
    ws = wb["待审核"]
    assert _header(ws) == ["问题编号", "案卷编号", "企业名称", "栏目", "问题", "发现的内容", "可选答案", "确认", "备注"]
    assert ws.freeze_panes == "A3"
    assert "收件箱" in ws["A1"].value
    assert "放入收件箱" in "".join(c.value or "" for c in wb["填写说明"]["A"])
    rows = _rows(path)
    by_key = {(r["案卷编号"].value, r["栏目"].value): r for r in rows.values()}
    near = by_key[("SS-2026-00001", "被抽查单位")]
    # A company name that looks like a formula is stored as text, never as a formula.
    assert near["企业名称"].value == "=1+1" and near["企业名称"].data_type == "s"
    assert near["可选答案"].value == "是／否" and near["确认"].value is None
    dv = _validation_for(ws, near["确认"].coordinate)
    assert dv is not None and dv.type == "list" and dv.formula1 == '"是,否"'
    uscc = by_key[("SS-2026-00002", "统一社会信用代码")]
    assert uscc["企业名称"].value == "烟台恒信精密机械有限公司"
    assert _validation_for(ws, uscc["确认"].coordinate).formula1 == '"代码无误,代码有误，需更正名录库"'
    # Too long for an inline list: no drop-down for that row (the answer is still checked on reading).
    assert _validation_for(ws, by_key[("SS-2026-00002", "处理意见和建议")]["确认"].coordinate) is None


def test_answers_from_the_sheet_are_recorded_and_cases_evaluated_again(
        ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    outbox_sheet = ctx.settings.outbox / review.REVIEW_SHEET
    review.write_review_sheet(ctx.store, outbox_sheet)
    rows = _rows(outbox_sheet)
    ids = {(q.case_id, q.key): q.id for q in ctx.store.questions()}
    near, result, uscc = (ids[("SS-2026-00001", "UNIT_NEAR_MATCH")], ids[("SS-2026-00001", "RESULT_UNDECIDED")],
                          ids[("SS-2026-00002", "USCC_INVALID")])
    # Staff fill 确认 and drop the sheet into the inbox.
    wb = openpyxl.load_workbook(outbox_sheet)
    ws = wb.worksheets[0]
    ws[rows[near]["确认"].coordinate] = " 是 "
    ws[rows[result]["确认"].coordinate] = "不知道"
    ws[rows[uscc]["确认"].coordinate] = "代码有误, 需更正名录库"  # half-width comma: still that option
    dropped = ctx.settings.inbox / "待审核 (张三).xlsx"
    wb.save(dropped)

    assert review.is_review_sheet(dropped)
    answers = review.read_review_sheet(dropped)
    assert sorted((a.question_id, a.answer) for a in answers) == sorted(
        [(near, "是"), (result, "不知道"), (uscc, "代码有误, 需更正名录库")])
    assert {a.question_id: a.row for a in answers}[result] == rows[result]["_row"]

    calls: list[str] = []
    real = casework.reevaluate_case

    def spy(ctx_: Any, case_id: str) -> Any:
        calls.append(case_id)
        return real(ctx_, case_id)

    monkeypatch.setattr(casework, "reevaluate_case", spy)
    outcome = review.apply_answers(ctx, answers, actor="inbox:张三")

    assert sorted((a.question_id, a.answer) for a in outcome.applied) == [(near, "是"), (uscc, "代码有误，需更正名录库")]
    bad_row = rows[result]["_row"]
    assert outcome.rejected == [(bad_row, f"第 {bad_row} 行：答案“不知道”不在可选答案（未发现问题／发现问题已责令改正）中，"
                                          "请从下拉列表中选择。")]
    assert calls == ["SS-2026-00001", "SS-2026-00002"] and outcome.cases == calls
    answered = {q.id: q for q in ctx.store.questions(status="answered")}
    assert answered[near].answer == "是" and answered[near].answered_by == "inbox:张三"
    assert answered[uscc].answer == "代码有误，需更正名录库"
    assert result not in answered
    events = [e for e in ctx.store.events("case") if e.action == "question_answered"]
    assert {(e.entity_id, e.actor, e.detail["answer"]) for e in events if e.detail} == {
        ("SS-2026-00001", "inbox:张三", "是"), ("SS-2026-00002", "inbox:张三", "代码有误，需更正名录库")}

    # The sheet in the outbox is written anew: answered questions gone, the rejected one says why.
    rewritten = _rows(outbox_sheet)
    assert set(rewritten) == {result, ids[("SS-2026-00002", "OTHER")]}
    assert "不在可选答案" in rewritten[result]["备注"].value

    # The same sheet dropped again records nothing twice.
    again = review.apply_answers(ctx, review.read_review_sheet(dropped), actor="inbox:张三")
    assert again.applied == [] and [r for r, _ in again.rejected] == [bad_row]
    assert len([e for e in ctx.store.events("case") if e.action == "question_answered"]) == 2


def test_cli_answers_and_empty_sheet(ctx: Context) -> None:
    console = Console(record=True, width=200)
    assert print_questions(ctx.store, console) == 0
    listed = console.export_text()
    assert "是否为同一企业？" in listed and "=1+1" in listed and "是／否" in listed
    qs = {q.key: q.id for q in ctx.store.questions()}
    with pytest.raises(BadArgsError, match="不在可选答案"):
        review.answer_from_cli(ctx, qs["UNIT_NEAR_MATCH"], "也许", "cli:tester")
    with pytest.raises(BadArgsError, match="不存在"):
        review.answer_from_cli(ctx, 9999, "是", "cli:tester")
    message = review.answer_from_cli(ctx, qs["UNIT_NEAR_MATCH"], "否", "cli:tester")
    assert "已记录" in message and "SS-2026-00001" in message
    with pytest.raises(BadArgsError, match="不能再次回答"):
        review.answer_from_cli(ctx, qs["UNIT_NEAR_MATCH"], "是", "cli:tester")
    for key, answer in (("RESULT_UNDECIDED", "未发现问题"), ("USCC_INVALID", "代码无误"), ("OTHER", LONG_OPTIONS[3])):
        review.answer_from_cli(ctx, qs[key], answer, "cli:tester")
    sheet = ctx.settings.outbox / review.REVIEW_SHEET
    ws = openpyxl.load_workbook(sheet).worksheets[0]
    assert ws.cell(review.FIRST_ROW, 1).value == review.NO_QUESTIONS
    assert review.read_review_sheet(sheet) == []
    console = Console(record=True)
    print_questions(ctx.store, console)
    assert review.NO_QUESTIONS in console.export_text()


def test_other_files_are_not_review_sheets(settings: Settings, samples: Samples, tmp_path: Path) -> None:
    units, _tasks, _roster = samples.lists(folder=tmp_path)
    table = samples.check_table("检查表.docx", folder=tmp_path)
    text = tmp_path / "问题编号 确认.xlsx"
    text.write_text("问题编号,确认\n1,是\n", encoding="utf-8")
    assert not any(review.is_review_sheet(p) for p in (units, table, text))


def test_answer_from_the_sheet_publishes_a_case_waiting_for_review(settings: Settings, samples: Samples) -> None:
    """End to end: a result the pipeline cannot read is asked, answered in the sheet, and published."""
    samples.lists()
    samples.check_table("检查表.docx", situation="现场查看了仓库和出入库台账。", handling="见附页。")
    [result] = [f for f in process_json(settings) if f["name"] == "检查表.docx"]
    assert result["status"] == "waiting", result
    assert "RESULT_UNDECIDED" in {f["code"] for f in result["findings"]}
    ctx = open_context(settings)
    try:
        sheet = settings.outbox / review.REVIEW_SHEET
        review.write_review_sheet(ctx.store, sheet)
        [row] = [r for r in _rows(sheet).values() if r["案卷编号"].value == result["case"]]
        wb = openpyxl.load_workbook(sheet)
        wb.worksheets[0][row["确认"].coordinate] = "未发现问题"
        dropped = settings.inbox / "待审核.xlsx"
        wb.save(dropped)
        outcome = review.apply_answers(ctx, review.read_review_sheet(dropped), actor="inbox:李四")
        assert [a.answer for a in outcome.applied] == ["未发现问题"] and outcome.rejected == []
        assert_published(ctx, result["case"])
        assert any(o.startswith("公示表/") for o in outcome.outputs)
        assert list((settings.outbox / "公示表").glob("*.docx"))
    finally:
        ctx.store.close()


# --- the HTML page beside a returned file ---------------------------------------------------------

def test_returned_file_gets_an_html_page_with_escaped_values(settings: Settings, samples: Samples) -> None:
    hostile = Company("烟台A&B<科技>有限公司", samples.companies[0].uscc, "王伟", "烟台", "制造业")
    samples.lists([hostile])
    for folder in ("甲", "乙"):  # two files of the same name: the second is returned as "… (2).docx"
        (settings.inbox / folder).mkdir()
        samples.check_table("检查表-一人.docx", folder=settings.inbox / folder, company=hostile, inspectors=1)
    files = [f for f in process_json(settings) if not f["name"].startswith("名录库/")]
    assert [f["status"] for f in files] == ["rejected", "rejected"]
    outputs = sorted(o for f in files for o in f["outputs"])
    assert outputs == sorted([
        "退回/检查表-一人.docx", "退回/检查表-一人.docx.错误说明.txt", "退回/检查表-一人.docx.错误说明.html",
        "退回/检查表-一人 (2).docx", "退回/检查表-一人 (2).docx.错误说明.txt",
        "退回/检查表-一人 (2).docx.错误说明.html"])
    page = (settings.outbox / "退回" / "检查表-一人.docx.错误说明.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in page
    assert "烟台A&amp;B&lt;科技&gt;有限公司" in page and "<科技>" not in page
    message = files[0]["findings"][0]["message"]
    assert str(escape(message)) in page
    assert "INSPECTORS_TOO_FEW" in page
    assert samples.people[0].name in page and samples.people[0].licence_no in page
    assert '<tr class="problem"><th>抽查执法人员</th>' in page
    assert not any(ref in page for ref in ("<script", "src=", "href=", "<link"))  # self-contained


def test_rejection_page_without_fields_and_with_empty_values() -> None:
    finding = Finding("FILE_EMPTY", "error", "file", "文件是空的（0 字节）。请重新保存后放入。")
    page = rejection_html("a<b>.docx", "2026-11-09T10:00:00+08:00", [finding], None)
    assert "a&lt;b&gt;.docx" in page and "文件是空的" in page and "读取到的内容" not in page
    fields = {"inspected_unit": "烟台某公司", "basis": None, "methods": ["书面检查", "现场检查"],
              "inspectors": [{"name": "王建国", "title": None, "licence_no": "3706", "phone": "1380"}],
              "check_start": "2026-11-09T09:30"}
    page = rejection_html("a.docx", "now", [Finding("FIELD_MISSING", "error", "basis", "未填写抽查依据。")], fields)
    assert '<tr class="problem"><th>抽查依据</th><td><span class="empty">（未填写）</span>' in page
    assert "书面检查、现场检查" in page and "2026-11-09 09:30" in page
    assert '<td class="empty">（未填写）</td>' in page  # the inspector's missing 职务
    assert "<th>职务</th>" in page
