"""Tests of the docxtpl templates, the script that builds them and ``pipeline.core.ziputil``."""

from __future__ import annotations

import importlib.util
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate

from pipeline.core.models import CHECK_TABLE_FIELDS, SITE_RECORD_FIELDS
from pipeline.core.ziputil import normalize_zip
from pipeline.documents.render import (
    check_table_context,
    make_jinja_env,
    public_form_context,
    site_record_context,
)

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
CHECK_TABLE = TEMPLATES / "随机抽查事项检查表.docx"
PUBLIC_FORM = TEMPLATES / "公示表.docx"
SITE_RECORD = TEMPLATES / "现场检查笔录.docx"
ALL_TEMPLATES = [CHECK_TABLE, PUBLIC_FORM, SITE_RECORD]
ALL_IDS = ["check_table", "public_form", "site_record"]

CHECK_TABLE_LABELS = (
    "被抽查单位",
    "抽查依据",
    "抽查范围及主要内容",
    "抽查方式",
    "抽查执法人员",
    "姓名",
    "职务",
    "执法证号",
    "联系电话",
    "执法科室意见",
    "分管领导批准签字",
    "抽查执法主体意见",
    "抽查情况（包括发现问题、整改措施等）",
    "抽查时间",
    "处理意见和建议",
    "分管领导确认签字",
    "抽查执法主体盖章",
)
NOTES = (
    "注：1、本检查表由相关抽查监管业务科室、单位牵头填写、报批并存档，如进行查处的要将复印件报送综合科；",
    "2、抽查执法主体是指{{ bureau }}。",
)
PUBLIC_FORM_LABELS = (
    "企业名称",
    "统一社会信用代码",
    "检查实施机关",
    "抽查任务名称",
    "检查抽查日期",
    "抽查检查类型",
)


def _load_build_script() -> ModuleType:
    path = REPO / "scripts" / "build_templates.py"
    spec = importlib.util.spec_from_file_location("build_templates", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_templates", module)
    spec.loader.exec_module(module)
    return module


build_script = _load_build_script()


def _all_paragraphs(doc: DocumentObject) -> Iterator[Paragraph]:
    yield from doc.paragraphs
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                yield from cell.paragraphs


def _cell_texts(doc: DocumentObject) -> set[str]:
    return {cell.text for table in doc.tables for row in table.rows for cell in row.cells}


# --------------------------------------------------------------------------------------------------
# The build script


def test_build_is_reproducible(tmp_path: Path) -> None:
    first = build_script.build_templates(tmp_path / "a")
    second = build_script.build_templates(tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in ALL_TEMPLATES]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_committed_templates_equal_a_fresh_build(tmp_path: Path) -> None:
    for fresh in build_script.build_templates(tmp_path):
        committed = TEMPLATES / fresh.name
        assert committed.read_bytes() == fresh.read_bytes(), (
            f"{committed} 与脚本生成的不一致：请运行 scripts/build_templates.py"
        )


@pytest.mark.parametrize("path", ALL_TEMPLATES, ids=ALL_IDS)
def test_template_zip_is_normalised(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert infos[0].filename == "[Content_Types].xml"
        assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert "docProps/thumbnail.jpeg" not in zf.namelist()
        assert "word/stylesWithEffects.xml" not in zf.namelist()
        core = zf.read("docProps/core.xml").decode()
    assert "2020-07-01T00:00:00Z" in core
    assert "python-docx" not in core


# --------------------------------------------------------------------------------------------------
# Layout and wording


@pytest.mark.parametrize("path", ALL_TEMPLATES, ids=ALL_IDS)
def test_templates_are_a4_portrait(path: Path) -> None:
    doc = Document(str(path))
    for section in doc.sections:
        assert section.page_width is not None and section.page_height is not None
        assert section.page_width.cm == pytest.approx(21.0, abs=0.01)
        assert section.page_height.cm == pytest.approx(29.7, abs=0.01)
        for margin in (section.left_margin, section.right_margin, section.top_margin, section.bottom_margin):
            assert margin is not None and 1.5 <= margin.cm <= 3.0


def test_check_table_carries_the_seed_labels_and_notes() -> None:
    doc = Document(str(CHECK_TABLE))
    assert len(doc.tables) == 2
    cells = _cell_texts(doc)
    for label in CHECK_TABLE_LABELS:
        assert label in cells, label
    paragraphs = [p.text for p in doc.paragraphs]
    for note in NOTES:
        assert note in paragraphs, note
    assert "{{ bureau }}随机抽查事项检查表" in paragraphs
    # The upper half (table 1) is table 1's labels, the lower half table 2's.
    lower = {cell.text for row in doc.tables[1].rows for cell in row.cells}
    assert "抽查执法人员" not in lower
    assert {"抽查时间", "处理意见和建议", "抽查执法主体盖章"} <= lower


def test_check_table_page_two_starts_with_a_page_break() -> None:
    doc = Document(str(CHECK_TABLE))
    body = list(doc.element.body.iterchildren())
    first_table = doc.tables[0]._tbl
    after = body[body.index(first_table) + 1]
    paragraph = Paragraph(after, doc)
    assert paragraph.paragraph_format.page_break_before is True
    assert paragraph.text == "{% if qr_p2 %}{{ qr_p2 }}{% endif %}"


def test_check_table_inspector_label_spans_the_loop_rows() -> None:
    table = Document(str(CHECK_TABLE)).tables[0]
    texts = [[c.text for c in row.cells] for row in table.rows]
    header = next(i for i, row in enumerate(texts) if row[1:] == ["姓名", "职务", "执法证号", "联系电话"])
    assert texts[header + 1][1] == "{%tr for i in inspectors %}"
    assert texts[header + 2][1:] == [
        "{{ loop.index }}.{{ i.name }}",
        "{{ i.title }}",
        "{{ i.licence_no }}",
        "{{ i.phone }}",
    ]
    assert texts[header + 3][1] == "{%tr endfor %}"
    label = table.cell(header, 0)
    assert label.text == "抽查执法人员"
    for row in range(header + 1, header + 4):
        assert table.cell(row, 0)._tc is label._tc


def test_public_form_carries_the_seed_labels() -> None:
    doc = Document(str(PUBLIC_FORM))
    assert [p.text for p in doc.paragraphs if p.text] == ["“双随机、一公开”检查结果公示表"]
    assert len(doc.tables) == 1
    cells = _cell_texts(doc)
    for label in PUBLIC_FORM_LABELS:
        assert label in cells, label
    last = doc.tables[0].rows[-1].cells
    assert len({c._tc for c in last}) == 1, "the result cell spans all four columns"
    assert [p.text for p in last[0].paragraphs] == ["检查抽查结果：", "{{ result }}"]


@pytest.mark.parametrize("path", ALL_TEMPLATES, ids=ALL_IDS)
def test_every_table_cell_has_borders(path: Path) -> None:
    for table in Document(str(path)).tables:
        borders = table._tbl.tblPr.find(qn("w:tblBorders"))
        assert borders is not None
        edges = {child.tag: child.get(qn("w:val")) for child in borders}
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
            assert edges.get(qn(f"w:{edge}")) == "single", edge


@pytest.mark.parametrize("path", ALL_TEMPLATES, ids=ALL_IDS)
def test_east_asian_fonts_are_set(path: Path) -> None:
    doc = Document(str(path))
    defaults = doc.styles.element.find(
        f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}"
    )
    assert defaults is not None and defaults.get(qn("w:eastAsia")) == "宋体"
    runs = [run for paragraph in _all_paragraphs(doc) for run in paragraph.runs]
    assert runs
    for run in runs:
        rfonts = run._r.rPr.rFonts if run._r.rPr is not None else None
        assert rfonts is not None and rfonts.get(qn("w:eastAsia")) in {"宋体", "黑体"}, run.text


@pytest.mark.parametrize("path", ALL_TEMPLATES, ids=ALL_IDS)
def test_titles_are_centred_and_bold(path: Path) -> None:
    doc = Document(str(path))
    titles = [p for p in doc.paragraphs if p.text.endswith(("表", "笔录")) and not p.text.startswith("注")]
    assert len(titles) == 1
    assert titles[0].alignment == 1  # WD_PARAGRAPH_ALIGNMENT.CENTER
    assert all(run.bold for run in titles[0].runs)


@pytest.mark.parametrize("path", ALL_TEMPLATES, ids=ALL_IDS)
def test_every_jinja_tag_sits_in_one_run(path: Path) -> None:
    doc = Document(str(path))
    tags = 0
    for paragraph in _all_paragraphs(doc):
        for run in paragraph.runs:
            text = run.text
            assert text.count("{{") == text.count("}}"), text
            assert text.count("{%") == text.count("%}"), text
            tags += text.count("{{") + text.count("{%")
    assert tags > 5


def test_template_variables_are_exactly_the_context_keys() -> None:
    env = make_jinja_env()
    check_vars = DocxTemplate(str(CHECK_TABLE)).get_undeclared_template_variables(env)
    context = check_table_context(dict.fromkeys(CHECK_TABLE_FIELDS), bureau="局", case_id=None)
    assert check_vars == set(context)
    public_vars = DocxTemplate(str(PUBLIC_FORM)).get_undeclared_template_variables(env)
    public = public_form_context(
        unit_name="", uscc="", authority="", task_name="", check_date="", check_type="", result=""
    )
    assert public_vars == set(public)
    site_vars = DocxTemplate(str(SITE_RECORD)).get_undeclared_template_variables(env)
    assert site_vars == set(site_record_context(dict.fromkeys(SITE_RECORD_FIELDS), bureau="局", case_id=None))


# --------------------------------------------------------------------------------------------------
# ziputil


def _write_zip(
    path: Path, members: list[tuple[str, bytes]], date_time: tuple[int, int, int, int, int, int]
) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=1)


def test_normalize_zip_makes_equal_contents_equal_bytes(tmp_path: Path) -> None:
    members = [("word/document.xml", b"<doc/>" * 100), ("[Content_Types].xml", b"<Types/>"), ("a.txt", b"a")]
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    _write_zip(first, members, (2024, 5, 6, 7, 8, 10))
    _write_zip(second, list(reversed(members)), (2025, 1, 2, 3, 4, 6))
    assert first.read_bytes() != second.read_bytes()
    normalize_zip(first)
    normalize_zip(second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        assert zf.namelist() == ["[Content_Types].xml", "a.txt", "word/document.xml"]
        assert zf.testzip() is None
        assert zf.read("word/document.xml") == b"<doc/>" * 100
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in zf.infolist())
    assert not [p for p in tmp_path.iterdir() if re.search(r"\.tmp$", p.name)]


def test_normalize_zip_stores_mimetype_first(tmp_path: Path) -> None:
    path = tmp_path / "doc.odt"
    _write_zip(
        path,
        [("content.xml", b"<x/>"), ("mimetype", b"application/vnd.oasis.opendocument.text")],
        (2024, 1, 1, 0, 0, 0),
    )
    normalize_zip(path)
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
    assert first.filename == "mimetype"
    assert first.compress_type == zipfile.ZIP_STORED
