"""Tests of the Excel check-table extractor on real workbooks built with openpyxl and LibreOffice."""

from __future__ import annotations

import datetime as dt
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest

from pipeline.core.errors import InputFileError
from pipeline.core.models import CHECK_TABLE_FIELDS
from pipeline.core.sniff import ole2_flavour
from pipeline.documents.grid import NOT_CHECK_TABLE
from pipeline.extract import detect_kind, extract_file, get_extractor
from pipeline.extract.xlsx_check_table import XlsxCheckTableExtractor, cell_text
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors
from pipeline.samples.xlsx import (
    DATE_FORMAT,
    FORM_SHEET,
    build_workbook,
    convert_with_libreoffice,
    write_check_table_xlsx,
)

BUREAU = "烟台市工业和信息化局"
NAME = "检查表.xlsx"


@pytest.fixture
def fields() -> dict[str, Any]:
    rng = random.Random(20261109)
    company = make_companies(rng, 1)[0]
    people = make_inspectors(rng, 3)
    return check_table_fields(rng, company, people, dt.datetime(2026, 11, 9, 9, 30))


def build(path: Path, fields: dict[str, Any], variant: str = "plain", **options: Any) -> Path:
    write_check_table_xlsx(path, fields, bureau=BUREAU, variant=variant, **options)
    return path


def extract(path: Path) -> Any:
    return extract_file(path, display_name=NAME)


def cells(path: Path, **options: Any) -> Any:
    """The form sheet of ``path`` as openpyxl reads it."""
    return openpyxl.load_workbook(path, **options)[FORM_SHEET]


# --- the variants staff make -----------------------------------------------------------------


@pytest.mark.parametrize("variant", ["plain", "date_cells", "title_rows", "numbers", "two_sheets"])
def test_variant_field_exact(tmp_path: Path, fields: dict[str, Any], variant: str) -> None:
    path = build(tmp_path / "store-object", fields, variant)  # no extension, as in the originals store
    assert detect_kind(path) == "xlsx"
    result = extract(path)
    assert result.form == "check_table"
    assert tuple(result.fields) == CHECK_TABLE_FIELDS
    assert result.fields == fields
    assert len(result.fields["inspectors"]) == 3
    assert result.warnings == ()
    assert result.case_ref is None
    assert all(p.file == NAME and p.confidence == 1.0 for p in result.provenance.values())


def test_plain_provenance(tmp_path: Path, fields: dict[str, Any]) -> None:
    result = extract(build(tmp_path / "a.xlsx", fields))
    where = {key: p.location for key, p in result.provenance.items()}
    assert where["inspected_unit"] == "检查表!B2"
    assert where["methods"] == "检查表!B5"
    assert where["inspectors"] == "检查表 第7行起"
    assert where["dept_opinion_date"] == "检查表!B12"
    assert where["check_start"] == where["check_end"] == "检查表!B16"
    assert where["authority_seal_date"] == "检查表!B19"
    ws = cells(tmp_path / "a.xlsx")
    assert ws["A6"].value == "抽查执法人员" and ws["B12"].value.startswith("同意开展检查")


def test_date_cells_are_real_dates(tmp_path: Path, fields: dict[str, Any]) -> None:
    path = build(tmp_path / "a.xlsx", fields, "date_cells")
    ws = cells(path)
    assert ws["E12"].is_date and ws["E12"].value == dt.datetime(2026, 11, 4)
    assert ws["B16"].is_date and ws["B16"].value == dt.datetime(2026, 11, 9, 9, 30)
    assert ws["D16"].value == dt.time(11, 0)
    result = extract(path)
    assert result.fields == fields
    assert result.provenance["dept_opinion_date"].location == "检查表!B12"
    assert result.provenance["check_start"].location == "检查表!B16"


def test_date_serial_in_chinese_builtin_format(tmp_path: Path, fields: dict[str, Any]) -> None:
    """Chinese Excel stores 2026年3月5日 as the built-in format 31, which openpyxl reads as a number."""
    path = build(tmp_path / "a.xlsx", fields, "date_cells")
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    styles = members["xl/styles.xml"].decode()
    fmt_id = re.search(
        r'<numFmt numFmtId="(\d+)" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>', styles
    )
    assert fmt_id is not None
    members["xl/styles.xml"] = styles.replace(
        f'<xf numFmtId="{fmt_id.group(1)}"', '<xf numFmtId="31"'
    ).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert cells(path)["E12"].value == 46330  # a plain number for openpyxl
    assert extract(path).fields == fields


def test_title_rows_offset_and_case_ref(tmp_path: Path, fields: dict[str, Any]) -> None:
    result = extract(build(tmp_path / "a.xlsx", fields, "title_rows", case_ref="SS-2026-00017"))
    assert result.fields == fields
    assert result.case_ref == "SS-2026-00017"
    assert result.provenance["inspected_unit"].location == "检查表!C5"
    assert result.provenance["inspectors"].location == "检查表 第10行起"


def test_numbers_stored_as_numbers(tmp_path: Path, fields: dict[str, Any]) -> None:
    path = build(tmp_path / "a.xlsx", fields, "numbers")
    ws = cells(path)
    assert isinstance(ws["D7"].value, int | float) and isinstance(ws["E7"].value, int)
    result = extract(path)
    assert result.fields["inspectors"] == fields["inspectors"]


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    [
        (13805351234, None, "13805351234"),
        (370655201912345.0, None, "370655201912345"),
        (1e20, None, "100000000000000000000"),
        (0.1, None, "0.1"),
        (1.5e-7, None, "0.00000015"),
        (5356688123, "00000000000", "05356688123"),
        (dt.datetime(2026, 3, 5), DATE_FORMAT, "2026年3月5日"),
        (dt.datetime(2026, 3, 5, 9, 30), "yyyy-mm-dd h:mm", "2026年3月5日9时30分"),
        (dt.time(11, 0), "h:mm", "11时00分"),
        (46086, "yyyy-mm-dd", "2026年3月5日"),
        (True, None, "TRUE"),
    ],
)
def test_cell_text(value: Any, number_format: str | None, text: str) -> None:
    assert cell_text(value, number_format) == text


def test_first_sheet_holding_the_form_wins(tmp_path: Path, fields: dict[str, Any]) -> None:
    wb = build_workbook(fields, bureau=BUREAU, variant="two_sheets")
    copy = wb.copy_worksheet(wb[FORM_SHEET])
    copy.title = "检查表（旧）"
    copy["B2"] = "烟台另一家化工有限公司"
    path = tmp_path / "a.xlsx"
    wb.save(path)
    result = extract(path)
    assert result.fields == fields
    assert result.warnings == ()
    assert result.provenance["inspected_unit"].location == "检查表!B2"


def test_blank_form(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.xlsx", {}))
    assert result.fields == dict.fromkeys(CHECK_TABLE_FIELDS) | {"inspectors": []}
    assert result.warnings == ()


def test_deterministic(tmp_path: Path, fields: dict[str, Any]) -> None:
    for variant in ("plain", "date_cells"):
        a = build(tmp_path / f"a-{variant}.xlsx", fields, variant).read_bytes()
        b = build(tmp_path / f"b-{variant}.xlsx", fields, variant).read_bytes()
        assert a == b


def test_xlsm_is_read(tmp_path: Path, fields: dict[str, Any]) -> None:
    path = build(tmp_path / "a.xlsm", fields)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    assert b"macroEnabled" in members["[Content_Types].xml"]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert extract(path).fields == fields


# --- formulas --------------------------------------------------------------------------------


def test_formula_without_cached_value_warns(tmp_path: Path, fields: dict[str, Any]) -> None:
    path = tmp_path / "a.xlsx"
    build_workbook(fields, bureau=BUREAU, variant="formula").save(path)  # openpyxl stores no value
    result = extract(path)
    assert result.fields == fields | {"inspected_unit": None}
    assert result.warnings == (
        "被抽查单位：单元格 检查表!B2 是公式（=Sheet2!A1），但文件中没有保存计算结果，无法读取。"
        "请在 Excel/WPS 中打开文件、确认公式结果正确并保存后重新放入收件箱，或把公式改为直接填写的内容。",
    )
    assert result.provenance["inspected_unit"].confidence == 0.5
    assert result.provenance["basis"].confidence == 1.0


@pytest.mark.libreoffice
def test_formula_read_as_cached_value(tmp_path: Path, fields: dict[str, Any]) -> None:
    path = build(tmp_path / "a.xlsx", fields, "formula")
    assert cells(path)["B2"].value == "=Sheet2!A1"
    assert cells(path, data_only=True)["B2"].value == fields["inspected_unit"]
    result = extract(path)
    assert result.fields == fields
    assert result.warnings == ()
    assert build(tmp_path / "b.xlsx", fields, "formula").read_bytes() == path.read_bytes()


# --- .xls ------------------------------------------------------------------------------------


@pytest.mark.libreoffice
@pytest.mark.parametrize("variant", ["plain", "date_cells", "numbers"])
def test_xls_made_by_libreoffice(tmp_path: Path, fields: dict[str, Any], variant: str) -> None:
    xlsx = build(tmp_path / "检查表.xlsx", fields, variant)
    xls = convert_with_libreoffice(xlsx, "xls", tmp_path / "out")
    stored = tmp_path / "store-object"
    stored.write_bytes(xls.read_bytes())
    assert ole2_flavour(stored) == "xls"
    assert detect_kind(stored) == "xls"
    assert get_extractor("xls") is not None
    result = extract(stored)
    assert result.fields == fields
    assert result.warnings == ()
    assert result.provenance["inspected_unit"].location == "检查表!B2"
    assert result.provenance["inspectors"].location == "检查表 第7行起"


@pytest.mark.libreoffice
def test_word_97_is_not_xls(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Workbook Book 随机抽查事项检查表")
    document.save(str(tmp_path / "a.docx"))
    doc = convert_with_libreoffice(tmp_path / "a.docx", "doc", tmp_path / "out")
    assert ole2_flavour(doc) == "doc"
    assert detect_kind(doc) == "ole2"


# --- refusals --------------------------------------------------------------------------------


def test_workbook_without_check_table(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["企业名称", "统一社会信用代码"])
    wb.active.append(["烟台某某精密机械有限公司", "91370602MA3C4XXXXX"])
    wb.create_sheet("空白")
    path = tmp_path / "名录.xlsx"
    wb.save(path)
    with pytest.raises(InputFileError) as info:
        extract(path)
    assert info.value.code == "FILE_NOT_CHECK_TABLE"
    assert info.value.message == NOT_CHECK_TABLE
    assert info.value.field == "file"


def test_corrupt_workbook(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<not-a-workbook")
    assert detect_kind(path) == "xlsx"
    with pytest.raises(InputFileError) as info:
        XlsxCheckTableExtractor().extract(path)
    assert info.value.code == "FILE_UNREADABLE"
    assert "Excel" in info.value.message
