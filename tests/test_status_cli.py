"""``shuangsui status``, ``case`` and ``calendar``: due dates in working days, overdue and due-soon marks."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys

from rich.console import Console

from pipeline.cli.status import case_lines, print_status
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
