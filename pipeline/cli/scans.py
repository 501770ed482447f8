"""Sub-commands for signed scans: ``shuangsui forms`` prints a case's forms with its QR code.

The printed forms are what staff sign, seal and scan: the QR code on each page carries the case
number, the form and the page, so the scan finds its case and its boxes by itself.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.cases import facts
from pipeline.cases.context import Context
from pipeline.cli.common import actor, console, folder_args, out, with_context
from pipeline.core.codes import OPEN_STATES
from pipeline.core.errors import BadArgsError
from pipeline.documents.render import render_site_record
from pipeline.outputs.regenerate import FORM_CHECK, FORM_SITE, Selection, regenerate
from pipeline.store.outbox import PRINT, publish

BLANK_SITE_RECORD = "现场检查笔录（空白）.docx"


def register(sub: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add this module's sub-parsers to ``sub``; return their handlers by command name."""
    p = sub.add_parser("forms", help="打印案卷的检查表和现场检查笔录（带二维码，签字盖章后扫描放入收件箱）",
                       description="按数据库生成案卷的检查表（按电子版预填）和现场检查笔录（已有电子版的按电子版预填，"
                                   "否则为只填了单位和执法人员的空白笔录），每页带案卷二维码，写入 发件箱/打印/案卷编号/。")
    folder_args(p)
    p.add_argument("case_ids", nargs="*", metavar="案卷编号")
    p.add_argument("--all", action="store_true", help="所有尚未公示的案卷")
    return {"forms": cmd_forms}


def cmd_forms(args: argparse.Namespace) -> int:

    if not args.case_ids and not args.all:
        raise BadArgsError("请给出案卷编号（如 shuangsui forms SS-2026-00001），或用 --all 打印所有尚未公示的案卷。")
    ctx = with_context(args)
    try:
        case_ids = list(args.case_ids) or [c.id for c in ctx.store.list_cases() if c.status in OPEN_STATES]
        unknown = [c for c in case_ids if ctx.store.get_case(c) is None]
        if unknown:
            raise BadArgsError(f"案卷 {'、'.join(unknown)} 不存在。请用 shuangsui status 查看案卷编号。")
        if not case_ids:
            out.print("没有尚未公示的案卷。")
            return 0
        report = regenerate(ctx, Selection(forms=(FORM_CHECK, FORM_SITE), case_ids=tuple(case_ids)), actor=actor())
        for case_id in case_ids:
            blank = write_blank_site_record(ctx, case_id)
            folder = ctx.settings.outbox / PRINT / case_id
            files = sorted(p.name for p in folder.glob("*.docx")) if folder.is_dir() else []
            out.print(f"{case_id}：outbox/{PRINT}/{case_id}/ {'、'.join(files) or '（无）'}")
            if blank:
                console.print("    现场检查笔录尚无电子版：已生成空白笔录（已填单位和执法人员），现场手写后签字。", style="dim")
        failed = [c for c in report.changes if c.change == "失败"]
        for change in failed:
            console.print(f"[red]失败[/] {change.case_id} {change.form}：{change.message}")
        return 1 if failed else 0
    finally:
        ctx.store.close()


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
        dest = ctx.settings.outbox / PRINT / case_id / BLANK_SITE_RECORD
        publish(tmp, dest)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    return dest
