"""Tests of the 现场检查笔录: its template, rendering, the extractor and the registry's form order.

Records are rendered from the committed template (and then edited the way staff edit them) and
read back through ``pipeline.extract.extract_file``, as the pipeline does.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
import zxingcpp
from PIL import Image

from pipeline.core.errors import InputFileError
from pipeline.core.models import SITE_RECORD_FIELDS, SITE_RECORD_LABELS, Extraction
from pipeline.core.settings import Settings
from pipeline.core.text import label_key
from pipeline.documents.render import (
    BLANK_DATE,
    SITE_RECORD_TEMPLATE,
    QrImage,
    inspectors_text,
    qr_payload,
    render_check_table,
    render_site_record,
    site_record_context,
)
from pipeline.extract import extract_file, registry
from pipeline.extract.docx_check_table import DocxCheckTableExtractor
from pipeline.extract.site_record import NOT_SITE_RECORD_CODE, DocxSiteRecordExtractor
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors, site_record_fields
from tests.conftest import Samples, process_json
from tests.system_deps import require_soffice
from tests.test_templates import build_script

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
TEMPLATE = TEMPLATES / SITE_RECORD_TEMPLATE
BUREAU = "烟台市工业和信息化局"
START = dt.datetime(2026, 11, 9, 9, 30)

# The labels printed in the record's first column, in form order.
PRINTED_LABELS = (
    "检查时间",
    "检查地点",
    "被检查单位",
    "法定代表人或负责人",
    "检查人员及执法证号",
    "检查情况",
    "当事人签字（盖章）",
    "未签字（盖章）原因",
    "见证人签字",
    "检查人员签字",
)


def _sample(*, refused: bool = False, inspectors: int = 2, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    company = make_companies(rng, 1)[0]
    people = make_inspectors(rng, inspectors)
    return site_record_fields(rng, company, people, START, refused=refused)


def _render(
    tmp_path: Path, fields: dict[str, Any], name: str = "笔录.docx", case_id: str | None = None
) -> Path:
    out = tmp_path / name
    render_site_record(fields, out, template_dir=TEMPLATES, bureau=BUREAU, case_id=case_id)
    return out


def _value_cell(path: Path, label: str) -> tuple[docx.document.Document, Any]:
    """The document and the value cell right of ``label`` (edit it, then save the document)."""
    document = docx.Document(str(path))
    for row in document.tables[0].rows:
        if label_key(row.cells[0].text) == label_key(label):
            return document, row.cells[1]
    raise AssertionError(label)


def _set_value(path: Path, label: str, text: str) -> None:
    document, cell = _value_cell(path, label)
    for paragraph in cell.paragraphs[1:]:
        paragraph._p.getparent().remove(paragraph._p)
    cell.paragraphs[0].text = text
    document.save(str(path))


def _extract(path: Path) -> Extraction:
    return extract_file(path, display_name=path.name)


# --------------------------------------------------------------------------------------------------
# The template


def test_template_is_reproducible_and_committed(tmp_path: Path) -> None:
    first, second = tmp_path / "a.docx", tmp_path / "b.docx"
    for path in (first, second):
        build_script.build_site_record(path)
        build_script.normalize_zip(path)
    assert first.read_bytes() == second.read_bytes()
    assert TEMPLATE.read_bytes() == first.read_bytes(), "请运行 scripts/build_templates.py"


def test_template_carries_every_label_in_order() -> None:
    document = docx.Document(str(TEMPLATE))
    assert len(document.tables) == 1
    rows = document.tables[0].rows
    assert [label_key(row.cells[0].text) for row in rows] == [label_key(label) for label in PRINTED_LABELS]
    assert all(len({c._tc for c in row.cells[1:]}) == 1 for row in rows), "one value cell a row"
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[:3] == [
        "{% if qr_p1 %}{{ qr_p1 }}{% endif %}",
        "{% if case_id %}编号：{{ case_id }}{% endif %}",
        "{{ bureau }}现场检查笔录",
    ]
    # Every field has a Chinese label, and the printed labels name every field's row.
    assert set(SITE_RECORD_LABELS) == set(SITE_RECORD_FIELDS)
    for key, label in SITE_RECORD_LABELS.items():
        assert any(label_key(p) in label_key(label) for p in PRINTED_LABELS), key


# --------------------------------------------------------------------------------------------------
# Rendering


def test_context_pads_inspectors_and_blanks_none() -> None:
    context = site_record_context({"party_signed": None}, bureau=BUREAU, case_id=None)
    assert context["qr_p1"] == "" and context["case_id"] == ""
    assert context["party_signed"] is False
    assert context["place"] == "" and context["check_start"] is None
    assert context["inspectors_text"] == "\n".join(["　　　　（执法证号：　　　　　　　　）"] * 2)
    with_case = site_record_context({}, bureau=BUREAU, case_id="SS-2026-00001")
    assert with_case["qr_p1"] == QrImage(qr_payload("SS-2026-00001", "site_record", 1))
    three = [
        {"name": "张三", "licence_no": "37060120190001"},
        {"name": "李四", "licence_no": None},
        {"name": "王五"},
    ]
    assert inspectors_text(three) == (
        "张三（执法证号：37060120190001）\n李四（执法证号：　　　　　　　　）\n王五（执法证号：　　　　　　　　）"
    )


def test_rendered_record_shows_the_values(tmp_path: Path) -> None:
    fields = _sample()
    path = _render(tmp_path, fields, case_id="SS-2026-00001")
    document = docx.Document(str(path))
    cells = {label_key(row.cells[0].text): row.cells[1].text for row in document.tables[0].rows}
    assert cells[label_key("检查时间")].startswith("2026年11月9日9时30分至")
    assert cells[label_key("被检查单位")] == fields["inspected_unit"]
    people = fields["inspectors"]
    assert cells[label_key("检查人员及执法证号")] == "\n".join(
        f"{p['name']}（执法证号：{p['licence_no']}）" for p in people
    )
    assert cells[label_key("当事人签字（盖章）")] == "已签字\n2026年11月9日"
    assert cells[label_key("见证人签字")] == "\n" + BLANK_DATE
    assert f"{BUREAU}现场检查笔录" in [p.text for p in document.paragraphs]
    assert "编号：SS-2026-00001" in [p.text for p in document.paragraphs]
    with zipfile.ZipFile(path) as zf:
        media = [zf.read(n) for n in zf.namelist() if n.startswith("word/media/")]
    assert len(media) == 1
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(media[0])))]
    assert decoded == ["SHUANGSUI:1;CASE=SS-2026-00001;FORM=site_record;PAGE=1"]


# --------------------------------------------------------------------------------------------------
# Extraction of rendered records


@pytest.mark.parametrize("refused", [False, True], ids=["signed", "refused"])
def test_rendered_record_extracts_field_exact(tmp_path: Path, refused: bool) -> None:
    fields = _sample(refused=refused, inspectors=3)
    path = _render(tmp_path, fields, case_id="SS-2026-00042")
    extraction = _extract(path)
    assert extraction.form == "site_record"
    assert list(extraction.fields) == list(SITE_RECORD_FIELDS)
    assert extraction.fields == fields
    assert extraction.case_ref == "SS-2026-00042"
    assert extraction.warnings == ()
    found = {k for k, v in fields.items() if v is not None}
    assert set(extraction.provenance) == found
    assert extraction.provenance["place"].location == "表1 第2行 第2列"
    assert extraction.provenance["witness" if refused else "party_sign_date"].confidence == 1.0
    if refused:
        assert extraction.fields["party_signed"] is False
        assert extraction.fields["refusal_reason"] and extraction.fields["witness"]


def test_blank_record_extracts_as_empty(tmp_path: Path) -> None:
    extraction = _extract(_render(tmp_path, {}))
    assert extraction.form == "site_record"
    assert extraction.fields == {**dict.fromkeys(SITE_RECORD_FIELDS), "inspectors": [], "party_signed": False}
    assert extraction.warnings == ()


@pytest.mark.parametrize(
    ("text", "signed", "date"),
    [
        ("刘磊\n2026年11月9日", True, "2026-11-09"),
        ("已盖章", True, None),
        ("（盖章）　　年　　月　　日", False, None),
        ("当事人拒绝签字", False, None),
        ("", False, None),
    ],
)
def test_party_signature_box(tmp_path: Path, text: str, signed: bool, date: str | None) -> None:
    path = _render(tmp_path, _sample())
    _set_value(path, "当事人签字（盖章）", text)
    fields = _extract(path).fields
    assert (fields["party_signed"], fields["party_sign_date"]) == (signed, date)


def test_inspectors_written_by_hand(tmp_path: Path) -> None:
    path = _render(tmp_path, _sample())
    _set_value(
        path, "检查人员及执法证号", "1.张三（证号：3706 0120 1900 01）；2、李四 37060120200002\n王五、赵六"
    )
    extraction = _extract(path)
    assert extraction.fields["inspectors"] == [
        {"name": "张三", "licence_no": "37060120190001"},
        {"name": "李四", "licence_no": "37060120200002"},
        {"name": "王五", "licence_no": None},
        {"name": "赵六", "licence_no": None},
    ]
    assert any("未写明执法证号" in w for w in extraction.warnings)
    assert extraction.provenance["inspectors"].confidence == 0.5


def test_value_written_in_the_label_cell(tmp_path: Path) -> None:
    """Staff merge a row into one cell and write ``检查地点：…`` in it."""
    path = _render(tmp_path, _sample())
    document = docx.Document(str(path))
    row = document.tables[0].rows[1]
    merged = row.cells[0].merge(row.cells[1])
    for paragraph in merged.paragraphs[1:]:
        paragraph._p.getparent().remove(paragraph._p)
    merged.paragraphs[0].text = "检查地点：烟台市莱山区观海路8号"
    document.save(str(path))
    extraction = _extract(path)
    assert extraction.fields["place"] == "烟台市莱山区观海路8号"
    assert extraction.provenance["place"].confidence == 0.7


def test_unreadable_time_and_missing_row_are_warned(tmp_path: Path) -> None:
    path = _render(tmp_path, _sample())
    _set_value(path, "检查时间", "2026年11月9日上午")
    document = docx.Document(str(path))
    table = document.tables[0]
    witness = next(row for row in table.rows if row.cells[0].text == "见证人签字")
    table._tbl.remove(witness._tr)
    document.save(str(path))
    extraction = _extract(path)
    assert extraction.fields["check_start"] == "2026-11-09T00:00"
    assert extraction.fields["check_end"] is None
    assert extraction.provenance["check_start"].confidence == 0.5
    assert any("检查时间" in w and "缺少结束时间" in w for w in extraction.warnings)
    assert "未找到“见证人签字”栏目。请使用局统一的现场检查笔录模板填写。" in extraction.warnings


# --------------------------------------------------------------------------------------------------
# Which form is which


def _check_table(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    rng = random.Random(11)
    fields = check_table_fields(rng, make_companies(rng, 1)[0], make_inspectors(rng, 2), START)
    path = tmp_path / "检查表.docx"
    render_check_table(fields, path, template_dir=TEMPLATES, bureau=BUREAU, case_id=None)
    return path, fields


def test_forms_are_told_apart_through_extract_file(tmp_path: Path) -> None:
    check_path, check_fields = _check_table(tmp_path)
    record_fields = _sample()
    record_path = _render(tmp_path, record_fields)

    check = _extract(check_path)
    assert check.form == "check_table"
    assert check.fields == check_fields
    record = _extract(record_path)
    assert record.form == "site_record"
    assert record.fields == record_fields

    with pytest.raises(InputFileError) as not_check:
        DocxCheckTableExtractor().extract(record_path)
    assert not_check.value.code == "FILE_NOT_CHECK_TABLE"
    with pytest.raises(InputFileError) as not_record:
        DocxSiteRecordExtractor().extract(check_path)
    assert not_record.value.code == NOT_SITE_RECORD_CODE


def test_neither_form_raises_the_first_extractors_error(tmp_path: Path) -> None:
    path = tmp_path / "通知.docx"
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    for cell, text in zip(table._cells, ("会议时间", "2026年11月9日", "地点", "三楼会议室"), strict=True):
        cell.text = text
    document.save(str(path))
    with pytest.raises(InputFileError) as info:
        _extract(path)
    assert info.value.code == "FILE_NOT_CHECK_TABLE"
    assert "随机抽查事项检查表" in info.value.message


class _Fake:
    """A stand-in extractor: returns its form, or raises the error it was given."""

    kinds = frozenset({"fake"})

    def __init__(self, name: str, error: InputFileError | None = None) -> None:
        self.name = name
        self.error = error
        self.calls = 0

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return Extraction(form=self.name, fields={})


def test_registry_tries_extractors_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "detect_kind", lambda path: "fake")
    path = tmp_path / "x.bin"
    path.write_bytes(b"x")
    not_a = _Fake("a", InputFileError("不是甲", code="FILE_NOT_CHECK_TABLE"))
    not_b = _Fake("b", InputFileError("不是乙", code=NOT_SITE_RECORD_CODE))
    broken = _Fake("c", InputFileError("坏了", code="FILE_UNREADABLE"))
    reader = _Fake("d")
    fakes = registry.Registry()
    for extractor in (not_a, not_b, not_a):
        fakes.register(extractor)
    assert fakes.get_extractors("fake") == (not_a, not_b)  # registered once, in order
    with pytest.raises(InputFileError, match="不是甲"):
        fakes.extract_file(path)
    fakes.register(reader)
    assert fakes.extract_file(path).form == "d"
    assert fakes.get_extractor("fake") is not_a

    fakes = registry.Registry()
    for extractor in (broken, reader):
        fakes.register(extractor)
    with pytest.raises(InputFileError, match="坏了"):  # not a "not my form" error: no fallback
        fakes.extract_file(path)
    assert reader.calls == 1


@pytest.mark.parametrize("kind", ["docx", "xlsx", "xls", "pdf"])
def test_builtin_extractors_are_check_table_then_site_record(kind: str) -> None:
    # A 行政处罚决定书 (Word and PDF only) is recognised by its title first, so it is never
    # mistaken for a check table.
    forms = [e.name.split("_", 1)[1] for e in registry.get_extractors(kind)]
    forms = [f for f in forms if f != "penalty_decision"] if kind in ("docx", "pdf") else forms
    assert forms[:2] == ["check_table", "site_record"]
    if kind in ("docx", "pdf"):
        assert registry.get_extractors(kind)[0].name.endswith("penalty_decision")


# --------------------------------------------------------------------------------------------------
# Excel, PDF and the pipeline


def test_excel_record_extracts_field_exact(tmp_path: Path) -> None:
    """A record laid out in Excel: a title row, labels in A, values merged over B:D, a real date cell."""
    fields = _sample(refused=True)
    end = dt.datetime.fromisoformat(fields["check_end"])
    values = [
        f"2026年11月9日9时30分至{end.hour}时{end.minute:02d}分",
        fields["place"],
        fields["inspected_unit"],
        fields["legal_rep"],
        inspectors_text(fields["inspectors"]),
        fields["situation"],
        "（盖章）",
        fields["refusal_reason"],
        f"{fields['witness']}\n{BLANK_DATE}",
        dt.datetime(2026, 11, 9),
    ]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "笔录"
    sheet.append([f"{BUREAU}现场检查笔录"])
    sheet.append(["", "", "编号：SS-2026-00009"])
    for label, value in zip(PRINTED_LABELS, values, strict=True):
        sheet.append([label, value])
        sheet.merge_cells(start_row=sheet.max_row, start_column=2, end_row=sheet.max_row, end_column=4)
    sheet.cell(sheet.max_row, 2).number_format = "yyyy年m月d日"
    path = tmp_path / "笔录.xlsx"
    workbook.save(path)
    extraction = _extract(path)
    assert extraction.form == "site_record"
    assert extraction.fields == fields
    assert extraction.case_ref == "SS-2026-00009"
    assert extraction.provenance["place"].location == "笔录!B4"


@pytest.mark.libreoffice
def test_libreoffice_pdf_of_a_record_extracts_field_exact(tmp_path: Path) -> None:
    soffice = require_soffice()
    fields = _sample(refused=True)
    docx_path = _render(tmp_path, fields, case_id="SS-2026-00007")
    check_path, check_fields = _check_table(tmp_path)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(docx_path),
            str(check_path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    extraction = _extract(docx_path.with_suffix(".pdf"))
    assert extraction.form == "site_record"
    assert extraction.fields == fields
    assert extraction.case_ref == "SS-2026-00007"
    assert extraction.provenance["witness"].location.startswith("第1页 表1 ")
    check = _extract(check_path.with_suffix(".pdf"))
    assert check.form == "check_table"
    assert check.fields["inspected_unit"] == check_fields["inspected_unit"]


@pytest.mark.slow
def test_site_record_joins_the_case_of_its_check_table(settings: Settings, samples: Samples) -> None:
    company = samples.companies[0]
    samples.check_table("检查表.docx", company=company)
    rng = random.Random(5)
    fields = site_record_fields(rng, company, samples.people[:2], dt.datetime(2026, 11, 9, 9, 30))
    render_site_record(
        fields,
        settings.inbox / "现场检查笔录.docx",
        template_dir=settings.templates_dir,
        bureau=settings.bureau,
        case_id=None,
    )
    files = {f["name"]: f for f in process_json(settings)}
    record, check = files["现场检查笔录.docx"], files["检查表.docx"]
    assert record["status"] == "accepted", record
    assert record["case"] == check["case"] is not None
    assert not (settings.inbox / "现场检查笔录.docx").exists()
