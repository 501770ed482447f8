"""行政处罚决定书 in the pipeline: join the decision to its case, its 7-working-day deadline (第十五条).

A dropped decision (``"form": "penalty_decision"``, read by ``pipeline.extract.penalty_decision``)
joins the latest case with ``penalty`` set (the check's 处理意见 mentions 立案/罚款/…) of the same
unit: by 统一社会信用代码 (the case's code comes from the 检查对象名录库) or by normalised company
name. Without such a case the file is accepted but waits (status ``waiting``, a note in 待补充) and is
matched again after every pass. A decision without its party, 文号 or date is returned.

The ``penalties`` table (migration 0006) is derived from the recorded files by ``sync_penalties``,
which runs after every pass (crash-safe: a pass that died after the commit is caught up by the next
one). The due date is ``add_working_days(decision_date, settings.days_penalty)`` on the bureau's
calendar; a date that runs into a year without holiday data is provisional and says so.
``intake.process.penalty_outputs`` then writes the 双公示 export and, when a period has ended, the 综合科 bundle.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pipeline.cases import lists
from pipeline.cases.context import Context
from pipeline.cases.facts import calendar_for
from pipeline.cases.stage import Output, Plan, Received, plan_rejection
from pipeline.core import checks
from pipeline.core.codes import FileStatus, FindingCode
from pipeline.core.models import Extraction, Finding
from pipeline.core.names import portable_name
from pipeline.core.text import company_key
from pipeline.extract.penalty_decision import PENALTY_DECISION_LABELS
from pipeline.rules.workdays import WorkCalendar
from pipeline.store import PenaltyRow
from pipeline.store.outbox import WAITING

SOON_WORKING_DAYS = 3
WAITING_FOR_DECISION = "待行政处罚决定书"
REQUIRED = ("party_name", "decision_no", "decision_date")


def penalties(ctx: Context, *, case_id: str | None = None, matched: bool | None = None) -> list[PenaltyRow]:
    """The received decisions (``Store.penalties``), by decision date."""
    return ctx.store.penalties(case_id=case_id, matched=matched)


# --- matching -------------------------------------------------------------------------------------

def case_uscc(ctx: Context, unit_name: str | None, check_date: str | None) -> str | None:
    """The case's 统一社会信用代码 from the 检查对象名录库 in force on its check date."""
    if not unit_name:
        return None
    on = date.fromisoformat(check_date) if check_date else None
    return lists.lookup_publication(ctx.store, unit_name, on).uscc


def match_case(ctx: Context, fields: dict[str, Any]) -> str | None:
    """The latest case with ``penalty`` set whose unit is the decision's party (code or name)."""
    uscc = (fields.get("uscc") or "").upper() or None
    key = company_key(fields.get("party_name") or "")
    for r in ctx.store.penalty_cases():
        if key and r.unit_key == key:
            return str(r.id)
        if uscc and case_uscc(ctx, r.unit_name, r.check_date) == uscc:
            return str(r.id)
    return None


# --- planning one dropped decision ------------------------------------------------------------------

def _unmatched_note(name: str, fields: dict[str, Any]) -> str:
    party = fields.get("party_name") or fields.get("uscc") or "（未识别）"
    return (f"文件：{name}\n"
            f"行政处罚决定书 {fields.get('decision_no') or ''}（当事人：{party}）已收到，但还没有找到对应的查处案卷。\n\n"
            "决定书按当事人的统一社会信用代码或名称，与“处理意见和建议”涉及立案、处罚的检查表案卷对应。\n"
            "请确认该单位的检查表已放入收件箱，且“处理意见和建议”写明了立案或行政处罚；\n"
            "检查表受理后，本决定书会自动归入该案卷，无需重新放入。\n")


def plan_penalty_decision(received: Received, extraction: Extraction, job: Path, ctx: Context) -> Plan:
    """Return the decision when it lacks what the 双公示 needs; else join its case or wait for it."""
    fields = extraction.fields
    missing = [k for k in REQUIRED if not fields.get(k)]
    if missing:
        names = "、".join(PENALTY_DECISION_LABELS[k] for k in missing)
        finding = checks.error(
            FindingCode.field_missing, missing[0],
            f"行政处罚决定书中没有读到{names}。请确认放入的是正式的决定书（标题、文号、当事人、末尾的作出日期齐全），"
            "如是扫描件请同时放入电子版（.docx 或文字版 PDF）。")
        return plan_rejection(received, job, [finding], extraction)
    findings: list[Finding] = [checks.warning(FindingCode.extraction_warning, None, w) for w in extraction.warnings]
    case_id = match_case(ctx, fields)
    if case_id is not None:
        return Plan(status=FileStatus.accepted, findings=tuple(findings), form=extraction.form,
                    extraction=extraction, case_id=case_id)
    findings.append(checks.warning(
        FindingCode.penalty_unmatched, "party_name",
        f"没有找到当事人“{fields.get('party_name')}”涉及查处的检查表案卷；决定书已保存，检查表受理后自动归入。"))
    note = job / "penalty-waiting.txt"
    note.write_text(_unmatched_note(received.name, fields), encoding="utf-8")
    return Plan(status=FileStatus.waiting, findings=tuple(findings), form=extraction.form, extraction=extraction,
                outputs=(Output(note, f"{WAITING}/{portable_name(received.name)}.说明.txt", "penalty_waiting_note"),))


# --- the penalties table -------------------------------------------------------------------------------

def _due(calendar: WorkCalendar, decision_date: str | None, days: int) -> tuple[str | None, bool]:
    if not decision_date:
        return None, True
    deadline = calendar.add_working_days(date.fromisoformat(decision_date), days)
    return deadline.due.isoformat(), deadline.certain


def sync_penalties(ctx: Context) -> list[str]:
    """Record new decision files, match waiting ones, refresh due dates; returns the cases matched now."""
    calendar = calendar_for(ctx)
    matched_now: list[str] = []
    new = [(f.id, f.case_id, ctx.store.file_fields(f.id)) for f in ctx.store.unrecorded_penalty_files()]
    with ctx.store.begin() as tx:
        for file_id, case_id, fields in new:
            tx.add_penalty(file_id, case_id, fields)
    for row in penalties(ctx, matched=False):
        case_id = match_case(ctx, row.fields)
        if case_id is None:
            continue
        with ctx.store.begin() as tx:
            tx.attach_penalty(row, case_id)
        matched_now.append(case_id)
    # After the commit: a crash in between leaves a note that the next pass removes.
    for note in ctx.store.stale_penalty_notes():
        (ctx.settings.outbox / note).unlink(missing_ok=True)
    with ctx.store.begin() as tx:
        for row in penalties(ctx):
            due, certain = _due(calendar, row.decision_date, ctx.settings.days_penalty)
            if (due, certain) != (row.due_date, row.due_certain):
                tx.set_penalty_due(row.id, due, certain)
            if row.case_id:
                tx.set_case_due_penalty(row.case_id, due)
    return matched_now


# --- status ------------------------------------------------------------------------------------------

def penalty_flags(ctx: Context, case_id: str, penalty: bool, today: date, calendar: WorkCalendar) -> list[str]:
    """The 提醒 of ``shuangsui status`` for a case's penalty: 待行政处罚决定书, or the decision's due date."""
    rows = penalties(ctx, case_id=case_id)
    if not rows:
        return [WAITING_FOR_DECISION] if penalty else []
    row = rows[-1]
    if not row.due_date:
        return []
    no = row.decision_no or ""
    provisional = "" if row.due_certain else "，暂定"
    due = date.fromisoformat(row.due_date)
    if row.bundled_at:
        return [f"处罚结果已移交综合科（{no}，期限 {row.due_date}）"]
    if due < today:
        return [f"处罚结果上传已逾期（{row.due_date}{provisional}，{no}）"]
    if due <= calendar.add_working_days(today, SOON_WORKING_DAYS).due:
        return [f"处罚结果上传即将到期（{row.due_date}{provisional}，{no}）"]
    return [f"处罚结果上传期限 {row.due_date}{provisional}（{no}）"]
