"""The exact end state of a case, for tests that take a case through the pipeline.

``publishable`` is where a case stays when its 公示表 PDF failed: a test that accepts it would pass
on a broken LibreOffice. ``assert_published`` checks the state, the absence of ``PDF_PENDING``
and that both 公示表 files are recorded and present in the outbox.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from pipeline.cases.public_forms import DOCX_KIND, PDF_KIND
from pipeline.core.codes import CaseStatus, FindingCode


def case_findings(ctx: Any, case_id: str) -> list[dict[str, Any]]:
    """The case's current findings as ``status`` shows them (read straight from the cases table)."""
    with ctx.store.engine.connect() as conn:
        raw = conn.execute(text("SELECT findings FROM cases WHERE id=:c"), {"c": case_id}).scalar_one_or_none()
    return json.loads(raw) if raw else []


def assert_published(ctx: Any, case_id: str, status: CaseStatus = CaseStatus.published) -> None:
    case = ctx.store.get_case(case_id)
    assert case is not None, case_id
    assert case.status is status, (case.status, case_findings(ctx, case_id))
    pending = [f for f in case_findings(ctx, case_id) if f["code"] == FindingCode.pdf_pending.value]
    assert pending == []
    outputs = {o.kind: o.path for o in ctx.store.outputs_for_case(case_id)}
    for kind in (DOCX_KIND, PDF_KIND):
        assert kind in outputs, (kind, outputs)
        assert (ctx.settings.outbox / outputs[kind]).is_file(), outputs[kind]
    assert (ctx.settings.outbox / outputs[PDF_KIND]).read_bytes().startswith(b"%PDF-")
