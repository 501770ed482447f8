"""Sub-commands for signed scans: ``shuangsui forms`` prints a case's forms with its QR code.

The printed forms are what staff sign, seal and scan: the QR code on each page carries the case
number, the form and the page, so the scan finds its case and its boxes by itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from pipeline.cli.common import actor, console, folder_args, out, with_context
from pipeline.core.codes import OPEN_STATES
from pipeline.core.errors import BadArgsError
from pipeline.outputs.print_forms import print_forms
from pipeline.store.claims import CASES_LOCK
from pipeline.store.outbox import PRINT


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
        with ctx.store.exclusive(CASES_LOCK):  # beside workers on a shared database
            printed = print_forms(ctx, case_ids, actor=actor())
        for forms in printed:
            out.print(f"{forms.case_id}：outbox/{PRINT}/{forms.case_id}/ {'、'.join(forms.files) or '（无）'}")
            if forms.blank_site_record:
                console.print("    现场检查笔录尚无电子版：已生成空白笔录（已填单位和执法人员），现场手写后签字。", style="dim")
            for problem in forms.problems:
                console.print(f"    [red]失败[/] {problem}")
        return 1 if any(f.problems for f in printed) else 0
    finally:
        ctx.close()
