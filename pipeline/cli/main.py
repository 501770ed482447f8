"""The ``shuangsui`` command line: the one place where errors become exit codes."""

from __future__ import annotations

import argparse
import json
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from pipeline import __version__
from pipeline.cases.facts import calendar_for
from pipeline.cases.overview import set_case_overrides
from pipeline.cases.review import answer_from_cli
from pipeline.cases.stage import Outcome
from pipeline.cli import archive as cli_archive
from pipeline.cli import outputs as cli_outputs
from pipeline.cli import regenerate as cli_regenerate
from pipeline.cli import scans as cli_scans
from pipeline.cli import web as cli_web
from pipeline.cli.common import actor as _actor
from pipeline.cli.common import console, out, role_arg
from pipeline.cli.common import folder_args as _folders
from pipeline.cli.common import print_outcome as _print_outcome
from pipeline.cli.common import settings_from as _settings
from pipeline.cli.common import with_context as _with_context
from pipeline.cli.doctor import run_checks
from pipeline.cli.parser import ChineseParser
from pipeline.cli.printing import print_lists, print_month, print_questions
from pipeline.cli.roles import run_converter_role
from pipeline.cli.status import StatusFilter, parse_state, print_case, print_status
from pipeline.core.codes import FileStatus
from pipeline.core.errors import BadArgsError, ExitCode, InputFileError, ShuangsuiError
from pipeline.core.models import FIELD_LABELS
from pipeline.core.sniff import detect_kind
from pipeline.intake.analysis import AnalysisTask
from pipeline.intake.datalock import command_line, data_folder_lock
from pipeline.intake.list_import import import_list_file
from pipeline.intake.mounts import watch_method
from pipeline.intake.process import open_context, process_inbox
from pipeline.intake.recovery import clear_leftovers_of
from pipeline.intake.share import require_inbox
from pipeline.intake.watch import watch
from pipeline.intake.worker import analyse_alone
from pipeline.samples.demo import fill_demo_inbox
from pipeline.store.claims import CASES_LOCK
from pipeline.web.app import WebConfig
from pipeline.web.server import start_in_thread

# Each module in PLUGINS adds its own sub-commands: ``register(sub) -> {name: handler}``.
PLUGINS = (cli_scans, cli_outputs, cli_archive, cli_regenerate, cli_web)


CREATE_HELP = "收件箱不存在时新建它（共享盘未挂载时仍拒绝运行）"


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseParser(prog="shuangsui", description="“双随机、一公开”检查文书自动处理")
    parser.add_argument("--version", action="version", version=f"shuangsui {__version__}", help="显示版本号并退出")
    parser.add_argument("-v", "--verbose", action="store_true", help="出错时显示详细的技术信息")
    parser.add_argument("--config", type=Path, help="配置文件（缺省：当前目录的 shuangsui.toml）")
    sub = parser.add_subparsers(dest="command", metavar="命令", title="命令")

    p = sub.add_parser("watch", help="监视收件箱并自动处理（主程序）")
    _folders(p)
    p.add_argument("--demo-if-empty", action="store_true", help="收件箱和数据库都为空时先放入示例文件")
    p.add_argument("--serve", action="store_true", help="同时启动办公网页（地址和端口见设置 web_host、web_port）")
    p.add_argument("--create", action="store_true", help=CREATE_HELP)
    role_arg(p)

    p = sub.add_parser("process", help="处理收件箱中现有的文件一遍，然后退出")
    _folders(p)
    p.add_argument("--create", action="store_true", help=CREATE_HELP)
    p.add_argument("--json", action="store_true", help="以 JSON 输出处理结果")
    role_arg(p)

    p = sub.add_parser("extract", help="识别一个文件并输出字段")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")

    p = sub.add_parser("demo", help="在收件箱中放入示例文件")
    _folders(p)
    p.add_argument("--if-empty", action="store_true", help="仅当收件箱和数据库都为空时放入")

    sub.add_parser("doctor", help="检查运行环境（LibreOffice、字体、模板、数据库、节假日数据）")

    p = sub.add_parser("status", help="列出案卷、状态、期限，以及已逾期或即将到期的案卷")
    _folders(p)
    p.add_argument("case_id", nargs="?", metavar="案卷编号", help="只看一个案卷（同 shuangsui case 案卷编号）")
    p.add_argument("--state", metavar="状态", help="只列出此状态的案卷，如 待审核、待补充、已公示")
    p.add_argument("--overdue", action="store_true", help="只列出已逾期的案卷")
    p.add_argument("--month", metavar="年-月", help="只列出该月检查的案卷，如 2026-11")
    p.add_argument("--all", action="store_true", help="也列出已归档的案卷")

    p = sub.add_parser("case", help="查看一个案卷；或登记它的检验检测等天数、综合检查日期、特定对象检查")
    _folders(p)
    p.add_argument("case_id", metavar="案卷编号")
    p.add_argument("--pause-days", type=int, help="检验、检测、鉴定、专家评审所用的工作日数（不计入期限，第十一条）")
    p.add_argument("--last-result-date", help="综合检查最后单项检查结果的确定日期（YYYY-MM-DD，第十一条）")
    p.add_argument("--targeted", choices=("是", "否"), help="是否为针对特定对象的检查（非双随机，第二条）")

    p = sub.add_parser("calendar", help="显示某月的工作日、节假日和调休，如 shuangsui calendar 2026-12")
    _folders(p)
    p.add_argument("month", metavar="年-月")

    p = sub.add_parser("lists", help="名录库的版本和变化；lists import 文件 导入一个名录")
    _folders(p)
    p.add_argument("action", nargs="?", choices=("import",), help="import：导入名录文件")
    p.add_argument("file", nargs="?", type=Path)

    p = sub.add_parser("review", help="列出待审核的问题；review 编号 答案 回答一个问题")
    _folders(p)
    p.add_argument("question", nargs="?", type=int, metavar="问题编号")
    p.add_argument("answer", nargs="?", metavar="答案")
    for plugin in PLUGINS:
        COMMANDS.update(plugin.register(sub))
    return parser


def cmd_process(args: argparse.Namespace) -> int:

    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if not args.json:
            _print_outcome(outcome)

    try:
        settings = _settings(args)
        if settings.role == "convert":
            return run_converter_role(settings, forever=False)
        with data_folder_lock(settings.data_dir, command_line(), settings.shared_store):
            require_inbox(settings, create=args.create)
            ctx = open_context(settings)
            try:
                clear_leftovers_of(ctx)  # of a run that was killed
                # The returned list also holds the ignored and skipped files, never reported one by one.
                outcomes[:] = process_inbox(ctx, on_outcome=report)
            finally:
                ctx.close()
    except (Exception, KeyboardInterrupt) as exc:
        if args.json:  # the object all the same: the files done so far, and why the pass stopped
            print(json.dumps({"files": [o.as_json() for o in outcomes], "error": _error_json(exc)},
                             ensure_ascii=False, indent=2))
        raise
    if args.json:
        print(json.dumps({"files": [o.as_json() for o in outcomes]}, ensure_ascii=False, indent=2))
    else:
        table = Table(title="本次处理结果")
        table.add_column("结果")
        table.add_column("数量", justify="right")
        for status in FileStatus:
            n = sum(1 for o in outcomes if o.status is status)
            if n:
                table.add_row(status.label, str(n))
        out.print(table if outcomes else "收件箱中没有待处理的文件。")
    return 0


def _error_json(exc: BaseException) -> dict[str, object]:
    """What ``main`` will say about ``exc`` on stderr, and the exit code it will return."""
    if isinstance(exc, ShuangsuiError):
        return {"message": exc.message, "exit_code": int(exc.exit_code), "type": type(exc).__name__}
    if isinstance(exc, KeyboardInterrupt):
        return {"message": "已中断。", "exit_code": int(ExitCode.ctrl_c), "type": "KeyboardInterrupt"}
    return {"message": f"内部错误：{type(exc).__name__}: {exc}", "exit_code": int(ExitCode.other_error),
            "type": type(exc).__name__}


def cmd_watch(args: argparse.Namespace) -> int:

    settings = _settings(args)
    if settings.role == "convert":
        return run_converter_role(settings, forever=True)
    with data_folder_lock(settings.data_dir, command_line(), settings.shared_store):
        if require_inbox(settings, create=args.create):
            console.print(f"已新建收件箱 {settings.inbox.resolve()}。", markup=False)
        ctx = open_context(settings)
        try:
            if args.demo_if_empty:
                written = fill_demo_inbox(settings, ctx.store, only_if_empty=True)
                if written:
                    console.print(f"收件箱为空，已放入 {len(written)} 个示例文件。")
            method = watch_method(settings)
            mode = f"{method.label}，文件系统 {method.fstype or '未知'}"
            server = None
            if args.serve:
                config = WebConfig(password_hash=settings.web_password_hash or None)
                server, _thread = start_in_thread(ctx, settings.web_host, settings.web_port, config)
                console.print(f"办公网页：http://{settings.web_host}:{settings.web_port}/")
            try:
                watch(ctx, on_outcome=_print_outcome, on_ready=lambda: console.print(
                    f"正在监视 {settings.inbox.resolve()}（{mode}），结果写入 {settings.outbox.resolve()}。按 Ctrl-C 停止。",
                    markup=False), on_notice=lambda text: console.print(text, style="yellow", markup=False))
            finally:
                if server is not None:
                    server.should_exit = True
        finally:
            ctx.close()
    console.print("已停止监视。")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:

    if not args.file.is_file():
        raise InputFileError(f"找不到文件 {args.file}。请检查路径。")
    try:
        kind = detect_kind(args.file)
    except OSError as exc:
        raise InputFileError(f"无法读取文件 {args.file}：{exc.strerror or exc}。请检查文件权限。") from exc
    # Read in a worker process with the memory and time limits, like a file dropped into the inbox.
    analysed = analyse_alone(_settings(args), AnalysisTask(args.file, args.file.name, kind, is_list=False,
                                                           extract_only=True))
    extraction = analysed.extraction
    assert extraction is not None
    if args.json:
        print(json.dumps(extraction.as_json(), ensure_ascii=False, indent=2))
    else:
        table = Table(title=f"{args.file.name}（{extraction.form}）")
        table.add_column("栏目")
        table.add_column("内容")
        table.add_column("位置", style="dim")

        for key, value in extraction.fields.items():
            prov = extraction.provenance.get(key)
            table.add_row(FIELD_LABELS.get(key, key), json.dumps(value, ensure_ascii=False) if value else "",
                          prov.where if prov else "")
        out.print(table)
        for w in extraction.warnings:
            console.print(f"提示：{w}", style="yellow")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:

    settings = _settings(args)
    ctx = open_context(settings)
    try:
        written = fill_demo_inbox(settings, ctx.store, only_if_empty=args.if_empty)
    finally:
        ctx.close()
    for path in written:
        console.print(f"已放入 {path}")
    if not written:
        console.print("收件箱或数据库不为空，未放入示例文件。")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:

    checks = run_checks(_settings(args))
    table = Table(title="运行环境检查")
    table.add_column("项目")
    table.add_column("状态")
    table.add_column("说明")
    for c in checks:
        table.add_row(c.name, "[green]正常[/]" if c.ok else ("[yellow]提示[/]" if c.optional else "[red]缺少[/]"),
                      c.detail)
    out.print(table)
    return 0 if all(c.ok or c.optional for c in checks) else int(ExitCode.missing_dependency)


def cmd_status(args: argparse.Namespace) -> int:

    ctx = _with_context(args)
    try:
        if args.case_id:
            return print_case(ctx, args.case_id, out)
        month = args.month or ""
        if month and not re.fullmatch(r"\d{4}-\d{2}", month):
            raise BadArgsError(f"月份“{month}”格式不对，请写成 2026-11。")
        return print_status(ctx, out, only=StatusFilter(parse_state(args.state), args.overdue, month, args.all))
    finally:
        ctx.close()


def cmd_case(args: argparse.Namespace) -> int:

    ctx = _with_context(args)
    try:
        targeted = None if args.targeted is None else args.targeted == "是"
        if args.pause_days is None and args.last_result_date is None and targeted is None:
            return print_case(ctx, args.case_id, out)
        with ctx.store.exclusive(CASES_LOCK):  # beside workers on a shared database
            message = set_case_overrides(ctx, args.case_id, pause_days=args.pause_days,
                                         last_result_date=args.last_result_date, targeted=targeted, actor=_actor())
        out.print(message)
    finally:
        ctx.close()
    return 0


def cmd_calendar(args: argparse.Namespace) -> int:

    ctx = _with_context(args)
    try:
        return print_month(args.month, calendar_for(ctx), out)
    finally:
        ctx.close()


def cmd_lists(args: argparse.Namespace) -> int:

    ctx = _with_context(args)
    try:
        if args.action == "import":
            if args.file is None or not args.file.is_file():
                raise BadArgsError("请指定要导入的名录文件，如 shuangsui lists import 执法检查人员名录库.xlsx")
            with ctx.store.exclusive(CASES_LOCK):  # lists change every case, as a worker imports them
                outcome = import_list_file(ctx, args.file)
            _print_outcome(outcome)
            return int(ExitCode.input_file) if outcome.status is FileStatus.rejected else 0
        return print_lists(ctx.store, out)
    finally:
        ctx.close()


def cmd_review(args: argparse.Namespace) -> int:

    ctx = _with_context(args)
    try:
        if args.question is None:
            return print_questions(ctx.store, out)
        if args.answer is None:
            raise BadArgsError("请同时给出答案，如 shuangsui review 3 未发现问题")
        with ctx.store.exclusive(CASES_LOCK):  # beside workers on a shared database
            message = answer_from_cli(ctx, args.question, args.answer, _actor())
        out.print(message)
        return 0
    finally:
        ctx.close()


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
            "process": cmd_process, "watch": cmd_watch, "extract": cmd_extract, "demo": cmd_demo,
            "doctor": cmd_doctor, "status": cmd_status, "case": cmd_case, "calendar": cmd_calendar,
            "lists": cmd_lists, "review": cmd_review}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return int(ExitCode.bad_args)
    try:
        return COMMANDS[args.command](args)
    except ShuangsuiError as exc:
        if args.verbose:
            traceback.print_exc()
        console.print(f"[red]错误：[/]{escape(exc.message)}", soft_wrap=True)  # a path is never cut in two
        return int(exc.exit_code)
    except KeyboardInterrupt:
        console.print("已中断。")
        return int(ExitCode.ctrl_c)
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        console.print(f"[red]内部错误：[/]{type(exc).__name__}: {escape(str(exc))}。请加 -v 重新运行并把输出发给信息化人员。")
        return int(ExitCode.other_error)


if __name__ == "__main__":
    sys.exit(main())
