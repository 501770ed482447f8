"""A case's facts for the rules: its check table, the lists in force, site records, answers, evidence.

Reads only; the decision is ``rules.bureau.evaluate``'s, and what follows from it is ``casework``'s.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.cases import lists
from pipeline.cases.context import Context
from pipeline.core.codes import CaseStatus, Severity
from pipeline.core.evidence import ScanBoxRow, case_evidence
from pipeline.rules.bureau import Evaluation, Facts
from pipeline.rules.workdays import WorkCalendar


def calendar_for(ctx: Context) -> WorkCalendar:
    """The working-day calendar, read again only when the override file changes."""
    path = ctx.settings.calendar_path
    try:
        return _calendar(path, path.stat().st_mtime_ns)
    except FileNotFoundError:
        return _calendar(None, 0)


@functools.lru_cache(maxsize=8)
def _calendar(path: Path | None, mtime_ns: int) -> WorkCalendar:
    del mtime_ns  # part of the cache key only: an edited file is read again
    return WorkCalendar.load(path)


def site_records(ctx: Context, case_id: str) -> list[dict[str, Any]]:
    """The fields of every 现场检查笔录 file attached to the case."""
    out = [ctx.store.file_fields(f.id) for f in ctx.store.case_files(case_id, form="site_record")]
    # A scanned 笔录 is a 笔录 received; whether it is signed is the evidence rule's question.
    out.extend({"source": "scan", "party_signed": True} for _ in ctx.store.scan_documents(case_id, form="site_record"))
    return out


def overrides(ctx: Context, case_id: str) -> dict[str, Any]:
    case = ctx.store.get_case(case_id)
    return (case.overrides if case else None) or {}


def facts_for(ctx: Context, record: dict[str, Any], case_id: str | None, today: date | None = None,
              boxes: Sequence[ScanBoxRow] = ()) -> Facts:
    """The facts of a check table: lists in force on its check date, the case's site records and answers.

    ``boxes``: evidence not recorded yet, after the case's (the 电子签章 of the check table being planned).
    """
    on = _check_day(record) or date.today()
    return Facts(
        check=record, settings=ctx.settings, calendar=calendar_for(ctx), today=today or date.today(),
        site_records=site_records(ctx, case_id) if case_id else (),
        roster=lists.inspector_roster(ctx.store, on), directory=lists.unit_directory(ctx.store, on),
        tasks=lists.tasks_on(ctx.store, on),
        answers=ctx.store.answers_for(case_id) if case_id else {},
        overrides=overrides(ctx, case_id) if case_id else {},
        evidence=case_evidence([*(ctx.store.scan_boxes(case_id) if case_id else ()), *boxes],
                               electronic=ctx.settings.accept_electronic_seal),
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
