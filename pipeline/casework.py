"""A case's evaluation and what follows from it: findings, questions, due dates, state, 公示表.

``reevaluate_case`` is the one place that decides a case's state. It runs after a check table or a
site record joins the case, after a list changes, and after a person answers a question. The
公示表 is rendered in a job folder and published into the outbox as the last step.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

from pipeline import lists, notes, public_forms
from pipeline.codes import OPEN_STATES, PUBLISHED_STATES, CaseStatus, Severity
from pipeline.evidence import CaseEvidence, case_evidence
from pipeline.outbox import WAITING, publish, safe_filename
from pipeline.rules import Evaluation, Facts, evaluate
from pipeline.store import CaseRow, OutputRow
from pipeline.store.questions import answers_for, sync_questions
from pipeline.workdays import WorkCalendar


@dataclass(frozen=True)
class CaseOutcome:
    case_id: str
    status: CaseStatus
    evaluation: Evaluation
    outputs: tuple[str, ...]


def calendar_for(ctx: Any) -> WorkCalendar:
    return WorkCalendar.load(ctx.settings.calendar_path if ctx.settings.calendar_path.exists() else None)


def site_records(ctx: Any, case_id: str) -> list[dict[str, Any]]:
    """The fields of every 现场检查笔录 file attached to the case."""
    with ctx.store.engine.connect() as conn:
        files = [r.id for r in conn.execute(text(
            "SELECT id FROM files WHERE case_id=:c AND form='site_record' AND status IN ('accepted', 'waiting')"
            " ORDER BY id"), {"c": case_id})]
        out = []
        for file_id in files:
            rows = conn.execute(text("SELECT name, value FROM fields WHERE file_id=:f"), {"f": file_id})
            out.append({r.name: json.loads(r.value) if r.value is not None else None for r in rows})
        # A scanned 笔录 is a 笔录 received; whether it is signed is the evidence rule's question.
        scans = conn.execute(text("SELECT id FROM scan_documents WHERE case_id=:c AND form='site_record'"),
                             {"c": case_id}).all()
        out.extend({"source": "scan", "party_signed": True} for _ in scans)
    return out


def overrides(ctx: Any, case_id: str) -> dict[str, Any]:
    with ctx.store.engine.connect() as conn:
        raw = conn.execute(text("SELECT overrides FROM cases WHERE id=:c"), {"c": case_id}).scalar_one_or_none()
    return json.loads(raw) if raw else {}


def facts_for(ctx: Any, record: dict[str, Any], case_id: str | None, today: date | None = None) -> Facts:
    """The facts of a check table: lists in force on its check date, the case's site records and answers."""
    on = _check_day(record) or date.today()
    return Facts(
        check=record, settings=ctx.settings, calendar=calendar_for(ctx), today=today or date.today(),
        site_records=site_records(ctx, case_id) if case_id else (),
        roster=lists.inspector_roster(ctx.store, on), directory=lists.unit_directory(ctx.store, on),
        tasks=lists.tasks_on(ctx.store, on),
        answers=answers_for(ctx.store, case_id) if case_id else {},
        overrides=overrides(ctx, case_id) if case_id else {},
        evidence=case_evidence(ctx.store, case_id) if case_id else CaseEvidence(),
    )


def _check_day(record: dict[str, Any]) -> date | None:
    value = record.get("check_start")
    return date.fromisoformat(value[:10]) if value else None


def state_of(evaluation: Evaluation, targeted: bool) -> CaseStatus:
    if evaluation.has(Severity.review):
        return CaseStatus.review
    if evaluation.has(Severity.waiting) or not evaluation.result:
        return CaseStatus.incomplete
    return CaseStatus.received if targeted else CaseStatus.publishable


def reevaluate_case(ctx: Any, case_id: str) -> CaseOutcome | None:
    """Evaluate a case again and act on it; a case already published or further is left alone."""
    case = ctx.store.get_case(case_id)
    if case is None or not case.record or case.status in PUBLISHED_STATES:
        return None
    facts = facts_for(ctx, case.record, case_id)
    evaluation = evaluate(facts)
    status = state_of(evaluation, facts.targeted)
    job = ctx.settings.jobs_dir / f"case-{case_id}"
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    try:
        planned = _plan_outputs(ctx, case, evaluation, status, job)
        # An unchanged note is not written again: a re-evaluation with nothing new leaves the outbox alone.
        # Unless it was never recorded (a run killed between publishing and recording it).
        recorded = {(o.kind, o.path) for o in ctx.store.outputs_for_case(case_id)}
        rows = [OutputRow(case_id, None, kind, dest, publish(src, ctx.settings.outbox / dest))
                for src, dest, kind in planned
                if (kind, dest) not in recorded or not _same_file(src, ctx.settings.outbox / dest)]
    finally:
        shutil.rmtree(job, ignore_errors=True)
    if status is not CaseStatus.incomplete and status is not CaseStatus.review:
        _remove_waiting_notes(ctx, case_id)
    with ctx.store.begin() as tx:
        for row in rows:
            tx.add_output(row)
        sync_questions(tx, case_id, list(evaluation.asks))
        tx.conn.execute(text(
            "UPDATE cases SET penalty=:p, due_lower_half=:l, due_publish=:pub, due_certain=:c, findings=:f"
            " WHERE id=:id"), {
                "p": int(evaluation.penalty),
                "l": evaluation.due_lower_half.due.isoformat() if evaluation.due_lower_half else None,
                "pub": evaluation.due_publish.due.isoformat() if evaluation.due_publish else None,
                "c": int(all(d.certain for d in (evaluation.due_lower_half, evaluation.due_publish) if d)),
                "f": json.dumps([f.as_json() for f in evaluation.findings], ensure_ascii=False),
                "id": case_id})
        if status is not case.status:
            tx.update_case(case_id, status=status)
    # A publishable case with both files moves to 已公示 (or gets PDF_PENDING and is retried next pass).
    outcome = CaseOutcome(case_id, status, evaluation, tuple(r.path for r in rows))
    return public_forms.settle_publication(ctx, outcome)


def _plan_outputs(ctx: Any, case: CaseRow, evaluation: Evaluation, status: CaseStatus,
                  job: Path) -> list[tuple[Path, str, str]]:
    record = case.record or {}
    unit = record.get("inspected_unit") or ""
    if status is CaseStatus.publishable:
        # The 公示表 as .docx and PDF/A in one step (pipeline.public_forms).
        return public_forms.plan_public_form(ctx, case, evaluation, job)
    open_items = [f for f in evaluation.findings if f.severity in (Severity.waiting.value, Severity.review.value)]
    if not open_items:
        return []
    note = job / "waiting.txt"
    note.write_text(notes.waiting_note(unit or case.id, case.id, open_items), encoding="utf-8")
    return [(note, f"{WAITING}/{case.id}-{safe_filename(unit)}.说明.txt", "waiting_note")]


def _same_file(a: Path, b: Path) -> bool:
    return b.is_file() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def _remove_waiting_notes(ctx: Any, case_id: str) -> None:
    folder = ctx.settings.outbox / WAITING
    if folder.is_dir():
        for note in folder.glob(f"{case_id}-*.说明.txt"):
            note.unlink(missing_ok=True)


def reevaluate_open_cases(ctx: Any) -> list[CaseOutcome]:
    """Every case not yet decided (after a list change, and at the end of each pass)."""
    out = []
    for case in ctx.store.list_cases():
        # A publishable case is still missing its 公示表 PDF (published ones have moved on): retry it.
        if case.status in OPEN_STATES and case.record:
            result = reevaluate_case(ctx, case.id)
            if result is not None:
                out.append(result)
    return out
