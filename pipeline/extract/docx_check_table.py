"""Read the 随机抽查事项检查表 out of a Word (.docx/.docm) file, as staff actually fill it.

This module does the Word-specific reading only: its seam ``read_grids`` hands the tables, as
``Grid``s, to the format-independent engine in ``pipeline.documents.grid``, which reads every form
(``DocxExtractor(form)``) out of them. Every table (nested ones included) is laid
out on its grid; merged cells are de-duplicated by their ``w:tc`` element (a vertically merged cell
is the element of its first row, as python-docx does it).

Cell text is read from the XML, not from python-docx's ``.text``: python-docx skips rows and cells
wrapped in content controls (``w:sdt``) and would include deleted tracked changes, placeholder
text of empty content controls, hidden text and the fallback copy of text boxes. Check boxes drawn
with Wingdings symbols or legacy ``FORMCHECKBOX`` fields are turned into ☑/☐.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
from docx.oxml.ns import qn

from pipeline.core.errors import InputFileError
from pipeline.core.models import Extraction
from pipeline.core.sniff import detect_kind
from pipeline.documents.grid import (
    CASE_REF_PATTERN,
    NOT_CHECK_TABLE,
    FormGrids,
    Grid,
    GridCell,
    GridExtractor,
    find_case_ref,
)
from pipeline.documents.render import CHECK_TABLE_FORM

from .base import error_for_kind
from .electronic import electronic_evidence

__all__ = ["CASE_REF_PATTERN", "NOT_CHECK_TABLE", "DocxCheckTableExtractor", "DocxExtractor", "read_grids"]

# --- WordprocessingML tags -------------------------------------------------------------------
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
W_TBL, W_TR, W_TC, W_P, W_R = qn("w:tbl"), qn("w:tr"), qn("w:tc"), qn("w:p"), qn("w:r")
W_T, W_TAB, W_BR, W_CR, W_SYM = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr"), qn("w:sym")
W_FLDCHAR, W_VAL = qn("w:fldChar"), qn("w:val")
W_DEL, W_MOVEFROM, W_SDTCONTENT = qn("w:del"), qn("w:moveFrom"), qn("w:sdtContent")
W_NOBREAKHYPHEN = qn("w:noBreakHyphen")


# Check boxes drawn as symbols: (font, code in the symbol font) → Unicode.
_SYMBOL_FONTS: dict[tuple[str, int], str] = {
    ("wingdings 2", 0x52): "☑",
    ("wingdings 2", 0x53): "☒",
    ("wingdings 2", 0x54): "☒",
    ("wingdings 2", 0x50): "✓",
    ("wingdings 2", 0xA3): "☐",
    ("wingdings 2", 0x2A): "☐",
    ("wingdings", 0xFE): "☑",
    ("wingdings", 0xFD): "☒",
    ("wingdings", 0x78): "☒",
    ("wingdings", 0xFC): "✓",
    ("wingdings", 0xA8): "☐",
    ("wingdings", 0x6F): "☐",
    ("wingdings", 0x71): "☐",
    ("wingdings", 0x6E): "■",
}


# --- reading text out of the XML -------------------------------------------------------------
def _is_true(el: Any, default: bool = True) -> bool:
    """The boolean of an OOXML on/off element (``<w:vanish/>`` is on, ``w:val="0"`` off)."""
    if el is None:
        return False
    val = el.get(W_VAL)
    if val is None:
        return default
    return val.lower() not in ("0", "false", "off")


def _hidden(el: Any) -> bool:
    """Whether ``el`` itself hides its content (deleted, fallback copy, placeholder, hidden run)."""
    tag = el.tag
    if tag in (W_DEL, W_MOVEFROM, _MC_FALLBACK):
        return True
    if tag == W_SDTCONTENT:
        sdt_pr = el.getparent().find(qn("w:sdtPr"))
        return sdt_pr is not None and _is_true(sdt_pr.find(qn("w:showingPlcHdr")))
    if tag == W_R:
        r_pr = el.find(qn("w:rPr"))
        return r_pr is not None and _is_true(r_pr.find(qn("w:vanish")))
    return False


def _visible_within(el: Any, stop: Any, barrier: str) -> bool:
    """True when nothing between ``el`` and its ancestor ``stop`` hides it or is a ``barrier`` tag."""
    node = el
    while node is not None and node is not stop:
        if (node is not el and node.tag == barrier) or _hidden(node):
            return False
        node = node.getparent()
    return node is stop


def _symbol(el: Any) -> str:
    char = el.get(qn("w:char")) or ""
    font = (el.get(qn("w:font")) or "").lower()
    try:
        code = int(char, 16)
    except ValueError:
        return ""
    if 0xF000 <= code <= 0xF0FF:
        return _SYMBOL_FONTS.get((font, code - 0xF000), "")
    return chr(code)


def _checkbox_field(el: Any) -> str:
    """☑/☐ for a legacy FORMCHECKBOX field start, else ``""``."""
    if el.get(qn("w:fldCharType")) != "begin":
        return ""
    box = el.find(f"{qn('w:ffData')}/{qn('w:checkBox')}")
    if box is None:
        return ""
    checked = box.find(qn("w:checked"))
    state = _is_true(checked) if checked is not None else _is_true(box.find(qn("w:default")))
    return "☑" if state else "☐"


def _paragraph_text(p: Any) -> str:
    parts: list[str] = []
    for el in p.iter(W_T, W_TAB, W_BR, W_CR, W_SYM, W_FLDCHAR, W_NOBREAKHYPHEN):
        if not _visible_within(el, p, W_P):
            continue
        tag = el.tag
        if tag == W_T:
            parts.append(el.text or "")
        elif tag == W_SYM:
            parts.append(_symbol(el))
        elif tag == W_FLDCHAR:
            parts.append(_checkbox_field(el))
        elif el.getparent().tag != W_R:
            continue  # w:tab inside w:tabs is a tab stop, not text
        elif tag == W_TAB:
            parts.append(" ")
        elif tag == W_NOBREAKHYPHEN:
            parts.append("-")
        else:
            parts.append("\n")
    return "".join(parts)


def _cell_text(tc: Any) -> str:
    """All visible paragraphs of a cell (not of tables nested in it), joined with newlines."""
    return "\n".join(_paragraph_text(p) for p in tc.iter(W_P) if _visible_within(p, tc, W_TBL))


# --- table grid ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Cell:
    """A distinct cell on a row: its origin ``w:tc`` (the top one of a vertical merge)."""

    tc: Any
    col: int
    span: int


def _own(parent: Any, tag: str, owner_tag: str) -> Iterator[Any]:
    """Descendants ``tag`` of ``parent`` whose nearest ``owner_tag`` ancestor is ``parent``."""
    for el in parent.iter(tag):
        if el is not parent and next(el.iterancestors(owner_tag), None) is parent:
            yield el


def _int_prop(parent: Any, path: str, default: int) -> int:
    el = parent.find(path) if parent is not None else None
    try:
        return int(el.get(W_VAL)) if el is not None else default
    except (TypeError, ValueError):
        return default


def _layout(tbl: Any) -> list[list[_Cell]]:
    """Rows of ``tbl`` as distinct cells in grid order; rows and cells inside ``w:sdt`` included."""
    rows: list[list[_Cell]] = []
    above: dict[int, Any] = {}
    for tr in _own(tbl, W_TR, W_TBL):
        col = _int_prop(tr, f"{qn('w:trPr')}/{qn('w:gridBefore')}", 0)
        here: dict[int, Any] = {}
        cells: list[_Cell] = []
        for tc in _own(tr, W_TC, W_TR):
            tc_pr = tc.find(qn("w:tcPr"))
            span = max(1, _int_prop(tc_pr, qn("w:gridSpan"), 1))
            origin = tc
            v_merge = tc_pr.find(qn("w:vMerge")) if tc_pr is not None else None
            if v_merge is not None and v_merge.get(W_VAL, "continue") == "continue":
                origin = above.get(col, tc)
            h_merge = tc_pr.find(qn("w:hMerge")) if tc_pr is not None else None
            if h_merge is not None and h_merge.get(W_VAL, "continue") == "continue" and cells:
                origin = cells[-1].tc
            for c in range(col, col + span):
                here[c] = origin
            if cells and cells[-1].tc is origin:
                cells[-1] = _Cell(origin, cells[-1].col, cells[-1].span + span)
            else:
                cells.append(_Cell(origin, col, span))
            col += span
        rows.append(cells)
        above = here
    return rows


def _grid(number: int, tbl: Any, texts: dict[Any, str]) -> Grid:
    """Table ``number`` (1-based, document order) as the engine's grid; ``texts`` caches cell text."""
    grid: Grid = []
    for r, cells in enumerate(_layout(tbl), start=1):
        row: list[GridCell] = []
        for cell in cells:
            if cell.tc not in texts:
                texts[cell.tc] = _cell_text(cell.tc)
            location = f"表{number} 第{r}行 第{cell.col + 1}列"
            row.append(
                GridCell(cell.tc, cell.col, cell.span, texts[cell.tc], location, f"表{number} 第{r}行")
            )
        grid.append(row)
    return grid


# --- helpers ---------------------------------------------------------------------------------
def _iter_tables(document: Any) -> Iterable[Any]:
    """Every table of the body in document order, nested ones included (not hidden copies)."""
    body = document.element.body
    return (tbl for tbl in body.iter(W_TBL) if _visible_within(tbl, body, ""))


def _case_ref(document: Any) -> str | None:
    """The case number printed in the body or a header (``编号：SS-2026-00001``), or None."""
    elements = [document.element.body]
    elements += [
        part.element
        for part in document.part.package.iter_parts()
        if str(part.partname).startswith("/word/header") and hasattr(part, "element")
    ]
    lines = (_paragraph_text(p).replace("\n", " ") for element in elements for p in element.iter(W_P))
    return find_case_ref("\n".join(lines))


# --- opening ---------------------------------------------------------------------------------
_DOCX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_OTHER_WORD_MAINS = (
    b"application/vnd.ms-word.document.macroEnabled.main+xml",
    b"application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
)


def _as_plain_docx(path: Path) -> io.BytesIO:
    """A .docm/.dotx/.dotm relabelled as .docx in memory (python-docx only opens .docx)."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                for other in _OTHER_WORD_MAINS:
                    data = data.replace(other, _DOCX_MAIN)
            dst.writestr(info, data)
    out.seek(0)
    return out


def _open_error(path: Path) -> InputFileError:
    try:
        kind = detect_kind(path)
    except OSError:
        kind = "unknown"
    return error_for_kind("corrupt_docx" if kind in ("docx", "zip") else kind)


def _open(path: Path) -> Any:
    try:
        return docx.Document(str(path))
    except ValueError:  # "not a Word file, content type is …": .docm, .dotx, .dotm
        try:
            return docx.Document(_as_plain_docx(path))
        except MemoryError:
            raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
        except Exception as exc:
            raise _open_error(path) from exc
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception as exc:  # zip, XML and package errors of a damaged or non-Word file
        raise _open_error(path) from exc


# --- the seam and the extractor --------------------------------------------------------------
def read_grids(path: Path, *, display_name: str | None = None) -> FormGrids:
    """Every table of the Word file ``path`` (nested ones included) as a grid, and its case number."""
    return _grids_of(_open(path), display_name or path.name)


def _grids_of(document: Any, name: str) -> FormGrids:
    texts: dict[Any, str] = {}
    grids = [_grid(number, tbl, texts) for number, tbl in enumerate(_iter_tables(document), start=1)]
    return FormGrids(grids, _case_ref(document), name)


class DocxExtractor(GridExtractor):
    """Extractor of a form (default: the 随机抽查事项检查表) from Word files (see the module docstring)."""

    fmt = "docx"
    kinds: frozenset[str] = frozenset({"docx"})
    read_grids = staticmethod(read_grids)

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        document = _open(path)  # once, for the text and for the pictures
        extraction = self.form.read(_grids_of(document, display_name or path.name))
        if extraction.form != CHECK_TABLE_FORM:
            return extraction
        # Seal and signature images in the boxes' cells (电子签章): evidence with source "electronic".
        return dataclasses.replace(extraction, evidence=electronic_evidence(document))


DocxCheckTableExtractor = DocxExtractor
