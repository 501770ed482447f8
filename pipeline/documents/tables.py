"""Tables of fixed column widths in python-docx documents (the forms' templates, the 移交清单).

Word and LibreOffice keep a table's widths only when the table, its grid and every cell say them and the
layout is fixed; otherwise they fit the columns to the text and a number ends up broken in two.
"""

from __future__ import annotations

from collections.abc import Sequence

from docx.document import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml.ns import qn
from docx.shared import Length
from docx.table import Table


def fixed_table(document: Document, rows: int, widths: Sequence[Length]) -> Table:
    """A centred ``Table Grid`` table of ``rows`` rows with the given column widths, fixed."""
    table = document.add_table(rows=rows, cols=len(widths))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False  # w:tblLayout fixed
    tbl_w = table._tbl.tblPr.find(qn("w:tblW"))
    if tbl_w is not None:
        tbl_w.set(qn("w:type"), "dxa")
        tbl_w.set(qn("w:w"), str(sum(w.twips for w in widths)))
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    return table
