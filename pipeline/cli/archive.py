"""Sub-commands for archival packages (shuangsui archive …, shuangsui verify …)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.archive.package import READY, LazyConverter, package_case, prepare
from pipeline.archive.registry import changed_since_packaged
from pipeline.archive.verify import verify_package
from pipeline.cli.common import console, folder_args, out, settings_from, with_context
from pipeline.core.codes import CaseStatus
from pipeline.core.errors import BadArgsError, PackageInvalidError, ShuangsuiError, StoreError
from pipeline.store.claims import CASES_LOCK


def register(sub: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add this module's sub-parsers to ``sub``; return their handlers by command name."""
    p = sub.add_parser("archive", help="为已公示（或已移交）的案卷生成归档包（BagIt、四性检测）")
    folder_args(p)
    p.add_argument("case_id", nargs="?", metavar="案卷编号")
    p.add_argument("--all", action="store_true", help="为所有已公示、已移交或有变化的已归档案卷生成归档包")
    p.add_argument("--force", action="store_true", help="已归档且没有变化的案卷也重新生成（内容不变则字节相同）")

    p = sub.add_parser("verify", help="校验归档包（目录或 .zip）：BagIt 清单和四性检测，逐项列出问题")
    folder_args(p)
    p.add_argument("path", type=Path, metavar="路径")
    return {"archive": cmd_archive, "verify": cmd_verify}


def cmd_archive(args: argparse.Namespace) -> int:

    if bool(args.case_id) == bool(args.all):
        raise BadArgsError("请给出一个案卷编号，或用 --all 处理全部案卷，如 shuangsui archive SS-2026-00001")
    ctx = with_context(args)
    converter = LazyConverter(ctx)
    try:
        if args.case_id:
            with ctx.store.exclusive(CASES_LOCK):  # the 件号 counter, as the workers' archiving takes it
                _print_result(package_case(ctx, args.case_id, force=args.force, converter=converter))
            return 0
        failed = 0
        cases = [c for c in ctx.store.list_cases() if c.status in (*READY, CaseStatus.archived)]
        changed = set(changed_since_packaged(ctx.store))
        prepare(ctx, [c.id for c in cases if args.force or c.status in READY or c.id in changed], converter)
        for case in cases:
            try:
                # LibreOffice (prepare, above) ran outside the lock; a case at a time inside it.
                with ctx.store.exclusive(CASES_LOCK):
                    _print_result(package_case(ctx, case.id, force=args.force, converter=converter))
            except ShuangsuiError as exc:
                failed += 1
                console.print(f"{case.id} {exc.message}", style="red", markup=False, soft_wrap=True)
        if failed:
            raise PackageInvalidError(f"{failed} 个案卷未能归档，原因见上。")
        return 0
    finally:
        converter.close()
        ctx.close()


def _print_result(result: Any) -> None:
    state = "新版本" if result.changed else "无变化"
    out.print(f"{result.case_id}  档号 {result.code}  第 {result.version} 版（{state}）", soft_wrap=True, markup=False, highlight=False)
    out.print(f"    → outbox/{result.zip_path}", style="dim", soft_wrap=True, markup=False, highlight=False)
    if result.checks is not None:
        for check in result.checks.checks:
            out.print(f"    {check.name}：{'通过' if check.passed else '未通过'}", soft_wrap=True, markup=False, highlight=False)


def cmd_verify(args: argparse.Namespace) -> int:

    ctx = _database_context(args)
    try:
        result = verify_package(args.path, ctx)
    finally:
        if ctx is not None:
            ctx.close()
    out.print(f"归档包：{args.path}" + (f"  档号 {result.code}" if result.code else ""), soft_wrap=True, markup=False, highlight=False)
    # The four lines and the conclusion take every problem into account, the BagIt ones included.
    for name, verdict in result.verdicts():
        out.print(f"  {name}：{verdict}", soft_wrap=True, markup=False, highlight=False)
    out.print(f"  结论：{result.verdict}", soft_wrap=True, markup=False, highlight=False)
    for note in result.notes:
        out.print(f"  · {note}", soft_wrap=True, markup=False, highlight=False)
    for problem in result.problems:
        out.print(f"  × {problem}", style="red", soft_wrap=True, markup=False, highlight=False)
    if not result.ok:
        raise PackageInvalidError(f"归档包校验未通过，共 {len(result.problems)} 个问题（见上）。"
                                  "请从原件重新生成：shuangsui archive 案卷编号 --force")
    out.print("校验通过。", style="green", soft_wrap=True, markup=False, highlight=False)
    return 0


def _database_context(args: argparse.Namespace) -> Any | None:
    """The pipeline context when the database is there; None (verify without it) otherwise."""
    settings = settings_from(args)
    if not settings.database_url and not (settings.data_dir / "shuangsui.sqlite3").is_file():
        return None
    try:
        return with_context(args)
    except StoreError:
        return None
