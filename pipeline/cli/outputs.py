"""Sub-commands for outputs: ``shuangsui bundle 综合科 --period 2026-11`` and ``shuangsui publicity``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from pipeline.cli.common import console, folder_args, out, with_context
from pipeline.core.errors import BadArgsError
from pipeline.outputs.bundle import build_bundle as build
from pipeline.outputs.bundle import last_ended_period, parse_period
from pipeline.outputs.publicity import export_pending
from pipeline.store.claims import CASES_LOCK


def cmd_bundle(args: argparse.Namespace) -> int:

    ctx = with_context(args)
    try:
        if args.section != ctx.settings.section_general:
            raise BadArgsError(f"目前只能为“{ctx.settings.section_general}”生成移交包，"
                               f"如 shuangsui bundle {ctx.settings.section_general} --period 2026-11")
        from datetime import date

        period = parse_period(args.period) if args.period else last_ended_period(
            "week" if ctx.settings.bundle_interval == "week" else "month", date.today())
        with ctx.store.exclusive(CASES_LOCK):  # one writer of the bundle beside workers on a shared database
            result = build(ctx, period, force=args.force)
    finally:
        ctx.close()
    if not result.built:
        out.print(f"{period.label}的移交包已存在：{result.zip_path}。如需重新生成，请加 --force。")
        return 0
    out.print(f"已生成{period.label}的移交包：{result.folder}（{len(result.files)} 个文件）和 {result.zip_path}")
    for note in result.notes:
        console.print(f"说明：{note}", style="yellow")
    return 0


def cmd_publicity(args: argparse.Namespace) -> int:

    ctx = with_context(args)
    try:
        with ctx.store.exclusive(CASES_LOCK):  # marks penalties exported, as the end of a pass does
            result = export_pending(ctx, everything=args.all)
    finally:
        ctx.close()
    for warning in result.warnings:
        console.print(f"提示：{warning}", style="yellow")
    if not result.outputs:
        out.print("没有尚未导出的行政处罚决定。加 --all 可导出全部。")
        return 0
    out.print(f"已导出 {result.rows} 条行政处罚：" + "、".join(f"outbox/{o}" for o in result.outputs))
    return 0


def register(sub: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add this module's sub-parsers to ``sub``; return their handlers by command name."""
    p = sub.add_parser("bundle", help="生成移交综合科的材料包（公示表汇总、查处案卷检查表副本、处罚结果上传清单）")
    folder_args(p)
    p.add_argument("section", metavar="科室", help="接收科室，目前为 综合科")
    p.add_argument("--period", help="期间：年-月（如 2026-11）或 年-W周（如 2026-W47）；缺省为上一个月（或上一周）")
    p.add_argument("--force", action="store_true", help="移交包已存在时重新生成")
    p = sub.add_parser("publicity", help="导出双公示行政处罚信息（xlsx 和 csv）")
    folder_args(p)
    p.add_argument("--all", action="store_true", help="导出全部行政处罚决定（缺省只导出尚未导出的）")
    return {"bundle": cmd_bundle, "publicity": cmd_publicity}
