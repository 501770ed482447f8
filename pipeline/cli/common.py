"""What every ``shuangsui`` sub-command shares: consoles, folder options, settings and the context."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from pipeline.cases.stage import Outcome
from pipeline.core.codes import FileStatus
from pipeline.core.names import visible_name
from pipeline.core.settings import ROLES, Settings, load_settings
from pipeline.intake.process import open_context

console = Console(stderr=True)
out = Console()

_STATUS_STYLE = {
    FileStatus.accepted: "green", FileStatus.waiting: "yellow", FileStatus.rejected: "red",
    FileStatus.duplicate: "cyan", FileStatus.ignored: "dim", FileStatus.processing: "magenta",
}


def folder_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inbox", type=Path, help="收件箱目录（缺省：设置 inbox）")
    p.add_argument("--outbox", type=Path, help="发件箱目录（缺省：设置 outbox）")
    p.add_argument("--data", type=Path, help="数据目录（缺省：设置 data_dir）")


def role_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=ROLES, help="本机的分工：all（全部，缺省）、intake（收文处理，LibreOffice 转换交给"
                   "转换队列）、convert（只做 LibreOffice 转换）；缺省为设置 role")


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(args.config, inbox=getattr(args, "inbox", None), outbox=getattr(args, "outbox", None),
                         data_dir=getattr(args, "data", None), role=getattr(args, "role", None))


def with_context(args: argparse.Namespace) -> Any:
    """An open pipeline context; the caller closes ``ctx.store``."""

    return open_context(settings_from(args))


def actor() -> str:
    return f"cli:{getpass.getuser()}"


def print_outcome(outcome: object) -> None:

    assert isinstance(outcome, Outcome)
    style = _STATUS_STYLE.get(outcome.status, "")
    # A file name is data, not markup: "[/x]" in a name would otherwise stop the watcher.
    label = f"[{style}]{outcome.status.label}[/]" if style else outcome.status.label  # "[]…[/]" is not markup
    line = f"{label} {escape(visible_name(outcome.name))}"
    if outcome.case:
        line += f"  案卷 {outcome.case}"
    console.print(line)
    for f in outcome.findings:
        console.print(f"    · {f.message}", style="red" if f.severity == "error" else "yellow", markup=False)
    for o in outcome.outputs:
        console.print(f"    → outbox/{o}", style="dim", markup=False)
