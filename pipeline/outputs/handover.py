"""移交清单.docx: the paper the inspecting sections and 综合科 sign when a bundle changes hands.

An A4 page in the look of the bureau's forms: a 黑体 title, who hands over what to whom for which period, a table of
the files with fixed column widths (a file's name wraps between its parts, a count never), the notes, then a
bordered block with a seal area for each side and the 移交人/接收人 signature and date lines under it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import docx
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.text.font import CT_RPr
from docx.shared import Cm, Length, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from pipeline.core.ziputil import normalize_zip
from pipeline.documents.tables import fixed_table

TITLE = "“双随机、一公开”材料移交清单"
HEADER = ("序号", "文件", "数量/页数", "说明")
# 16.0 cm of text width on A4 with 2.5 cm margins.
COLUMNS = (Cm(1.2), Cm(7.4), Cm(2.3), Cm(5.1))
TABLE_SIZE = Pt(10.5)  # 五号, as in the bureau's tables
ROW_HEIGHT = Cm(0.8)  # at least: room to tick a row off by hand
SIDES = (Cm(8.0), Cm(8.0))
SEAL_HEIGHT = Cm(5.0)  # an official seal is 4.2 cm across
BODY_FONT, TITLE_FONT = "宋体", "黑体"
DATE_BLANK = "　　　　年　　月　　日"


@dataclass(frozen=True)
class HandoverItem:
    """One row of the list: the file's path in the bundle, its count (``3 页``, ``1 份``, ``2 条``) and what it is."""

    name: str
    count: str
    note: str


def write_handover(items: Sequence[HandoverItem], out: Path, *, giver: str, receiver: str, period: str,
                   content: str, notes: Sequence[str], fix_zip: Callable[[str, bytes], bytes] | None = None) -> Path:
    """Write the list to ``out``; ``giver``/``receiver`` name the two sides, ``period`` is the period's label."""
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.0)
    style = document.styles["Normal"]
    style.font.size = Pt(12)
    _fonts(style.element.get_or_add_rPr(), BODY_FONT)

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)
    run = title.add_run(TITLE)
    run.bold = True
    run.font.size = Pt(18)
    _fonts(run.element.get_or_add_rPr(), TITLE_FONT)

    for line in (f"移交单位：{giver}", f"接收单位：{receiver}", f"期　　间：{period}", f"内　　容：{content}"):
        paragraph = document.add_paragraph(line)
        paragraph.paragraph_format.space_after = Pt(3)
        paragraph.paragraph_format.left_indent = Pt(60)  # a wrapped line goes under the text after “内　　容：”
        paragraph.paragraph_format.first_line_indent = Pt(-60)

    table = fixed_table(document, 1 + len(items), COLUMNS)
    for row in table.rows:
        row.height, row.height_rule = ROW_HEIGHT, WD_ROW_HEIGHT_RULE.AT_LEAST
    _header_row(table)
    for n, item in enumerate(items, start=1):
        for cell, text, align in zip(table.rows[n].cells, (str(n), item.name, item.count, item.note),
                                     (WD_ALIGN_PARAGRAPH.CENTER, None, WD_ALIGN_PARAGRAPH.CENTER, None), strict=True):
            _write(cell, text, align, size=TABLE_SIZE)
    for note in notes:
        document.add_paragraph(f"说明：{note}").paragraph_format.space_before = Pt(3)

    document.add_paragraph("").paragraph_format.space_after = Pt(6)
    _signatures(document)

    props = document.core_properties
    props.author = props.last_modified_by = "shuangsui"
    props.title = TITLE
    document.save(str(out))
    normalize_zip(out, fix_zip)
    return out


def _signatures(document: docx.document.Document) -> None:
    """Two sides side by side: the seal area, then the signature and date lines."""
    table = fixed_table(document, 3, SIDES)
    _write(table.rows[0].cells[0], "移交单位（盖章）", WD_ALIGN_PARAGRAPH.CENTER)
    _write(table.rows[0].cells[1], "接收单位（盖章）", WD_ALIGN_PARAGRAPH.CENTER)
    table.rows[1].height, table.rows[1].height_rule = SEAL_HEIGHT, WD_ROW_HEIGHT_RULE.EXACTLY
    for cell, who in zip(table.rows[2].cells, ("移交人", "接收人"), strict=True):
        _write(cell, f"{who}（签字）：", None)
        cell.add_paragraph(f"日期：{DATE_BLANK}").paragraph_format.space_before = Pt(12)
    table.rows[2].height, table.rows[2].height_rule = Cm(2.4), WD_ROW_HEIGHT_RULE.AT_LEAST


def _header_row(table: Table) -> None:
    """Bold headings, repeated at the top of every page the table runs onto."""
    row = table.rows[0]
    header = OxmlElement("w:tblHeader")
    row._tr.get_or_add_trPr().append(header)
    for cell, text in zip(row.cells, HEADER, strict=True):
        _write(cell, text, WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=TABLE_SIZE)


def _write(cell: _Cell, text: str, align: WD_ALIGN_PARAGRAPH | None, *, bold: bool = False,
           size: Length | None = None) -> Paragraph:
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    run = paragraph.add_run(text)
    if bold:
        run.bold = True
    if size is not None:
        run.font.size = size
    return paragraph


def _fonts(rpr: CT_RPr, face: str) -> None:
    # The Latin face too: digits in the family of the Chinese around them.
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), face)
