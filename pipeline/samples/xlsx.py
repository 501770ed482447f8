"""Filled 随机抽查事项检查表 as Excel workbooks, laid out the way staff make them in Excel or WPS 表格.

One sheet ``检查表``: a title row on top, column A the labels, the values in merged cells B:E, the
inspector sub-table 姓名|职务|执法证号|联系电话 in B:E under a vertically merged 抽查执法人员 label,
the notes at the bottom. ``variant`` selects what staff vary (see ``VARIANTS``). The output is
deterministic: the same fields give the same bytes.

Used by the tests of ``pipeline.extract.xlsx_check_table`` and by anyone who needs realistic workbooks.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.core.errors import MissingDependencyError
from pipeline.core.ziputil import normalize_zip
from pipeline.documents.render import cn_date, cn_period, methods_text

__all__ = [
    "FORM_SHEET",
    "VARIANTS",
    "build_workbook",
    "convert_with_libreoffice",
    "write_check_table_xlsx",
]

FORM_SHEET = "检查表"
# plain: text everywhere · date_cells: the five dates and the check start as date/datetime cells, the
# check end as a time cell · title_rows: two more title rows and an empty column A · numbers: 执法证号
# and 联系电话 typed as numbers · formula: 被抽查单位 as =Sheet2!A1 (values computed by LibreOffice) ·
# two_sheets: a cover sheet first, the form on the second sheet.
VARIANTS: tuple[str, ...] = ("plain", "date_cells", "title_rows", "numbers", "formula", "two_sheets")

FIXED_TIME = dt.datetime(2026, 1, 1)
DATE_FORMAT = 'yyyy"年"m"月"d"日"'
DATETIME_FORMAT = 'yyyy"年"m"月"d"日" h"时"mm"分"'
TIME_FORMAT = 'h"时"mm"分"'
_WIDTHS = (16, 18, 14, 22, 18)
_WRAP = Alignment(wrap_text=True, vertical="center")


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _moment(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


class _Form:
    """Writes the form into ``ws`` from column ``left`` downwards, one row at a time."""

    def __init__(self, ws: Worksheet, left: int, row: int) -> None:
        self.ws = ws
        self.left = left
        self.row = row

    def col(self, offset: int) -> int:
        return self.left + offset

    def put(
        self, offset: int, value: Any, *, to: int | None = None, number_format: str | None = None
    ) -> None:
        """Write ``value`` at column ``offset`` of the current row, merged up to column ``to``."""
        cell = self.ws.cell(self.row, self.col(offset), value)
        cell.alignment = _WRAP
        if number_format:
            cell.number_format = number_format
        if to is not None and to > offset:
            self.ws.merge_cells(
                start_row=self.row, start_column=self.col(offset), end_row=self.row, end_column=self.col(to)
            )

    def line(self, label: str, value: Any, **options: Any) -> None:
        """A label in the first column and its value merged over the four others."""
        self.put(0, label)
        self.put(1, value, to=4, **options)
        self.row += 1


def _title(ws: Worksheet, row: int, left: int, text: str, *, size: int = 14) -> None:
    cell = ws.cell(row, left, text)
    cell.font = Font(bold=True, size=size)
    cell.alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=row, start_column=left, end_row=row, end_column=left + 4)


def _inspectors(form: _Form, people: list[Mapping[str, Any]], *, numbers: bool) -> None:
    first = form.row
    form.put(0, "抽查执法人员")
    for offset, heading in enumerate(("姓名", "职务", "执法证号", "联系电话"), start=1):
        form.put(offset, heading)
    form.row += 1
    rows: list[tuple[Any, ...]] = [
        (f"{i}.{p.get('name') or ''}", p.get("title"), p.get("licence_no"), p.get("phone"))
        for i, p in enumerate(people, start=1)
    ]
    rows += [(f"{len(people) + 1}.", None, None, None), (".....", None, None, None)]
    for name, title, licence, phone in rows:
        form.put(1, name)
        form.put(2, title)
        if numbers:
            # typed as numbers, as staff do: the licence as a float, the phone as a whole number
            if licence and str(licence).isdigit():
                form.put(3, float(licence), number_format="0")
            else:
                form.put(3, licence)
            if phone and str(phone).isdigit() and not str(phone).startswith("0"):
                form.put(4, int(phone), number_format="0")
            else:
                form.put(4, phone)
        else:
            form.put(3, licence)
            form.put(4, phone)
        form.row += 1
    form.ws.merge_cells(
        start_row=first, start_column=form.col(0), end_row=form.row - 1, end_column=form.col(0)
    )


def _dated(form: _Form, label: str, text: str, day: dt.date | None, *, date_cells: bool) -> None:
    """A row whose value ends with a date: written as text, or as a date cell after the text."""
    if not date_cells:
        form.line(label, f"{text}{cn_date(day)}" if text else cn_date(day))
        return
    form.put(0, label)
    if text:
        form.put(1, text.replace("\n", ""), to=3)
        form.put(4, day, number_format=DATE_FORMAT)
    else:
        form.put(1, day, to=4, number_format=DATE_FORMAT)
    form.row += 1


def _check_time(form: _Form, fields: Mapping[str, Any], *, date_cells: bool) -> None:
    start, end = _moment(fields.get("check_start")), _moment(fields.get("check_end"))
    if not date_cells or start is None or end is None:
        form.line("抽查时间", cn_period(fields.get("check_start"), fields.get("check_end")))
        return
    form.put(0, "抽查时间")
    form.put(1, start, number_format=DATETIME_FORMAT)
    form.put(2, "至")
    if end.date() == start.date():
        form.put(3, end.time(), to=4, number_format=TIME_FORMAT)
    else:
        form.put(3, end, to=4, number_format=DATETIME_FORMAT)
    form.row += 1


def _write_form(
    ws: Worksheet, fields: Mapping[str, Any], *, bureau: str, variant: str, case_ref: str | None
) -> None:
    left = 2 if variant == "title_rows" else 1
    for offset, width in enumerate(_WIDTHS):
        ws.column_dimensions[get_column_letter(left + offset)].width = width
    row = 1
    if variant == "title_rows":
        _title(ws, 1, left, bureau, size=12)
        _title(ws, 2, left, "随机抽查事项检查表")
        ws.cell(3, left, "填报科室：")
        ws.cell(3, left + 3, "填表日期：")
        row = 4
    else:
        _title(ws, 1, left, f"{bureau}随机抽查事项检查表")
        row = 2
    if case_ref:
        ws.cell(row, left + 3, f"编号：{case_ref}")
        row += 1

    date_cells = variant == "date_cells"
    form = _Form(ws, left, row)
    if variant == "formula":
        form.line("被抽查单位", "=Sheet2!A1")
    else:
        form.line("被抽查单位", fields.get("inspected_unit") or "")
    form.line("抽查依据", fields.get("basis") or "")
    form.line("抽查范围及主要内容", fields.get("scope") or "")
    form.line("抽查方式", methods_text(fields.get("methods")))
    _inspectors(form, list(fields.get("inspectors") or ()), numbers=variant == "numbers")
    _dated(
        form,
        "执法科室\n意见",
        "同意开展检查。\n（盖章）",
        _date(fields.get("dept_opinion_date")),
        date_cells=date_cells,
    )
    _dated(form, "分管领导\n批准签字", "", _date(fields.get("leader_approval_date")), date_cells=date_cells)
    _dated(
        form,
        "抽查执法\n主体意见",
        "同意。\n（盖章）",
        _date(fields.get("authority_opinion_date")),
        date_cells=date_cells,
    )
    form.line("抽查情况\n（包括发现问题、整改措施等）", fields.get("situation") or "")
    _check_time(form, fields, date_cells=date_cells)
    form.line("处理意见\n和建议", fields.get("handling") or "")
    _dated(
        form, "分管领导\n确认签字", "", _date(fields.get("leader_confirmation_date")), date_cells=date_cells
    )
    _dated(
        form,
        "抽查执法\n主体盖章",
        "（盖章）",
        _date(fields.get("authority_seal_date")),
        date_cells=date_cells,
    )
    notes = (
        "注：1、本检查表由相关抽查监管业务科室、单位牵头填写、报批并存档，如进行查处的要将复印件报送综合科；",
        f"2、抽查执法主体是指{bureau}。",
    )
    for note in notes:
        form.put(0, note, to=4)
        form.row += 1


def build_workbook(
    fields: Mapping[str, Any], *, bureau: str, variant: str = "plain", case_ref: str | None = None
) -> Workbook:
    """The workbook of a filled check table (``fields`` in the extraction contract's shape).

    For ``variant="formula"`` the formula has no computed value yet (openpyxl cannot calculate);
    ``write_check_table_xlsx`` lets LibreOffice compute it.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
    wb = Workbook()
    ws = wb.active
    if variant == "two_sheets":
        ws.title = "封面"
        ws["A1"] = bureau
        ws["A3"] = "随机抽查事项检查表"
        ws["A5"] = f"被抽查单位：{fields.get('inspected_unit') or ''}"
        ws["A6"] = "（第二页为检查表）"
        ws = wb.create_sheet(FORM_SHEET)
    else:
        ws.title = FORM_SHEET
    _write_form(ws, fields, bureau=bureau, variant=variant, case_ref=case_ref)
    if variant == "formula":
        wb.create_sheet("Sheet2")["A1"] = fields.get("inspected_unit") or ""
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "shuangsui samples"
    return wb


def _fixed_times(name: str, data: bytes) -> bytes:
    # openpyxl and LibreOffice stamp the save time into docProps/core.xml.
    if name != "docProps/core.xml":
        return data
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>2026-01-01T00:00:00Z\g<2>", data)


def convert_with_libreoffice(src: Path, fmt: str, out_dir: Path, *, soffice: str = "soffice") -> Path:
    """Convert ``src`` with LibreOffice to ``fmt`` (``xlsx``, ``xls`` …) into ``out_dir``.

    LibreOffice runs headless with a private, throw-away profile (so that it neither touches nor
    waits for the user's own), and computes formulas on the way. Returns the new file.
    """
    exe = shutil.which(soffice)
    if exe is None:
        raise MissingDependencyError(
            f"找不到 LibreOffice（{soffice}），无法转换 {src.name}。"
            "请安装：sudo apt-get install libreoffice-calc-nogui，或运行 shuangsui doctor 查看。"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shuangsui-lo-") as profile:
        proc = subprocess.run(
            [
                exe,
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                fmt,
                "--outdir",
                str(out_dir),
                str(src),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    result = out_dir / f"{src.stem}.{fmt}"
    if proc.returncode != 0 or not result.exists():
        raise MissingDependencyError(
            f"LibreOffice 未能把 {src.name} 转换为 {fmt}（退出码 {proc.returncode}）：{proc.stderr.strip()[-300:]}。"
            "请运行 shuangsui doctor 检查 LibreOffice 是否完整安装。"
        )
    return result


def write_check_table_xlsx(
    path: Path,
    fields: Mapping[str, Any],
    *,
    bureau: str,
    variant: str = "plain",
    case_ref: str | None = None,
    soffice: str = "soffice",
) -> None:
    """Write a filled check table workbook to ``path`` (see ``VARIANTS``); same fields, same bytes.

    The ``formula`` variant is saved once more by LibreOffice (``soffice``), which computes the
    formula and stores its value, as Excel and WPS do when staff save.
    """
    wb = build_workbook(fields, bureau=bureau, variant=variant, case_ref=case_ref)
    with tempfile.TemporaryDirectory(prefix="shuangsui-xlsx-") as tmp:
        draft = Path(tmp) / "draft.xlsx"
        wb.save(draft)
        if variant == "formula":
            draft = convert_with_libreoffice(draft, "xlsx", Path(tmp) / "calculated", soffice=soffice)
        normalize_zip(draft, _fixed_times)
        part = path.with_name(f".{path.name}.part")
        shutil.copyfile(draft, part)
        part.replace(path)
