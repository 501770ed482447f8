"""``shuangsui status``, ``case`` and ``calendar``: due dates in working days, overdue and due-soon marks."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys

from rich.console import Console

from pipeline.cases.overview import case_lines
from pipeline.cli.status import print_status
from pipeline.core.settings import Settings
from pipeline.intake.process import open_context, process_inbox
from tests.conftest import Samples, cli_env, run_cli


def _case(settings: Settings, samples: Samples) -> str:
    samples.lists()
    samples.check_table("检查表.docx", check_start="2026-10-19T09:30", check_end="2026-10-19T11:00",
                        dept_opinion_date="2026-10-14", leader_approval_date="2026-10-15",
                        authority_opinion_date="2026-10-15", leader_confirmation_date="2026-10-21",
                        authority_seal_date="2026-10-21")
    ctx = open_context(settings)
    outcomes = {o.name: o for o in process_inbox(ctx)}
    ctx.store.close()
    case = outcomes["检查表.docx"].case
    assert case
    return case


def test_status_shows_due_dates_in_working_days_and_overdue(settings: Settings, samples: Samples) -> None:
    case = _case(settings, samples)
    ctx = open_context(settings)
    [line] = case_lines(ctx, today=dt.date(2026, 11, 28))
    # 5 and 20 Chinese working days after Monday 2026-10-19 (no holidays in between).
    assert (line.case_id, line.due_lower_half, line.due_publish) == (case, "2026-10-26", "2026-11-16")
    assert any("公示已逾期" in f for f in line.flags)
    [soon] = case_lines(ctx, today=dt.date(2026, 11, 12))
    assert any("公示即将到期" in f for f in soon.flags)
    buffer = io.StringIO()
    print_status(ctx, Console(file=buffer, width=200), today=dt.date(2026, 11, 28))
    assert case in buffer.getvalue() and "已逾期" in buffer.getvalue()
    ctx.store.close()
    proc = subprocess.run([sys.executable, "-m", "pipeline", "status"], env=cli_env(settings) | {"COLUMNS": "200"},
                          cwd=settings.data_dir.parent, capture_output=True, text=True, timeout=120)
    # The task period (from 2026-11-01) does not cover the check: the case waits, and is overdue.
    assert proc.returncode == 0 and "待补充" in proc.stdout and "公示已逾期" in proc.stdout


def test_case_pause_days_move_the_deadline_and_are_logged(settings: Settings, samples: Samples) -> None:
    case = _case(settings, samples)
    proc = run_cli(settings, "case", case, "--pause-days", "3")
    assert proc.returncode == 0, proc.stderr
    assert "已更新案卷" in proc.stdout
    ctx = open_context(settings)
    [line] = case_lines(ctx, today=dt.date(2026, 11, 28))
    assert line.due_publish == "2026-11-19"
    assert [e.detail for e in ctx.store.events("case", case) if e.action == "overrides"] == [{"pause_days": 3}]
    ctx.store.close()
    bad = run_cli(settings, "case", "SS-2099-99999", "--pause-days", "1")
    assert bad.returncode == 2 and "没有案卷" in bad.stderr


def test_calendar_shows_national_day_and_make_up_days(settings: Settings) -> None:
    proc = run_cli(settings, "calendar", "2026-10")
    assert proc.returncode == 0, proc.stderr
    assert "国庆" in proc.stdout and "调休" in proc.stdout
    assert run_cli(settings, "calendar", "十月").returncode == 2


def _wide(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=cli_env(settings) | {"COLUMNS": "200"},
                          cwd=settings.data_dir.parent, capture_output=True, text=True, timeout=120)


def test_case_shows_one_case_and_status_filters_it(settings: Settings, samples: Samples) -> None:
    case = _case(settings, samples)
    shown = _wide(settings, "case", case)
    assert shown.returncode == 0, shown.stderr
    assert case in shown.stdout and "收到的文件" in shown.stdout and "检查表.docx" in shown.stdout
    assert "处理记录" in shown.stdout and "建立案卷" in shown.stdout and "待补充" in shown.stdout
    assert _wide(settings, "status", case).stdout == shown.stdout
    waiting = _wide(settings, "status", "--state", "待补充")
    assert waiting.returncode == 0 and case in waiting.stdout and "（1/1）" in waiting.stdout
    assert "待办" in waiting.stdout and "shuangsui case 案卷编号" in waiting.stdout  # the columns are explained
    for args in (("--state", "已公示"), ("--month", "1999-01")):
        proc = _wide(settings, "status", *args)
        assert proc.returncode == 0 and case not in proc.stdout, args
    # Checked 2026-10-19, due 2026-11-16: overdue by now.
    assert case in _wide(settings, "status", "--month", "2026-10", "--overdue").stdout


def test_the_command_line_speaks_chinese_when_used_wrong(settings: Settings) -> None:
    cases = {("case",): "缺少参数：案卷编号", ("status", "--state", "完成了"): "没有“完成了”这个状态",
             ("status", "--month", "十一月"): "格式不对", ("calendar", "2026-12", "多余"): "无法识别的参数：多余",
             ("case", "SS-2026-00001", "--pause-days", "三"): "不是整数", ("lists", "export"): "无效的选项"}
    for args, needle in cases.items():
        proc = _wide(settings, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert needle in proc.stderr, (args, proc.stderr)
        assert "usage" not in proc.stderr and "error:" not in proc.stderr
    helped = _wide(settings, "status", "-h")
    assert helped.returncode == 0 and "用法：" in helped.stdout and "显示本帮助并退出" in helped.stdout
