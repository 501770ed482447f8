"""Every rule of the 工作细则, pass and fail, on real files run through the pipeline in-process."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.settings import Settings
from pipeline.intake.process import Context, Outcome, open_context, process_inbox
from pipeline.samples.demo import write_roster_sheet, write_units_sheet
from tests.conftest import Samples
from tests.end_states import assert_published


@pytest.fixture
def ctx(settings: Settings) -> Context:
    return open_context(settings)


def run(ctx: Context) -> dict[str, Outcome]:
    return {o.name: o for o in process_inbox(ctx)}


def codes(outcome: Outcome) -> dict[str, str]:
    return {f.code: f.severity for f in outcome.findings}


def public_forms(settings: Settings) -> list[Path]:
    folder = settings.outbox / "公示表"
    return sorted(folder.glob("*.docx")) if folder.exists() else []


def check(ctx: Context, samples: Samples, **overrides: Any) -> Outcome:
    samples.check_table("检查表.docx", **overrides)
    return run(ctx)["检查表.docx"]


def test_a_complete_check_passes_every_rule_and_is_published(ctx: Context, samples: Samples) -> None:
    samples.lists()
    run(ctx)
    outcome = check(ctx, samples)
    assert outcome.status is FileStatus.accepted
    assert not [f for f in outcome.findings if f.severity != "warning"], outcome.findings
    assert len(public_forms(ctx.settings)) == 1
    assert_published(ctx, outcome.case or "")


@pytest.mark.parametrize(("overrides", "code", "article"), [
    ({"inspectors": 1}, "INSPECTORS_TOO_FEW", "第十条"),
    ({"methods": None}, "METHOD_MISSING", "第九条"),
    ({"methods": ["抽样检查"]}, "METHOD_UNKNOWN", "第九条"),
    ({"dept_opinion_date": None}, "APPROVAL_MISSING", "第十一条"),
    ({"leader_approval_date": "2026-11-10"}, "APPROVAL_AFTER_CHECK", "第十一条"),
    ({"authority_seal_date": None}, "CONFIRMATION_MISSING", "第十一条"),
    ({"check_start": "2026-11-09T15:00", "check_end": "2026-11-09T09:00"}, "DATES_INCOHERENT", None),
    ({"check_start": "2010-11-09T09:30", "check_end": "2010-11-09T11:00"}, "DATE_IMPLAUSIBLE", None),
])
def test_errors_return_the_file_with_code_field_and_article(
        ctx: Context, samples: Samples, overrides: dict[str, Any], code: str, article: str | None) -> None:
    samples.lists()
    run(ctx)
    outcome = check(ctx, samples, **overrides)
    assert outcome.status is FileStatus.rejected
    assert codes(outcome).get(code) == "error", outcome.findings
    finding = next(f for f in outcome.findings if f.code == code)
    assert finding.article == article
    assert any("\u4e00" <= ch <= "\u9fff" for ch in finding.message)
    assert (ctx.settings.outbox / "退回" / "检查表.docx").exists()


def test_a_date_after_today_is_refused(ctx: Context, samples: Samples) -> None:
    samples.lists()
    run(ctx)
    soon = dt.date.today() + dt.timedelta(days=40)
    outcome = check(ctx, samples, check_start=f"{soon}T09:30", check_end=f"{soon}T11:00",
                    leader_confirmation_date=None, authority_seal_date=None, situation=None, handling=None)
    assert codes(outcome).get("DATE_IN_FUTURE") == "error"


def test_inspector_without_phone_is_incomplete(ctx: Context, samples: Samples) -> None:
    samples.lists()
    run(ctx)
    people = [p.as_inspector() for p in samples.people[:2]]
    people[1]["phone"] = None
    assert codes(check(ctx, samples, team=people)).get("INSPECTOR_INCOMPLETE") == "error"


def test_licence_must_be_in_the_roster_belong_to_the_person_and_be_valid(
        ctx: Context, samples: Samples) -> None:
    samples.lists()
    roster = ctx.settings.inbox / "名录库" / "执法检查人员名录库.xlsx"
    expired = dataclasses.replace(samples.people[1], valid_until=dt.date(2026, 6, 30))
    write_roster_sheet(roster, [samples.people[0], expired, *samples.people[2:]])
    run(ctx)
    people = [p.as_inspector() for p in samples.people[:2]]
    outcome = check(ctx, samples, team=[{**people[0], "licence_no": "37069999999999"}, people[1]])
    found = codes(outcome)
    assert found.get("LICENCE_UNKNOWN") == "error" and found.get("LICENCE_EXPIRED") == "error"
    expired_msg = next(f.message for f in outcome.findings if f.code == "LICENCE_EXPIRED")
    assert "2026-06-30" in expired_msg and "第十六条" in expired_msg

    swapped = [{**people[0], "name": "冒名顶替"}, samples.people[2].as_inspector()]
    samples.check_table("检查表2.docx", team=swapped)
    assert codes(run(ctx)["检查表2.docx"]).get("LICENCE_NAME_MISMATCH") == "error"


def test_an_inspector_with_a_conflict_of_interest_must_be_replaced(ctx: Context, samples: Samples) -> None:
    samples.lists()
    roster = ctx.settings.inbox / "名录库" / "执法检查人员名录库.xlsx"
    write_roster_sheet(roster, samples.people, avoid={samples.people[1].name: f"某公司、{samples.companies[0].uscc}"})
    run(ctx)
    outcome = check(ctx, samples)
    assert codes(outcome).get("INSPECTOR_RECUSAL") == "error"
    assert "第七条" in next(f.message for f in outcome.findings if f.code == "INSPECTOR_RECUSAL")


def test_without_the_roster_the_case_waits(ctx: Context, samples: Samples) -> None:
    samples.lists()
    (ctx.settings.inbox / "名录库" / "执法检查人员名录库.xlsx").unlink()
    run(ctx)
    outcome = check(ctx, samples)
    assert outcome.status is FileStatus.waiting and codes(outcome).get("ROSTER_MISSING") == "waiting"


def test_unit_and_task_missing_make_the_case_wait(ctx: Context, samples: Samples) -> None:
    samples.lists(companies=samples.companies[1:])
    run(ctx)
    outcome = check(ctx, samples)
    assert outcome.status is FileStatus.waiting
    assert codes(outcome).items() >= {"USCC_MISSING": "waiting", "TASK_MISSING": "waiting"}.items()
    assert public_forms(ctx.settings) == []


def test_near_match_and_bad_checksum_ask_a_person(ctx: Context, samples: Samples) -> None:
    company = samples.companies[0]
    bad = dataclasses.replace(company, uscc=company.uscc[:-1] + ("0" if company.uscc[-1] != "0" else "1"))
    samples.lists()
    write_units_sheet(ctx.settings.inbox / "名录库" / "检查对象名录库.xlsx", [bad])
    run(ctx)
    outcome = check(ctx, samples, inspected_unit=company.name.replace("有限公司", "有限责任公司"))
    found = codes(outcome)
    assert found.get("UNIT_NEAR_MATCH") == "review"
    assert outcome.status is FileStatus.waiting
    case = ctx.store.get_case(outcome.case or "")
    assert case is not None and case.status is CaseStatus.review


def test_a_targeted_check_is_recorded_but_not_published(ctx: Context, samples: Samples) -> None:
    samples.lists()
    run(ctx)
    outcome = check(ctx, samples, basis="群众投诉举报线索核查")
    assert codes(outcome).get("NOT_RANDOM") == "warning"
    assert public_forms(ctx.settings) == []
    case = ctx.store.get_case(outcome.case or "")
    assert case is not None and case.status is CaseStatus.received


def test_on_site_check_waits_for_its_site_record_then_publishes(ctx: Context, samples: Samples) -> None:
    samples.lists()
    run(ctx)
    outcome = check(ctx, samples, methods=["现场检查"])
    assert codes(outcome).get("SITE_RECORD_MISSING") == "waiting"
    assert public_forms(ctx.settings) == []
    samples.site_record("现场检查笔录.docx")
    record = run(ctx)["现场检查笔录.docx"]
    assert record.status is FileStatus.accepted and record.case == outcome.case
    assert len(public_forms(ctx.settings)) == 1


def test_a_site_record_neither_signed_nor_explained_is_returned(ctx: Context, samples: Samples) -> None:
    samples.site_record("现场检查笔录.docx", party_signed=False, party_sign_date=None, refusal_reason=None)
    outcome = run(ctx)["现场检查笔录.docx"]
    assert outcome.status is FileStatus.rejected
    assert codes(outcome).get("SITE_RECORD_UNSIGNED") == "error"
    samples.site_record("现场检查笔录-拒签.docx", refused=True)
    assert run(ctx)["现场检查笔录-拒签.docx"].status is FileStatus.accepted


def test_upper_half_only_waits_for_the_lower_half(ctx: Context, samples: Samples) -> None:
    samples.lists()
    run(ctx)
    outcome = check(ctx, samples, situation=None, check_start=None, check_end=None, handling=None,
                    leader_confirmation_date=None, authority_seal_date=None)
    assert outcome.status is FileStatus.waiting and codes(outcome).get("LOWER_HALF_PENDING") == "waiting"


def test_lower_half_after_five_working_days_is_noted(ctx: Context, samples: Samples) -> None:
    samples.lists()
    run(ctx)
    outcome = check(ctx, samples, leader_confirmation_date="2026-11-20", authority_seal_date="2026-11-20")
    assert codes(outcome).get("LOWER_HALF_LATE") == "warning"
    assert "2026-11-16" in next(f.message for f in outcome.findings if f.code == "LOWER_HALF_LATE")
    assert outcome.status is FileStatus.accepted


def test_undecided_result_asks_and_a_penalty_is_flagged(ctx: Context, samples: Samples) -> None:
    samples.lists()
    run(ctx)
    outcome = check(ctx, samples, situation="已对企业进行检查。", handling="另行研究。")
    assert codes(outcome).get("RESULT_UNDECIDED") == "review"
    samples.check_table("检查表-查处.docx", company=samples.companies[1],
                        handling="企业存在违法行为，已立案调查，拟予以行政处罚。")
    penalty = run(ctx)["检查表-查处.docx"]
    assert codes(penalty).get("PENALTY_FLAGGED") == "warning"
    forms = public_forms(ctx.settings)
    assert len(forms) == 1
    text = "\n".join(c.text for t in Document(str(forms[0])).tables for r in t.rows for c in r.cells)
    assert "发现问题待后续处理" in text


def test_review_sheet_dropped_back_into_the_inbox_answers_and_publishes(ctx: Context, samples: Samples) -> None:
    from openpyxl import load_workbook

    samples.lists()
    run(ctx)
    outcome = check(ctx, samples, situation="已对企业进行检查。", handling="另行研究。")
    assert outcome.status is FileStatus.waiting
    sheet = ctx.settings.outbox / "待审核.xlsx"
    wb = load_workbook(sheet)
    ws = wb.worksheets[0]
    header_row = next(r for r in ws.iter_rows() if any(c.value == "确认" for c in r))
    col = {c.value: c.column for c in header_row}
    row = header_row[0].row + 1
    assert ws.cell(row, col["案卷编号"]).value == outcome.case
    ws.cell(row, col["确认"]).value = "未发现问题"
    wb.save(ctx.settings.inbox / "待审核.xlsx")
    answered = run(ctx)["待审核.xlsx"]
    assert answered.status is FileStatus.accepted and answered.findings == ()
    assert_published(ctx, outcome.case or "")
    [form] = public_forms(ctx.settings)
    text = "\n".join(c.text for t in Document(str(form)).tables for r in t.rows for c in r.cells)
    assert "未发现问题" in text
    events = [e for e in ctx.store.events("case", outcome.case) if e.action == "question_answered"]
    assert events and events[0].actor == "inbox:待审核.xlsx"


def _facts(samples: Samples, settings: Settings, today: dt.date, **overrides: Any) -> Any:
    from pipeline.rules.bureau import Facts
    from pipeline.rules.workdays import WorkCalendar

    return Facts(check=samples.fields(**overrides), settings=settings, calendar=WorkCalendar.load(None),
                 today=today, roster=[{"姓名": p.name, "执法证号": p.licence_no} for p in samples.people])


def test_licence_pattern_is_configurable(samples: Samples, settings: Settings) -> None:
    from pipeline.rules.bureau import evaluate

    loose = evaluate(_facts(samples, settings, dt.date(2026, 11, 28)))
    assert "LICENCE_FORMAT" not in {f.code for f in loose.findings}
    strict = evaluate(_facts(samples, settings.replace(licence_pattern=r"\d{11}"), dt.date(2026, 11, 28)))
    assert {f.code: f.severity for f in strict.findings}.get("LICENCE_FORMAT") == "warning"


def test_a_deadline_running_into_a_year_without_holiday_data_is_provisional_and_loud(
        samples: Samples, settings: Settings) -> None:
    from pipeline.rules.bureau import evaluate

    late = evaluate(_facts(samples, settings, dt.date(2027, 2, 1), check_start="2026-12-24T09:30",
                           check_end="2026-12-24T11:00", dept_opinion_date="2026-12-18",
                           leader_approval_date="2026-12-21", authority_opinion_date="2026-12-21",
                           leader_confirmation_date="2026-12-28", authority_seal_date="2026-12-28"))
    assert late.due_publish is not None and not late.due_publish.certain
    warning = next(f for f in late.findings if f.code == "CALENDAR_UNKNOWN")
    assert "2027" in warning.message and "节假日调休.toml" in warning.message


def test_an_answer_not_taken_is_explained_in_the_remarks_column_of_the_next_sheet(
        ctx: Context, samples: Samples) -> None:
    from openpyxl import load_workbook

    samples.lists()
    run(ctx)
    outcome = check(ctx, samples, situation="已对企业进行检查。", handling="另行研究。")
    sheet = ctx.settings.outbox / "待审核.xlsx"
    wb = load_workbook(sheet)
    ws = wb.worksheets[0]
    header_row = next(r for r in ws.iter_rows() if any(c.value == "确认" for c in r))
    col = {c.value: c.column for c in header_row}
    row = header_row[0].row + 1
    ws.cell(row, col["确认"]).value = "大概没问题吧"
    wb.save(ctx.settings.inbox / "待审核.xlsx")
    answered = run(ctx)["待审核.xlsx"]
    assert answered.status is FileStatus.accepted
    assert [f.code for f in answered.findings] == ["REVIEW_ANSWER_REJECTED"]
    # The pass rewrote the sheet at its end; the reason is still in 备注, beside the same question.
    ws = load_workbook(sheet).worksheets[0]
    assert ws.cell(row, col["案卷编号"]).value == outcome.case
    remark = str(ws.cell(row, col["备注"]).value or "")
    assert "“大概没问题吧”未被采用" in remark
    case = ctx.store.get_case(outcome.case or "")
    assert case is not None and case.status is CaseStatus.review
