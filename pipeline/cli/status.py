"""``shuangsui status`` and ``shuangsui case``: where every case stands, and staff's case decisions.

A due date is shown as 已逾期 when it has passed while the case has not reached the state the
deadline asks for, and as 即将到期 when it falls within 3 working days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

from pipeline.cases.casework import reevaluate_case
from pipeline.cases.context import Context
from pipeline.cases.facts import calendar_for
from pipeline.cases.penalty import penalty_flags
from pipeline.core.codes import PUBLISHED_STATES, CaseStatus
from pipeline.core.errors import BadArgsError
from pipeline.rules.workdays import WorkCalendar

SOON_WORKING_DAYS = 3


@dataclass(frozen=True)
class CaseLine:
    case_id: str
    unit: str
    status: CaseStatus
    check_date: str | None
    due_lower_half: str | None
    due_publish: str | None
    due_certain: bool
    penalty: bool
    open_items: int
    flags: tuple[str, ...]


def _flag(label: str, due: str | None, done: bool, today: date, calendar: WorkCalendar) -> str | None:
    if not due or done:
        return None
    day = date.fromisoformat(due)
    if day < today:
        return f"{label}已逾期（{due}）"
    soon = calendar.add_working_days(today, SOON_WORKING_DAYS).due
    if day <= soon:
        return f"{label}即将到期（{due}）"
    return None


def case_lines(ctx: Context, today: date | None = None) -> list[CaseLine]:
    today = today or date.today()
    calendar = calendar_for(ctx)
    out = []
    for r in ctx.store.list_cases():
        status = r.status
        record = r.record or {}
        findings = r.findings or []
        open_items = sum(1 for f in findings if f["severity"] in ("waiting", "review"))
        lower_done = bool(record.get("situation")) and bool(record.get("authority_seal_date"))
        flags = [f for f in (
            _flag("后半部分", r.due_lower_half, lower_done, today, calendar),
            _flag("公示", r.due_publish, status in PUBLISHED_STATES, today, calendar),
        ) if f]
        if not r.due_certain:
            flags.append("期限为暂定（缺少节假日数据）")
        # 第十五条: 待行政处罚决定书, or the decision's 7-working-day upload deadline.
        flags.extend(penalty_flags(ctx, r.id, r.penalty, today, calendar))
        out.append(CaseLine(r.id, r.unit_name or "", status, r.check_date, r.due_lower_half, r.due_publish,
                            r.due_certain, r.penalty, open_items, tuple(flags)))
    return out


def print_status(ctx: Context, console: Console, today: date | None = None) -> int:
    lines = case_lines(ctx, today)
    if not lines:
        console.print("还没有案卷。")
        return 0
    table = Table(title="案卷状态")
    for col in ("案卷编号", "被抽查单位", "状态", "检查日期", "后半部分期限", "公示期限", "待办", "提醒"):
        table.add_column(col, overflow="fold")  # never cut a case number or a date short
    for c in lines:
        style = "red" if any("逾期" in f for f in c.flags) else ("yellow" if c.flags else "")
        table.add_row(c.case_id, c.unit, c.status.label, c.check_date or "", c.due_lower_half or "",
                      c.due_publish or "", str(c.open_items) if c.open_items else "",
                      "；".join(c.flags + (("涉及查处，需移交综合科",) if c.penalty else ())), style=style)
    console.print(table)
    return 0


def set_case_overrides(ctx: Context, case_id: str, *, pause_days: int | None = None,
                       last_result_date: str | None = None, targeted: bool | None = None,
                       actor: str = "cli") -> str:
    """Record staff's decisions on a case (logged), then evaluate it again."""
    case = ctx.store.get_case(case_id)
    if case is None:
        raise BadArgsError(f"没有案卷 {case_id}。请用 shuangsui status 查看案卷编号。")
    changes: dict[str, Any] = {}
    if pause_days is not None:
        if pause_days < 0:
            raise BadArgsError("检验、检测、鉴定、专家评审的天数不能为负数。")
        changes["pause_days"] = pause_days
    if last_result_date is not None:
        try:
            date.fromisoformat(last_result_date)
        except ValueError as exc:
            raise BadArgsError(f"日期“{last_result_date}”格式不对，请写成 2026-11-20。") from exc
        changes["last_result_date"] = last_result_date
    if targeted is not None:
        changes["targeted"] = targeted
    if not changes:
        raise BadArgsError("没有要修改的内容。可用 --pause-days、--last-result-date、--targeted。")
    with ctx.store.begin() as tx:
        tx.merge_case_overrides(case_id, changes)
        tx.log("case", case_id, "overrides", changes, actor=actor)
    done = reevaluate_case(ctx, case_id)
    state = done.status.label if done else case.status.label
    return f"已更新案卷 {case_id}：{json.dumps(changes, ensure_ascii=False)}；当前状态：{state}。"
