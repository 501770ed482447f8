"""Read the 随机抽查事项检查表 out of a PDF file (sniffed kind ``"pdf"``).

This module does the PDF-specific reading only: its seam ``read_grids`` hands the tables, as
``Grid``s, to the format-independent engine in ``pipeline.documents.grid``, which reads every form
(``PdfExtractor(form)``) out of them:

* Ruled tables (PDFs exported from Word, WPS or LibreOffice) are found with pdfplumber's
  ``find_tables``; each cell bbox becomes one ``GridCell`` (a merged cell covers several grid rows
  and columns under one key). The page's characters are read once and bucketed into the cells;
  wrapped lines inside a cell are joined back (CJK without a space, Latin words with one), while a
  line that ends short of the cell's right edge is a real line break. A table continued on the next
  page is joined to the one before it, so a label cell cut by the page break continues, and a row
  split over two pages is joined back into one row.
* Text outside ruled tables (a form without borders, or plain ``被抽查单位：……`` paragraphs) is read
  as lines of words: a line starting with a printed label becomes a row [label, value]; the
  following lines continue it; the inspector sub-table is read by its 姓名/职务/执法证号/联系电话
  headings.
* Fillable forms (AcroForm) are read with pypdf: fields named (or with a tooltip ``/TU``) like a
  label — 被抽查单位, 抽查依据, …, 姓名1/职务1/执法证号1/联系电话1 — become a grid of their own.
* A PDF with no text layer at all is a scan: ``InputFileError`` ``SCAN_PENDING`` (the pipeline
  matches it with its check table and waits). Image-only pages of a partly scanned PDF are named in
  a warning. Encrypted PDFs are read when they open with an empty password, else ``FILE_ENCRYPTED``;
  damaged PDFs are ``FILE_UNREADABLE``.

Provenance reads ``第1页 表1 第3行 第2列`` (tables), ``第1页 第5行`` (lines of text) or
``表单域“被抽查单位”`` (form fields). The case number is the ``编号：SS-2026-00001`` above the title.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import logging
import re
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfplumber.utils.exceptions import PdfminerException
from pypdf import PasswordType, PdfReader

from pipeline.core.errors import InputFileError
from pipeline.core.models import Extraction
from pipeline.core.text import KNOWN_METHODS, label_key
from pipeline.documents.grid import (
    FORM_LABELS,
    INSPECTOR_HEADINGS,
    FormGrids,
    Grid,
    GridCell,
    GridExtractor,
    find_case_ref,
)
from pipeline.documents.render import CHECK_TABLE_FORM

from .electronic import pdf_electronic_evidence

__all__ = [
    "EMPTY_MESSAGE",
    "ENCRYPTED_MESSAGE",
    "SCAN_PENDING_MESSAGE",
    "UNREADABLE_MESSAGE",
    "PdfCheckTableExtractor",
    "PdfExtractor",
    "read_grids",
]

SCAN_PENDING_MESSAGE = (
    "这是扫描件（图片形式的 PDF），没有可读取的文字。扫描件将与对应的检查表匹配后存档；"
    "如需系统识别内容，请同时放入填写好的电子版检查表（.docx）。"
)
ENCRYPTED_MESSAGE = (
    "PDF 设置了打开密码，系统无法读取。请在 PDF 软件中取消密码（或重新导出不加密的 PDF）后重新放入收件箱。"
)
EMPTY_MESSAGE = "PDF 中没有任何文字或图片（空白页）。请放入填写好的检查表。"
UNREADABLE_MESSAGE = (
    "PDF 文件已损坏或不完整，无法打开。请重新导出或重新扫描为 PDF 后放入收件箱；"
    "如有填写好的电子版检查表（.docx），也可直接放入。"
)

# The labels printed on the form (the engine decides what they mean; these only tell, in text
# without table borders, where a row starts). Keep in step with the engine's label list.
_LABEL_KEYS: frozenset[str] = frozenset(label_key(label) for label in FORM_LABELS)
_MIN_LABEL_PREFIX = 4  # a wrapped label's first line: at least this many characters of a label
_MAX_LABEL_CHARS = 30

_HEADING_ORDER: tuple[tuple[str, str], ...] = (
    ("name", "姓名"),
    ("title", "职务"),
    ("licence_no", "执法证号"),
    ("phone", "联系电话"),
)

# Characters that may not start a line (Chinese line-breaking rules): they stay with the
# character before them when a line wraps.
_NO_LINE_START = set("，。、；：？！）》」』】〕〉”’…—·,.;:?!)]}%")
# Radicals and compatibility ideographs that some PDF fonts map to; NFKC turns them into the
# ordinary CJK ideographs (⽇ → 日). Other characters are left as printed.
_CJK_COMPAT = re.compile("[\u2e80-\u2fdf\uf900-\ufaff]")
_CID = re.compile(r"^\(cid:\d+\)$")
_NUMBERED_FIELD = re.compile(r"^(.*?)[\s_\-.]*(\d{1,2})$")

_PYPDF_LOG = logging.getLogger("pypdf")
_TABLE_SETTINGS: dict[str, Any] = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
_EDGE_TOLERANCE = 2.0  # points: cell edges closer than this are the same grid line
# A page is a scan when an image covers most of it and it has fewer characters than a filled form
# (a scanner may stamp a page number or a date on it).
_SCAN_COVER = 0.5
_SCAN_STAMP_CHARS = 40


# --------------------------------------------------------------------------------------------
# Characters and lines
@dataclass(frozen=True)
class _Char:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass
class _Line:
    """Characters on one visual line, left to right."""

    chars: list[_Char]
    top: float
    bottom: float

    @property
    def x0(self) -> float:
        return self.chars[0].x0

    @property
    def x1(self) -> float:
        return self.chars[-1].x1

    @property
    def size(self) -> float:
        return max(c.size for c in self.chars)

    def text(self) -> str:
        return _chars_text(self.chars)


def _page_chars(page: Any) -> list[_Char]:
    """The page's characters with readable text (``(cid:N)`` glyphs without a text mapping dropped)."""
    out: list[_Char] = []
    for c in page.chars:
        text = c.get("text") or ""
        if not text or _CID.match(text):
            continue
        if _CJK_COMPAT.search(text):
            text = unicodedata.normalize("NFKC", text)
        top, bottom = float(c["top"]), float(c["bottom"])
        size = float(c.get("size") or (bottom - top) or 10.0)
        out.append(_Char(text, float(c["x0"]), float(c["x1"]), top, bottom, size))
    return out


def _has_ink(chars: Iterable[_Char]) -> bool:
    return any(not c.text.isspace() for c in chars)


def _chars_text(chars: Sequence[_Char]) -> str:
    """Text of one line: a space where the gap between two characters is that of a space."""
    parts: list[str] = []
    prev: _Char | None = None
    for c in chars:
        if prev is not None:
            if abs(c.x0 - prev.x0) < 0.5 and c.text == prev.text:
                continue  # the same glyph drawn twice (simulated bold)
            gap = c.x0 - prev.x1
            if gap > 0.3 * min(c.size, prev.size) and not c.text.isspace() and not prev.text.isspace():
                parts.append(" ")
        parts.append(c.text)
        prev = c
    return "".join(parts)


def _lines(chars: Iterable[_Char]) -> list[_Line]:
    """Cluster characters into lines: a character whose vertical middle lies in a line joins it."""
    lines: list[_Line] = []
    for c in sorted(chars, key=lambda ch: (ch.top, ch.x0)):
        for line in reversed(lines[-3:]):
            if line.top - 0.5 <= c.cy <= line.bottom + 0.5:
                line.chars.append(c)
                line.top, line.bottom = min(line.top, c.top), max(line.bottom, c.bottom)
                break
        else:
            lines.append(_Line([c], c.top, c.bottom))
    for line in lines:
        line.chars.sort(key=lambda ch: ch.x0)
    lines.sort(key=lambda ln: ln.top)
    return lines


def _is_word_char(text: str) -> bool:
    """Whether ``text`` (a character, or a ligature such as ``fi``) is part of a Latin word."""
    ch = text[:1]
    return ch.isalnum() and unicodedata.east_asian_width(ch) not in ("W", "F")


def _first_token_width(line: _Line) -> float:
    """Width of what would have had to fit on the line before: a word, or a character and the
    punctuation that may not start a line."""
    chars = line.chars
    first = chars[0]
    end = 0
    if _is_word_char(first.text):
        while end + 1 < len(chars) and _is_word_char(chars[end + 1].text):
            if chars[end + 1].x0 - chars[end].x1 > 0.3 * first.size:
                break
            end += 1
    while end + 1 < len(chars) and chars[end + 1].text in _NO_LINE_START:
        end += 1
    return chars[end].x1 - first.x0


def _line_break(prev: _Line, nxt: _Line, right: float) -> str:
    """How two consecutive lines of one cell join: ``"\\n"`` when ``prev`` ended early (a break
    the writer typed), else ``""`` or ``" "`` (the text wrapped at the cell's right edge ``right``)."""
    last, first = prev.chars[-1].text[-1:], nxt.chars[0].text[:1]
    space = 0.3 * prev.size if _is_word_char(last) and _is_word_char(first) else 0.0
    if prev.x1 + space + _first_token_width(nxt) <= right + 0.15 * prev.size:
        return "\n"
    if _is_word_char(last) and _is_word_char(first) and " " in prev.text().strip():
        return " "  # a line of several words wrapped at a space
    return ""  # CJK, or a word too long for the line broken at the edge


def _block_text(lines: Sequence[_Line], left: float, right: float) -> str:
    """The text of the lines of one cell (content box ``left``…``right``), wraps joined."""
    if not lines:
        return ""
    pad = min(line.x0 for line in lines) - left
    pad = min(max(pad, 0.5), 10.0)
    edge = right - pad
    parts = [lines[0].text()]
    for prev, nxt in itertools.pairwise(lines):
        parts.append(_line_break(prev, nxt, edge))
        parts.append(nxt.text())
    return "".join(parts)


def _plain_text(lines: Sequence[_Line]) -> str:
    return "\n".join(line.text() for line in lines)


# --------------------------------------------------------------------------------------------
# Ruled tables
def _cluster(values: Iterable[float]) -> list[float]:
    """Sorted distinct coordinates, values closer than ``_EDGE_TOLERANCE`` merged."""
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > _EDGE_TOLERANCE:
            out.append(v)
    return out


def _index(edges: list[float], v: float) -> int:
    """Index of the edge nearest to ``v``."""
    i = bisect.bisect_left(edges, v)
    if i == 0:
        return 0
    if i == len(edges):
        return len(edges) - 1
    return i if edges[i] - v < v - edges[i - 1] else i - 1


@dataclass
class _TCell:
    """A cell of a ruled table: its grid position and its characters."""

    key: Hashable
    bbox: tuple[float, float, float, float]
    row: int
    rows: int
    col: int
    span: int
    chars: list[_Char] = field(default_factory=list)


@dataclass
class _Table:
    """A ruled table of one page laid out on its grid."""

    page: int  # 1-based
    number: int  # 1-based, on its page
    bbox: tuple[float, float, float, float]
    xs: list[float]  # grid column edges
    ys: list[float]  # grid row edges (of this page's table)
    cells: list[_TCell]
    n_rows: int
    cut_first_row: bool = False  # its first row continues the previous page's last row

    def covering(self, r: int) -> list[_TCell]:
        return sorted((c for c in self.cells if c.row <= r < c.row + c.rows), key=lambda c: c.col)


def _read_table(page_no: int, number: int, bboxes: list[tuple[float, float, float, float]]) -> _Table | None:
    unique = list(dict.fromkeys((round(b[0], 1), round(b[1], 1), round(b[2], 1), round(b[3], 1)) for b in bboxes))
    if not unique:
        return None
    xs = _cluster([v for b in unique for v in (b[0], b[2])])
    ys = _cluster([v for b in unique for v in (b[1], b[3])])
    cells: list[_TCell] = []
    taken: set[tuple[int, int]] = set()
    for b in sorted(unique, key=lambda b: (b[1], b[0])):
        c0, c1 = _index(xs, b[0]), _index(xs, b[2])
        r0, r1 = _index(ys, b[1]), _index(ys, b[3])
        if c1 <= c0 or r1 <= r0:
            continue
        if any((r, c) in taken for r in range(r0, r1) for c in range(c0, c1)):
            continue  # an overlapping duplicate
        taken.update((r, c) for r in range(r0, r1) for c in range(c0, c1))
        cells.append(_TCell((page_no, number, b), b, r0, r1 - r0, c0, c1 - c0))
    bbox = (xs[0], ys[0], xs[-1], ys[-1])
    return _Table(page_no, number, bbox, xs, ys, cells, len(ys) - 1)


def _bucket(tables: list[_Table], chars: list[_Char]) -> list[_Char]:
    """Put each character into the table cell under its middle; return the ones outside tables."""
    lookups: list[tuple[_Table, list[float], list[float], dict[tuple[int, int], _TCell]]] = []
    for t in tables:
        owner = {
            (r, c): cell
            for cell in t.cells
            for r in range(cell.row, cell.row + cell.rows)
            for c in range(cell.col, cell.col + cell.span)
        }
        lookups.append((t, t.xs, t.ys, owner))
    outside: list[_Char] = []
    for ch in chars:
        cx, cy = ch.cx, ch.cy
        for t, xs, ys, owner in lookups:
            x0, top, x1, bottom = t.bbox
            if not (x0 <= cx <= x1 and top <= cy <= bottom):
                continue
            col = bisect.bisect_right(xs, cx) - 1
            row = bisect.bisect_right(ys, cy) - 1
            cell = owner.get((row, col))
            if cell is not None:
                cell.chars.append(ch)
                break
        else:
            outside.append(ch)
    return outside


def _cell_text(cell: _TCell) -> str:
    x0, _, x1, _ = cell.bbox
    return _block_text(_lines(cell.chars), x0, x1)


def _same_columns(a: _Table, b: _Table) -> bool:
    return (
        abs(a.bbox[0] - b.bbox[0]) <= _EDGE_TOLERANCE
        and abs(a.bbox[2] - b.bbox[2]) <= _EDGE_TOLERANCE
        and all(any(abs(x - y) <= _EDGE_TOLERANCE for y in a.xs) for x in b.xs)
    )


@dataclass
class _GridBuilder:
    """Joins the ruled tables of consecutive pages and lays them out as the engine's grids."""

    groups: list[list[_Table]] = field(default_factory=list)  # tables that make one grid
    last: _Table | None = None  # the last table of the previous page
    alias: dict[Hashable, Hashable] = field(default_factory=dict)
    texts: dict[Hashable, str] = field(default_factory=dict)
    cols: dict[Hashable, tuple[int, int]] = field(default_factory=dict)

    def add_page(self, tables: list[_Table]) -> None:
        for i, table in enumerate(tables):
            for cell in table.cells:
                self.texts[cell.key] = _cell_text(cell)
            prev = self.last if i == 0 else None
            if prev is not None and _same_columns(prev, table):
                self.continue_table(prev, table)
                self.groups[-1].append(table)
            else:
                self.map_columns(table, table.xs)
                self.groups.append([table])
        self.last = tables[-1] if tables else None

    def map_columns(self, table: _Table, xs: list[float]) -> None:
        """Grid columns of ``table``'s cells, counted on ``xs`` (the first table's edges)."""
        for cell in table.cells:
            c0, c1 = _index(xs, cell.bbox[0]), _index(xs, cell.bbox[2])
            self.cols[cell.key] = (c0, max(1, c1 - c0))
        table.xs = xs

    def root(self, key: Hashable) -> Hashable:
        """The cell that ``key`` continues (over one or more page breaks), or ``key`` itself."""
        while key in self.alias:
            key = self.alias[key]
        return key

    def continue_table(self, prev: _Table, table: _Table) -> None:
        """``table`` continues ``prev`` from the page before: one grid. A first-column cell merged
        over several rows (the 抽查执法人员 label) goes on; a row cut by the page break (its first
        cell empty on the new page) is joined back, cell by cell."""
        self.map_columns(table, prev.xs)
        new, old = table.covering(0), prev.covering(prev.n_rows - 1)
        if not new or not old or self.cols[new[0].key][0] != 0 or self.cols[old[0].key][0] != 0:
            return
        if old[0].row < prev.n_rows - 1 and not self.texts[new[0].key].strip():
            self.alias[new[0].key] = old[0].key
            new, old = new[1:], old[1:]
        if (
            not new
            or self.texts[new[0].key].strip()
            or any(c.rows != 1 for c in new)
            or [self.cols[c.key] for c in new] != [self.cols[c.key] for c in old]
            or _is_heading_row(self.texts[self.root(c.key)] for c in old)
        ):
            return
        for before, after in zip(old, new, strict=True):
            self.alias[after.key] = before.key
            first = self.root(before.key)
            self.texts[first] = _join_cut(self.texts[first], before, after)
        table.cut_first_row = True

    def grids(self) -> list[Grid]:
        """The engine's grids, once every page is added."""
        out: list[Grid] = []
        for group in self.groups:
            grid: Grid = []
            for table in group:
                self.append_rows(grid, table)
            out.append(grid)
        return out

    def append_rows(self, grid: Grid, table: _Table) -> None:
        for r in range(1 if table.cut_first_row else 0, table.n_rows):
            row: list[GridCell] = []
            for cell in table.covering(r):
                key = self.root(cell.key)
                col, span = self.cols[cell.key]
                where = f"第{table.page}页 表{table.number} 第{r + 1}行"
                row.append(GridCell(key, col, span, self.texts[key], f"{where} 第{col + 1}列", where))
            if row:
                grid.append(row)


def _join_cut(text: str, old: _TCell, new: _TCell) -> str:
    """``text`` of a cell cut by a page break, with its part ``new`` on the next page appended
    (``old`` is its part on the page before, which says whether the break fell inside a line)."""
    after = _cell_text(new)
    if not after.strip():
        return text
    if not text.strip():
        return after
    old_lines, new_lines = _lines(old.chars), _lines(new.chars)
    if not old_lines:
        return text + "\n" + after
    pad = min(max(min(line.x0 for line in old_lines) - old.bbox[0], 0.5), 10.0)
    return text + _line_break(old_lines[-1], new_lines[0], old.bbox[2] - pad) + after


def _is_heading_row(texts: Iterable[str]) -> bool:
    attrs = {INSPECTOR_HEADINGS.get(label_key(t)) for t in texts} - {None}
    return "name" in attrs and len(attrs) >= 2


# --------------------------------------------------------------------------------------------
# Text without ruling lines
def _is_label_start(text: str) -> bool:
    """A printed label, or the first line of a label wrapped in its cell (``抽查范围及主``)."""
    key = label_key(text)
    if key in _LABEL_KEYS:
        return True
    return len(key) >= _MIN_LABEL_PREFIX and any(k.startswith(key) for k in _LABEL_KEYS)


def _split_label(chars: Sequence[_Char]) -> tuple[list[_Char], list[_Char]] | None:
    """``(label, value)`` characters when a line starts with a printed label (the longest one)."""
    best: int | None = None
    text = ""
    for i, c in enumerate(chars[:_MAX_LABEL_CHARS], start=1):
        text += c.text
        if label_key(text) in _LABEL_KEYS and unicodedata.category(c.text[-1]) not in ("Ps", "Pi"):
            best = i
    if best is None:
        return None
    rest = list(chars[best:])
    while rest and (rest[0].text.isspace() or rest[0].text in ":："):
        rest.pop(0)
    return list(chars[:best]), rest


def _segments(line: _Line) -> list[list[_Char]]:
    """The line cut where the gap between characters is as wide as a character or more."""
    segs: list[list[_Char]] = [[line.chars[0]]]
    for prev, c in itertools.pairwise(line.chars):
        if c.x0 - prev.x1 >= 0.9 * min(c.size, prev.size):
            segs.append([c])
        else:
            segs[-1].append(c)
    return segs


def _sub_line(chars: list[_Char]) -> _Line:
    return _Line(chars, min(c.top for c in chars), max(c.bottom for c in chars))


def _join_wrapped(parts: Iterable[str]) -> str:
    """Lines of a short field joined as one: CJK without a space, Latin words with one."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and _is_word_char(out[-1]) and _is_word_char(part[0]):
            out += " "
        out += part
    return out


@dataclass
class _LabelRow:
    """A label and its value, from lines of text."""

    where: str
    label_lines: list[_Line]
    value_lines: list[_Line]
    value_x0: float | None  # left edge of the value column; None: the value runs on under the label
    bottom: float

    def label(self) -> str:
        return _join_wrapped(line.text() for line in self.label_lines)


@dataclass
class _PeopleBlock:
    """The inspector sub-table without borders: its heading line and the lines under it."""

    where: str
    label: str | None
    headings: list[tuple[str, float, float]]  # heading text, x0, x1
    lines: list[tuple[int, _Line]] = field(default_factory=list)  # (line number on the page, line)


_INSPECTORS_LABEL = label_key("抽查执法人员")


def _text_rows(chars: list[_Char], page_no: int) -> list[_LabelRow | _PeopleBlock]:
    """Walk the lines of a page: label rows, their continuation lines, the inspector sub-table."""
    rows: list[_LabelRow | _PeopleBlock] = []
    current: _LabelRow | _PeopleBlock | None = None
    for n, line in enumerate(_lines(chars), start=1):
        where = f"第{page_no}页 第{n}行"
        segs = _segments(line)
        texts = [_chars_text(s) for s in segs]
        lead = _is_label_start(texts[0])
        if _is_heading_row(texts[1:] if lead else texts):
            first = 1 if lead else 0
            headings = [(t, s[0].x0, s[-1].x1) for t, s in zip(texts[first:], segs[first:], strict=True)]
            current = _PeopleBlock(where, texts[0] if lead else None, headings)
            rows.append(current)
            continue
        if isinstance(current, _PeopleBlock):
            if lead and label_key(texts[0]) == _INSPECTORS_LABEL:  # the label, centred beside the rows
                current.label = current.label or texts[0]
                segs, texts, lead = segs[1:], texts[1:], False
                if not segs:
                    continue
            if not lead and _split_label(line.chars) is None:
                current.lines.append((n, _sub_line([c for s in segs for c in s])))
                continue
        if lead:
            current = _LabelRow(
                where,
                [_sub_line(segs[0])],
                [_sub_line([c for s in segs[1:] for c in s])] if len(segs) > 1 else [],
                segs[1][0].x0 if len(segs) > 1 else None,
                line.bottom,
            )
            rows.append(current)
            continue
        split = _split_label(line.chars)
        if split is not None:
            label_chars, value_chars = split
            value = [_sub_line(value_chars)] if value_chars else []
            current = _LabelRow(where, [_sub_line(label_chars)], value, None, line.bottom)
            rows.append(current)
            continue
        if not isinstance(current, _LabelRow) or line.top - current.bottom > 1.6 * line.size:
            current = None  # text that belongs to no label (title, notes)
            continue
        if not _continue_row(current, line):
            current = None
    return rows


def _continue_row(row: _LabelRow, line: _Line) -> bool:
    """Add a line under ``row``: to its (wrapped) label or to its value; False when it fits neither."""
    if row.value_x0 is None:
        left, right = [], list(line.chars)
    else:
        edge = row.value_x0
        left = [c for c in line.chars if c.cx < edge - 0.5 * c.size]
        right = [c for c in line.chars if c.cx >= edge - 0.5 * c.size]
    label_more = left or (right if not row.value_lines else [])
    if label_more and _is_label_start(row.label() + _chars_text(label_more)):
        row.label_lines.append(_sub_line(label_more))
        right = [c for c in right if c not in label_more]
    elif left:
        if row.value_lines:
            return False
        right = list(line.chars)  # the value starts on the line below its label
        row.value_x0 = None
    if right:
        row.value_lines.append(_sub_line(right))
    row.bottom = line.bottom
    return True


def _people_rows(block: _PeopleBlock, page_no: int, first_key: int) -> Grid:
    """The heading row and one row per inspector: each piece of text goes under the heading it
    overlaps, and to the inspector whose name is on the nearest line (cells may be centred)."""
    label_key_ = (page_no, "people", first_key)
    row_where = block.where
    heading_row: list[GridCell] = []
    if block.label:
        heading_row.append(GridCell(label_key_, 0, 1, block.label, block.where, row_where))
    for j, (text, _, _) in enumerate(block.headings, start=1):
        heading_row.append(GridCell((*label_key_, "h", j), j, 1, text, block.where, row_where))
    name_col = next(
        (j for j, (t, _, _) in enumerate(block.headings, 1) if INSPECTOR_HEADINGS.get(label_key(t)) == "name"), 1
    )
    pieces: list[tuple[int, int, _Line]] = []  # (column, line number, text)
    for n, line in block.lines:
        for seg in _segments(line):
            pieces.append((_heading_for(seg, block.headings), n, _sub_line(seg)))
    names = sorted((p for p in pieces if p[0] == name_col), key=lambda p: p[2].top)
    anchors = [(n, ln) for _, n, ln in names] or [(n, ln) for _, n, ln in pieces]
    people: dict[int, dict[int, list[_Line]]] = {}
    for col, _, piece in pieces:
        mid = (piece.top + piece.bottom) / 2
        who = min(range(len(anchors)), key=lambda i: abs((anchors[i][1].top + anchors[i][1].bottom) / 2 - mid))
        people.setdefault(who, {}).setdefault(col, []).append(piece)
    grid: Grid = [heading_row]
    for who in sorted(people):
        where = f"第{page_no}页 第{anchors[who][0]}行"
        cells = []
        for col, parts in sorted(people[who].items()):
            parts.sort(key=lambda ln: ln.top)
            text = _join_wrapped(ln.text() for ln in parts)
            cells.append(GridCell((*label_key_, "p", who, col), col, 1, text, where, where))
        grid.append(cells)
    return grid


def _heading_for(seg: list[_Char], headings: list[tuple[str, float, float]]) -> int:
    """Grid column (1-based) of the heading ``seg`` overlaps most, or whose middle is nearest."""
    x0, x1 = seg[0].x0, seg[-1].x1

    def score(j: int) -> tuple[float, float]:
        _, h0, h1 = headings[j]
        return (max(min(x1, h1) - max(x0, h0), 0.0), -abs((x0 + x1) / 2 - (h0 + h1) / 2))

    return max(range(len(headings)), key=score) + 1


def _text_grid(page_no: int, chars: list[_Char], right: float) -> Grid:
    """Rows [label, value] (and the inspector sub-table) from the page's lines of text."""
    grid: Grid = []
    for i, row in enumerate(_text_rows(chars, page_no)):
        if isinstance(row, _PeopleBlock):
            grid.extend(_people_rows(row, page_no, i))
            continue
        key = (page_no, "text", i)
        value_left = min((ln.x0 for ln in row.value_lines), default=right)
        value = _block_text(row.value_lines, value_left, right) if row.value_lines else ""
        grid.append([
            GridCell(key, 0, 1, row.label(), row.where, row.where),
            GridCell((*key, "value"), 1, 1, value, row.where, row.where),
        ])
    return grid


# --------------------------------------------------------------------------------------------
# Fillable forms
def _field_text(value: Any) -> str:
    """A form field's value as text (a check box or choice is a PDF name such as ``/Yes``)."""
    if hasattr(value, "get_object"):
        value = value.get_object()
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_field_text(v) for v in value)
    text = str(value)
    return text[1:] if text.startswith("/") else text


@dataclass
class _FormFields:
    """The AcroForm fields that name a part of the check table."""

    singles: dict[str, tuple[str, str]] = field(default_factory=dict)  # label key → (label, value)
    people: dict[int, dict[str, str]] = field(default_factory=dict)  # number → attribute → value
    methods: list[tuple[str, bool]] = field(default_factory=list)  # check boxes: (method, ticked)
    case_text: str = ""

    def take(self, name: str, value: Any, *, button: bool) -> bool:
        """Record the field if ``name`` (its name or tooltip) names a part of the form."""
        key = label_key(name)
        if key == _CASE_NUMBER:
            self.case_text = f"编号：{_field_text(value)}"
            return True
        if key in _LABEL_KEYS:
            self.singles.setdefault(key, (name.strip(), _field_text(value)))
            return True
        if button:
            method = next((m for m in KNOWN_METHODS if m in key), None)
            if method is not None:
                self.methods.append((method, _field_text(value) not in ("", "Off")))
                return True
            return False
        numbered = _NUMBERED_FIELD.match(name.strip())
        attr = INSPECTOR_HEADINGS.get(label_key(numbered.group(1))) if numbered else None
        if numbered is None or attr is None:
            return False
        self.people.setdefault(int(numbered.group(2)), {})[attr] = _field_text(value)
        return True

    def grid(self) -> Grid:
        rows: Grid = []
        singles = dict(self.singles)
        if self.methods and _METHODS_LABEL not in singles:
            singles[_METHODS_LABEL] = ("抽查方式", "　".join(("☑" if on else "☐") + m for m, on in self.methods))
        for key, (label, value) in singles.items():
            where = f"表单域“{label}”"
            rows.append([GridCell(("form", key), 0, 1, label, where), GridCell(("form", key, "value"), 1, 1, value, where)])
        if self.people:
            heading = [GridCell(("form", "inspectors"), 0, 1, "抽查执法人员", "表单域“抽查执法人员”")]
            heading += [GridCell(("form", a), j, 1, t, f"表单域“{t}”") for j, (a, t) in enumerate(_HEADING_ORDER, 1)]
            rows.append(heading)
            for n in sorted(self.people):
                person = self.people[n]
                where = f"表单域“姓名{n}”"
                rows.append(
                    [
                        GridCell(("form", a, n), j, 1, person.get(a, ""), f"表单域“{t}{n}”", where)
                        for j, (a, t) in enumerate(_HEADING_ORDER, 1)
                    ]
                )
        return rows


_CASE_NUMBER = label_key("编号")
_METHODS_LABEL = label_key("抽查方式")


def _form_grid(fields: dict[str, Any]) -> tuple[Grid, str]:
    """A grid from the AcroForm ``fields`` named like the form's labels (by their name, the last part
    of a dotted name, or their tooltip ``/TU``); and the text of a 编号 field."""
    found = _FormFields()
    for full_name, fld in fields.items():
        attrs = fld if isinstance(fld, dict) else {}
        button = str(attrs.get("/FT") or "") == "/Btn"
        for name in (str(attrs.get("/TU") or ""), full_name.rsplit(".", 1)[-1], full_name):
            if name.strip() and found.take(name, attrs.get("/V"), button=button):
                break
    return found.grid(), found.case_text


def _read_form(path: Path) -> tuple[Grid, str]:
    """The AcroForm's grid and 编号 text; raises ``FILE_ENCRYPTED`` for a password-protected PDF.

    Any other trouble leaves the verdict to the page reader (pdfminer), which is stricter.
    """
    level = _PYPDF_LOG.level
    _PYPDF_LOG.setLevel(logging.ERROR)  # pypdf logs every repair of a damaged file as a warning
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise InputFileError(ENCRYPTED_MESSAGE, field="file", code="FILE_ENCRYPTED")
        fields = reader.get_fields() or {}
    except InputFileError:
        raise
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception:  # pypdf raises many kinds of errors on damaged files
        return [], ""
    finally:
        _PYPDF_LOG.setLevel(level)
    return _form_grid(fields)


# --------------------------------------------------------------------------------------------
# Pages
@dataclass(frozen=True)
class _RawPage:
    """What pdfplumber read from one page (everything the parser can fail on)."""

    number: int  # 1-based
    chars: list[_Char]
    tables: list[list[tuple[float, float, float, float]]]  # cell bboxes of each ruled table
    scanned: bool  # a picture of a page: no text, or a few words stamped on a page-sized image


def _image_cover(page: Any) -> float:
    """The share of the page covered by its largest image."""
    area = float(page.width * page.height) or 1.0
    return max((float(i["width"] * i["height"]) / area for i in page.images), default=0.0)


def _raw_pages(pdf: Any) -> list[_RawPage]:
    pages: list[_RawPage] = []
    for number, page in enumerate(pdf.pages, start=1):
        chars = _page_chars(page)
        ink = sum(1 for c in chars if not c.text.isspace())
        if ink == 0:
            pages.append(_RawPage(number, chars, [], bool(page.images or page.curves)))
            continue
        scanned = ink < _SCAN_STAMP_CHARS and _image_cover(page) >= _SCAN_COVER
        tables = [list(t.cells) for t in page.find_tables(_TABLE_SETTINGS)]
        pages.append(_RawPage(number, chars, tables, scanned))
    return pages


@dataclass
class _Pages:
    """What the pages of a PDF hold."""

    grids: list[Grid] = field(default_factory=list)
    first_page_text: str = ""
    text_pages: list[int] = field(default_factory=list)
    image_pages: list[int] = field(default_factory=list)


def _read_pages(raw_pages: list[_RawPage]) -> _Pages:
    out = _Pages()
    builder = _GridBuilder()
    text_grids: list[Grid] = []
    for raw in raw_pages:
        page_no, chars = raw.number, raw.chars
        if raw.scanned:
            out.image_pages.append(page_no)
        if not _has_ink(chars):
            builder.add_page([])
            continue
        if not raw.scanned:
            out.text_pages.append(page_no)
        if not out.first_page_text:
            out.first_page_text = _plain_text(_lines(chars))
        tables = [t for i, cells in enumerate(raw.tables, start=1) if (t := _read_table(page_no, i, cells))]
        outside = _bucket(tables, chars)
        builder.add_page(tables)
        if _has_ink(outside):
            right = max(c.x1 for c in chars)
            grid = _text_grid(page_no, outside, right)
            if grid:
                text_grids.append(grid)
    out.grids = builder.grids() + text_grids
    return out


def _open_error(exc: Exception) -> InputFileError:
    inner = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
    if isinstance(inner, PDFPasswordIncorrect | PDFEncryptionError):
        return InputFileError(ENCRYPTED_MESSAGE, field="file", code="FILE_ENCRYPTED")
    return InputFileError(UNREADABLE_MESSAGE, field="file", code="FILE_UNREADABLE")


def _scan_pending() -> InputFileError:
    return InputFileError(SCAN_PENDING_MESSAGE, field="file", code="SCAN_PENDING")


def _pages_text(pages: Sequence[int]) -> str:
    return "、".join(f"第{p}页" for p in pages)


# --------------------------------------------------------------------------------------------
# The seam and the extractor
def read_grids(path: Path, *, display_name: str | None = None) -> FormGrids:
    """The form fields and the tables (ruled or not) of the PDF ``path`` as grids, its case number,
    and for the check table: the warning about image-only pages, ``SCAN_PENDING`` for a scan."""
    form_grid, form_case = _read_form(path)
    try:
        with pdfplumber.open(path, password="") as pdf:
            raw_pages = _raw_pages(pdf)
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception as exc:  # pdfminer raises many kinds of errors on damaged files
        raise _open_error(exc) from exc
    pages = _read_pages(raw_pages)
    grids = ([form_grid] if form_grid else []) + pages.grids
    refusal: InputFileError | None = None
    if not pages.text_pages and not form_grid:
        if pages.image_pages:
            refusal = _scan_pending()
        else:
            refusal = InputFileError(EMPTY_MESSAGE, field="file", code="FILE_NOT_CHECK_TABLE")
    warnings: tuple[str, ...] = ()
    if pages.image_pages and pages.text_pages:
        warnings = (
            f"{_pages_text(pages.image_pages)}是扫描图片，没有可读取的文字，其中的内容未识别。"
            "如这些页有检查表内容，请同时放入填写好的电子版检查表（.docx）。",
        )
    return FormGrids(
        grids,
        find_case_ref("\n".join(t for t in (form_case, pages.first_page_text) if t)),
        display_name or path.name,
        warnings=warnings,
        refusal=refusal,
        not_found=_scan_pending() if pages.image_pages else None,
    )


class PdfExtractor(GridExtractor):
    """Extractor of a form (default: the 随机抽查事项检查表) from PDF files (see the module docstring)."""

    fmt = "pdf"
    kinds: frozenset[str] = frozenset({"pdf"})
    read_grids = staticmethod(read_grids)

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        extraction = super().extract(path, display_name=display_name)
        if extraction.form != CHECK_TABLE_FORM:
            return extraction
        # Seal and signature images in the boxes' cells (电子签章): evidence with source "electronic".
        return dataclasses.replace(extraction, evidence=pdf_electronic_evidence(path))


PdfCheckTableExtractor = PdfExtractor
