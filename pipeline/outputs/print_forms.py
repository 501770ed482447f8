"""Forms ready to print: a case's 检查表 and 现场检查笔录 with its QR code, as .docx and .pdf, in
``outbox/打印/<案卷编号>/``.

The printed forms are what staff sign, seal and scan: the QR code on each page carries the case number,
the form and the page, so the scan finds its case and its boxes by itself. The 检查表 is filled from the
case's record; the 笔录 from its typed copy, or, while it has none, a blank 笔录 with only the unit and the
inspectors (never their phone numbers).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.cases import facts
from pipeline.cases.context import Context
from pipeline.core.errors import ShuangsuiError
from pipeline.documents.render import render_site_record
from pipeline.outputs.regenerate import FORM_CHECK, FORM_SITE, Selection, regenerate
from pipeline.store.outbox import PRINT, publish

BLANK_SITE_RECORD = "现场检查笔录（空白）.docx"

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
    failed: dict[str, list[str]] = {}
    for change in report.changes:
        if change.change == "失败":
            failed.setdefault(change.case_id, []).append(f"{change.form}：{change.message}")
    out = []
    for case_id in case_ids:
        blank = write_blank_site_record(ctx, case_id) is not None
        problems = failed.get(case_id, [])
        problems += _pdfs(ctx, print_folder(ctx, case_id))
        folder = print_folder(ctx, case_id)
        files = tuple(sorted(p.name for p in folder.iterdir() if p.suffix in (".docx", ".pdf"))) \
            if folder.is_dir() else ()
        out.append(PrintedForms(case_id, files, blank, tuple(problems)))
    return out


def _pdfs(ctx: Context, folder: Path) -> list[str]:
    """A PDF next to every .docx whose PDF is missing or older; the problems, in Chinese."""
    if not folder.is_dir():
        return []
    stale = [d for d in sorted(folder.glob("*.docx"))
             if not (pdf := d.with_suffix(".pdf")).is_file() or pdf.stat().st_mtime_ns < d.stat().st_mtime_ns]
    if not stale:
        return []
    job = ctx.settings.jobs_dir / f"print-{folder.name}"
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    try:
        done = ctx.run.converter_pool(ctx.settings).convert_many(stale, "pdf", job)
        for source, pdf in done.items():
            publish(pdf, folder / f"{source.stem}.pdf")
        return [f"{p.name} 未能转换为 PDF（Word 版可直接打印）。" for p in stale if p not in done]
    except ShuangsuiError as exc:
        log.warning("print forms PDF for %s not made: %s", folder.name, exc.message)
        return [f"PDF 未生成：{exc.message}（Word 版可直接打印）"]
    finally:
        shutil.rmtree(job, ignore_errors=True)


def write_blank_site_record(ctx: Context, case_id: str) -> Path | None:
    """A 笔录 with the case's QR code, the unit and the inspectors (no phone numbers), for a case
    whose 笔录 has no typed copy yet; None when it has one (``regenerate`` printed it)."""
    if any(r.get("source") != "scan" for r in facts.site_records(ctx, case_id)):
        return None
    case = ctx.store.get_case(case_id)
    record = (case.record if case else None) or {}
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
