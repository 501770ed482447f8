"""A case's evaluation and what follows from it: findings, questions, due dates, state, 公示表.

``reevaluate_case`` is the one place that decides a case's state. It runs after a check table or a
site record joins the case, after a list changes, and after a person answers a question. The
公示表 is rendered in a job folder and published into the outbox as the last step.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from pipeline.cases import notes, public_forms, scanchoice
from pipeline.cases.context import Context
from pipeline.cases.facts import facts_for, state_of
from pipeline.cases.stage import CaseOutcome
from pipeline.core.codes import OPEN_STATES, PUBLISHED_STATES, CaseStatus, Severity
from pipeline.rules.bureau import Evaluation, evaluate
from pipeline.store import CaseRow, OutputRow
from pipeline.store.outbox import WAITING, publish, safe_filename


def reevaluate_case(ctx: Context, case_id: str) -> CaseOutcome | None:
    """Evaluate a case again and act on it; a case already published or further is left alone."""
    case = ctx.store.get_case(case_id)
    if case is None or not case.record or case.status in PUBLISHED_STATES:
        return None
    facts = facts_for(ctx, case.record, case_id)
    evaluation = evaluate(facts)
    status = state_of(evaluation, facts.targeted)
    adopted = evaluation.unit_name if evaluation.unit_name and evaluation.unit_name != case.unit_name else None
    if adopted:
        # The unit as listed in 名录库 (a confirmed near match): the case and its outputs use that name. The
        # case's unit_key stays the one written, so later forms written the same way still join the case.
        case = dataclasses.replace(case, unit_name=adopted)
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
    # Both 公示表 files out (the PDF is drawn with the Word file): the website copy too, and 已公示 is
    # recorded in the same transaction as the outputs (one commit fewer per file).
    website = (public_forms.website_copy(ctx, case, public_forms.public_form_of(ctx.settings, case, evaluation),
                                         rows) if status is CaseStatus.publishable else None)
    # Not durable by itself: the next durable commit (the next file's outcome, the end of pass) makes it
    # so; lost to a power cut before that, the case is still open and the next pass evaluates it again.
    with ctx.store.begin(durable=False) as tx:
        for row in rows:
            tx.add_output(row)
        # A waiting scan that could be this case or another is asked here too (questions live on a case).
        tx.sync_questions(case_id, [*evaluation.asks, *scanchoice.choice_asks(ctx, case_id)])
        tx.set_case_evaluation(
            case_id, penalty=evaluation.penalty,
            due_lower_half=evaluation.due_lower_half.due.isoformat() if evaluation.due_lower_half else None,
            due_publish=evaluation.due_publish.due.isoformat() if evaluation.due_publish else None,
            due_certain=all(d.certain for d in (evaluation.due_lower_half, evaluation.due_publish) if d),
            findings=[f.as_json() for f in evaluation.findings])
        if status is not case.status:
            tx.update_case(case_id, status=status)
        if adopted:
            tx.update_case(case_id, unit_name=adopted)
            tx.log("case", case_id, "unit_adopted", {"unit": adopted, "written": (case.record or {}).get("inspected_unit")})
        if website is not None:
            public_forms.record_published(tx, case_id, *website)
    if website is not None:
        ctx.run.pdf_pending.pop(case_id, None)
        return CaseOutcome(case_id, CaseStatus.published, evaluation, (*(r.path for r in rows), website[0].path))
    # Else a publishable case moves to 已公示 once both files are out (or gets PDF_PENDING, retried next pass).
    outcome = CaseOutcome(case_id, status, evaluation, tuple(r.path for r in rows))
    return public_forms.settle_publication(ctx, outcome)


def as_named(case: CaseRow, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """``record`` (default: the case's check table) with the unit as the case names it: the listed name once
    a near match is confirmed, so that the forms printed for signing carry it too."""
    fields = dict((case.record if record is None else record) or {})
    if case.unit_name:
        fields["inspected_unit"] = case.unit_name
    return fields


def _plan_outputs(ctx: Context, case: CaseRow, evaluation: Evaluation, status: CaseStatus,
                  job: Path) -> list[tuple[Path, str, str]]:
    record = case.record or {}
    unit = record.get("inspected_unit") or ""
    if status is CaseStatus.publishable:
        # The 公示表 as .docx and PDF/A in one step (pipeline.cases.public_forms).
        return public_forms.plan_public_form(ctx, case, evaluation, job)
    open_items = [f for f in evaluation.findings if f.severity in (Severity.waiting.value, Severity.review.value)]
    if not open_items:
        return []
    note = job / "waiting.txt"
    note.write_text(notes.waiting_note(unit or case.id, case.id, open_items), encoding="utf-8")
    return [(note, f"{WAITING}/{case.id}-{safe_filename(unit)}.说明.txt", "waiting_note")]


def _same_file(a: Path, b: Path) -> bool:
    return b.is_file() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def _remove_waiting_notes(ctx: Context, case_id: str) -> None:
    folder = ctx.settings.outbox / WAITING
    if folder.is_dir():
        for note in folder.glob(f"{case_id}-*.说明.txt"):
            note.unlink(missing_ok=True)


def reevaluate_open_cases(ctx: Context) -> list[CaseOutcome]:
    """Every case not yet decided (after a list change, and at the end of each pass)."""
    out = []
    for case in ctx.store.list_cases():
        # A publishable case is still missing its 公示表 PDF (published ones have moved on): retry it.
        if case.status in OPEN_STATES and case.record:
            result = reevaluate_case(ctx, case.id)
            if result is not None:
                out.append(result)
    return out
