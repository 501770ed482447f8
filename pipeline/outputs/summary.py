"""公示表汇总.xlsx: one row per case for 产业政策科 and 综合科 (第十三条), one sheet per month.

Each row has the 公示表 values (as published, or as they would be printed now), the check dates
and the due date of publication (20 working days, ``days_publish``) as real dates, the date the case
was published and whether that was in time. A case belongs to the month its check ended in.
Every text cell goes through ``pipeline.core.cells.neutralise`` (a company name such as ``=HYPERLINK(…)``
stays text). ``refresh_reports`` rewrites the outbox copy (and the website set) at the end of a pass
only when a row changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.cases.context import Context
from pipeline.cases.public_forms import PUBLISHED_STATES, recorded_forms
from pipeline.core.cells import neutralise
from pipeline.core.codes import CaseStatus
from pipeline.core.errors import BadArgsError, OutputError
from pipeline.outputs import website
from pipeline.store.outbox import PUBLIC_FORMS, publish

SUMMARY_NAME = "公示表汇总.xlsx"
NO_DATE_SHEET = "日期不详"
DATE_FORMAT = "yyyy-mm-dd"
HEADERS = ("案卷编号", "企业名称", "统一社会信用代码", "检查实施机关", "抽查任务名称", "检查抽查日期（起）",
           "检查抽查日期（止）", "抽查检查类型", "检查抽查结果", "公示期限", "公示日期", "是否按期", "状态")
ON_TIME, LATE, OVERDUE, NOT_DUE = "是", "否", "否（已逾期）", "未到期"
_PERIOD = re.compile(r"(\d{4})-(\d{1,2})")


@dataclass(frozen=True)
class SummaryRow:
    case_id: str
    unit_name: str
    uscc: str
    authority: str
    task_name: str
    check_start: date | None
    check_end: date | None
    check_type: str
    result: str
    due_publish: date | None
    published_on: date | None
    on_time: str
    status: str

    @property
    def month(self) -> str | None:
        day = self.check_end or self.check_start
        return f"{day.year:04d}-{day.month:02d}" if day else None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _on_time(due: date | None, published: date | None, today: date) -> str:
    if published is not None:
        return ON_TIME if due is None or published <= due else LATE
    if due is None:
        return ""
    return OVERDUE if today > due else NOT_DUE


def summary_rows(ctx: Context, period: str | None = None, today: date | None = None) -> list[SummaryRow]:
    """Every case (in case order); ``period`` ``"2026-11"`` keeps that month's."""
    month = _parse_period(period) if period else None
    today = today or date.today()
    forms = recorded_forms(ctx)
    rows = []
    for case in ctx.store.list_cases():
        # Every case, as ``status`` lists them: one without its check table yet (only a 现场检查笔录 or a scan)
        # is a row with what the case knows, so that both count the same cases in every state.
        record = case.record or {"inspected_unit": case.unit_name, "check_start": case.check_date}
        form, published = forms.get(case.id, (None, None))
        published_on = _day(published["at"]) if published and case.status in PUBLISHED_STATES else None
        start = _day(record.get("check_start"))
        due = _day(case.due_publish)
        row = SummaryRow(
            case_id=case.id, unit_name=form.unit_name if form else str(case.unit_name or record.get("inspected_unit") or ""),
            uscc=form.uscc if form else "", authority=form.authority if form else ctx.settings.bureau,
            task_name=form.task_name if form else "", check_start=start,
            check_end=_day(record.get("check_end")) or start, check_type=form.check_type if form else "",
            result=form.result if form else "", due_publish=due, published_on=published_on,
            on_time=_on_time(due, published_on, today), status=CaseStatus(case.status).label)
        if month is None or row.month == month:
            rows.append(row)
    return sorted(rows, key=lambda r: r.case_id)


def _parse_period(period: str) -> str:
    match = _PERIOD.fullmatch(period.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise BadArgsError(f"期间“{period}”格式不对。请写成 年-月，例如 2026-11。")
    return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"


def _sheet_title(month: str | None) -> str:
    return f"{month[:4]}年{int(month[5:])}月" if month else NO_DATE_SHEET


def write_summary(ctx: Context, out: Path, period: str | None = None) -> Path:
    """Write 公示表汇总.xlsx to ``out`` (one sheet per month of check end); ``period`` e.g. ``"2026-11"``."""
    rows = summary_rows(ctx, period)
    _write_workbook(rows, out, _sheet_title(_parse_period(period)) if period else "汇总")
    return out


def _write_workbook(rows: Sequence[SummaryRow], out: Path, empty_title: str) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    months = sorted({r.month for r in rows}, key=lambda m: (m is None, m or ""))
    for month in months or [None]:
        ws = wb.create_sheet(_sheet_title(month) if rows else empty_title)
        _fill_sheet(ws, [r for r in rows if r.month == month])
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        wb.save(out)
    except OSError as exc:
        raise OutputError(f"无法写出 {out}：{exc}。请关闭正在打开该文件的程序（如 Excel）后重试。") from exc


def _fill_sheet(ws: Worksheet, rows: Sequence[SummaryRow]) -> None:
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        ws.append([neutralise(v) for v in astuple(row)[:-1]] + [row.status])
    date_columns = [HEADERS.index(h) + 1 for h in ("检查抽查日期（起）", "检查抽查日期（止）", "公示期限", "公示日期")]
    for col in date_columns:
        for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
            cell.number_format = DATE_FORMAT
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{max(1, len(rows) + 1)}"
    for index, header in enumerate(HEADERS, start=1):
        values = [header, *(astuple(r)[index - 1] for r in rows)]
        width = max(_display_width(v) for v in values)
        ws.column_dimensions[get_column_letter(index)].width = min(60, max(10, width + 2))


def _display_width(value: object) -> int:
    if isinstance(value, date):
        return 10
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value or ""))


# --- end of a pass: the outbox copies, only when something changed ------------------------------

def refresh_reports(ctx: Context) -> list[str]:
    """Rewrite 公示表/公示表汇总.xlsx and the 网站公示 page when their rows changed; returns what was written.

    A file locked on the share (open in Excel) is skipped and written on a later pass.
    """
    written: list[str] = []
    rows = summary_rows(ctx)
    summary_rel = f"{PUBLIC_FORMS}/{SUMMARY_NAME}"
    if _changed(ctx, "summary", rows, summary_rel):
        job = ctx.settings.jobs_dir / "reports"
        job.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError, OutputError):
            _write_workbook(rows, job / SUMMARY_NAME, "汇总")
            publish(job / SUMMARY_NAME, ctx.settings.outbox / summary_rel)
            (job / SUMMARY_NAME).unlink()
            _remember(ctx, "summary", rows)
            written.append(summary_rel)
    with contextlib.suppress(OSError, OutputError):
        written += website.write_website(ctx)
    return written


def _signature(rows: Sequence[SummaryRow]) -> str:
    return hashlib.sha256(json.dumps([astuple(r) for r in rows], default=str, ensure_ascii=False)
                          .encode()).hexdigest()


def _signature_file(ctx: Context, name: str) -> Path:
    return ctx.settings.data_dir / "reports" / f"{name}.sha256"


def _changed(ctx: Context, name: str, rows: Sequence[SummaryRow], rel: str) -> bool:
    if not (ctx.settings.outbox / rel).is_file():
        return bool(rows)
    sig = _signature_file(ctx, name)
    return not sig.is_file() or sig.read_text(encoding="ascii").strip() != _signature(rows)


def _remember(ctx: Context, name: str, rows: Sequence[SummaryRow]) -> None:
    sig = _signature_file(ctx, name)
    sig.parent.mkdir(parents=True, exist_ok=True)
    sig.write_text(_signature(rows), encoding="ascii")
