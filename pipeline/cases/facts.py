"""A case's facts for the rules: its check table, the lists in force, site records, answers, evidence.

Reads only; the decision is ``rules.bureau.evaluate``'s, and what follows from it is ``casework``'s.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import text

from pipeline.cases import lists
from pipeline.cases.context import Context
from pipeline.core.codes import CaseStatus, Severity
from pipeline.core.evidence import CaseEvidence, case_evidence
from pipeline.rules.bureau import Evaluation, Facts
from pipeline.rules.workdays import WorkCalendar
from pipeline.store.questions import answers_for


def calendar_for(ctx: Context) -> WorkCalendar:
    return WorkCalendar.load(ctx.settings.calendar_path if ctx.settings.calendar_path.exists() else None)


def site_records(ctx: Context, case_id: str) -> list[dict[str, Any]]:
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


def overrides(ctx: Context, case_id: str) -> dict[str, Any]:
    with ctx.store.engine.connect() as conn:
        raw = conn.execute(text("SELECT overrides FROM cases WHERE id=:c"), {"c": case_id}).scalar_one_or_none()
    return json.loads(raw) if raw else {}


def facts_for(ctx: Context, record: dict[str, Any], case_id: str | None, today: date | None = None) -> Facts:
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
