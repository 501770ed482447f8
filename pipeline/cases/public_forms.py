"""The 公示表 of a case as Word and PDF/A-2b, and the step that marks a case 已公示 (第十三条).

A ``publishable`` case gets its 公示表 rendered from ``templates/公示表.docx`` and as PDF/A-2b
(``plan_public_form``, called by ``casework._plan_outputs``). Both go to
``outbox/公示表/<企业名称>-<检查日期>.docx|.pdf``. The PDF is drawn directly from the same values
(``pipeline.documents.public_pdf``, milliseconds) and published with the Word file at once, inside a
pass or not. Only where that cannot be (setting ``public_form_pdf_direct`` off, an edited template,
content that does not fit the stock layout) LibreOffice converts the .docx: inside a pass over the
inbox (``defer_pdfs`` … ``flush_pdfs``) those conversions are collected and made in one batch at the
end of the pass, since starting LibreOffice costs about two seconds and converting a page a fraction
of that. A case's 公示表 .docx is rendered once per pass (kept in ``ctx.run.public_forms`` while its
values hold): that one file is published as the Word version and converted to the PDF; the 汇总, the
bundle and the archive take them from the outbox. Outside a pass (an answer given on the command
line) the PDF is made at once. When LibreOffice is missing or fails,
the Word file is still published, the case stays ``publishable`` with a ``PDF_PENDING`` warning and
the next pass tries again (``casework.reevaluate_open_cases`` re-evaluates publishable cases). Once
both files are in the outbox, the PDF is copied into ``outbox/网站公示/``, the printed values are
recorded in the event log (``public_form`` / ``published`` events: what was published stays known even
when the lists change later) and the case moves to ``published``.

Conversions go through one process-wide ``ConverterPool`` per LibreOffice setting, created on first
use and closed at exit. Its profiles live in one folder per user under the system temp folder, so a
later run (the next ``shuangsui process``) starts LibreOffice on a warm profile; ``Converter`` locks
each profile with ``flock``, so processes sharing it take turns.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.cases.context import Context, RenderedForm
from pipeline.cases.facts import facts_for
from pipeline.core.codes import PUBLISHED_STATES as _PUBLISHED_STATES
from pipeline.core.codes import CaseStatus, FindingCode, Severity
from pipeline.core.errors import BadArgsError, OutputError, ShuangsuiError
from pipeline.core.jobs import PUBLIC_FORMS as PUBLIC_FORMS_JOB
from pipeline.core.jobs import process_folder
from pipeline.core.models import Finding
from pipeline.core.settings import Settings
from pipeline.documents.libreoffice import PDFA2B_FILTER
from pipeline.documents.public_pdf import LayoutUnsupported, render_public_form_pdf, supports, warm_up
from pipeline.documents.render import (
    PUBLIC_FORM_TEMPLATE,
    PreparedTemplate,
    prepared_template,
    public_form_context,
)
from pipeline.rules.bureau import Evaluation, evaluate
from pipeline.store import CaseRow, OutputRow
from pipeline.store.base import StoreTx
from pipeline.store.outbox import PUBLIC_FORMS, WEBSITE, publish, safe_filename

if TYPE_CHECKING:
    from pipeline.cases.stage import CaseOutcome

log = logging.getLogger(__name__)

DOCX_KIND = "public_form_docx"
PDF_KIND = "public_form_pdf"
WEBSITE_PDF_KIND = "website_pdf"
EVENT_FORM = "public_form"      # the values of a rendered 公示表 (not yet published)
EVENT_PUBLISHED = "published"   # the values of the published 公示表, with its files
PUBLISHED_STATES = _PUBLISHED_STATES  # re-exported: regenerate reads it here


class PdfConversionError(OutputError):
    """Some 公示表 could not be converted to PDF (after one retry); ``converted`` holds the rest."""

    def __init__(self, message: str, converted: dict[Path, Path], failed: Sequence[Path]) -> None:
        super().__init__(message)
        self.converted = converted
        self.failed = tuple(failed)


@dataclass(frozen=True)
class PublicForm:
    """The values printed on a case's 公示表 (第十三条), with the check dates as ISO days."""

    case_id: str
    unit_name: str
    uscc: str
    authority: str
    task_name: str
    check_start: str | None  # YYYY-MM-DD
    check_end: str | None
    check_date: str  # as printed: 2026年11月9日 or 2026年11月9日至2026年11月10日
    check_type: str
    result: str

    def context(self) -> dict[str, str]:
        return public_form_context(
            unit_name=self.unit_name, uscc=self.uscc, authority=self.authority, task_name=self.task_name,
            check_date=self.check_date, check_type=self.check_type, result=self.result)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PublicForm:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# --- naming and values ----------------------------------------------------------------------------

def public_form_stem(case: CaseRow) -> str:
    """``<企业名称>-<检查日期>`` (safe for every share): the name of the case's 公示表 files; the unit as the
    case names it (the listed name once a near match is confirmed), else as written."""
    record = case.record or {}
    unit = case.unit_name or record.get("inspected_unit") or ""
    day = (record.get("check_start") or "")[:10] or (case.check_date or "")
    return safe_filename(f"{unit}-{day}")


def cn_date_range(start: str | None, end: str | None) -> str:
    """``2026年11月9日``, or ``2026年11月9日至2026年11月10日`` for a check over several days."""
    def cn(d: str) -> str:
        return f"{int(d[:4])}年{int(d[5:7])}月{int(d[8:10])}日"

    if not start:
        return ""
    if end and end[:10] != start[:10]:
        return f"{cn(start)}至{cn(end)}"
    return cn(start)


def public_form_of(settings: Settings, case: CaseRow, evaluation: Evaluation) -> PublicForm:
    """The 公示表 values of ``case`` from its check table and its evaluation (lists in force)."""
    record = case.record or {}
    start, end = record.get("check_start"), record.get("check_end")
    return PublicForm(
        case_id=case.id, unit_name=str(evaluation.unit_name or record.get("inspected_unit") or case.unit_name or ""),
        uscc=evaluation.uscc or "", authority=settings.bureau, task_name=evaluation.task_name or "",
        check_start=start[:10] if start else None, check_end=(end or start or "")[:10] or None,
        check_date=cn_date_range(start, end), check_type=evaluation.check_type or "",
        result=evaluation.result or "")


def recorded_forms(ctx: Context, case_id: str | None = None) -> dict[str, tuple[PublicForm, dict[str, Any] | None]]:
    """Case id → (latest recorded 公示表 values, the ``published`` event detail with ``at`` or None);
    every case's, or only ``case_id``'s."""
    out: dict[str, tuple[PublicForm, dict[str, Any] | None]] = {}
    for event in ctx.store.events("case", case_id):
        if event.action not in (EVENT_FORM, EVENT_PUBLISHED) or not event.detail:
            continue
        form = PublicForm.from_json(event.detail.get("form") or {})
        published = ({**event.detail, "at": event.at} if event.action == EVENT_PUBLISHED
                     else (out[event.entity_id][1] if event.entity_id in out else None))
        out[event.entity_id] = (form, published)
    return out


def current_form(ctx: Context, case: CaseRow) -> PublicForm:
    """What the case's 公示表 says: as published for a published case, else from a fresh evaluation."""
    if case.status in PUBLISHED_STATES:
        recorded = recorded_forms(ctx, case.id).get(case.id)
        if recorded is not None:
            return recorded[0]
    if not case.record:
        raise OutputError(f"案卷 {case.id} 还没有检查表，无法生成公示表。请先放入该案卷的随机抽查事项检查表。")
    evaluation = evaluate(facts_for(ctx, case.record, case.id))
    if evaluation.has(Severity.waiting) or evaluation.has(Severity.review) or not evaluation.result:
        raise OutputError(f"案卷 {case.id} 尚不能公示（待补充或待审核）。请运行 shuangsui status 查看缺少什么。")
    return public_form_of(ctx.settings, case, evaluation)


# --- rendering and conversion ---------------------------------------------------------------------

def render_public_form_docx(ctx: Context, case_id: str, out_dir: Path,
                            prepared: PreparedTemplate | None = None) -> Path:
    """Render the case's 公示表 into ``out_dir/<stem>.docx``; return that path."""
    case = ctx.store.get_case(case_id)
    if case is None:
        raise BadArgsError(f"案卷 {case_id} 不存在。请用 shuangsui status 查看案卷编号。")
    return _render(ctx, case.id, current_form(ctx, case), public_form_stem(case), out_dir, prepared)


def _render(ctx: Context, case_id: str, form: PublicForm, stem: str, out_dir: Path,
            prepared: PreparedTemplate | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{stem}.docx"
    template = prepared or prepared_template(ctx.settings.templates_dir / PUBLIC_FORM_TEMPLATE)
    template.render(form.context(), out)
    ctx.run.public_form_renders[case_id] += 1
    return out


def _pass_folder(settings: Settings) -> Path:
    """Where a pass keeps its rendered 公示表 (one folder per case) and their PDFs until its end: this
    process's own (another worker's pass on the same data folder starts and ends on its own)."""
    return process_folder(settings.jobs_dir, PUBLIC_FORMS_JOB)


def _pass_docx(ctx: Context, case: CaseRow, form: PublicForm) -> Path:
    """The case's 公示表 .docx of this pass: rendered when first needed, then reused while the values
    printed and the file name stay the same (a case is evaluated several times in a pass)."""
    stem = public_form_stem(case)
    cached = ctx.run.public_forms.get(case.id)
    if cached is not None and cached.values == (form, stem) and cached.path.is_file():
        return cached.path
    path = _render(ctx, case.id, form, stem, _pass_folder(ctx.settings) / case.id)
    ctx.run.public_forms[case.id] = RenderedForm((form, stem), path)
    return path


def _end_pass(ctx: Context) -> None:
    ctx.run.public_forms.clear()
    shutil.rmtree(_pass_folder(ctx.settings), ignore_errors=True)


def direct_pdf(settings: Settings, form: PublicForm, stem: str, out_dir: Path) -> Path | None:
    """The 公示表 PDF/A drawn without LibreOffice into ``out_dir/<stem>.pdf``, or None where it cannot be
    (setting off, template edited, content that does not fit the stock layout): then LibreOffice converts."""
    return direct_pdf_of(settings, form.context(), out_dir / f"{stem}.pdf",
                         settings.templates_dir / PUBLIC_FORM_TEMPLATE)


def direct_pdf_of(settings: Settings, context: Mapping[str, str], out: Path, template: Path) -> Path | None:
    """``direct_pdf`` for a template context (``regenerate``) and the template it is rendered from."""
    if not settings.public_form_pdf_direct or not supports(template):
        return None
    try:
        return render_public_form_pdf(context, out)
    except LayoutUnsupported as exc:
        log.info("公示表 %s drawn by LibreOffice instead: %s", out.stem, exc.message)
        return None
    except ShuangsuiError as exc:  # fonts missing: LibreOffice (which needs them too) says what to install
        log.warning("公示表 %s: PDF not drawn directly: %s", out.stem, exc.message)
        return None


def prepare_direct_pdfs(settings: Settings) -> None:
    """Open the 公示表 PDF fonts before the first file comes (``watch``): its PDF then waits for nothing."""
    if settings.public_form_pdf_direct and supports(settings.templates_dir / PUBLIC_FORM_TEMPLATE):
        try:
            warm_up()
        except ShuangsuiError as exc:  # no fonts: each 公示表 falls back to LibreOffice and says so
            log.warning("公示表 PDF fonts not available: %s", exc.message)


def convert_to_pdf(ctx: Context, docx_paths: Sequence[Path], out_dir: Path) -> dict[Path, Path]:
    """Convert 公示表 .docx files to PDF/A-2b in ``out_dir`` (``<stem>.pdf``), in batches.

    Files without output are tried once more; raises ``PdfConversionError`` (an ``OutputError``)
    naming those that still fail, and ``LibreOfficeMissing`` when LibreOffice is not installed.
    """
    paths = list(dict.fromkeys(docx_paths))
    if not paths:
        return {}
    pool = ctx.converter()
    done = pool.convert_many(paths, "pdf", out_dir, PDFA2B_FILTER)
    missing = [p for p in paths if p not in done]
    if missing:
        log.warning("PDF conversion failed for %d file(s), retrying once", len(missing))
        done.update(pool.convert_many(missing, "pdf", out_dir, PDFA2B_FILTER))
        missing = [p for p in paths if p not in done]
    if missing:
        names = "、".join(p.name for p in missing[:5]) + (" 等" if len(missing) > 5 else "")
        raise PdfConversionError(
            f"{names} 无法由 LibreOffice 转换为 PDF（已重试）。Word 版不受影响；系统会在下一轮处理时自动重试。"
            "如一直失败，请运行 shuangsui doctor 检查 LibreOffice 和中文字体。", done, missing)
    return done


# --- the case step --------------------------------------------------------------------------------

def defer_pdfs(ctx: Context) -> None:
    """From now until ``flush_pdfs``, this context's 公示表 PDFs are made in one batch at the end, from
    the .docx rendered once in the pass."""
    _end_pass(ctx)  # what a pass that did not finish left behind
    ctx.run.defer_pdfs = True


def plan_public_form(ctx: Context, case: CaseRow, evaluation: Evaluation, job: Path) -> list[tuple[Path, str, str]]:
    """The 公示表 .docx and .pdf of a publishable case (the PDF drawn directly, or by LibreOffice outside
    a pass; inside one LibreOffice's PDF waits for ``flush_pdfs``).

    Returns (file, path in the outbox, output kind) in the shape ``casework`` publishes. Inside a pass
    the .docx is the pass's one render of it, which ``flush_pdfs`` converts; outside, it is made in ``job``.
    """
    stem = public_form_stem(case)
    form = public_form_of(ctx.settings, case, evaluation)
    docx = _pass_docx(ctx, case, form) if ctx.run.defer_pdfs else _render(ctx, case.id, form, stem, job)
    planned = [(docx, f"{PUBLIC_FORMS}/{stem}.docx", DOCX_KIND)]
    pdf_path = direct_pdf(ctx.settings, form, stem, job / "pdf")
    if pdf_path is not None:  # no LibreOffice: published with its Word file, even inside a pass
        ctx.run.pdf_pending.pop(case.id, None)
        return [*planned, (pdf_path, f"{PUBLIC_FORMS}/{stem}.pdf", PDF_KIND)]
    if ctx.run.defer_pdfs:
        return planned
    try:
        pdf = convert_to_pdf(ctx, [docx], job / "pdf")[docx]
    except ShuangsuiError as exc:
        # Never lose the case: the Word file is published now, the PDF is retried on the next pass.
        log.warning("公示表 PDF for case %s not made: %s", case.id, exc.message)
        ctx.run.pdf_pending[case.id] = exc.message
        return planned
    ctx.run.pdf_pending.pop(case.id, None)
    return [*planned, (pdf, f"{PUBLIC_FORMS}/{stem}.pdf", PDF_KIND)]


def settle_publication(ctx: Context, outcome: CaseOutcome) -> CaseOutcome:
    """After a publishable case's outputs are out: publish it on the website, or say its PDF is pending."""
    if outcome.status is not CaseStatus.publishable:
        return outcome
    case = ctx.store.get_case(outcome.case_id)
    if case is None:
        return outcome
    form = public_form_of(ctx.settings, case, outcome.evaluation)
    web_rel = _publish_if_complete(ctx, case, form)
    if web_rel is not None:
        return dataclasses.replace(outcome, status=CaseStatus.published, outputs=(*outcome.outputs, web_rel))
    rendered = f"{PUBLIC_FORMS}/{public_form_stem(case)}.docx" in outcome.outputs
    if rendered:
        with ctx.store.begin() as tx:
            tx.log("case", case.id, EVENT_FORM, {"form": form.as_json()})
    if ctx.run.defer_pdfs:
        return outcome  # the PDF comes at the end of this pass
    finding = _pdf_pending(ctx, case.id, outcome.evaluation.findings)
    return dataclasses.replace(outcome, evaluation=dataclasses.replace(
        outcome.evaluation, findings=(*outcome.evaluation.findings, finding)))


def website_copy(ctx: Context, case: CaseRow, form: PublicForm,
                 new_outputs: Sequence[OutputRow] = ()) -> tuple[OutputRow, dict[str, Any]] | None:
    """With the .docx and .pdf in the outbox (recorded, or in ``new_outputs`` about to be): the PDF
    published onto the website; returns its output row and the ``published`` event detail, for the
    caller to record in its transaction (the case then moves to 已公示). None while a file is missing."""
    stem = public_form_stem(case)
    docx_rel, pdf_rel = f"{PUBLIC_FORMS}/{stem}.docx", f"{PUBLIC_FORMS}/{stem}.pdf"
    recorded = {(o.kind, o.path) for o in ctx.store.outputs_for_case(case.id)} | {(o.kind, o.path) for o in new_outputs}
    outbox = ctx.settings.outbox
    for kind, rel in ((DOCX_KIND, docx_rel), (PDF_KIND, pdf_rel)):
        if (kind, rel) not in recorded or not (outbox / rel).is_file():
            return None
    web_rel = f"{WEBSITE}/{stem}.pdf"
    row = OutputRow(case.id, None, WEBSITE_PDF_KIND, web_rel, publish(outbox / pdf_rel, outbox / web_rel))
    return row, {"form": form.as_json(), "docx": docx_rel, "pdf": pdf_rel, "website_pdf": web_rel}


def record_published(tx: StoreTx, case_id: str, row: OutputRow, detail: dict[str, Any]) -> None:
    """Within ``tx``: the website copy of ``website_copy`` recorded, the case 已公示."""
    tx.add_output(row)
    tx.log("case", case_id, EVENT_PUBLISHED, detail)
    tx.update_case(case_id, status=CaseStatus.published)


def _publish_if_complete(ctx: Context, case: CaseRow, form: PublicForm) -> str | None:
    """With .docx and .pdf in the outbox: the PDF onto the website, the case 已公示; the website path."""
    copied = website_copy(ctx, case, form)
    if copied is None:
        return None
    row, detail = copied
    with ctx.store.begin() as tx:
        record_published(tx, case.id, row, detail)
    ctx.run.pdf_pending.pop(case.id, None)
    return row.path


def _pdf_pending(ctx: Context, case_id: str, findings: Sequence[Finding]) -> Finding:
    """Add the ``PDF_PENDING`` warning to the case's current findings (shown by status); return it."""
    reason = ctx.run.pdf_pending.get(case_id, "LibreOffice 未能完成转换。")
    finding = Finding(FindingCode.pdf_pending.value, Severity.warning.value, None,
                      f"公示表 Word 版已生成，PDF 版尚未生成：{reason}", "第十三条")
    kept = [f for f in findings if f.code != FindingCode.pdf_pending.value]
    with ctx.store.begin() as tx:
        tx.set_case_findings(case_id, [f.as_json() for f in (*kept, finding)])
    return finding


def flush_pdfs(ctx: Context) -> list[str]:
    """Make the PDFs of every publishable case in one batch and publish the cases; returns outbox paths.

    Ends the deferral of ``defer_pdfs``. A case whose PDF still fails keeps its Word file and gets
    ``PDF_PENDING``; the next pass tries again.
    """
    ctx.run.defer_pdfs = False
    try:
        cases = [c for c in ctx.store.list_cases() if c.status is CaseStatus.publishable and c.record]
        return _flush(ctx, cases) if cases else []
    finally:
        _end_pass(ctx)


def _flush(ctx: Context, cases: list[CaseRow]) -> list[str]:
    forms: dict[str, tuple[CaseRow, PublicForm, Path]] = {}
    for case in cases:
        try:
            form = current_form(ctx, case)
        except ShuangsuiError:
            continue  # no longer ready: its next evaluation decides
        forms[case.id] = (case, form, _pass_docx(ctx, case, form))
    folder = _pass_folder(ctx.settings)
    pdfs: dict[Path, Path] = {}
    for case, form, docx in forms.values():
        pdf = direct_pdf(ctx.settings, form, public_form_stem(case), folder / case.id / "pdf")
        if pdf is not None:
            pdfs[docx] = pdf
    reason = ""
    try:
        pdfs.update(convert_to_pdf(ctx, [docx for _c, _f, docx in forms.values() if docx not in pdfs], folder / "pdf"))
    except PdfConversionError as exc:
        pdfs.update(exc.converted)
        reason = exc.message
    except ShuangsuiError as exc:
        reason = exc.message
    written: list[str] = []
    for case, form, docx in forms.values():
        pdf = pdfs.get(docx)
        if pdf is None:
            ctx.run.pdf_pending[case.id] = reason
            _pdf_pending(ctx, case.id, _current_findings(ctx, case.id))
            continue
        try:
            written += _publish_pair(ctx, case, form, docx, pdf)
        except OutputError as exc:
            # A file held open on the share: this case waits for the next pass, the others go on.
            ctx.run.pdf_pending[case.id] = exc.message
            _pdf_pending(ctx, case.id, _current_findings(ctx, case.id))
    return written


def _publish_pair(ctx: Context, case: CaseRow, form: PublicForm, docx: Path, pdf: Path) -> list[str]:
    stem = public_form_stem(case)
    # An unchanged file is not written again, but recorded if a killed run published it unrecorded.
    recorded = {(o.kind, o.path) for o in ctx.store.outputs_for_case(case.id)}
    rows = [OutputRow(case.id, None, kind, rel, publish(src, ctx.settings.outbox / rel))
            for src, rel, kind in ((docx, f"{PUBLIC_FORMS}/{stem}.docx", DOCX_KIND),
                                   (pdf, f"{PUBLIC_FORMS}/{stem}.pdf", PDF_KIND))
            if (kind, rel) not in recorded or not _same_file(src, ctx.settings.outbox / rel)]
    with ctx.store.begin() as tx:
        for row in rows:
            tx.add_output(row)
        tx.drop_case_findings(case.id, FindingCode.pdf_pending.value)
    web_rel = _publish_if_complete(ctx, case, form)
    return [r.path for r in rows] + ([web_rel] if web_rel else [])


def _current_findings(ctx: Context, case_id: str) -> list[Finding]:
    case = ctx.store.get_case(case_id)
    return [Finding(**f) for f in (case.findings if case else None) or []]


def _same_file(a: Path, b: Path) -> bool:
    return b.is_file() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
