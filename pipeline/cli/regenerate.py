"""Sub-commands for batch regeneration (shuangsui regenerate …)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.cli.common import actor, console, folder_args, out, with_context
from pipeline.core.errors import BadArgsError
from pipeline.outputs.regenerate import FORMS, Selection, forms_of, parse_since, regenerate
from pipeline.store.claims import CASES_LOCK

_STYLE = {"新增": "green", "有变化": "yellow", "无变化": "dim", "失败": "red"}
_STAGES = {"render": "生成文书", "pdf": "转换 PDF"}


def register(sub: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add this module's sub-parsers to ``sub``; return their handlers by command name."""

    p = sub.add_parser("regenerate", help="模板或设置修改后，按数据库重新生成公示表、检查表、现场检查笔录",
                       description="按数据库中的案卷重新生成文书，与发件箱中的现有文件按内容比较，"
                                   "只替换新增或有变化的文件，并列出每个文件的结果。")
    folder_args(p)
    p.add_argument("--form", action="append", choices=FORMS, metavar="表单",
                   help=f"只重新生成这种表单（{'、'.join(FORMS)}；可重复；缺省：全部）")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="只处理检查日期或最后更新在此日期及以后的案卷")
    p.add_argument("--case", action="append", metavar="案卷编号", help="只处理这个案卷（可重复）")
    p.add_argument("--dry-run", action="store_true", help="预演：只在工作目录中生成并比较，不写入发件箱")
    p.add_argument("--workers", type=int, metavar="N", help="并行生成的进程数（缺省：按文书数量自动选择）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    p.add_argument("--all", action="store_true", help="列出所有文件（缺省只列出新增、有变化和失败的文件）")
    return {"regenerate": cmd_regenerate}


def cmd_regenerate(args: argparse.Namespace) -> int:

    if args.workers is not None and args.workers < 1:
        raise BadArgsError("--workers 至少为 1。")
    selection = Selection(forms=forms_of(args.form), since=parse_since(args.since) if args.since else None,
                          case_ids=tuple(args.case or ()))
    ctx = with_context(args)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True, disable=args.json) as progress:
            tasks: dict[str, TaskID] = {}

            def on_progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(_STAGES.get(stage, stage), total=total)
                progress.update(tasks[stage], completed=done, total=total)

            with ctx.store.exclusive(CASES_LOCK):  # not beside an end of pass on a shared database
                report = regenerate(ctx, selection, dry_run=args.dry_run, workers=args.workers, actor=actor(),
                                    on_progress=on_progress)
    finally:
        ctx.close()
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        return 0
    shown = [c for c in report.changes if args.all or c.change != "无变化"]
    if shown:
        table = Table(title="重新生成的文书" + ("（预演）" if report.dry_run else ""))
        for column in ("案卷编号", "表单", "文件", "结果", "说明"):
            table.add_column(column)
        for c in shown:
            style = _STYLE.get(c.change, "")
            table.add_row(c.case_id, c.form, f"outbox/{c.path}", f"[{style}]{c.change}[/]", c.message)
        out.print(table)
    out.print(report.summary())
    return 0
