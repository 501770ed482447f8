"""Tests of the PDF check-table extractor on real PDFs.

The corpus is rendered from the project's check-table template (and from python-docx documents
without table borders) and converted to PDF by the real LibreOffice, in one ``soffice`` call per
test module. Scans, damaged, encrypted and fillable PDFs are made with pypdfium2, Pillow and pypdf.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
import pdfplumber
import pypdfium2
import pytest
from docx.shared import Cm
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from pipeline.core.errors import InputFileError
from pipeline.core.models import CHECK_TABLE_FIELDS, Extraction
from pipeline.documents.render import public_form_context, render_check_table, render_public_form
from pipeline.extract import extract_file
from pipeline.extract.pdf_check_table import SCAN_PENDING_MESSAGE, PdfCheckTableExtractor
from pipeline.extract.registry import get_extractors
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors
from tests.system_deps import require_soffice

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
BUREAU = "烟台市工业和信息化局"
SEED = 20260305

LONG_SITUATION = "\n".join(
    [
        "经现场检查，" + "企业民用爆炸物品出入库台账记录不完整，部分销售流向登记缺失，" * 4 + "已当场指出。",
        "企业已按要求补录台账，并建立每日核对制度。",
        "复查合格。",
    ]
)
# Long enough to run over three pages: the row is cut by two page breaks.
PAGE_CUT_SITUATION = "\n".join(
    f"{i}、" + "企业安全管理台账记录不完整，部分出入库登记缺失，" * (i % 7 + 3) + "已责令整改。" for i in range(1, 30)
)
LATIN_HANDLING = (
    "Please check the ISO 9001 certificate and the safety management manual of the company, "
    "then report to the section within five working days. 限期整改。"
)


@dataclass(frozen=True)
class Case:
    """One PDF of the corpus and the fields it was made from."""

    pdf: Path
    fields: dict[str, Any]
    case_id: str | None


# --------------------------------------------------------------------------------------------------
# Building the corpus


def _people_fields(rng: random.Random, n: int, **overrides: Any) -> dict[str, Any]:
    company = make_companies(rng, 1)[0]
    start = dt.datetime(2026, 3, 5, 9, 30) + dt.timedelta(days=rng.randrange(0, 200))
    fields = check_table_fields(rng, company, make_inspectors(rng, n), start)
    fields.update(overrides)
    return fields


def _borderless_table(path: Path, fields: dict[str, Any]) -> None:
    """A check table typed into a python-docx table without borders (no ruling lines in the PDF)."""
    document = docx.Document()
    document.add_paragraph("编号：SS-2026-00042")
    document.add_heading("随机抽查事项检查表", level=1)
    table = document.add_table(rows=0, cols=5)  # no style: no borders

    def row(label: str, value: str) -> None:
        cells = table.add_row().cells
        cells[0].text = label
        merged = cells[1].merge(cells[4])
        merged.text = value

    start = dt.datetime.fromisoformat(fields["check_start"])
    end = dt.datetime.fromisoformat(fields["check_end"])
    row("被抽查单位", fields["inspected_unit"])
    row("抽查依据", fields["basis"])
    row("抽查范围及主要内容", fields["scope"])
    row("抽查方式", "、".join(fields["methods"]))
    heading = table.add_row().cells
    for cell, text in zip(heading, ("抽查执法人员", "姓名", "职务", "执法证号", "联系电话"), strict=True):
        cell.text = text
    for i, person in enumerate(fields["inspectors"], start=1):
        cells = table.add_row().cells
        values = (f"{i}.{person['name']}", person["title"], person["licence_no"], person["phone"])
        for cell, text in zip(cells[1:], values, strict=True):
            cell.text = text
    row("执法科室意见", "同意。（盖章）" + _cn(fields["dept_opinion_date"]))
    row("分管领导批准签字", _cn(fields["leader_approval_date"]))
    row("抽查执法主体意见", "（盖章）" + _cn(fields["authority_opinion_date"]))
    cells = table.add_row().cells
    cells[0].text = "抽查情况"
    merged = cells[1].merge(cells[4])
    lines = fields["situation"].split("\n")
    merged.text = lines[0]
    for line in lines[1:]:
        merged.add_paragraph(line)
    row("抽查时间", f"{_cn(start.date().isoformat())}{start.hour}时{start.minute:02d}分至{end.hour}时{end.minute:02d}分")
    row("处理意见和建议", fields["handling"])
    row("分管领导确认签字", _cn(fields["leader_confirmation_date"]))
    row("抽查执法主体盖章", "（盖章）" + _cn(fields["authority_seal_date"]))
    for r in table.rows:
        for cell, width in zip(r.cells, (3.2, 2.6, 3.2, 3.8, 3.4), strict=True):
            cell.width = Cm(width)
    document.save(str(path))


def _paragraphs(path: Path, fields: dict[str, Any]) -> None:
    """A check table written as plain paragraphs: ``被抽查单位：……`` lines, no table at all."""
    document = docx.Document()
    start = dt.datetime.fromisoformat(fields["check_start"])
    end = dt.datetime.fromisoformat(fields["check_end"])
    document.add_paragraph("随机抽查事项检查表")
    for text in (
        f"被抽查单位：{fields['inspected_unit']}",
        f"抽查依据：{fields['basis']}",
        f"抽查范围及主要内容：{fields['scope']}",
        f"抽查方式：{'、'.join(fields['methods'])}",
        f"抽查情况：{fields['situation']}",
        f"抽查时间：{_cn(start.date().isoformat())}{start.hour}时{start.minute:02d}分至{end.hour}时{end.minute:02d}分",
        f"处理意见和建议：{fields['handling']}",
        f"分管领导确认签字：{_cn(fields['leader_confirmation_date'])}",
    ):
        document.add_paragraph(text)
    document.save(str(path))


def _cn(day: str) -> str:
    d = dt.date.fromisoformat(day)
    return f"{d.year}年{d.month}月{d.day}日"


def _convert(folder: Path, docs: list[Path]) -> None:
    soffice = require_soffice()
    profile = (folder / "lo-profile").as_uri()
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir",
         str(folder), *map(str, docs)],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    """The PDFs of this module, converted by LibreOffice in one call."""
    folder = tmp_path_factory.mktemp("pdf-corpus")
    rng = random.Random(SEED)
    rendered: dict[str, tuple[dict[str, Any], str | None]] = {
        "两人": (_people_fields(rng, 2), "SS-2026-00101"),
        "三人-长文本": (
            _people_fields(rng, 3, inspected_unit="烟台A&B<精密>机械有限公司", situation=LONG_SITUATION),
            "SS-2026-00102",
        ),
        "六人-英文": (_people_fields(rng, 6, handling=LATIN_HANDLING), "SS-2026-00103"),
        "跨页": (_people_fields(rng, 16, situation=PAGE_CUT_SITUATION), None),
    }
    docs: list[Path] = []
    cases: dict[str, Case] = {}
    for name, (fields, case_id) in rendered.items():
        path = folder / f"{name}.docx"
        render_check_table(fields, path, template_dir=TEMPLATES, bureau=BUREAU, case_id=case_id)
        docs.append(path)
        cases[name] = Case(path.with_suffix(".pdf"), fields, case_id)
    for name, writer in (("无边框", _borderless_table), ("段落", _paragraphs)):
        fields = _people_fields(rng, 2, situation="企业证照齐全。\n发现台账记录不完整，已责令整改。")
        path = folder / f"{name}.docx"
        writer(path, fields)
        docs.append(path)
        cases[name] = Case(path.with_suffix(".pdf"), fields, "SS-2026-00042" if name == "无边框" else None)
    public = folder / "公示表.docx"
    render_public_form(
        public_form_context(unit_name="烟台某某精密机械有限公司", uscc="91370602MA3C1234XK", authority=BUREAU,
                            task_name="2026年民爆抽查", check_date="2026-03-05", check_type="不定向抽查",
                            result="未发现问题"),
        public,
        template_dir=TEMPLATES,
    )
    docs.append(public)
    cases["公示表"] = Case(public.with_suffix(".pdf"), {}, None)
    _convert(folder, docs)
    return cases


def _extract(path: Path) -> Extraction:
    return PdfCheckTableExtractor().extract(path)


def _refusal(path: Path) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        extract_file(path)
    return info.value


def _image_pdf(source: Path, target: Path, *, pages: int = 1) -> None:
    """A scan: the first ``pages`` pages of ``source`` rendered to pictures, saved as a PDF."""
    document = pypdfium2.PdfDocument(str(source))
    try:
        images = [document[i].render(scale=100 / 72).to_pil().convert("RGB") for i in range(pages)]
    finally:
        document.close()
    images[0].save(target, "PDF", resolution=100.0, save_all=True, append_images=images[1:])


def _stamp(pdf: Path, text: str) -> None:
    """Print a line of Latin ``text`` at the foot of every page, as scanners stamp a date or page."""
    writer = PdfWriter(clone_from=str(pdf))
    for page in writer.pages:
        stamp = PdfWriter().add_blank_page(float(page.mediabox.width), float(page.mediabox.height))
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        stamp[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 9 Tf 40 20 Td ({text}) Tj ET".encode("ascii"))
        stamp.replace_contents(content)
        page.merge_page(stamp)
    writer.write(pdf)


# --------------------------------------------------------------------------------------------------
# Rendered check tables: field-exact


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ["两人", "三人-长文本", "六人-英文", "跨页"])
def test_rendered_check_table_is_read_field_exact(corpus: dict[str, Case], name: str) -> None:
    case = corpus[name]
    extraction = extract_file(case.pdf)
    assert extraction.form == "check_table"
    assert list(extraction.fields) == list(CHECK_TABLE_FIELDS)
    for key in CHECK_TABLE_FIELDS:
        assert extraction.fields[key] == case.fields[key], key
    assert extraction.case_ref == case.case_id
    assert extraction.warnings == ()
    assert set(extraction.provenance) == set(CHECK_TABLE_FIELDS)
    assert extraction.provenance["inspected_unit"].location == "第1页 表1 第1行 第2列"
    assert extraction.provenance["inspected_unit"].file == case.pdf.name


@pytest.mark.libreoffice
def test_wrapped_cells_are_really_wrapped_in_the_pdf(corpus: dict[str, Case]) -> None:
    """The corpus exercises what it claims: cells wrap over lines, a row is cut by a page break."""
    with pdfplumber.open(corpus["三人-长文本"].pdf) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    assert "烟台A&B<精密>机械有限公司" in text
    situation_lines = [line for line in text.split("\n") if "出入库台账" in line or "销售流向" in line]
    assert len(situation_lines) >= 3
    with pdfplumber.open(corpus["跨页"].pdf) as pdf:
        pages_with_situation = [
            number for number, page in enumerate(pdf.pages, 1) if "部分出入库登记缺失" in (page.extract_text() or "")
        ]
    assert len(pages_with_situation) >= 3
    extraction = _extract(corpus["跨页"].pdf)
    assert extraction.provenance["situation"].location.startswith(f"第{pages_with_situation[0]}页")
    assert len(extraction.fields["inspectors"]) == 16


def test_registry_hands_pdf_files_to_the_pdf_extractor() -> None:
    assert any(isinstance(e, PdfCheckTableExtractor) for e in get_extractors("pdf"))


@pytest.mark.libreoffice
def test_other_document_is_not_a_check_table(corpus: dict[str, Case]) -> None:
    error = _refusal(corpus["公示表"].pdf)
    assert error.code == "FILE_NOT_CHECK_TABLE"


# --------------------------------------------------------------------------------------------------
# Text without ruling lines


@pytest.mark.libreoffice
def test_table_without_borders_is_read_from_lines_of_words(corpus: dict[str, Case]) -> None:
    case = corpus["无边框"]
    with pdfplumber.open(case.pdf) as pdf:
        assert all(not page.find_tables() for page in pdf.pages)  # no ruling lines at all
    extraction = extract_file(case.pdf)
    for key in ("inspected_unit", "basis", "scope", "methods", "inspectors", "situation", "check_start",
                "check_end", "handling", *(k for k in CHECK_TABLE_FIELDS if k.endswith("_date"))):
        assert extraction.fields[key] == case.fields[key], key
    assert extraction.case_ref == "SS-2026-00042"
    assert extraction.provenance["inspected_unit"].location.startswith("第1页 第")


@pytest.mark.libreoffice
def test_plain_paragraphs_are_read_by_their_labels(corpus: dict[str, Case]) -> None:
    case = corpus["段落"]
    extraction = extract_file(case.pdf)
    for key in ("inspected_unit", "basis", "scope", "methods", "situation", "check_start", "check_end",
                "handling", "leader_confirmation_date"):
        assert extraction.fields[key] == case.fields[key], key
    assert extraction.fields["inspectors"] == []
    assert extraction.fields["dept_opinion_date"] is None


# --------------------------------------------------------------------------------------------------
# Scans, damaged and encrypted files


@pytest.mark.libreoffice
def test_image_only_pdf_waits_for_its_check_table(corpus: dict[str, Case], tmp_path: Path) -> None:
    scan = tmp_path / "扫描件.pdf"
    _image_pdf(corpus["两人"].pdf, scan)
    error = _refusal(scan)
    assert error.code == "SCAN_PENDING"
    assert error.message == SCAN_PENDING_MESSAGE


@pytest.mark.libreoffice
def test_scan_with_a_stamped_date_is_still_a_scan(corpus: dict[str, Case], tmp_path: Path) -> None:
    scan = tmp_path / "扫描件-带页脚.pdf"
    _image_pdf(corpus["两人"].pdf, scan, pages=2)
    _stamp(scan, "Scanned 2026-03-05 MFP-3")
    with pdfplumber.open(scan) as pdf:
        assert "Scanned 2026-03-05" in (pdf.pages[0].extract_text() or "")
    assert _refusal(scan).code == "SCAN_PENDING"


@pytest.mark.libreoffice
def test_scanned_form_behind_a_typed_cover_page_is_a_scan(corpus: dict[str, Case], tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    _image_pdf(corpus["两人"].pdf, scan)
    covered = tmp_path / "公示表加扫描件.pdf"
    writer = PdfWriter()
    writer.append(str(corpus["公示表"].pdf))  # readable text, but not the check table
    writer.append(str(scan))
    writer.write(covered)
    assert _refusal(covered).code == "SCAN_PENDING"


@pytest.mark.libreoffice
def test_scanned_pages_of_a_text_pdf_are_named_in_a_warning(corpus: dict[str, Case], tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    _image_pdf(corpus["两人"].pdf, scan)
    mixed = tmp_path / "混合.pdf"
    writer = PdfWriter()
    writer.append(str(corpus["两人"].pdf))
    writer.append(str(scan))
    writer.write(mixed)
    pages = len(PdfReader(mixed).pages)
    extraction = extract_file(mixed)
    assert extraction.fields == {k: corpus["两人"].fields[k] for k in CHECK_TABLE_FIELDS}
    assert len(extraction.warnings) == 1
    assert f"第{pages}页" in extraction.warnings[0]


@pytest.mark.libreoffice
@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 3], id="truncated"),
        pytest.param(lambda data: data[:9] + bytes(len(data) - 9), id="zeroed"),
    ],
)
def test_damaged_pdf_is_unreadable(
    corpus: dict[str, Case], tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    broken = tmp_path / "损坏.pdf"
    broken.write_bytes(damage(corpus["两人"].pdf.read_bytes()))
    error = _refusal(broken)
    assert error.code == "FILE_UNREADABLE"
    assert "损坏" in error.message


@pytest.mark.libreoffice
def test_pdf_with_open_password_is_refused(corpus: dict[str, Case], tmp_path: Path) -> None:
    locked = tmp_path / "加密.pdf"
    writer = PdfWriter(clone_from=str(corpus["两人"].pdf))
    writer.encrypt(user_password="x", owner_password="owner", algorithm="AES-256")
    writer.write(locked)
    error = _refusal(locked)
    assert error.code == "FILE_ENCRYPTED"
    assert "密码" in error.message


@pytest.mark.libreoffice
def test_pdf_encrypted_with_empty_password_is_read(corpus: dict[str, Case], tmp_path: Path) -> None:
    restricted = tmp_path / "限制编辑.pdf"
    writer = PdfWriter(clone_from=str(corpus["两人"].pdf))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    writer.write(restricted)
    assert PdfReader(restricted).is_encrypted
    extraction = extract_file(restricted)
    assert extraction.fields["inspected_unit"] == corpus["两人"].fields["inspected_unit"]
    assert extraction.case_ref == "SS-2026-00101"


# --------------------------------------------------------------------------------------------------
# Fillable forms (AcroForm)


def _fillable_form(path: Path, text_fields: list[tuple[str, str, str | None]], boxes: list[tuple[str, bool]]) -> None:
    """A one-page PDF with AcroForm text fields ``(name, value, tooltip)`` and check boxes; the page
    itself has no text (the values live in the form fields only)."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    refs = ArrayObject()
    for i, (name, value, tooltip) in enumerate([*text_fields, *((n, "", None) for n, _ in boxes)]):
        y = 800 - 20 * i
        widget = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Widget"),
                NameObject("/T"): TextStringObject(name),
                NameObject("/Rect"): ArrayObject([FloatObject(50), FloatObject(y), FloatObject(500), FloatObject(y + 16)]),
                NameObject("/F"): NumberObject(4),
            }
        )
        box = dict(boxes).get(name)
        if box is None:
            widget[NameObject("/FT")] = NameObject("/Tx")
            widget[NameObject("/V")] = TextStringObject(value)
        else:
            widget[NameObject("/FT")] = NameObject("/Btn")
            widget[NameObject("/V")] = NameObject("/Yes" if box else "/Off")
            widget[NameObject("/AS")] = NameObject("/Yes" if box else "/Off")
        if tooltip:
            widget[NameObject("/TU")] = TextStringObject(tooltip)
        annotation = writer.add_annotation(0, widget)
        refs.append(annotation.indirect_reference)
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): refs})
    writer.write(path)


def test_fillable_form_fields_are_read(tmp_path: Path) -> None:
    path = tmp_path / "可填写表单.pdf"
    text_fields: list[tuple[str, str, str | None]] = [
        ("编号", "SS-2026-00077", None),
        ("被抽查单位", "烟台某某精密机械有限公司", None),
        ("Text2", "《食盐专营办法》第二十二条", "抽查依据"),  # named by the tooltip only
        ("抽查范围及主要内容", "食盐专营工作检查：相关制度、台账及现场管理情况", None),
        ("姓名1", "王建国", None),
        ("职务1", "科长", None),
        ("执法证号1", "37060120190001", None),
        ("联系电话1", "13805351234", None),
        ("姓名2", "李海燕", None),
        ("职务2", "科员", None),
        ("执法证号2", "37060120200002", None),
        ("联系电话2", "0535-6688123", None),
        ("抽查情况", "经现场检查，企业台账齐全。\n未发现问题。", None),
        ("抽查时间", "2026年3月5日9时30分至11时00分", None),
        ("处理意见和建议", "无", None),
        ("分管领导确认签字", "2026年3月9日", None),
    ]
    _fillable_form(path, text_fields, [("书面检查", False), ("现场检查", True)])
    assert not (PdfReader(path).pages[0].extract_text() or "").strip()  # values only in the fields
    extraction = extract_file(path)
    fields = extraction.fields
    assert fields["inspected_unit"] == "烟台某某精密机械有限公司"
    assert fields["basis"] == "《食盐专营办法》第二十二条"
    assert fields["scope"] == "食盐专营工作检查：相关制度、台账及现场管理情况"
    assert fields["methods"] == ["现场检查"]
    assert fields["inspectors"] == [
        {"name": "王建国", "title": "科长", "licence_no": "37060120190001", "phone": "13805351234"},
        {"name": "李海燕", "title": "科员", "licence_no": "37060120200002", "phone": "0535-6688123"},
    ]
    assert fields["situation"] == "经现场检查，企业台账齐全。\n未发现问题。"
    assert (fields["check_start"], fields["check_end"]) == ("2026-03-05T09:30", "2026-03-05T11:00")
    assert fields["leader_confirmation_date"] == "2026-03-09"
    assert fields["dept_opinion_date"] is None
    assert extraction.case_ref == "SS-2026-00077"
    assert extraction.provenance["basis"].location == "表单域“抽查依据”"


def test_fillable_form_without_known_fields_is_not_a_check_table(tmp_path: Path) -> None:
    path = tmp_path / "其他表单.pdf"
    _fillable_form(path, [("Name", "张三", None), ("Date", "2026-03-05", None)], [])
    error = _refusal(path)
    assert error.code == "FILE_NOT_CHECK_TABLE"


# --------------------------------------------------------------------------------------------------
# Speed


@pytest.mark.libreoffice
def test_report_extraction_speed(corpus: dict[str, Case], capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the median extraction time per page (target: 80 ms on a 2-core machine), wall clock and
    CPU time (the machine may be busy with other work); the speed itself is not asserted."""
    extractor = PdfCheckTableExtractor()
    wall: list[float] = []
    cpu: list[float] = []
    for name in ("两人", "三人-长文本", "六人-英文", "跨页", "无边框", "段落"):
        case = corpus[name]
        pages = len(PdfReader(case.pdf).pages)
        for _ in range(3):
            started, started_cpu = time.perf_counter(), time.process_time()
            extraction = extractor.extract(case.pdf)
            wall.append((time.perf_counter() - started) * 1000 / pages)
            cpu.append((time.process_time() - started_cpu) * 1000 / pages)
            assert extraction.fields["inspected_unit"] == case.fields["inspected_unit"]
    with capsys.disabled():
        print(
            f"\nPDF extraction: median {statistics.median(wall):.1f} ms per page wall clock, "
            f"{statistics.median(cpu):.1f} ms CPU ({len(wall)} runs)"
        )

