"""The bureau's lists (一单两库 and the 抽查任务 draw result), imported from staff's Excel sheets.

Reading: the header row is found by its Chinese column names wherever it is (title rows above, extra
columns, any order, on any sheet of the workbook); merged cells are filled, blank rows, repeated header
rows and footer notes (制表人、填报日期 …) are skipped. Cells are normalised: text trimmed, codes
(统一社会信用代码, 执法证号, 联系电话) folded to ASCII without spaces (a number cell becomes its digits),
dates (real date cells, date serials, ``2026年11月1日``) become ``YYYY-MM-DD``.

Versions: every import is kept as a new version with its file. A version is in force from its
``effective_from`` date, which a title row may state (``（2026年11月1日起施行）``, ``生效日期：2026-11-01``,
``更新日期 2026-11-01``); otherwise it is the import date. A check is validated against the version in
force on its check date (see ``SqlStore.list_version_on``). ``diff_versions`` says what changed between
two versions, by each list's row identity (``row_key``).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel

from pipeline.core.errors import BadArgsError, InputFileError
from pipeline.core.text import clean_text, company_key, label_key, parse_date
from pipeline.store import Store

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class ListKind:
    kind: str
    title: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


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
KINDS_BY_NAME = {k.kind: k for k in LIST_KINDS}

# Other names the provincial platform and hand-made sheets use for a column. The canonical name wins
# when a sheet has both.
ALIASES: dict[str, tuple[str, ...]] = {
    "任务名称": ("抽查任务名称",),
    "抽查类型": ("抽查检查类型",),
    "企业名称": ("单位名称", "检查对象名称", "市场主体名称"),
    "统一社会信用代码": ("社会信用代码", "统一代码"),
    "执法证号": ("执法证件号", "执法证件号码", "执法证编号", "执法证件编号"),
    "执法证有效期至": ("执法证有效期", "有效期至"),
}
CODE_COLUMNS = ("统一社会信用代码", "执法证号", "联系电话")
DATE_COLUMNS = ("计划开始日期", "计划结束日期", "执法证有效期至")

HEADER_SEARCH_ROWS = 30
MAX_EXAMPLES = 20
MAX_ROWS_NAMED = 10

_PARENTHETICAL = re.compile(r"[（(][^）)]*[）)]")
_FOOTER = re.compile(r"^(制表|填表|填报|审核|审批|负责人|联系人|合计|总计|小计|注[:：]|说明[:：]|备注[:：]|数据来源)")
_DATE_TEXT = (r"(\d{4}\s*[年./-]\s*\d{1,2}\s*[月./-]\s*\d{1,2}\s*[日号]?"
              r"|[〇零○一二三四五六七八九]{4}\s*年\s*[〇零○一二三四五六七八九十]{1,3}\s*月\s*[〇零○一二三四五六七八九十]{1,3}\s*[日号]?)")
# (pattern, priority): a stated date of coming into force beats an update date.
_EFFECTIVE_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(_DATE_TEXT + r"\s*(?:起|开始)?\s*(?:施行|生效|执行|实施|启用)"), 0),
    (re.compile(r"(?:生效|施行|执行|实施|启用)\s*(?:日期|时间)\s*[:：]?\s*" + _DATE_TEXT), 0),
    (re.compile(r"(?:更新|修订)\s*(?:日期|时间)\s*[:：]?\s*" + _DATE_TEXT), 1),
)
_EXCEL_SERIAL = (20000, 80000)  # 1954 … 2119: a number in a date column in this range is a date serial


# --- reading a sheet ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportedList:
    kind: ListKind
    rows: list[tuple[int, dict[str, Any]]]
    effective_from: dt.date | None = None
    warnings: tuple[str, ...] = ()
    sheet: str = ""
    header_row: int = 0


def _header_key(value: Any) -> str:
    """A header cell as a matching key: ``"计划开始日期（年-月-日）*"`` → ``"计划开始日期"``."""
    return label_key(_PARENTHETICAL.sub("", str(value))) if value is not None else ""


_COLUMN_KEYS: dict[str, tuple[str, ...]] = {
    c: (label_key(c), *(label_key(a) for a in ALIASES.get(c, ()))) for k in LIST_KINDS for c in k.columns
}


def _header_columns(row: Sequence[Any], kind: ListKind) -> dict[str, int]:
    """Column name → index for one candidate header row (the canonical name before an alias)."""
    keys: dict[str, int] = {}
    for i, v in enumerate(row):
        key = _header_key(v)
        if key and key not in keys:
            keys[key] = i
    found: dict[str, int] = {}
    for column in kind.columns:
        index = next((keys[k] for k in _COLUMN_KEYS[column] if k in keys), None)
        if index is not None and index not in found.values():
            found[column] = index
    return found


def _grid(ws: Any) -> list[list[Any]]:
    """The sheet's values with every merged range filled with its top-left value."""
    grid = [list(row) for row in ws.iter_rows(values_only=True)]
    for merged in ws.merged_cells.ranges:
        top, left = merged.min_row - 1, merged.min_col - 1
        if top >= len(grid):
            continue
        value = grid[top][left] if left < len(grid[top]) else None
        for r in range(top, min(merged.max_row, len(grid))):
            row = grid[r]
            if len(row) < merged.max_col:
                row.extend([None] * (merged.max_col - len(row)))
            for c in range(left, merged.max_col):
                row[c] = value
    return grid


def _row_text(row: Iterable[Any]) -> str:
    parts: list[str] = []
    for v in row:
        if v is None:
            continue
        text = v.date().isoformat() if isinstance(v, dt.datetime) else str(v).strip()
        if text and (not parts or parts[-1] != text):  # a merged title repeats its text
            parts.append(text)
    return " ".join(parts)


def stated_effective_date(texts: Iterable[str]) -> tuple[dt.date | None, list[str]]:
    """The date a title or note row says the list is in force from, and warnings about it."""
    found: list[tuple[int, int, dt.date, str]] = []
    for n, raw in enumerate(texts):
        text = unicodedata.normalize("NFKC", raw)
        for pattern, priority in _EFFECTIVE_PATTERNS:
            for m in pattern.finditer(text):
                day = parse_date(m.group(1))
                if day is not None:
                    found.append((priority, n, day, m.group(0)))
    if not found:
        return None, []
    found.sort(key=lambda f: (f[0], f[1]))
    best = found[0]
    others = sorted({f[2] for f in found if f[0] == best[0]} - {best[2]})
    warnings = []
    if others:
        warnings.append(f"表头上方写有不同的生效日期（{best[2].isoformat()}、{'、'.join(d.isoformat() for d in others)}），"
                        f"已按“{best[3]}”取 {best[2].isoformat()}。如不对，请只保留一个生效日期后重新导入。")
    return best[2], warnings


def _plain_number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _code(value: Any, column: str, where: str, warnings: list[str]) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if abs(value) >= 1e15:
            warnings.append(f"{where}的“{column}”是数字格式（{value:.0f}），超过 15 位的数字会被 Excel 改写末几位。"
                            "请把该列设为“文本”格式、重新填写后再导入。")
        value = _plain_number(value)
    text = unicodedata.normalize("NFKC", str(value))
    text = "".join(ch for ch in text if not ch.isspace()).lstrip("'`")
    if column == "统一社会信用代码":
        text = text.upper()
    return text or None


def _date(value: Any, column: str, where: str, warnings: list[str]) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = _plain_number(float(value))
        if isinstance(number, int) and 19000101 <= number <= 21001231:
            value = str(number)  # 20261101
        elif _EXCEL_SERIAL[0] <= number <= _EXCEL_SERIAL[1]:
            converted = from_excel(number)
            return (converted.date() if isinstance(converted, dt.datetime) else converted).isoformat()
    text = clean_text(str(value))
    if not text:
        return None
    compact = unicodedata.normalize("NFKC", text)
    if re.fullmatch(r"\d{8}", compact):
        try:
            return dt.date(int(compact[:4]), int(compact[4:6]), int(compact[6:])).isoformat()
        except ValueError:
            pass
    day = parse_date(text)
    if day is not None:
        return day.isoformat()
    if not re.fullmatch(r"长期(有效)?|无固定期限|/|-|—|无", text):
        warnings.append(f"{where}的“{column}”（{text}）不是可识别的日期，已按原文保存。"
                        "请改为“2026-11-01”或“2026年11月1日”的写法后重新导入。")
    return text


def normalise_cell(column: str, value: Any, where: str = "", warnings: list[str] | None = None) -> Any:
    """One cell as stored: codes without spaces, dates ISO, text trimmed, whole numbers without ``.0``."""
    notes = warnings if warnings is not None else []
    if value is None:
        return None
    if isinstance(value, str) and not clean_text(value):
        return None
    if column in CODE_COLUMNS:
        return _code(value, column, where, notes)
    if column in DATE_COLUMNS:
        return _date(value, column, where, notes)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return _plain_number(value)
    if isinstance(value, str):
        return clean_text(value)
    return value


def _choose_header(wb: Any, name: str) -> tuple[ListKind, Any, list[list[Any]], int, dict[str, int]] | None:
    best: tuple[tuple[int, float], ListKind, Any, list[list[Any]], int, dict[str, int]] | None = None
    for ws in wb.worksheets:
        grid = _grid(ws)
        for r_idx, row in enumerate(grid[:HEADER_SEARCH_ROWS], start=1):
            for kind in LIST_KINDS:
                cols = _header_columns(row, kind)
                hits = sum(1 for c in kind.required if c in cols)
                if not hits:
                    continue
                hint = 1 if kind.title in name or kind.title in str(ws.title) else 0
                score = (hits * 2 + hint, hits / len(kind.required))
                if best is None or score > best[0]:
                    best = (score, kind, ws, grid, r_idx, cols)
    return None if best is None else best[1:]


def read_list(path: Path, display_name: str | None = None) -> ImportedList:
    """Read one list sheet; refuse it with a message naming the missing columns."""
    name = display_name or path.name
    try:
        # A file object, because the originals store keeps files without their extension.
        wb = load_workbook(io.BytesIO(path.read_bytes()), data_only=True)
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception as exc:
        raise InputFileError(f"名录库文件“{name}”无法打开：请确认它是 .xlsx 格式的 Excel 文件"
                             "（.xls 或 WPS 表格请在 Excel/WPS 中“另存为 .xlsx”）后重新放入。",
                             code="FILE_UNREADABLE") from exc
    try:
        chosen = _choose_header(wb, name)
    finally:
        wb.close()
    if chosen is None:
        raise InputFileError(
            f"“{name}”中找不到名录的表头（如“企业名称”“统一社会信用代码”“姓名”“执法证号”）。"
            "请保留从省平台导出的表头行后重新放入。", code="LIST_HEADER_MISSING")
    kind, ws, grid, header_row, cols = chosen
    missing = [c for c in kind.required if c not in cols]
    if missing:
        raise InputFileError(
            f"{kind.title}“{name}”（工作表“{ws.title}”第 {header_row} 行表头）缺少必需的列：{'、'.join(missing)}。"
            "请补上这些列（列名照写）后重新放入。",
            field="、".join(missing), code="LIST_COLUMN_MISSING")
    warnings: list[str] = []
    notes = [_row_text(row) for row in grid[:header_row - 1]]
    header = {c: _header_key(grid[header_row - 1][i]) for c, i in cols.items()}
    rows: list[tuple[int, dict[str, Any]]] = []
    empty_required: dict[str, list[int]] = {}
    for r_idx, row in enumerate(grid[header_row:], start=header_row + 1):
        text = _row_text(row)
        if not text:
            continue
        distinct = {str(v).strip() for v in row if v is not None and str(v).strip()}
        if len(distinct) <= 2 and _FOOTER.match(text):
            notes.append(text)  # 制表人、填报日期、注 …: not a record, but may state the effective date
            continue
        raw = {c: row[i] if i < len(row) else None for c, i in cols.items()}
        if all(v is None or not str(v).strip() for v in raw.values()):
            continue
        if all(_header_key(raw[c]) == header[c] for c in cols if raw[c] is not None):
            continue  # the header repeated (a paginated export)
        where = f"第 {r_idx} 行"
        data = {c: normalise_cell(c, v, where, warnings) for c, v in raw.items()}
        if row_key(kind.kind, data) is None:
            warnings.append(f"{where}没有填写{_key_label(kind.kind)}，无法识别，已跳过。如是有效记录，请补填后重新导入。")
            continue
        for c in kind.required:
            if data.get(c) is None:
                empty_required.setdefault(c, []).append(r_idx)
        rows.append((r_idx, data))
    for column, numbers in empty_required.items():
        warnings.append(f"{_rows_text(numbers)}的“{column}”为空。请补填后重新导入。")
    warnings += duplicate_warnings(kind.kind, rows)
    effective, date_warnings = stated_effective_date(notes)
    return ImportedList(kind, rows, effective, tuple(warnings + date_warnings), str(ws.title), header_row)


def _rows_text(numbers: Sequence[int]) -> str:
    shown = "、".join(str(n) for n in numbers[:MAX_ROWS_NAMED])
    more = f" 等 {len(numbers)} 行" if len(numbers) > MAX_ROWS_NAMED else " 行"
    return f"第 {shown}{more}"


# --- row identity and diffs -------------------------------------------------------------------------

RowKey = tuple[str, ...]


def _text_key(value: Any) -> str:
    return company_key(str(value)) if value is not None else ""


def row_key(kind: str, row: dict[str, Any]) -> RowKey | None:
    """A row's identity within its list, or None when the row has nothing to identify it by.

    units: 统一社会信用代码, else the company name; inspectors: 执法证号; tasks: (任务名称, company);
    items: 抽查事项.
    """
    if kind == "units":
        code = _text_key(row.get("统一社会信用代码")).upper()
        name = _text_key(row.get("企业名称"))
        return (code,) if code else ((name,) if name else None)
    if kind == "inspectors":
        licence = _text_key(row.get("执法证号"))
        return (licence,) if licence else None
    if kind == "tasks":
        task, unit = _text_key(row.get("任务名称")), _text_key(row.get("企业名称"))
        return (task, unit) if task and unit else None
    if kind == "items":
        item = _text_key(row.get("抽查事项"))
        return (item,) if item else None
    raise ValueError(f"unknown list kind {kind!r}")


def _key_label(kind: str) -> str:
    return {"units": "“企业名称”和“统一社会信用代码”", "inspectors": "“执法证号”",
            "tasks": "“任务名称”或“企业名称”", "items": "“抽查事项”"}[kind]


def row_label(kind: str, row: dict[str, Any]) -> str:
    """How a row is named to staff: ``烟台某某有限公司（9137…）``, ``张三（执法证号 …）``."""
    def v(column: str) -> str:
        value = row.get(column)
        return "" if value is None else str(value)

    if kind == "units":
        return f"{v('企业名称')}（{v('统一社会信用代码')}）" if v("统一社会信用代码") else v("企业名称")
    if kind == "inspectors":
        return f"{v('姓名')}（执法证号 {v('执法证号')}）"
    if kind == "tasks":
        return f"{v('任务名称')}：{v('企业名称')}"
    return v("抽查事项")


def duplicate_warnings(kind: str, rows: Sequence[tuple[int, dict[str, Any]]]) -> list[str]:
    """One warning per key that more than one row carries (the first row is the one used)."""
    seen: dict[RowKey, list[int]] = {}
    labels: dict[RowKey, str] = {}
    for r_idx, data in rows:
        key = row_key(kind, data)
        if key is not None:
            seen.setdefault(key, []).append(r_idx)
            labels.setdefault(key, row_label(kind, data))
    out = []
    for key, numbers in seen.items():
        if len(numbers) > 1:
            out.append(f"{_rows_text(numbers)}是同一条记录（{labels[key]}），比对和查询以第 {numbers[0]} 行为准。"
                       "如确为重复，请删去多余的行；如是不同记录，请核对后重新导入。")
    return out


class Changed(NamedTuple):
    key: RowKey
    changes: dict[str, tuple[Any, Any]]


@dataclass(frozen=True)
class ListDiff:
    """What changed from one version of a list to the next, by row identity (``row_key``)."""

    kind: str
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    labels: dict[RowKey, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.columns_added or self.columns_removed)


def _columns(kind: str, rows: Sequence[dict[str, Any]]) -> list[str]:
    present = {c for r in rows for c in r}
    order = KINDS_BY_NAME[kind].columns if kind in KINDS_BY_NAME else ()
    return [c for c in order if c in present] + sorted(present - set(order))


def _same(a: Any, b: Any) -> bool:
    def norm(v: Any) -> str | None:
        if isinstance(v, float):
            v = _plain_number(v)
        text = "" if v is None else str(v).strip()
        return text or None

    return norm(a) == norm(b)


def _keyed(kind: str, rows: Sequence[dict[str, Any]]) -> dict[RowKey, dict[str, Any]]:
    out: dict[RowKey, dict[str, Any]] = {}
    for row in rows:
        key = row_key(kind, row)
        if key is not None:
            out.setdefault(key, row)  # a duplicate key: the first row counts, as in lookups
    return out


def diff_versions(old_rows: Sequence[dict[str, Any]], new_rows: Sequence[dict[str, Any]], kind: str) -> ListDiff:
    """Rows added, removed and changed (column → (old, new)) from ``old_rows`` to ``new_rows``.

    Only columns both versions have are compared; a column that appears or disappears is reported
    once in ``columns_added`` / ``columns_removed``. A unit that gained or lost its 统一社会信用代码
    is matched by its name and shows as changed.
    """
    old_cols, new_cols = _columns(kind, old_rows), _columns(kind, new_rows)
    shared = [c for c in new_cols if c in old_cols]
    old, new = _keyed(kind, old_rows), _keyed(kind, new_rows)
    pairs = [(k, old[k], new[k]) for k in new if k in old]
    gone = {k: r for k, r in old.items() if k not in new}
    came = {k: r for k, r in new.items() if k not in old}
    if kind == "units":
        by_name = {_text_key(r.get("企业名称")): k for k, r in gone.items() if r.get("企业名称")}
        for k, r in list(came.items()):
            match = by_name.pop(_text_key(r.get("企业名称")), None) if r.get("企业名称") else None
            if match is not None and match in gone:
                pairs.append((k, gone.pop(match), came.pop(k)))
    changed: list[Changed] = []
    labels: dict[RowKey, str] = {}
    for key, before, after in pairs:
        changes = {c: (before.get(c), after.get(c)) for c in shared if not _same(before.get(c), after.get(c))}
        if changes:
            changed.append(Changed(key, changes))
            labels[key] = row_label(kind, after)
    return ListDiff(kind, added=list(came.values()), removed=list(gone.values()), changed=changed,
                    columns_added=[c for c in new_cols if c not in old_cols],
                    columns_removed=[c for c in old_cols if c not in new_cols], labels=labels)


# --- lookups against the version in force ------------------------------------------------------------

def _day(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return parse_date(value)


def inspector_roster(store: Store, on: dt.date | None) -> list[dict[str, Any]]:
    """The 执法检查人员名录库 in force on ``on`` (``None``: the newest import)."""
    return store.list_rows("inspectors", on)


def unit_directory(store: Store, on: dt.date | None) -> list[dict[str, Any]]:
    """The 检查对象名录库 in force on ``on`` (``None``: the newest import)."""
    return store.list_rows("units", on)


def tasks_on(store: Store, on: dt.date | None) -> list[dict[str, Any]]:
    """Every row of the 抽查任务 version in force on ``on``; the caller matches plan dates itself."""
    return store.list_rows("tasks", on)


def items_on(store: Store, on: dt.date | None) -> list[dict[str, Any]]:
    """The 随机抽查事项清单 in force on ``on`` (``None``: the newest import)."""
    return store.list_rows("items", on)


@dataclass(frozen=True)
class Publication:
    """What the 公示表 needs beyond the check table, and where each value came from."""

    uscc: str | None
    task_name: str | None
    check_type: str | None


def lookup_publication(store: Store, unit_name: str, check_date: str | dt.date | None, *,
                       default_task: str = "", default_type: str = "") -> Publication:
    """统一社会信用代码, 抽查任务名称 and 抽查检查类型 from the lists in force on the check date."""
    on = _day(check_date)
    day = on.isoformat() if on else None
    key = company_key(unit_name)
    uscc = next((r.get("统一社会信用代码") for r in unit_directory(store, on)
                 if company_key(str(r.get("企业名称") or "")) == key), None)
    task_name, check_type = default_task or None, default_type or None
    for task in tasks_on(store, on):
        if company_key(str(task.get("企业名称") or "")) != key:
            continue
        start, end = str(task.get("计划开始日期") or ""), str(task.get("计划结束日期") or "")
        if day is None or (start[:10] <= day <= end[:10]):
            task_name, check_type = task.get("任务名称"), task.get("抽查类型")
            uscc = uscc or task.get("统一社会信用代码")
            break
    return Publication(uscc=uscc, task_name=task_name, check_type=check_type)


# --- shuangsui lists --------------------------------------------------------------------------------

def resolve_kind(name: str | None) -> ListKind | None:
    """``units`` / ``检查对象名录库`` / ``检查对象`` → the list; None → all lists."""
    if not name:
        return None
    if name in KINDS_BY_NAME:
        return KINDS_BY_NAME[name]
    matches = [k for k in LIST_KINDS if name in k.title]
    if len(matches) == 1:
        return matches[0]
    names = "、".join(f"{k.title}（{k.kind}）" for k in LIST_KINDS)
    raise BadArgsError(f"不认识的名录“{name}”。可选：{names}。")


def _value(v: Any) -> str:
    return "（空）" if v is None or v == "" else str(v)


def diff_lines(diff: ListDiff, limit: int = MAX_EXAMPLES) -> list[str]:
    lines = []
    if diff.columns_added:
        lines.append(f"新增列：{'、'.join(diff.columns_added)}")
    if diff.columns_removed:
        lines.append(f"删除列：{'、'.join(diff.columns_removed)}")
    examples = ([f"新增  {row_label(diff.kind, r)}" for r in diff.added]
                + [f"删除  {row_label(diff.kind, r)}" for r in diff.removed]
                + [f"变更  {diff.labels.get(c.key, '／'.join(c.key))}："
                   + "；".join(f"{col} {_value(a)} → {_value(b)}" for col, (a, b) in c.changes.items())
                   for c in diff.changed])
    lines += examples[:limit]
    if len(examples) > limit:
        lines.append(f"……另有 {len(examples) - limit} 行变化未列出")
    return lines


