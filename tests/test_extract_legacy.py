"""Tests of reading old and foreign formats through LibreOffice (``pipeline.extract.legacy``).

A filled check table is rendered from the bureau's template and saved by LibreOffice as .doc, .rtf,
.odt and a web page (and a workbook as .ods); each is put into a store without its extension, as
the originals store keeps it, and must come out of ``extract_file`` field for field.
"""

from __future__ import annotations

import datetime as dt
import html
import random
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pipeline.core.errors import InputFileError
from pipeline.core.models import CHECK_TABLE_FIELDS
from pipeline.core.settings import Settings
from pipeline.documents.libreoffice import NO_OUTPUT_MESSAGE, ConverterPool
from pipeline.documents.render import cn_date, cn_period, methods_text, render_check_table
from pipeline.extract import detect_kind, extract_file, get_extractor
from pipeline.extract import registry as registry_module
from pipeline.extract.legacy import LIBREOFFICE_MISSING, LegacyExtractor, html_is_spreadsheet
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors
from pipeline.samples.xlsx import write_check_table_xlsx
from tests.system_deps import require_soffice

SETTINGS = Settings()
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
WORD_FORMATS = {"doc": "ole2", "rtf": "rtf", "odt": "odt", "html": "html"}
DATE_KEYS = (
    "dept_opinion_date",
    "leader_approval_date",
    "authority_opinion_date",
    "leader_confirmation_date",
    "authority_seal_date",
)


def sample_fields(seed: int, inspectors: int) -> dict[str, Any]:
    """Realistic check-table fields, as ``tests.conftest.Samples.fields`` makes them."""
    rng = random.Random(seed)
    companies, people = make_companies(rng, 6), make_inspectors(rng, 4)
    return check_table_fields(rng, companies[0], people[:inspectors], dt.datetime(2026, 11, 9, 9, 30))


def excel_html(fields: dict[str, Any]) -> str:
    """The check table as Excel or WPS 表格 saves a sheet as a web page (one table, Excel markers)."""

    def cell(text: str, extra: str = "") -> str:
        return f"<td{extra}>{html.escape(text)}</td>"

    def row(label: str, value: str) -> str:
        return f"<tr>{cell(label)}{cell(value, ' colspan=4')}</tr>"

    people = fields["inspectors"]
    rows = [
        f"<tr>{cell('随机抽查事项检查表', ' colspan=5')}</tr>",
        row("被抽查单位", fields["inspected_unit"]),
        row("抽查依据", fields["basis"]),
        row("抽查范围及主要内容", fields["scope"]),
        row("抽查方式", methods_text(fields["methods"])),
        f"<tr>{cell('抽查执法人员', f' rowspan={len(people) + 1}')}"
        + "".join(cell(h) for h in ("姓名", "职务", "执法证号", "联系电话"))
        + "</tr>",
        *(
            f"<tr>{cell(str(n) + '.' + p['name'])}{cell(p['title'])}"
            f"{cell(p['licence_no'], ' x:str')}{cell(p['phone'], ' x:str')}</tr>"
            for n, p in enumerate(people, start=1)
        ),
        row("执法科室意见", "同意开展检查。" + cn_date(fields["dept_opinion_date"])),
        row("分管领导批准签字", cn_date(fields["leader_approval_date"])),
        row("抽查执法主体意见", "同意。" + cn_date(fields["authority_opinion_date"])),
        row("抽查情况", fields["situation"]),
        row("抽查时间", cn_period(fields["check_start"], fields["check_end"])),
        row("处理意见和建议", fields["handling"]),
        row("分管领导确认签字", cn_date(fields["leader_confirmation_date"])),
        row("抽查执法主体盖章", cn_date(fields["authority_seal_date"])),
    ]
    return (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns="http://www.w3.org/TR/REC-html40">\n'
        '<head><meta http-equiv=Content-Type content="text/html; charset=utf-8">'
        '<meta name=ProgId content=Excel.Sheet><meta name=Generator content="Microsoft Excel 15"></head>\n'
        "<body><table border=0 cellpadding=0 cellspacing=0>\n" + "\n".join(rows) + "\n</table></body></html>\n"
    )


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The check table in every format, each in a store without extension; and the fields in them."""
    require_soffice()
    base = tmp_path_factory.mktemp("legacy")
    word_fields = sample_fields(4242, 2)
    sheet_fields = sample_fields(4343, 3)
    docx = base / "检查表.docx"
    render_check_table(
        word_fields,
        docx,
        template_dir=SETTINGS.templates_dir,
        bureau=SETTINGS.bureau,
        case_id=None,
        dept_opinion="同意开展检查。",
        authority_opinion="同意。",
    )
    xlsx = base / "检查表.xlsx"
    write_check_table_xlsx(xlsx, sheet_fields, bureau=SETTINGS.bureau)
    jobs = [(docx, fmt, "HTML (StarWriter)" if fmt == "html" else None) for fmt in WORD_FORMATS]
    jobs.append((xlsx, "ods", None))
    with ConverterPool(3) as pool, ThreadPoolExecutor(3) as executor:
        made = list(executor.map(lambda job: pool.convert(job[0], job[1], base / job[1], job[2]), jobs))
    store = base / "store"
    store.mkdir()
    paths: dict[str, Path] = {}
    for (_, fmt, _), path in zip(jobs, made, strict=True):
        paths[fmt] = store / f"{fmt}-{'0f' * 16}"
        shutil.copyfile(path, paths[fmt])
    paths["excel_html"] = store / f"xh-{'0f' * 16}"
    paths["excel_html"].write_text(excel_html(sheet_fields), encoding="utf-8")
    return {"paths": paths, "word_fields": word_fields, "sheet_fields": sheet_fields}


def assert_field_exact(result: Any, fields: dict[str, Any], display: str) -> None:
    assert tuple(result.fields) == CHECK_TABLE_FIELDS
    assert result.fields == fields
    assert result.warnings == ()
    assert set(result.provenance) == set(CHECK_TABLE_FIELDS)
    assert {p.file for p in result.provenance.values()} == {display}, "provenance names the dropped file"
    assert {p.confidence for p in result.provenance.values()} == {1.0}


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", list(WORD_FORMATS))
def test_word_formats_field_exact(stored: dict[str, Any], fmt: str) -> None:
    path = stored["paths"][fmt]
    assert detect_kind(path) == WORD_FORMATS[fmt]
    display = f"检查表.{fmt}"
    result = extract_file(path, display_name=display)
    assert_field_exact(result, stored["word_fields"], display)
    assert result.provenance["inspected_unit"].location.startswith("表1 "), "read as a Word table"


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["ods", "excel_html"])
def test_spreadsheet_formats_field_exact(stored: dict[str, Any], fmt: str) -> None:
    path = stored["paths"][fmt]
    assert detect_kind(path) == ("ods" if fmt == "ods" else "html")
    display = "检查表.ods" if fmt == "ods" else "检查表.xls"
    result = extract_file(path, display_name=display)
    assert_field_exact(result, stored["sheet_fields"], display)
    assert "!" in result.provenance["inspected_unit"].location, "read as a worksheet (Sheet!B2)"


@pytest.mark.libreoffice
def test_corrupt_doc_is_refused_as_unreadable(tmp_path: Path) -> None:
    require_soffice()
    path = tmp_path / "9c1f2e"
    path.write_bytes(OLE2_MAGIC + random.Random(7).randbytes(20_000))
    assert detect_kind(path) == "ole2"
    with pytest.raises(InputFileError) as info:
        extract_file(path, display_name="检查表.doc")
    assert info.value.code == "FILE_UNREADABLE"
    assert info.value.message == NO_OUTPUT_MESSAGE


@pytest.mark.libreoffice
def test_readable_rtf_without_the_form(tmp_path: Path) -> None:
    require_soffice()
    path = tmp_path / "letter"
    path.write_text("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Arial;}}\\f0 Dear colleague, see you Monday.\\par}")
    with pytest.raises(InputFileError) as info:
        extract_file(path, display_name="通知.rtf")
    assert info.value.code == "FILE_NOT_CHECK_TABLE"


def test_without_libreoffice_the_file_is_refused_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store-object"
    path.write_bytes(OLE2_MAGIC + bytes(4096))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHUANGSUI_SOFFICE", str(tmp_path / "no-soffice"))
    with pytest.raises(InputFileError) as info:
        extract_file(path, display_name="检查表.wps")
    assert (info.value.code, info.value.field) == ("FILE_UNSUPPORTED", "file")
    assert info.value.message == LIBREOFFICE_MISSING
    assert "另存为 .docx 或 .xlsx" in info.value.message and "shuangsui doctor" in info.value.message
    with pytest.raises(InputFileError) as info:
        LegacyExtractor(soffice=str(tmp_path / "no-soffice")).extract(path)
    assert info.value.message == LIBREOFFICE_MISSING


def test_spreadsheet_without_a_spreadsheet_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ods-object"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
    assert detect_kind(path) == "ods"
    real = registry_module.get_extractor
    monkeypatch.setattr(registry_module, "get_extractor", lambda kind: None if kind == "xlsx" else real(kind))
    with pytest.raises(InputFileError) as info:
        LegacyExtractor(soffice=str(tmp_path / "no-soffice")).extract(path, display_name="检查表.ods")
    assert info.value.code == "FILE_UNSUPPORTED"
    assert "另存为 .xlsx" in info.value.message


def test_registered_for_its_kinds() -> None:
    for kind in ("ole2", "rtf", "odt", "ods", "html"):
        assert isinstance(get_extractor(kind), LegacyExtractor), kind


EXCEL_HEAD = '<html xmlns:x="urn:schemas-microsoft-com:office:excel"><body><p>报表</p><table><tr><td>1</td></tr></table>'
WORD_HEAD = (
    '<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word">'
    "<body><table><tr><td>被抽查单位</td></tr></table>"
)


@pytest.mark.parametrize(
    ("page", "spreadsheet"),
    [
        (EXCEL_HEAD, True),
        ("<html><head><meta name=ProgId content=Excel.Sheet></head><body><p>标题</p></body></html>", True),
        (WORD_HEAD, False),
        ('<html><head><meta name=ProgId content=Word.Document></head><body xmlns:x="urn:schemas-microsoft-com:office:excel">'
         "<table><tr><td>x</td></tr></table></body></html>", False),
        ("<table><tr><td>企业名称</td><td>统一社会信用代码</td></tr></table>", True),
        ("<html><head><title>导出</title><style>td {}</style></head><body>\n<table><tr><td>a</td></tr></table>"
         "</body></html>", True),
        ("<html><body><h1>随机抽查事项检查表</h1><table><tr><td>被抽查单位</td></tr></table></body></html>", False),
        ("<html><body><p>通知</p></body></html>", False),
    ],
)
def test_html_word_or_spreadsheet(tmp_path: Path, page: str, spreadsheet: bool) -> None:
    path = tmp_path / "page"
    path.write_text(page, encoding="utf-8")
    assert html_is_spreadsheet(path) is spreadsheet
