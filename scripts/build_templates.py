"""Build the docxtpl templates in ``templates/`` with python-docx, reproducibly.

Run ``.venv/bin/python scripts/build_templates.py`` (or ``make templates``) after changing this file.
The layouts follow the bureau's forms in the seed (细则 第十一条《随机抽查事项检查表》 and 第十三条
《“双随机、一公开”检查结果公示表》); the labels keep the seed's wording exactly. The seed prints no
form for the 现场检查笔录 of 第十条; its template holds what that article asks for (the inspectors and
their certificates, the party's signature or seal, the reason when there is none, a witness).

Every Jinja tag is written as one run so that Word never splits it across runs. The output is
byte-for-byte reproducible: fixed core properties, and ``pipeline.core.ziputil.normalize_zip`` fixes the
zip timestamps and member order.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_PARAGRAPH_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.text.font import CT_RPr
from docx.shared import Cm, Length, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from pipeline.core.ziputil import normalize_zip
from pipeline.documents.render import BLANK_DATE
from pipeline.documents.tables import fixed_table

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "templates"

CHECK_TABLE_NAME = "随机抽查事项检查表.docx"
PUBLIC_FORM_NAME = "公示表.docx"
SITE_RECORD_NAME = "现场检查笔录.docx"

BODY_FONT = "宋体"  # body text of official forms
TITLE_FONT = "黑体"  # present on every Chinese Windows; 方正小标宋 is not
LATIN_FONT = "Times New Roman"
TITLE_SIZE = Pt(18)  # 小二
BODY_SIZE = Pt(12)  # 小四
NUMBER_SIZE = Pt(10.5)  # 五号: a certificate or phone number fits its column on one line

# A4 portrait, margins leaving a 16.0 cm wide text area.
PAGE_WIDTH = Cm(21.0)
PAGE_HEIGHT = Cm(29.7)
MARGIN_TOP = Cm(2.0)
MARGIN_BOTTOM = Cm(1.8)
MARGIN_SIDE = Cm(2.5)

# Fixed core properties, so that every build gives the same bytes.
FIXED_TIME = dt.datetime(2020, 7, 1, 0, 0, 0)  # the 细则's date of effect
AUTHOR = "shuangsui"

RT_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"

LEFT = WD_PARAGRAPH_ALIGNMENT.LEFT
CENTER = WD_PARAGRAPH_ALIGNMENT.CENTER
RIGHT = WD_PARAGRAPH_ALIGNMENT.RIGHT
V_TOP = WD_CELL_VERTICAL_ALIGNMENT.TOP
V_CENTER = WD_CELL_VERTICAL_ALIGNMENT.CENTER
V_BOTTOM = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM

# Elements of ``w:tblPr`` that the schema places after ``w:tblBorders``.
_TBLPR_AFTER_BORDERS = (
    "w:shd",
    "w:tblLayout",
    "w:tblCellMar",
    "w:tblLook",
    "w:tblCaption",
    "w:tblDescription",
)


@dataclass(frozen=True)
class Line:
    """One paragraph of a cell: its text (one run), alignment and size."""

    text: str
    align: WD_PARAGRAPH_ALIGNMENT = LEFT
    size: Length = BODY_SIZE


# --------------------------------------------------------------------------------------------------
# Document-wide settings


def _set_run_fonts(rpr: CT_RPr, east_asia: str) -> None:
    """Set Latin and East Asian fonts on a ``w:rPr`` (of a run, a style or the document defaults)."""
    rfonts = rpr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:ascii"), LATIN_FONT)
    rfonts.set(qn("w:hAnsi"), LATIN_FONT)
    rfonts.set(qn("w:cs"), LATIN_FONT)
    rfonts.set(qn("w:eastAsia"), east_asia)


def _new_document(title: str) -> DocumentObject:
    """An empty A4 document with Chinese defaults and fixed core properties."""
    doc = Document()

    # python-docx's default package carries a thumbnail of an unrelated document, and a Word 2010
    # copy of the styles (stylesWithEffects, 440 kB) that every rendered form would repeat: drop both.
    for rels, reltype in ((doc.part.package.rels, RT.THUMBNAIL), (doc.part.rels, RT_STYLES_WITH_EFFECTS)):
        for r_id in [r_id for r_id, rel in rels.items() if rel.reltype == reltype]:
            del rels[r_id]

    # Document defaults (docDefaults): 宋体 小四, single spacing, no space after, Chinese language.
    doc_defaults = doc.styles.element.find(qn("w:docDefaults"))
    assert doc_defaults is not None
    rpr = doc_defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
    assert isinstance(rpr, CT_RPr)
    _set_run_fonts(rpr, BODY_FONT)
    for tag in ("w:sz", "w:szCs"):
        el = rpr.find(qn(tag))
        if el is not None:
            el.set(qn("w:val"), str(int(BODY_SIZE.pt * 2)))
    lang = rpr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")
    spacing = doc_defaults.find(f"{qn('w:pPrDefault')}/{qn('w:pPr')}/{qn('w:spacing')}")
    if spacing is not None:
        spacing.set(qn("w:after"), "0")
        spacing.set(qn("w:line"), "240")
        spacing.set(qn("w:lineRule"), "auto")

    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = BODY_SIZE
    _set_run_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0

    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width = PAGE_WIDTH
    section.page_height = PAGE_HEIGHT
    section.top_margin = MARGIN_TOP
    section.bottom_margin = MARGIN_BOTTOM
    section.left_margin = MARGIN_SIDE
    section.right_margin = MARGIN_SIDE
    section.header_distance = Cm(1.0)
    section.footer_distance = Cm(1.0)

    props = doc.core_properties
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.title = title
    props.subject = "双随机、一公开"
    props.comments = "由 scripts/build_templates.py 生成，请勿手工修改。"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.last_printed = FIXED_TIME
    props.revision = 1
    return doc


# --------------------------------------------------------------------------------------------------
# Paragraphs and runs


def _add_run(
    paragraph: Paragraph,
    text: str,
    *,
    bold: bool = False,
    size: Length = BODY_SIZE,
    east_asia: str = BODY_FONT,
) -> None:
    """Add ``text`` as ONE run (a Jinja tag must never be split) with the East Asian font set."""
    run = paragraph.add_run(text)
    run.bold = True if bold else None  # inherit, rather than an explicit "not bold"
    run.font.size = size
    run.font.name = LATIN_FONT
    _set_run_fonts(run.element.get_or_add_rPr(), east_asia)


def _paragraph(
    doc: DocumentObject,
    text: str,
    *,
    align: WD_PARAGRAPH_ALIGNMENT = LEFT,
    bold: bool = False,
    size: Length = BODY_SIZE,
    east_asia: str = BODY_FONT,
) -> Paragraph:
    paragraph = doc.add_paragraph()
    paragraph.alignment = align
    if text:
        _add_run(paragraph, text, bold=bold, size=size, east_asia=east_asia)
    return paragraph


def _title(doc: DocumentObject, text: str) -> Paragraph:
    paragraph = _paragraph(doc, text, align=CENTER, bold=True, size=TITLE_SIZE, east_asia=TITLE_FONT)
    paragraph.paragraph_format.space_before = Pt(6)
    paragraph.paragraph_format.space_after = Pt(12)
    return paragraph


# --------------------------------------------------------------------------------------------------
# Tables


def _set_borders(table: Table) -> None:
    """Single 0.5 pt borders around and between all cells (not only through the table style)."""
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), "4")
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)
    successor = next(
        (tbl_pr.find(qn(tag)) for tag in _TBLPR_AFTER_BORDERS if tbl_pr.find(qn(tag)) is not None), None
    )
    if successor is not None:
        successor.addprevious(borders)
    else:
        tbl_pr.append(borders)


def _table(doc: DocumentObject, rows: int, widths: Sequence[Length]) -> Table:
    """A bordered, centred, fixed-layout table with the given column widths."""
    table = fixed_table(doc, rows, widths)
    _set_borders(table)
    return table


def _row_height(table: Table, row: int, height: Length) -> None:
    table.rows[row].height = height
    table.rows[row].height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST


def _fill(cell: _Cell, lines: list[Line], *, v_align: WD_CELL_VERTICAL_ALIGNMENT = V_CENTER) -> None:
    """Write ``lines`` into ``cell`` (which must still be empty), one paragraph and one run each."""
    cell.vertical_alignment = v_align
    for i, line in enumerate(lines):
        paragraph = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        paragraph.alignment = line.align
        if line.text:
            _add_run(paragraph, line.text, size=line.size)


def _label(cell: _Cell, text: str) -> None:
    _fill(cell, [Line(text, CENTER)])


def _labelled_row(
    table: Table, row: int, label: str, lines: list[Line], *, v_align: WD_CELL_VERTICAL_ALIGNMENT = V_CENTER
) -> None:
    """A label in the first column and a value cell merged over all other columns."""
    cells = table.rows[row].cells
    value = cells[1].merge(cells[-1]) if len(cells) > 2 else cells[1]
    _label(cells[0], label)
    _fill(value, lines, v_align=v_align)


# --------------------------------------------------------------------------------------------------
# The forms


def build_check_table(path: Path) -> None:
    """《随机抽查事项检查表》: table 1 filled before the check, page 2 (table 2) after it."""
    doc = _new_document("随机抽查事项检查表")

    _paragraph(doc, "{% if qr_p1 %}{{ qr_p1 }}{% endif %}", align=RIGHT)
    _paragraph(doc, "{% if case_id %}编号：{{ case_id }}{% endif %}", align=RIGHT)
    _title(doc, "{{ bureau }}随机抽查事项检查表")

    # Label column (six characters a line) + 姓名 | 职务 | 执法证号 | 联系电话; 16.0 cm in all. The number
    # columns hold 19 digits (执法证号) and 0535-12345678-123 (联系电话) in 五号 on one line, 职务 four
    # characters a line: a number broken in two is misread when the form is checked or typed in again.
    widths = [Cm(3.0), Cm(2.5), Cm(2.2), Cm(4.5), Cm(3.8)]
    t1 = _table(doc, rows=11, widths=widths)
    _labelled_row(t1, 0, "被抽查单位", [Line("{{ inspected_unit }}")])
    _labelled_row(t1, 1, "抽查依据", [Line("{{ basis }}")])
    _labelled_row(t1, 2, "抽查范围及主要内容", [Line("{{ scope }}")])
    _labelled_row(t1, 3, "抽查方式", [Line("{{ methods_text }}")])
    for row, height in ((0, Cm(1.2)), (1, Cm(1.8)), (2, Cm(2.4)), (3, Cm(1.2)), (4, Cm(0.9))):
        _row_height(t1, row, height)

    # 抽查执法人员: the label cell spans the header row, the loop's rows and the repeated row; the
    # repeated row's first cell keeps ``vMerge`` (continue), so every rendered row joins the merge.
    inspectors = t1.cell(4, 0).merge(t1.cell(7, 0))
    _label(inspectors, "抽查执法人员")
    header = t1.rows[4].cells
    for cell, text in zip(header[1:], ("姓名", "职务", "执法证号", "联系电话"), strict=True):
        _label(cell, text)
    _fill(t1.cell(5, 1).merge(t1.cell(5, 4)), [Line("{%tr for i in inspectors %}")])
    repeated = t1.rows[6].cells
    _fill(repeated[1], [Line("{{ loop.index }}.{{ i.name }}")])
    _fill(repeated[2], [Line("{{ i.title }}", CENTER)])
    _fill(repeated[3], [Line("{{ i.licence_no }}", CENTER, NUMBER_SIZE)])
    _fill(repeated[4], [Line("{{ i.phone }}", CENTER, NUMBER_SIZE)])
    _row_height(t1, 6, Cm(0.9))
    _fill(t1.cell(7, 1).merge(t1.cell(7, 4)), [Line("{%tr endfor %}")])

    _labelled_row(
        t1,
        8,
        "执法科室意见",
        [Line("{{ dept_opinion }}"), Line("（盖章）{{ dept_opinion_date|cn_date }}", RIGHT)],
        v_align=V_BOTTOM,
    )
    _labelled_row(
        t1, 9, "分管领导批准签字", [Line("{{ leader_approval_date|cn_date }}", RIGHT)], v_align=V_BOTTOM
    )
    _labelled_row(
        t1,
        10,
        "抽查执法主体意见",
        [Line("{{ authority_opinion }}"), Line("（盖章）{{ authority_opinion_date|cn_date }}", RIGHT)],
        v_align=V_BOTTOM,
    )
    for row in (8, 9, 10):
        _row_height(t1, row, Cm(3.0))  # room for a seal

    # Page 2: filled after the check.
    qr_p2 = _paragraph(doc, "{% if qr_p2 %}{{ qr_p2 }}{% endif %}", align=RIGHT)
    qr_p2.paragraph_format.page_break_before = True
    _paragraph(doc, "")

    t2 = _table(doc, rows=5, widths=[Cm(3.0), Cm(13.0)])
    _labelled_row(t2, 0, "抽查情况（包括发现问题、整改措施等）", [Line("{{ situation }}")], v_align=V_TOP)
    _labelled_row(t2, 1, "抽查时间", [Line("{{ check_start|cn_period(check_end) }}", CENTER)])
    _labelled_row(t2, 2, "处理意见和建议", [Line("{{ handling }}")], v_align=V_TOP)
    _labelled_row(
        t2, 3, "分管领导确认签字", [Line("{{ leader_confirmation_date|cn_date }}", RIGHT)], v_align=V_BOTTOM
    )
    _labelled_row(
        t2,
        4,
        "抽查执法主体盖章",
        [Line("（盖章）{{ authority_seal_date|cn_date }}", RIGHT)],
        v_align=V_BOTTOM,
    )
    for row, height in ((0, Cm(7.5)), (1, Cm(1.2)), (2, Cm(4.5)), (3, Cm(2.8)), (4, Cm(3.0))):
        _row_height(t2, row, height)

    note1 = _paragraph(
        doc,
        "注：1、本检查表由相关抽查监管业务科室、单位牵头填写、报批并存档，如进行查处的要将复印件报送综合科；",
    )
    note1.paragraph_format.space_before = Pt(6)
    note1.paragraph_format.left_indent = Pt(24)  # wrapped lines align under “1、”
    note1.paragraph_format.first_line_indent = Pt(-24)
    note2 = _paragraph(doc, "2、抽查执法主体是指{{ bureau }}。")
    note2.paragraph_format.left_indent = Pt(24)

    doc.save(str(path))


def build_public_form(path: Path) -> None:
    """《“双随机、一公开”检查结果公示表》 (细则 第十三条)."""
    doc = _new_document("“双随机、一公开”检查结果公示表")
    _title(doc, "“双随机、一公开”检查结果公示表")

    # The right label column holds four characters a line, so that 统一社会信用代码 wraps as in the
    # seed (统一社会 / 信用代码); the left one holds 检查实施机关 on one line.
    table = _table(doc, rows=4, widths=[Cm(3.1), Cm(4.9), Cm(2.4), Cm(5.6)])
    rows = (
        ("企业名称", "{{ unit_name }}", "统一社会信用代码", "{{ uscc }}"),
        ("检查实施机关", "{{ authority }}", "抽查任务名称", "{{ task_name }}"),
        ("检查抽查日期", "{{ check_date }}", "抽查检查类型", "{{ check_type }}"),
    )
    for r, (label1, value1, label2, value2) in enumerate(rows):
        cells = table.rows[r].cells
        _label(cells[0], label1)
        _fill(cells[1], [Line(value1)])
        _label(cells[2], label2)
        _fill(cells[3], [Line(value2)])
        _row_height(table, r, Cm(1.6))
    result = table.cell(3, 0).merge(table.cell(3, 3))
    _fill(result, [Line("检查抽查结果："), Line("{{ result }}")], v_align=V_TOP)
    _row_height(table, 3, Cm(12.0))

    doc.save(str(path))


def build_site_record(path: Path) -> None:
    """《现场检查笔录》 (细则 第十条): one page, one label | value table.

    Labels longer than the label column are broken by hand (one paragraph each) where a reader
    expects it, rather than wherever the column ends.
    """
    doc = _new_document("现场检查笔录")

    _paragraph(doc, "{% if qr_p1 %}{{ qr_p1 }}{% endif %}", align=RIGHT)
    _paragraph(doc, "{% if case_id %}编号：{{ case_id }}{% endif %}", align=RIGHT)
    _title(doc, "{{ bureau }}现场检查笔录")

    # label | value; the label column holds 未签字（盖章） (seven characters) on one line.
    table = _table(doc, rows=10, widths=[Cm(3.5), Cm(12.5)])
    rows: tuple[tuple[tuple[str, ...], list[Line], WD_CELL_VERTICAL_ALIGNMENT, float], ...] = (
        (("检查时间",), [Line("{{ check_start|cn_period(check_end) }}")], V_CENTER, 1.0),
        (("检查地点",), [Line("{{ place }}")], V_CENTER, 1.0),
        (("被检查单位",), [Line("{{ inspected_unit }}")], V_CENTER, 1.0),
        (("法定代表人", "或负责人"), [Line("{{ legal_rep }}")], V_CENTER, 1.1),
        (("检查人员及", "执法证号"), [Line("{{ inspectors_text }}")], V_CENTER, 1.6),
        (("检查情况",), [Line("{{ situation }}")], V_TOP, 5.6),
        (
            ("当事人签字", "（盖章）"),
            [Line("{% if party_signed %}已签字{% endif %}"), Line("{{ party_sign_date|cn_date }}", RIGHT)],
            V_BOTTOM,
            2.6,
        ),
        (("未签字（盖章）", "原因"), [Line("{{ refusal_reason }}")], V_TOP, 1.5),
        (("见证人签字",), [Line("{{ witness }}"), Line(BLANK_DATE, RIGHT)], V_BOTTOM, 1.6),
        (("检查人员签字",), [Line(""), Line("{{ inspector_sign_date|cn_date }}", RIGHT)], V_BOTTOM, 2.0),
    )
    for row, (label, lines, v_align, height) in enumerate(rows):
        cells = table.rows[row].cells
        _fill(cells[0], [Line(part, CENTER) for part in label])
        _fill(cells[1], lines, v_align=v_align)
        _row_height(table, row, Cm(height))

    note = _paragraph(
        doc,
        "注：本笔录应由被检查单位法定代表人、负责人或其指定人员签字或者盖章确认；无法取得签字或者盖章的，"
        "检查人员应当注明原因，必要时可邀请相关人员签字见证。",
    )
    note.paragraph_format.space_before = Pt(6)
    note.paragraph_format.left_indent = Pt(24)  # wrapped lines align under the text after “注：”
    note.paragraph_format.first_line_indent = Pt(-24)

    doc.save(str(path))


def build_templates(out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """Build every template into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    built = []
    forms = (
        (CHECK_TABLE_NAME, build_check_table),
        (PUBLIC_FORM_NAME, build_public_form),
        (SITE_RECORD_NAME, build_site_record),
    )
    for name, build in forms:
        path = out_dir / name
        build(path)
        normalize_zip(path)
        built.append(path)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="生成 templates/ 中的 docxtpl 模板。")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="输出目录（默认 templates/）")
    parser.add_argument("--no-geometry", action="store_true", help="不生成版面文件（*.geometry.json，需要 LibreOffice）")
    args = parser.parse_args(argv)
    for path in build_templates(args.out_dir):
        print(f"已生成 {path}")
    if not args.no_geometry:
        for path in build_geometry(args.out_dir):
            print(f"已生成 {path}")
    return 0


def build_geometry(out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """Write ``<form>.geometry.json`` beside the check table and the 现场检查笔录 (the boxes' places,
    read from a LibreOffice PDF of each template; used to read signed scans)."""
    import tempfile

    from pipeline.documents.libreoffice import Converter
    from pipeline.scan.geometry import build_geometry_files

    with tempfile.TemporaryDirectory(prefix="shuangsui-geometry-") as tmp, Converter() as converter:
        return build_geometry_files(out_dir, converter, Path(tmp))


if __name__ == "__main__":
    raise SystemExit(main())
