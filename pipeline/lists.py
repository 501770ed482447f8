"""The bureau's lists (一单两库 and the 抽查任务 draw result), imported from staff's Excel sheets.

The header row is found by its Chinese column names wherever it is (title rows above, extra columns,
any order). Each import is stored as a new version; lookups use the newest version.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from pipeline.errors import InputFileError
from pipeline.extract.normalize import company_key, label_key
from pipeline.store import Store


@dataclass(frozen=True)
class ListKind:
    kind: str
    title: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


LIST_KINDS: tuple[ListKind, ...] = (
    ListKind("tasks", "抽查任务", ("任务名称", "抽查类型", "企业名称", "计划开始日期", "计划结束日期"),
             ("抽查事项", "统一社会信用代码")),
    ListKind("units", "检查对象名录库", ("企业名称", "统一社会信用代码"),
             ("法定代表人", "住所", "所属行业", "投诉举报次数", "是否列入经营异常名录", "是否有严重违法记录")),
    ListKind("inspectors", "执法检查人员名录库", ("姓名", "执法证号"),
             ("职务", "科室", "执法证有效期至", "联系电话", "回避单位")),
    ListKind("items", "随机抽查事项清单", ("抽查事项", "抽查对象"),
             ("抽查内容", "抽查依据", "抽查方式", "抽查比例", "抽查频次", "责任科室")),
)

HEADER_SEARCH_ROWS = 30


@dataclass(frozen=True)
class ImportedList:
    kind: ListKind
    rows: list[tuple[int, dict[str, Any]]]


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip() or None
    return value


def read_list(path: Path, display_name: str | None = None) -> ImportedList:
    """Read one list sheet; refuse it with a message naming the missing columns."""
    name = display_name or path.name
    try:
        # A file object, because the originals store keeps files without their extension.
        wb = load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=True)
    except Exception as exc:
        raise InputFileError(f"名录库文件“{name}”无法打开：请确认它是 .xlsx 格式的 Excel 文件。",
                             code="FILE_UNREADABLE") from exc
    try:
        best: tuple[int, ListKind, int, dict[str, int], Any] | None = None
        for ws in wb.worksheets:
            for r_idx, row in enumerate(ws.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True), start=1):
                cols = {label_key(str(v)): i for i, v in enumerate(row) if v is not None and str(v).strip()}
                for kind in LIST_KINDS:
                    hits = sum(1 for c in kind.required if label_key(c) in cols)
                    hint = 1 if kind.title in name else 0
                    score = hits * 2 + hint
                    if hits and (best is None or score > best[0]):
                        best = (score, kind, r_idx, cols, ws)
        if best is None:
            raise InputFileError(
                f"“{name}”中找不到名录的表头（如“企业名称”“统一社会信用代码”“姓名”“执法证号”）。"
                "请保留从省平台导出的表头行后重新放入。", code="LIST_HEADER_MISSING")
        _, kind, header_row, cols, ws = best
        missing = [c for c in kind.required if label_key(c) not in cols]
        if missing:
            raise InputFileError(
                f"{kind.title}“{name}”缺少必需的列：{'、'.join(missing)}。请补上这些列后重新放入。",
                field="、".join(missing), code="LIST_COLUMN_MISSING")
        wanted = {c: cols[label_key(c)] for c in kind.required + kind.optional if label_key(c) in cols}
        rows: list[tuple[int, dict[str, Any]]] = []
        for r_idx, row in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
            data = {c: _cell(row[i]) if i < len(row) else None for c, i in wanted.items()}
            if any(v is not None for v in data.values()):
                rows.append((r_idx, data))
        return ImportedList(kind, rows)
    finally:
        wb.close()


@dataclass(frozen=True)
class Publication:
    """What the 公示表 needs beyond the check table, and where each value came from."""

    uscc: str | None
    task_name: str | None
    check_type: str | None


def lookup_publication(store: Store, unit_name: str, check_date: str | None, *, default_task: str = "",
                       default_type: str = "") -> Publication:
    key = company_key(unit_name)
    uscc = next((r.get("统一社会信用代码") for r in store.list_rows("units")
                 if company_key(str(r.get("企业名称") or "")) == key), None)
    task_name, check_type = default_task or None, default_type or None
    for task in store.list_rows("tasks"):
        if company_key(str(task.get("企业名称") or "")) != key:
            continue
        start, end = str(task.get("计划开始日期") or ""), str(task.get("计划结束日期") or "")
        if check_date is None or (start[:10] <= check_date <= end[:10]):
            task_name, check_type = task.get("任务名称"), task.get("抽查类型")
            uscc = uscc or task.get("统一社会信用代码")
            break
    return Publication(uscc=uscc, task_name=task_name, check_type=check_type)
