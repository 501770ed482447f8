"""The 公示表 is rendered once per pass: that one .docx is published, converted to the PDF and carried on.

A case is evaluated several times in a pass (each file that joins it, then once more at the pass's
end); the render counter of the process's ``Runtime`` shows how often its 公示表 was made. Both PDF
routes are taken: drawn directly at once, and by LibreOffice in the batch at the end of the pass.
"""

from __future__ import annotations

import docx
import pytest

from pipeline.cases.public_forms import DOCX_KIND, PDF_KIND
from pipeline.core.jobs import folder_owner
from pipeline.core.settings import Settings
from pipeline.intake.process import Context, open_context, process_inbox
from tests.conftest import Samples
from tests.end_states import assert_published

pytestmark = pytest.mark.libreoffice


@pytest.mark.parametrize("direct", [True, False], ids=["pdf-drawn-directly", "pdf-by-libreoffice"])
def test_a_case_published_in_a_pass_is_rendered_once(settings: Settings, samples: Samples, direct: bool) -> None:
    ctx = open_context(settings.replace(public_form_pdf_direct=direct))
    try:
        _published_once(ctx, samples)
    finally:
        ctx.close()


def _published_once(ctx: Context, samples: Samples) -> None:
    samples.lists()
    # An on-site check: the table and its 现场检查笔录 in the same pass, so the case is evaluated
    # when the table arrives, when the record joins it and again at the end of the pass.
    samples.check_table("检查表.docx", methods=["现场检查"])
    samples.site_record("现场检查笔录.docx")
    outcomes = {o.name: o for o in process_inbox(ctx)}
    case_id = outcomes["检查表.docx"].case or ""
    assert outcomes["现场检查笔录.docx"].case == case_id
    assert_published(ctx, case_id)
    assert ctx.run.public_form_renders[case_id] == 1
    outputs = [o for o in ctx.store.outputs_for_case(case_id) if o.kind in (DOCX_KIND, PDF_KIND)]
    assert sorted(o.kind for o in outputs) == [DOCX_KIND, PDF_KIND]  # each published once
    word = ctx.settings.outbox / next(o.path for o in outputs if o.kind == DOCX_KIND)
    cells = {c.text for t in docx.Document(str(word)).tables for r in t.rows for c in r.cells}
    assert samples.companies[0].uscc in cells
    # The pass cleaned up after itself: its 公示表 folder and its read-ahead copy.
    assert [p.name for p in ctx.settings.jobs_dir.iterdir() if folder_owner(p.name)] == []

    # A pass with nothing new renders nothing; a published case keeps what was published.
    process_inbox(ctx)
    assert ctx.run.public_form_renders[case_id] == 1
