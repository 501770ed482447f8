"""Where every case stands, for people: one line per case with its due dates and reminders, and
staff's decisions on a case (``shuangsui case``, the office page).

A due date is shown as 已逾期 when it has passed while the case has not reached the state the
deadline asks for, and as 即将到期 when it falls within 3 working days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.cases import lists
from pipeline.cases.casework import reevaluate_case
from pipeline.cases.context import Context
from pipeline.cases.facts import calendar_for
from pipeline.cases.penalty import penalty_flags
from pipeline.core.codes import PUBLISHED_STATES, CaseStatus
from pipeline.core.errors import BadArgsError
from pipeline.core.evidence import CaseEvidence, case_evidence
from pipeline.core.models import Finding
from pipeline.core.text import company_key
from pipeline.rules.workdays import WorkCalendar
from pipeline.store.base import CaseRow, EventRow, FileRow, OutputRow, Question

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


# --- the office page's views ---------------------------------------------------------------------------

LICENCE_WARNING_DAYS = 30  # 第十六条: an inspector whose 执法证 expires soon is named ahead of time


def urgency(line: CaseLine) -> str:
    """已逾期 / 即将到期 / 正常: how a case is coloured on the office page."""
    if any("逾期" in f for f in line.flags):
        return "已逾期"
    if any("即将到期" in f for f in line.flags):
        return "即将到期"
    return "正常"


def missing_summary(ctx: Context, case_id: str) -> str:
    """What the case still waits for, in one line (its waiting and review findings)."""
    open_items = [f.message for f in ctx.store.case_findings(case_id) if f.severity in ("waiting", "review")]
    if not open_items:
        return ""
    first = open_items[0]
    return first if len(open_items) == 1 else f"{first}（另有 {len(open_items) - 1} 项）"


def case_sections(ctx: Context, today: date | None = None) -> dict[str, str]:
    """Case id → the 科室 of its first inspector found in the 执法检查人员名录库 ("" when unknown)."""
    roster = lists.inspector_roster(ctx.store, today or date.today())
    by_name = {str(r.get("姓名") or "").strip(): str(r.get("科室") or "").strip() for r in roster}
    out = {}
    for case in ctx.store.list_cases():
        names = [str(i.get("name") or "").strip() for i in (case.record or {}).get("inspectors") or []]
        out[case.id] = next((by_name[n] for n in names if by_name.get(n)), "")
    return out


@dataclass(frozen=True)
class TaskProgress:
    """One 抽查任务 against the 随机抽查事项清单 (第八条): how many of its units were checked."""

    task: str
    item: str
    ratio: str
    frequency: str
    planned: int
    checked: int


def plan_progress(ctx: Context, today: date | None = None) -> list[TaskProgress]:
    """Per 抽查任务 in force: its 抽查事项's ratio and frequency, its units, and those with a case."""
    on = today or date.today()
    items = {str(r.get("抽查事项") or ""): r for r in lists.items_on(ctx.store, on)}
    checked_units = {c.unit_key for c in ctx.store.list_cases() if c.unit_key}
    tasks: dict[tuple[str, str], set[str]] = {}
    for row in lists.tasks_on(ctx.store, on):
        key = (str(row.get("任务名称") or "").strip(), str(row.get("抽查事项") or "").strip())
        tasks.setdefault(key, set()).add(company_key(str(row.get("企业名称") or "")))
    out = []
    for (task, item), units in sorted(tasks.items()):
        listed = items.get(item, {})
        out.append(TaskProgress(task, item, str(listed.get("抽查比例") or ""), str(listed.get("抽查频次") or ""),
                                len(units), len(units & checked_units)))
    return out


@dataclass(frozen=True)
class ExpiringLicence:
    """An inspector whose 执法证 has expired or expires within ``LICENCE_WARNING_DAYS`` (第十六条)."""

    name: str
    section: str
    valid_until: str
    expired: bool


def expiring_licences(ctx: Context, today: date | None = None,
                      days: int = LICENCE_WARNING_DAYS) -> list[ExpiringLicence]:
    on = today or date.today()
    out = []
    for row in lists.inspector_roster(ctx.store, on):
        until = str(row.get("执法证有效期至") or "")[:10]
        try:
            day = date.fromisoformat(until)
        except ValueError:
            continue
        if (day - on).days <= days:
            out.append(ExpiringLicence(str(row.get("姓名") or ""), str(row.get("科室") or ""), until, day < on))
    return sorted(out, key=lambda e: e.valid_until)


@dataclass(frozen=True)
class CaseView:
    """Everything the office page shows of one case."""

    case: CaseRow
    line: CaseLine | None
    files: list[FileRow]
    outputs: list[OutputRow]
    findings: list[Finding]
    events: list[EventRow]
    questions: list[Question]
    evidence: CaseEvidence


def case_view(ctx: Context, case_id: str, today: date | None = None) -> CaseView | None:
    case = ctx.store.get_case(case_id)
    if case is None:
        return None
    line = next((c for c in case_lines(ctx, today) if c.case_id == case_id), None)
    return CaseView(case, line, ctx.store.case_files(case_id, with_scans=True), ctx.store.outputs_for_case(case_id),
                    ctx.store.case_findings(case_id), list(ctx.store.events("case", case_id)),
                    ctx.store.questions(status="open", case_id=case_id),
                    case_evidence(ctx.store.scan_boxes(case_id)))


EVENT_LABELS = {
    "created": "建立案卷", "updated": "案卷更新", "file_attached": "收到文件", "scan_attached": "收到扫描件",
    "question_opened": "提出待审核问题", "question_answered": "回答待审核问题", "question_withdrawn": "撤回待审核问题",
    "overrides": "人工修改", "public_form": "生成公示表", "published": "已公示", "regenerated": "重新生成文书",
    "archived": "归档", "archive_republished": "归档包更新", "bundle_written": "移交综合科",
    "publicity_exported": "双公示导出", "output": "生成文件",
}
FORM_NAMES = {"check_table": "检查表", "site_record": "现场检查笔录", "penalty_decision": "行政处罚决定书",
              "scan": "扫描件", "review_sheet": "待审核答复"}


def form_label(form: str | None) -> str:
    """A file's form as staff name it (名录 for every list sheet)."""
    if not form:
        return ""
    return "名录" if form.startswith("list:") else FORM_NAMES.get(form, form)


def describe_event(event: EventRow) -> str:
    """An event of the case's history in one Chinese line: what happened, and the state it left."""
    text = EVENT_LABELS.get(event.action, event.action)
    detail = event.detail or {}
    status = detail.get("status")
    if isinstance(status, str) and status in CaseStatus._value2member_map_:
        text += f"：状态 {CaseStatus(status).label}"
    name = detail.get("name")
    if isinstance(name, str):
        text += f"：{name}"
    return text
