"""The 双公示 行政处罚 export: ``outbox/双公示/行政处罚-<YYYY-MM-DD>.xlsx`` and ``.csv``.

One row per 行政处罚决定书 joined to its case, in the common national column set (Chinese header
row; with ``publicity_code_row`` a second row of column codes such as CF_WSH). The decision gives
the 文号, 违法行为类型, 违法事实, 处罚依据, 处罚类别, 处罚内容, amounts (万元) and date; the party's
category comes from its 统一社会信用代码 (92… 个体工商户); 处罚机关 and 数据来源单位 are the bureau
(``bureau``, ``bureau_uscc``). Dates are written as text in ``publicity_date_format``.

What is written is public: only the listed columns (never an inspector's phone or certificate
number), and every text value goes through ``pipeline.core.cells.neutralise`` so that a spreadsheet
never runs it as a formula. The CSV is UTF-8 with a BOM so that Excel opens it as UTF-8.

After every pass the decisions not exported yet go into the file of the day (the day's file holds
everything exported that day, so a second pass the same day rewrites it whole); ``shuangsui
publicity --all`` writes every decision again.
"""

from __future__ import annotations

import calendar as month_calendar
import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline.cases.context import Context
from pipeline.cases.penalty import PenaltyRow, penalties, sync_penalties
from pipeline.core.cells import neutralise
from pipeline.store.outbox import PUBLICITY, publish

FILE_PREFIX = "行政处罚"
BUREAU_USCC_WARNING = ("设置项 bureau_uscc（本局统一社会信用代码）为空：双公示导出中的“处罚机关统一社会信用代码”"
                       "“数据来源单位统一社会信用代码”两列为空，目标系统会拒收。请在 shuangsui.toml 中设置 bureau_uscc。")

Getter = Callable[[PenaltyRow, Any], Any]


def _field(key: str) -> Getter:
    return lambda row, settings: row.fields.get(key)


def party_category(uscc: str | None) -> str:
    """行政相对人类别 from the code: 92… 个体工商户, any other code 法人及非法人组织, none 自然人."""
    if not uscc:
        return "自然人"
    return "个体工商户" if uscc.startswith("92") else "法人及非法人组织"


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


def _date(value: str | None, settings: Any) -> str | None:
    return date.fromisoformat(value).strftime(settings.publicity_date_format) if value else None


def _amount(value: str | None) -> float | None:
    return float(Decimal(value)) if value else None


# (Chinese header, column code, value). Codes follow the usual national names (unconfirmed for the
# target system: the header row is authoritative).
COLUMNS: tuple[tuple[str, str, Getter], ...] = (
    ("行政相对人名称", "CF_XDR_MC", _field("party_name")),
    ("行政相对人类别", "CF_XDR_LB", lambda row, s: party_category(row.fields.get("uscc"))),
    ("行政相对人代码_1（统一社会信用代码）", "CF_XDR_SHXYM", _field("uscc")),
    ("法定代表人", "CF_FRDB", _field("legal_rep")),
    ("行政处罚决定书文号", "CF_WSH", _field("decision_no")),
    ("违法行为类型", "CF_WFXW", _field("violation_type")),
    ("违法事实", "CF_SY", _field("violation_facts")),
    ("处罚依据", "CF_YJ", _field("basis")),
    ("处罚类别", "CF_CFLB", lambda row, s: "；".join(row.fields.get("categories") or []) or None),
    ("处罚内容", "CF_NR", _field("content")),
    ("罚款金额（万元）", "CF_NR_FK", lambda row, s: _amount(row.fields.get("fine_wan"))),
    ("没收违法所得、没收非法财物的金额（万元）", "CF_NR_WFFF",
     lambda row, s: _amount(row.fields.get("confiscation_wan"))),
    ("暂扣或吊销证照名称及编号", "CF_NR_ZKDX", _field("licence_info")),
    ("处罚决定日期", "CF_JDRQ", lambda row, s: _date(row.decision_date, s)),
    ("处罚有效期", "CF_YXQ", lambda row, s: _date(s.penalty_valid_until, s) if s.penalty_valid_until else None),
    ("公示截止期", "CF_GSJZQ", lambda row, s: _add_months(date.fromisoformat(row.decision_date),
                                                       s.publicity_months).strftime(s.publicity_date_format)
     if row.decision_date else None),
    ("处罚机关", "CF_CFJG", lambda row, s: s.bureau),
    ("处罚机关统一社会信用代码", "CF_CFJGDM", lambda row, s: s.bureau_uscc or None),
    ("数据来源单位", "CF_SJLY", lambda row, s: s.bureau),
    ("数据来源单位统一社会信用代码", "CF_SJLYDM", lambda row, s: s.bureau_uscc or None),
    ("备注", "BZ", lambda row, s: None),
)
HEADERS = tuple(c[0] for c in COLUMNS)
CODES = tuple(c[1] for c in COLUMNS)
_WIDTHS = {"违法事实": 50, "处罚内容": 40, "处罚依据": 36, "违法行为类型": 30, "行政相对人名称": 30}


@dataclass(frozen=True)
class ExportResult:
    rows: int
    outputs: list[str] = field(default_factory=list)  # relative to the outbox
    warnings: list[str] = field(default_factory=list)


def publicity_rows(settings: Any, rows: list[PenaltyRow]) -> list[list[Any]]:
    """The export's rows: values neutralised for spreadsheets (numbers stay numbers)."""
    return [[neutralise(getter(row, settings)) for _h, _c, getter in COLUMNS] for row in rows]


def export_warnings(settings: Any) -> list[str]:
    return [] if settings.bureau_uscc else [BUREAU_USCC_WARNING]


def write_xlsx(values: list[list[Any]], out: Path, *, code_row: bool) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "行政处罚"
    ws.append(list(HEADERS))
    if code_row:
        ws.append(list(CODES))
    for row in values:
        ws.append(row)
    header_rows = 2 if code_row else 1
    for r in range(1, header_rows + 1):
        for cell in ws[r]:
            cell.font = Font(bold=r == 1)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
    money = {HEADERS.index("罚款金额（万元）") + 1, HEADERS.index("没收违法所得、没收非法财物的金额（万元）") + 1}
    for r in range(header_rows + 1, ws.max_row + 1):
        for c in range(1, len(HEADERS) + 1):
            cell = ws.cell(r, c)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if c in money:
                cell.number_format = "0.0000"
    for c, header in enumerate(HEADERS, start=1):
        ws.column_dimensions[get_column_letter(c)].width = _WIDTHS.get(header, max(12, len(header) * 2 + 2))
    ws.freeze_panes = ws.cell(header_rows + 1, 1)
    wb.save(out)
    return out


def write_csv(values: list[list[Any]], out: Path, *, code_row: bool) -> Path:
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        if code_row:
            writer.writerow(CODES)
        for row in values:
            writer.writerow(["" if v is None else (format(Decimal(str(v)).normalize(), "f") if isinstance(v, float)
                                                   else v) for v in row])
    return out


def latest_per_decision(rows: list[PenaltyRow]) -> list[PenaltyRow]:
    """One row per 文号: a decision dropped twice (docx, then PDF) counts once, the latest file wins."""
    best: dict[str, PenaltyRow] = {}
    for row in rows:
        key = row.decision_no or f"#{row.id}"
        if key not in best or row.file_id > best[key].file_id:
            best[key] = row
    return sorted(best.values(), key=lambda r: (r.decision_date or "", r.id))


def export_pending(ctx: Context, *, today: date | None = None, everything: bool = False) -> ExportResult:
    """Write the day's export (decisions joined to a case and not exported yet, plus those exported
    earlier the same day); ``everything`` exports every decision. Returns what was written."""
    sync_penalties(ctx)
    today = today or date.today()
    matched = penalties(ctx, matched=True)
    pending = [r for r in matched if r.exported_at is None]
    if not pending and not everything:
        return ExportResult(0)
    chosen = matched if everything else [
        r for r in matched if r.exported_at is None or r.exported_at[:10] == today.isoformat()]
    rows = latest_per_decision(chosen)
    settings = ctx.settings
    values = publicity_rows(settings, rows)
    job = settings.jobs_dir / f"publicity-{today.isoformat()}"
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    stem = f"{FILE_PREFIX}-{today.isoformat()}"
    warnings = export_warnings(settings)
    outputs: list[str] = []
    try:
        files = [write_xlsx(values, job / f"{stem}.xlsx", code_row=settings.publicity_code_row),
                 write_csv(values, job / f"{stem}.csv", code_row=settings.publicity_code_row)]
        if warnings:
            note = job / f"{stem}.提示.txt"
            note.write_text("\n".join(warnings) + "\n", encoding="utf-8")
            files.append(note)
        for path in files:
            publish(path, settings.outbox / PUBLICITY / path.name)
            outputs.append(f"{PUBLICITY}/{path.name}")
    finally:
        shutil.rmtree(job, ignore_errors=True)
    with ctx.store.begin() as tx:
        tx.mark_penalties_exported(row.id for row in pending)
        for row in pending:
            if row.case_id:
                tx.log("case", row.case_id, "publicity_exported", {"decision_no": row.decision_no,
                                                                 "file": outputs[0]})
    return ExportResult(len(rows), outputs, warnings)
