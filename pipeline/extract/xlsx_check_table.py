"""Read the 随机抽查事项检查表 out of an Excel workbook (.xlsx/.xlsm through openpyxl, .xls through xlrd).

Staff who fill the check table in Excel (or WPS 表格) lay it out as on paper: labels in one column,
merged value cells to their right, the inspector sub-table 姓名|职务|执法证号|联系电话 under a
vertically merged 抽查执法人员 label, title rows on top and notes at the bottom. Each sheet is turned
into one ``Grid`` for the format-independent engine (``pipeline.documents.grid``): a merged range is one
cell (keyed by the range, text of its top-left cell, repeated on every row it covers), locations
read like ``检查表!B3``. Sheets are read in order, hidden ones too; the first sheet holding the form
wins.

Cell values are turned into the text a person sees: dates and times as ``2026年3月5日`` /
``2026年3月5日9时30分`` / ``9时30分`` (so that the engine's date parsers read them, also date
serials in cells with the Chinese built-in date formats), whole numbers without ``.0`` and never in
scientific notation (phone and licence numbers typed as numbers). Formulas are read as the values
cached in the file; a formula without a cached value (a workbook written by a program that cannot
calculate) gives a warning naming the field instead of a silently empty value.

Files come from a content-addressed store without extension, so workbooks are always opened from
their bytes, never from a path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import xlrd
from openpyxl.styles.numbers import is_datetime
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import WINDOWS_EPOCH, from_excel

from pipeline.core.errors import InputFileError
from pipeline.core.models import FIELD_LABELS, Extraction
from pipeline.core.sniff import detect_kind
from pipeline.documents.grid import WARNED, FormGrids, Grid, GridCell, GridExtractor, find_case_ref

from .base import error_for_kind

__all__ = ["XlsxCheckTableExtractor", "XlsxExtractor", "cell_text", "read_grids"]

# The check table is small: cells beyond these bounds (formatting run down a whole column) are ignored.
MAX_ROWS = 2000
MAX_COLS = 64

# Built-in number formats of Chinese Excel that are dates or times (ECMA-376 Part 1, 18.8.30, zh-CN).
# openpyxl does not know them and hands their cells over as plain numbers.
_CJK_DATE_FORMATS = frozenset({27, 28, 29, 30, 31, 36, 50, 51, 52, 53, 54, 57, 58})
_CJK_TIME_FORMATS = frozenset({32, 33, 34, 35, 55, 56})
_ZERO_PADDED = re.compile(r"0{2,}")
_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})

_CORRUPT = (
    "文件已损坏，无法作为 Excel 工作簿打开。请在 Excel/WPS 中打开确认无误后重新另存为 .xlsx，再放入收件箱。"
)
_ENCRYPTED = "文件已加密（设置了打开密码）。请在 Excel/WPS 中取消密码后重新放入。"


# --- values as text --------------------------------------------------------------------------
def _cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _cn_time(moment: dt.time) -> str:
    return f"{moment.hour}时{moment.minute:02d}分"


def _number_text(value: float, number_format: str | None = None) -> str:
    """A number as typed: ``13805351234`` (not ``1.3805351234E10`` or ``13805351234.0``), ``0.5``.

    A format of zeros only (``00000000000``) pads with leading zeros as Excel shows it.
    """
    if isinstance(value, float) and not value.is_integer():
        text = format(Decimal(repr(value)), "f")
    else:
        text = str(int(value))
    if number_format and _ZERO_PADDED.fullmatch(number_format) and value >= 0:
        text = text.zfill(len(number_format))
    return text


def cell_text(value: Any, number_format: str | None = None, *, epoch: dt.datetime | None = None) -> str:
    """The text a person sees in a cell holding ``value`` (as read by openpyxl or xlrd).

    Dates and times are written the Chinese way (``2026年3月5日9时30分``); whether a ``datetime`` is
    shown with its time follows ``number_format`` (a date-only format drops it). A number in a cell
    with a date format is a date serial counted from ``epoch`` (default: Excel's 1900 epoch).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    kind = is_datetime(number_format) if number_format else None
    if isinstance(value, int | float) and kind is not None:
        try:
            value = from_excel(value, epoch or WINDOWS_EPOCH)
        except (OverflowError, ValueError):
            return _number_text(value)
    if isinstance(value, dt.datetime):
        if kind == "date" or (kind is None and value.time() == dt.time(0, 0)):
            return _cn_date(value.date())
        if kind == "time":
            return _cn_time(value.time())
        return _cn_date(value.date()) + _cn_time(value.time())
    if isinstance(value, dt.date):
        return _cn_date(value)
    if isinstance(value, dt.time):
        return _cn_time(value)
    if isinstance(value, dt.timedelta):
        minutes = int(value.total_seconds() // 60)
        return f"{minutes // 60}时{minutes % 60:02d}分"
    if isinstance(value, int | float):
        return _number_text(value, number_format)
    return str(value)


# --- sheets ----------------------------------------------------------------------------------
@dataclass
class _Sheet:
    """One sheet: its name, its cells as text, its merged ranges and the formula problems found."""

    title: str
    texts: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col), 1-based, non-empty
    merges: list[tuple[int, int, int, int]] = field(
        default_factory=list
    )  # min_row, min_col, max_row, max_col
    extra_text: list[str] = field(default_factory=list)  # headers and footers
    formula_problems: dict[str, str] = field(default_factory=dict)  # location → the problem, in Chinese

    def location(self, row: int, col: int) -> str:
        return f"{self.title}!{get_column_letter(col)}{row}"

    def grid(self) -> Grid:
        """The sheet as the engine's grid: every row up to the last filled one, every column up to the
        last filled one; a merged range is one cell, repeated with the same key on the rows it covers."""
        n_rows = max((r for r, _ in self.texts), default=0)
        n_cols = max((c for _, c in self.texts), default=0)
        owner: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        for merge in self.merges:
            r0, c0, r1, c1 = merge
            for r in range(r0, min(r1, n_rows) + 1):
                for c in range(c0, min(c1, n_cols) + 1):
                    owner[r, c] = merge
        grid: Grid = []
        for r in range(1, n_rows + 1):
            row: list[GridCell] = []
            c = 1
            while c <= n_cols:
                r0, c0, _, c1 = owner.get((r, c), (r, c, r, c))
                text = self.texts.get((r0, c0), "")
                row.append(
                    GridCell(
                        (self.title, r0, c0),
                        c0 - 1,
                        c1 - c0 + 1,
                        text,
                        self.location(r0, c0),
                        f"{self.title} 第{r}行",
                    )
                )
                c = c1 + 1
            grid.append(row)
        return grid

    def all_text(self) -> str:
        """Every cell's text row by row (one line per cell), then headers and footers."""
        cells = [self.texts[key].replace("\n", " ") for key in sorted(self.texts)]
        return "\n".join([*cells, *self.extra_text])


def _load_openpyxl(data: bytes, **options: Any) -> Any:
    with warnings.catch_warnings():
        # openpyxl warns about workbook features it does not keep (data validation, conditional
        # formats …); they do not matter for reading the values.
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(io.BytesIO(data), **options)


def _number_format_id(cell: Any) -> int | None:
    style = getattr(cell, "_style", None)  # openpyxl keeps the built-in format id only there
    return getattr(style, "numFmtId", None)


def _openpyxl_text(cell: Any, epoch: dt.datetime) -> str:
    value = cell.value
    number_format = cell.number_format
    if isinstance(value, int | float) and not isinstance(value, bool) and not cell.is_date:
        fmt_id = _number_format_id(cell)
        if fmt_id in _CJK_DATE_FORMATS:
            number_format = "yyyy-mm-dd"
        elif fmt_id in _CJK_TIME_FORMATS:
            number_format = "h:mm"
    return cell_text(value, number_format, epoch=epoch)


def _header_footer_text(ws: Any) -> list[str]:
    texts: list[str] = []
    for header in (ws.oddHeader, ws.oddFooter, ws.firstHeader, ws.evenHeader):
        for part in (header.left, header.center, header.right):
            if part.text:
                texts.append(part.text)
    return texts


def _xlsx_sheets(data: bytes) -> Iterator[_Sheet]:
    try:
        wb = _load_openpyxl(data, data_only=True)
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception as exc:  # zip, XML and package errors of a damaged workbook
        raise InputFileError(_CORRUPT, field="file", code="FILE_UNREADABLE") from exc
    epoch = wb.epoch
    for ws in wb.worksheets:
        sheet = _Sheet(ws.title)
        rows = ws.iter_rows(max_row=min(ws.max_row, MAX_ROWS), max_col=min(ws.max_column, MAX_COLS))
        for row in rows:
            for cell in row:
                if cell.data_type == "e" and str(cell.value) in _ERRORS:
                    where = sheet.location(cell.row, cell.column)
                    sheet.formula_problems[where] = f"公式计算出错（{cell.value}）"
                    continue
                text = _openpyxl_text(cell, epoch)
                if text.strip():
                    sheet.texts[cell.row, cell.column] = text
        sheet.merges = [(m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges]
        sheet.extra_text = _header_footer_text(ws)
        yield sheet


def _uncached_formulas(data: bytes, sheet: _Sheet) -> None:
    """Record the formula cells of ``sheet`` that have no cached value (they read as empty)."""
    wb = _load_openpyxl(data, read_only=True)
    try:
        ws = wb[sheet.title]
        for row in ws.iter_rows(max_row=MAX_ROWS, max_col=MAX_COLS):
            for cell in row:
                if getattr(cell, "data_type", None) != "f":
                    continue
                where = sheet.location(cell.row, cell.column)
                if (cell.row, cell.column) not in sheet.texts and where not in sheet.formula_problems:
                    formula = str(getattr(cell.value, "text", cell.value))
                    sheet.formula_problems[where] = f"是公式（{formula}），但文件中没有保存计算结果"
    finally:
        wb.close()


def _xls_sheets(data: bytes) -> Iterator[_Sheet]:
    log = io.StringIO()  # xlrd writes its complaints to a log file, by default stdout
    try:
        try:
            book = xlrd.open_workbook(file_contents=data, formatting_info=True, logfile=log)
        except NotImplementedError:  # formatting_info is not implemented for some files
            book = xlrd.open_workbook(file_contents=data, logfile=log)
    except xlrd.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise InputFileError(_ENCRYPTED, field="file", code="FILE_ENCRYPTED") from exc
        raise InputFileError(_CORRUPT, field="file", code="FILE_UNREADABLE") from exc
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception as exc:  # damaged compound files fail in many ways inside xlrd
        raise InputFileError(_CORRUPT, field="file", code="FILE_UNREADABLE") from exc

    def number_format(xf_index: int) -> str | None:
        try:
            return str(book.format_map[book.xf_list[xf_index].format_key].format_str)
        except (IndexError, KeyError, AttributeError):
            return None

    for sh in book.sheets():
        sheet = _Sheet(sh.name)
        for r in range(min(sh.nrows, MAX_ROWS)):
            for c in range(min(sh.ncols, MAX_COLS)):
                cell = sh.cell(r, c)
                text = _xls_text(book, cell, number_format)
                if cell.ctype == xlrd.XL_CELL_ERROR:
                    code = xlrd.error_text_from_code.get(cell.value, "#ERR")
                    sheet.formula_problems[sheet.location(r + 1, c + 1)] = f"公式计算出错（{code}）"
                elif text.strip():
                    sheet.texts[r + 1, c + 1] = text
        sheet.merges = [(rlo + 1, clo + 1, rhi, chi) for rlo, rhi, clo, chi in sh.merged_cells]
        yield sheet


def _xls_text(book: Any, cell: Any, number_format: Callable[[int], str | None]) -> str:
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    if cell.ctype == xlrd.XL_CELL_TEXT:
        return str(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return cell_text(bool(cell.value))
    fmt = number_format(cell.xf_index) if cell.xf_index is not None else None
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            moment = xlrd.xldate_as_datetime(cell.value, book.datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return _number_text(cell.value)
        if cell.value < 1:  # a time of day only
            return cell_text(moment.time())
        return cell_text(moment, fmt if fmt and is_datetime(fmt) else None)
    return cell_text(cell.value, fmt if fmt and not is_datetime(fmt) else None)


# --- the seam and the extractor ---------------------------------------------------------------
def _field_names(extraction: Extraction, location: str) -> list[str]:
    """The fields read from the cell at ``location`` that came out empty."""
    keys = [
        key
        for key, prov in extraction.provenance.items()
        if prov.location == location and extraction.fields.get(key) in (None, "", [])
    ]
    if {"check_start", "check_end"} <= set(keys):
        keys.remove("check_end")
    return keys


def _with_formula_warnings(extraction: Extraction, sheet: _Sheet) -> Extraction:
    if not sheet.formula_problems:
        return extraction
    messages = list(extraction.warnings)
    provenance = dict(extraction.provenance)
    fix = "请在 Excel/WPS 中打开文件、确认公式结果正确并保存后重新放入收件箱，或把公式改为直接填写的内容。"
    for location, problem in sheet.formula_problems.items():
        keys = _field_names(extraction, location)
        for key in keys:
            label = "抽查时间" if key == "check_start" else FIELD_LABELS[key]
            messages.append(f"{label}：单元格 {location} {problem}，无法读取。{fix}")
            for k in ("check_start", "check_end") if key == "check_start" else (key,):
                prov = provenance[k]
                provenance[k] = dataclasses.replace(prov, confidence=min(prov.confidence, WARNED))
        if not keys:
            messages.append(f"单元格 {location} {problem}，其内容未能读取。{fix}")
    return dataclasses.replace(extraction, warnings=tuple(dict.fromkeys(messages)), provenance=provenance)


def _sheet_grids(sheet: _Sheet, file: str, xlsx_data: bytes | None) -> FormGrids:
    """One sheet for the forms; a check table read from it gets the sheet's formula warnings."""

    def annotate(extraction: Extraction) -> Extraction:
        if xlsx_data is not None:
            _uncached_formulas(xlsx_data, sheet)
        return _with_formula_warnings(extraction, sheet)

    return FormGrids([sheet.grid()], find_case_ref(sheet.all_text()), file, annotate=annotate)


def read_grids(path: Path, *, display_name: str | None = None) -> FormGrids:
    """The workbook ``path`` (.xlsx/.xlsm or .xls, sniffed) as one part per sheet, in order."""
    try:
        kind = detect_kind(path)
        data = path.read_bytes()
    except OSError as exc:
        raise error_for_kind("unreadable") from exc
    if kind not in XlsxExtractor.kinds:
        raise error_for_kind(kind)
    file = display_name or path.name
    sheets = _xls_sheets(data) if kind == "xls" else _xlsx_sheets(data)
    parts = tuple(_sheet_grids(sheet, file, data if kind == "xlsx" else None) for sheet in sheets)
    return FormGrids([], None, file, parts=parts)


class XlsxExtractor(GridExtractor):
    """Extractor of a form (default: the 随机抽查事项检查表) from Excel workbooks (see the module docstring)."""

    fmt = "xlsx"
    kinds: frozenset[str] = frozenset({"xlsx", "xls"})
    read_grids = staticmethod(read_grids)


XlsxCheckTableExtractor = XlsxExtractor
