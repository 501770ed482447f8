"""Tables the command line prints: the lists' versions, the open questions, a month's working days.

All rich output lives in ``pipeline.cli.main``; the domain modules return data.
"""

from __future__ import annotations

import datetime as dt
import itertools

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline.cases.lists import LIST_KINDS, diff_lines, diff_versions, resolve_kind
from pipeline.cases.review import NO_QUESTIONS, OPTION_SEP
from pipeline.core.models import FIELD_LABELS
from pipeline.rules.workdays import DAY_STYLES, WEEKDAY_HEADERS, DayKind, WorkCalendar, day_mark, parse_month
from pipeline.store import Store
from pipeline.store.base import ListVersionRow


def render_month(year: int, month: int, calendar: WorkCalendar) -> Table:
    """A Monday..Sunday grid of the month, each day with its mark (春节, 调休, 休, 未知)."""
    table = Table(title=f"{year} 年 {month} 月", show_lines=True)
    for header in WEEKDAY_HEADERS:
        table.add_column(header, justify="center", min_width=4)
    row: list[Text] = [Text("") for _ in range(dt.date(year, month, 1).weekday())]
    for day, _ in calendar.month_table(year, month):
        info = calendar.day_info(day)
        mark = day_mark(info)
        row.append(Text(f"{day.day}\n{mark}" if mark else f"{day.day}\n", style=DAY_STYLES[info.kind]))
        if len(row) == 7:
            table.add_row(*row)
            row = []
    if row:
        table.add_row(*row, *[Text("") for _ in range(7 - len(row))])
    return table


def print_month(spec: str, calendar: WorkCalendar, console: Console) -> int:
    """``shuangsui calendar 2026-12``: print the month's grid with a legend; returns the exit code."""
    year, month = parse_month(spec)
    console.print(render_month(year, month, calendar))
    infos = [calendar.day_info(d) for d, _ in calendar.month_table(year, month)]
    workdays = sum(1 for i in infos if i.is_workday)
    console.print(Text("说明：春节等节日名 = 法定节假日放假；调休 = 周末调休上班；休 = 周末；未知 = 无节假日数据。"))
    unknown = sum(1 for i in infos if i.kind is DayKind.unknown)
    if unknown:
        console.print(Text(
            f"注意：尚无 {year} 年的法定节假日数据，本月 {unknown} 天为未知，不能用来推算期限。"
            f"{calendar.fix_hint()}录入国务院公布的 {year} 年安排。",
            style="bold red",
        ))
    else:
        console.print(Text(f"本月工作日 {workdays} 天。数据来源：{calendar.describe_sources()}"))
    return 0


def print_questions(store: Store, console: Console) -> int:
    """Print the open questions as a table; returns the exit code (0)."""
    open_questions = store.questions(status="open")
    if not open_questions:
        console.print(NO_QUESTIONS)
        return 0
    table = Table(title=f"待审核问题（{len(open_questions)} 个）", show_lines=True)
    for header in ("编号", "案卷编号", "企业名称", "栏目", "问题", "发现的内容", "可选答案"):
        table.add_column(header, overflow="fold")
    names: dict[str, str] = {}
    for q in open_questions:
        if q.case_id not in names:
            case = store.get_case(q.case_id)
            names[q.case_id] = (case.unit_name if case else None) or ""
        # Text, not markup: a company name with [brackets] is shown as written.
        table.add_row(*(Text(v) for v in (
            str(q.id), q.case_id, names[q.case_id], FIELD_LABELS.get(q.field or "", q.field or ""), q.prompt,
            q.found or "", OPTION_SEP.join(q.options))))
    console.print(table)
    console.print("回答：shuangsui review 编号 答案，或在发件箱的“待审核.xlsx”中填写“确认”一列后放入收件箱。")
    return 0


def print_lists(store: Store, console: Console, kind: str | None = None, diff: bool = True) -> int:
    """``shuangsui lists``: each list's versions, which is in force today, and what each version changed."""
    chosen = resolve_kind(kind)
    kinds = [chosen] if chosen else list(LIST_KINDS)
    today = dt.date.today()
    table = Table(title="名录库版本")
    for column in ("名录", "版本", "文件", "行数", "生效日期", "导入时间", "状态"):
        table.add_column(column, justify="right" if column in ("版本", "行数") else "left")
    by_kind: dict[str, list[ListVersionRow]] = {k.kind: store.list_versions(k.kind) for k in kinds}
    # Staff count versions per list in import order (1, 2, 3 …), not by the database's row id.
    number = {v.id: i for vs in by_kind.values() for i, v in enumerate(sorted(vs, key=lambda v: v.id), 1)}
    for k in kinds:
        versions = by_kind[k.kind]
        current = store.list_version_on(k.kind, today)
        if not versions:
            table.add_row(k.title, "", "", "", "", "", "[dim]尚未导入[/]")
        for v in versions:
            if current is not None and v.id == current.id:
                state = "[green]当前有效[/]"
            elif v.effective_from > today.isoformat():
                state = "[yellow]尚未生效[/]"
            else:
                state = "[dim]已被取代[/]"
            table.add_row(k.title, str(number[v.id]), escape(v.source_name or ""), str(v.row_count), v.effective_from,
                          v.imported_at[:19].replace("T", " "), state)
    console.print(table)
    missing = [k.title for k in kinds if not by_kind[k.kind]]
    if missing:
        console.print(f"尚未导入：{'、'.join(missing)}。请把从省平台导出的表格放入 inbox/名录库/，"
                      "或运行 shuangsui lists import 文件名.xlsx。")
    if not diff:
        return 0
    for k in kinds:
        versions = by_kind[k.kind]
        for before, after in itertools.pairwise(versions):
            d = diff_versions(store.list_version_rows(before.id), store.list_version_rows(after.id), k.kind)
            head = (f"{k.title} 版本 {number[after.id]}（{after.effective_from} 起）相对版本 {number[before.id]}："
                    f"新增 {len(d.added)} 行，删除 {len(d.removed)} 行，变更 {len(d.changed)} 行")
            console.print(f"\n[bold]{escape(head)}[/]" if not d.empty else escape(head + "（内容相同）"))
            for line in diff_lines(d):
                console.print("  " + escape(line), soft_wrap=True)
    return 0
