"""``shuangsui status`` (the table of cases, with filters) and ``shuangsui case <案卷编号>`` (one case)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.cases import overview
from pipeline.cases.context import Context
from pipeline.cases.overview import CaseLine, case_lines
from pipeline.core.codes import CaseStatus
from pipeline.core.errors import BadArgsError
from pipeline.core.evidence import BOX_LABELS, FORM_LABELS
from pipeline.core.models import FIELD_LABELS

COLUMNS_EXPLAINED = ("后半部分期限：检查结束后 5 个工作日内填完检查表后半部分（第十一条）；"
                     "公示期限：20 个工作日内公示（第十三条）；待办：还需补充或审核的事项数，"
                     "用 shuangsui case 案卷编号 查看；已归档的案卷不列出，加 --all 显示。")


@dataclass(frozen=True)
class StatusFilter:
    state: CaseStatus | None = None
    overdue: bool = False
    month: str = ""            # YYYY-MM of the check date
    include_archived: bool = False

    def keeps(self, line: CaseLine) -> bool:
        if self.state is not None and line.status is not self.state:
            return False
        if self.state is None and not self.include_archived and line.status is CaseStatus.archived:
            return False
        if self.overdue and overview.urgency(line) != "已逾期":
            return False
        return not self.month or (line.check_date or "").startswith(self.month)


def parse_state(text: str | None) -> CaseStatus | None:
    """A state by its Chinese label (待审核) or its stored value (review)."""
    if not text:
        return None
    for status in CaseStatus:
        if text in (status.value, status.label):
            return status
    choices = "、".join(s.label for s in CaseStatus)
    raise BadArgsError(f"没有“{text}”这个状态。可用：{choices}。")


def print_status(ctx: Context, console: Console, today: date | None = None,
                 only: StatusFilter | None = None) -> int:
    only = only or StatusFilter()
    every = case_lines(ctx, today)
    lines = [c for c in every if only.keeps(c)]
    print_queue(ctx, console)
    if not every:
        console.print("还没有案卷。")
        return 0
    table = Table(title=f"案卷状态（{len(lines)}/{len(every)}）")
    for col in ("案卷编号", "被抽查单位", "状态", "检查日期", "后半部分期限", "公示期限", "待办", "提醒"):
        table.add_column(col, overflow="fold")  # never cut a case number or a date short
    for c in lines:
        style = "red" if any("逾期" in f for f in c.flags) else ("yellow" if c.flags else "")
        table.add_row(c.case_id, escape(c.unit), c.status.label, c.check_date or "", c.due_lower_half or "",
                      c.due_publish or "", f"{c.open_items} 项" if c.open_items else "",
                      "；".join(c.flags + (("涉及查处，需移交综合科",) if c.penalty else ())), style=style)
    console.print(table)
    console.print(COLUMNS_EXPLAINED, style="dim")
    return 0


def print_queue(ctx: Context, console: Console) -> None:
    """The conversion queue on a shared database, when anything is in it (roles, issue 14)."""
    if not ctx.store.shared:
        return
    counts = ctx.store.conversion_counts()
    if counts["queued"] or counts["running"] or counts["failed"]:
        console.print(f"转换队列：排队 {counts['queued']} 个，转换中 {counts['running']} 个，失败 {counts['failed']} 个；"
                      f"运行中的转换机器 {ctx.store.live_converters()} 台。", style="yellow", markup=False)


def print_case(ctx: Context, case_id: str, console: Console, today: date | None = None) -> int:
    view = overview.case_view(ctx, case_id, today)
    if view is None:
        raise BadArgsError(f"没有案卷 {case_id}。请用 shuangsui status 查看案卷编号。")
    case, line = view.case, view.line
    console.print(f"[bold]{case.id}[/] {escape(case.unit_name or '')}  状态：{case.status.label}  "
                  f"检查日期：{case.check_date or '未填'}")
    if line is not None:
        console.print(f"期限：后半部分 {line.due_lower_half or '—'}，公示 {line.due_publish or '—'}"
                      + (f"（{'；'.join(line.flags)}）" if line.flags else ""))
    if view.findings:
        console.print("[bold]还需处理的事项[/]")
        for f in view.findings:
            label = FIELD_LABELS.get(f.field or "", f.field or "")
            console.print(f"  · {escape(label + '：' if label else '')}{escape(f.message)}"
                          + (f"（{f.article}）" if f.article else ""))
    for q in view.questions:
        console.print(f"  ? 问题 {q.id}：{escape(q.prompt)} 可选：{'／'.join(q.options)}"
                      f"（回答：shuangsui review {q.id} 答案）")
    console.print("[bold]收到的文件[/]")
    for file in view.files:
        console.print(f"  {file.received_at[:16].replace('T', ' ')}  {escape(file.original_name)}  "
                      f"{overview.form_label(file.form)}  {file.status.label}")
    console.print("[bold]生成的文件[/]")
    for output in view.outputs:
        console.print(f"  outbox/{escape(output.path)}")
    for form, seen in view.evidence.scans.items():
        boxes = "，".join(f"{BOX_LABELS.get(b, b)}{'有' if s.present else ('无' if s.present is False else '不确定')}"
                         for b, s in seen.boxes.items())
        console.print(f"扫描件（{FORM_LABELS.get(form, form)}）：{boxes}")
    console.print("[bold]处理记录[/]")
    for event in view.events:
        console.print(f"  {event.at[:16].replace('T', ' ')}  {event.actor}  {escape(overview.describe_event(event))}")
    return 0
