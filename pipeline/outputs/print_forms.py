"""Forms ready to print: a case's 检查表 and 现场检查笔录 with its QR code, as .docx and .pdf, in
``outbox/打印/<案卷编号>/``.

The printed forms are what staff sign, seal and scan: the QR code on each page carries the case number,
the form and the page, so the scan finds its case and its boxes by itself. The 检查表 is filled from the
case's record; the 笔录 from its typed copy, or, while it has none, a blank 笔录 with only the unit and the
inspectors (never their phone numbers).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.cases import casework, facts
from pipeline.cases.context import Context
from pipeline.core.codes import OPEN_STATES
from pipeline.core.errors import ShuangsuiError
from pipeline.documents.render import render_site_record
from pipeline.outputs.regenerate import FORM_CHECK, FORM_SITE, Selection, regenerate
from pipeline.store.outbox import PRINT, publish

BLANK_SITE_RECORD = "现场检查笔录（空白）.docx"
FORMS_PRINTED = "forms_printed"  # a case event: its forms were printed, with the fingerprint of what they show

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrintedForms:
    """One case's forms in ``outbox/打印/<案卷编号>/``."""

    case_id: str
    files: tuple[str, ...]            # names in the folder, .docx and .pdf
    blank_site_record: bool = False   # the 笔录 has no typed copy yet: a blank one was written
    problems: tuple[str, ...] = ()    # Chinese, one per form that could not be made


def print_folder(ctx: Context, case_id: str) -> Path:
    return ctx.settings.outbox / PRINT / case_id


def print_forms(ctx: Context, case_ids: list[str], actor: str) -> list[PrintedForms]:
    """Write the forms of ``case_ids`` (which must exist) as .docx and .pdf; one report per case."""
    report = regenerate(ctx, Selection(forms=(FORM_CHECK, FORM_SITE), case_ids=tuple(case_ids)), actor=actor)
    problems: dict[str, list[str]] = {c: [] for c in case_ids}
    for change in report.changes:
        if change.change == "失败":
            problems.setdefault(change.case_id, []).append(f"{change.form}：{change.message}")
    blanks = {c for c in case_ids if write_blank_site_record(ctx, c) is not None}
    for case_id, problem in _pdfs(ctx, [print_folder(ctx, c) for c in case_ids]).items():
        problems[case_id].append(problem)
    out = []
    for case_id in case_ids:
        folder = print_folder(ctx, case_id)
        files = tuple(sorted(p.name for p in folder.iterdir() if p.suffix in (".docx", ".pdf"))) \
            if folder.is_dir() else ()
        out.append(PrintedForms(case_id, files, case_id in blanks, tuple(problems[case_id])))
    return out


def print_stale_forms(ctx: Context) -> list[str]:
    """The end-of-pass step: the forms of every open case created or changed since they were last printed.

    Whether a case changed is told by a fingerprint of what its forms show (the record, its typed site
    records, the bureau), kept in the case's ``forms_printed`` event; returns the outbox paths written.
    """
    if not ctx.settings.print_forms_auto:
        return []
    stale: dict[str, str] = {}
    for case in ctx.store.list_cases():
        if case.status in OPEN_STATES and case.record:
            fingerprint = _fingerprint(ctx, case.id, casework.as_named(case))
            if _last_fingerprint(ctx, case.id) != fingerprint:
                stale[case.id] = fingerprint
    if not stale:
        return []
    printed = print_forms(ctx, list(stale), actor="pipeline")
    with ctx.store.begin() as tx:
        for forms in printed:
            if not forms.problems:
                tx.log("case", forms.case_id, FORMS_PRINTED, {"fingerprint": stale[forms.case_id]})
    return [f"{PRINT}/{f.case_id}/{name}" for f in printed for name in f.files]


def _fingerprint(ctx: Context, case_id: str, record: dict[str, object]) -> str:
    shown = {"record": record, "site_records": [r for r in facts.site_records(ctx, case_id) if r.get("source") != "scan"],
             "bureau": ctx.settings.bureau}
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def _last_fingerprint(ctx: Context, case_id: str) -> str | None:
    last = None
    for event in ctx.store.events("case", case_id):
        if event.action == FORMS_PRINTED and event.detail:
            last = str(event.detail.get("fingerprint"))
    return last


def _pdfs(ctx: Context, folders: list[Path]) -> dict[str, str]:
    """A PDF next to every .docx whose PDF is missing or older, in one batch; case id → problem (Chinese)."""
    stale = [d for folder in folders if folder.is_dir() for d in sorted(folder.glob("*.docx"))
             if not (pdf := d.with_suffix(".pdf")).is_file() or pdf.stat().st_mtime_ns < d.stat().st_mtime_ns]
    if not stale:
        return {}
    job = ctx.settings.jobs_dir / "print-pdfs"
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    problems: dict[str, str] = {}
    try:
        # Same stems in different folders: each folder converts into its own sub-folder of the job.
        by_folder: dict[Path, list[Path]] = {}
        for docx in stale:
            by_folder.setdefault(docx.parent, []).append(docx)
        pool = ctx.converter()
        for n, (folder, sources) in enumerate(by_folder.items()):
            done = pool.convert_many(sources, "pdf", job / str(n))
            for source, pdf in done.items():
                publish(pdf, folder / f"{source.stem}.pdf")
            missing = [p.name for p in sources if p not in done]
            if missing:
                problems[folder.name] = f"{'、'.join(missing)} 未能转换为 PDF（Word 版可直接打印）。"
    except ShuangsuiError as exc:
        log.warning("print forms PDFs not made: %s", exc.message)
        for folder in by_folder:
            problems.setdefault(folder.name, f"PDF 未生成：{exc.message}（Word 版可直接打印）")
    finally:
        shutil.rmtree(job, ignore_errors=True)
    return problems


def write_blank_site_record(ctx: Context, case_id: str) -> Path | None:
    """A 笔录 with the case's QR code, the unit and the inspectors (no phone numbers), for a case
    whose 笔录 has no typed copy yet; None when it has one (``regenerate`` printed it)."""
    if any(r.get("source") != "scan" for r in facts.site_records(ctx, case_id)):
        return None
    case = ctx.store.get_case(case_id)
    record = casework.as_named(case) if case else {}
    fields = {"inspected_unit": record.get("inspected_unit"), "check_start": record.get("check_start"),
              "check_end": record.get("check_end"),
              "inspectors": [{"name": i.get("name"), "licence_no": i.get("licence_no")}
                             for i in record.get("inspectors") or [] if i.get("name")]}
    job = ctx.settings.jobs_dir / f"forms-{case_id}"
    job.mkdir(parents=True, exist_ok=True)
    try:
        tmp = job / BLANK_SITE_RECORD
        render_site_record(fields, tmp, template_dir=ctx.settings.templates_dir, bureau=ctx.settings.bureau,
                           case_id=case_id)
        dest = print_folder(ctx, case_id) / BLANK_SITE_RECORD
        publish(tmp, dest)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    return dest
