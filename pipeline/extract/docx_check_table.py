"""Read the 随机抽查事项检查表 out of a Word (.docx/.docm) file, as staff actually fill it.

The extractor is driven by LABELS, not cell positions: staff merge, split, insert and delete cells.
Every table (nested ones included) is laid out on its grid; merged cells are de-duplicated by their
``w:tc`` element (a vertically merged cell is the element of its first row, as python-docx does it);
a cell whose ``label_key`` matches a known label takes its value from the distinct cells to its
right (up to the next label), or from the text after a colon in the label cell itself.

Cell text is read from the XML, not from python-docx's ``.text``: python-docx skips rows and cells
wrapped in content controls (``w:sdt``) and would include deleted tracked changes, placeholder
text of empty content controls, hidden text and the fallback copy of text boxes. Check boxes drawn
with Wingdings symbols or legacy ``FORMCHECKBOX`` fields are turned into ☑/☐.
"""

from __future__ import annotations

import difflib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import docx
from docx.oxml.ns import qn

from pipeline.errors import InputFileError
from pipeline.models import CHECK_TABLE_FIELDS, FIELD_LABELS, Extraction, Inspector, Provenance

from .base import error_for_kind
from .normalize import (
    clean_text,
    find_dates,
    label_key,
    looks_like_date,
    parse_period_detail,
    split_methods,
    strip_numbering,
)
from .sniff import detect_kind

__all__ = ["CASE_REF_PATTERN", "DocxCheckTableExtractor"]

CASE_REF_PATTERN = re.compile(r"(?<![A-Z0-9])([A-Z]{2,6}-\d{4}-\d{4,6})(?!\d)")

CLEAN = 1.0  # the label printed on the form
FUZZY = 0.7  # a near label, a value written in the label cell, a value in the row below
WARNED = 0.5  # a warning was raised about the field

NOT_CHECK_TABLE = "未在文件中找到随机抽查事项检查表（缺少“被抽查单位”等栏目）。请使用局统一的检查表模板填写。"
_PERIOD_EXAMPLE = "2026年3月5日9时30分至11时00分"
_DATE_EXAMPLE = "2026年3月5日"

# --- WordprocessingML tags -------------------------------------------------------------------
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
W_TBL, W_TR, W_TC, W_P, W_R = qn("w:tbl"), qn("w:tr"), qn("w:tc"), qn("w:p"), qn("w:r")
W_T, W_TAB, W_BR, W_CR, W_SYM = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr"), qn("w:sym")
W_FLDCHAR, W_VAL = qn("w:fldChar"), qn("w:val")
W_DEL, W_MOVEFROM, W_SDTCONTENT = qn("w:del"), qn("w:moveFrom"), qn("w:sdtContent")
W_NOBREAKHYPHEN = qn("w:noBreakHyphen")


# --- label specification ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    """A row of the form: the field(s) it fills, how its value is read, its label wordings."""

    key: str  # a CHECK_TABLE_FIELDS key, or "check_time" for check_start/check_end
    kind: str  # "text" | "multiline" | "methods" | "inspectors" | "date" | "period"
    labels: tuple[str, ...]  # wordings counted as the printed label (confidence 1.0)

    @property
    def title(self) -> str:
        return self.labels[0]


_SPECS: tuple[_Spec, ...] = (
    _Spec("inspected_unit", "text", ("被抽查单位",)),
    _Spec("basis", "multiline", ("抽查依据",)),
    _Spec("scope", "multiline", ("抽查范围及主要内容",)),
    _Spec("methods", "methods", ("抽查方式",)),
    _Spec("inspectors", "inspectors", ("抽查执法人员",)),
    _Spec("dept_opinion_date", "date", ("执法科室意见",)),
    _Spec("leader_approval_date", "date", ("分管领导批准签字",)),
    _Spec("authority_opinion_date", "date", ("抽查执法主体意见",)),
    _Spec("situation", "multiline", ("抽查情况", "抽查情况（包括发现问题、整改措施等）")),
    _Spec("check_time", "period", ("抽查时间",)),
    _Spec("handling", "multiline", ("处理意见和建议",)),
    _Spec("leader_confirmation_date", "date", ("分管领导确认签字",)),
    _Spec("authority_seal_date", "date", ("抽查执法主体盖章",)),
)
_EXACT: dict[str, _Spec] = {label_key(label): spec for spec in _SPECS for label in spec.labels}
_FUZZY_RATIO = 0.8
_PARENTHETICAL = re.compile(r"[(（][^)）]*[)）]")
_COLON = re.compile(r"[:：]")

# Column headings of the inspector sub-table → Inspector attribute.
_INSPECTOR_HEADINGS: dict[str, str] = {
    label_key(k): v
    for k, v in {
        "姓名": "name",
        "执法人员姓名": "name",
        "检查人员姓名": "name",
        "职务": "title",
        "职称": "title",
        "职务职称": "title",
        "执法证号": "licence_no",
        "执法证件号": "licence_no",
        "执法证件号码": "licence_no",
        "执法证编号": "licence_no",
        "证件号": "licence_no",
        "证号": "licence_no",
        "联系电话": "phone",
        "电话": "phone",
        "手机": "phone",
        "手机号码": "phone",
        "联系方式": "phone",
    }.items()
}

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


def _grid(tbl: Any) -> list[list[_Cell]]:
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


# --- label matching --------------------------------------------------------------------------
@dataclass(frozen=True)
class _LabelMatch:
    spec: _Spec
    printed: bool  # worded as printed on the form, not a near match
    inline: str | None = None  # a value written in the label cell itself

    @property
    def confidence(self) -> float:
        return CLEAN if self.printed and self.inline is None else FUZZY


def _lookup(text: str, *, fuzzy: bool = True) -> tuple[_Spec, float] | None:
    keys = [label_key(text), label_key(_PARENTHETICAL.sub("", text))]
    for key in keys:
        if key in _EXACT:
            return _EXACT[key], CLEAN
    if not fuzzy:
        return None
    scored: list[tuple[float, _Spec]] = []
    for key in {k for k in keys if 3 <= len(k) <= 20}:
        for label, spec in _EXACT.items():
            scored.append((difflib.SequenceMatcher(None, key, label).ratio(), spec))
    scored.sort(key=lambda s: s[0], reverse=True)
    if not scored or scored[0][0] < _FUZZY_RATIO:
        return None
    best = scored[0][1]
    if any(s is not best and r >= scored[0][0] for r, s in scored[1:]):
        return None  # two labels fit equally well: do not guess
    return best, FUZZY


def _match_label(text: str) -> _LabelMatch | None:
    """Whether a cell's text is a label, possibly followed by its value after a colon or a line."""
    if not text.strip():
        return None
    found = _lookup(text)
    if found:
        return _LabelMatch(found[0], found[1] == CLEAN)
    colon = _COLON.search(text)
    if colon:
        found = _lookup(text[: colon.start()])
        if found:
            rest = text[colon.end() :]
            if clean_text(rest):
                return _LabelMatch(found[0], found[1] == CLEAN, rest)
            return _LabelMatch(found[0], found[1] == CLEAN)
    first, newline, rest = text.strip().partition("\n")
    if newline:
        found = _lookup(first)
        if found:
            return _LabelMatch(found[0], found[1] == CLEAN, rest)
    return None


def _is_label_cell(text: str) -> bool:
    """A printed label, alone or followed by its value after a colon (ends a run of value cells)."""
    if _lookup(text, fuzzy=False) is not None:
        return True
    colon = _COLON.search(text)
    return colon is not None and _lookup(text[: colon.start()], fuzzy=False) is not None


def _inspector_heading(text: str) -> str | None:
    return _INSPECTOR_HEADINGS.get(label_key(text))


# --- collecting values -----------------------------------------------------------------------
@dataclass
class _Found:
    """What was read for one spec (mutable while the tables are walked)."""

    texts: list[str]
    location: str
    confidence: float
    label_tc: Any


@dataclass
class _Walk:
    """State of one walk over a document's tables."""

    file: str
    cells_text: dict[Any, str] = field(default_factory=dict)
    consumed: set[Any] = field(default_factory=set)
    labels: dict[Any, _Spec] = field(default_factory=dict)
    found: dict[str, _Found] = field(default_factory=dict)
    printed: set[str] = field(default_factory=set)  # specs whose printed label was seen
    inspectors: list[Inspector] | None = None
    inspectors_location: str | None = None
    warnings: list[str] = field(default_factory=list)
    warned: set[str] = field(default_factory=set)

    def text(self, cell: _Cell) -> str:
        if cell.tc not in self.cells_text:
            self.cells_text[cell.tc] = _cell_text(cell.tc)
        return self.cells_text[cell.tc]

    def warn(self, key: str, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
        self.warned.add(key)

    # -- recording -----------------------------------------------------------------------
    def record(self, spec: _Spec, label_tc: Any, texts: list[str], location: str, confidence: float) -> None:
        texts = [t for t in texts if clean_text(t)]
        previous = self.found.get(spec.key)
        if previous is None:
            self.found[spec.key] = _Found(texts, location, confidence, label_tc)
            return
        if previous.label_tc is label_tc:  # a vertically merged label: more rows of the same value
            previous.texts.extend(texts)
            return
        old = clean_text("\n".join(previous.texts), multiline=True)
        new = clean_text("\n".join(texts), multiline=True)
        if not new or new == old:
            return
        if not old:
            self.found[spec.key] = _Found(texts, location, confidence, label_tc)
            return
        self.warn(
            spec.key,
            f"{spec.title}：栏目出现两次且内容不同（“{_short(old)}”与“{_short(new)}”），"
            f"已采用第一处（{previous.location}）。请核对后只保留一处。",
        )

    # -- walking -------------------------------------------------------------------------
    def walk_table(self, number: int, rows: list[list[_Cell]]) -> None:
        r = 0
        while r < len(rows):
            headings = self.headings(rows[r])
            if headings is not None:
                r = self.read_inspectors(number, rows, r, headings)
                continue
            self.walk_row(number, rows, r)
            r += 1

    def walk_row(self, number: int, rows: list[list[_Cell]], r: int) -> None:
        cells = rows[r]
        c = 0
        while c < len(cells):
            cell = cells[c]
            if cell.tc in self.consumed:
                c += 1
                continue
            if cell.tc in self.labels:  # continuation row of a vertically merged label
                spec = self.labels[cell.tc]
                values, c = self.values_right(cells, c + 1)
                self.record(spec, cell.tc, [self.text(v) for v in values], "", CLEAN)
                continue
            match = _match_label(self.text(cell))
            if match is None:
                c += 1
                continue
            self.labels[cell.tc] = match.spec
            if match.printed:
                self.printed.add(match.spec.key)
            values, c = self.values_right(cells, c + 1)
            texts = [self.text(v) for v in values]
            confidence = match.confidence
            if match.inline is not None:
                texts.insert(0, match.inline)
            elif not values and r + 1 < len(rows):
                below = self.values_below(rows[r + 1], cell)
                if below:
                    values, confidence = below, min(confidence, FUZZY)
                    texts = [self.text(v) for v in values]
            if match.inline is not None:
                target = cell
            else:
                target = next((v for v in values if clean_text(self.text(v))), values[0] if values else cell)
            row = r + 1 if target is cell or target in cells else r + 2
            location = _location(number, row, target)
            self.record(match.spec, cell.tc, texts, location, confidence)

    def values_right(self, cells: list[_Cell], start: int) -> tuple[list[_Cell], int]:
        """Distinct cells from ``start`` up to the next label; they become consumed."""
        values: list[_Cell] = []
        c = start
        while c < len(cells):
            cell = cells[c]
            if cell.tc in self.labels or cell.tc in self.consumed:
                break
            if _is_label_cell(self.text(cell)):
                break
            values.append(cell)
            self.consumed.add(cell.tc)
            c += 1
        return values, c

    def values_below(self, row: list[_Cell], label: _Cell) -> list[_Cell]:
        """The next row as the value of a label that fills its own row (no cell to its right)."""
        if any(c.tc is label.tc or c.tc in self.consumed or c.tc in self.labels for c in row):
            return []
        if self.headings(row) is not None or any(_match_label(self.text(c)) for c in row):
            return []
        self.consumed.update(c.tc for c in row)
        return list(row)

    # -- the inspector sub-table ---------------------------------------------------------
    def headings(self, cells: list[_Cell]) -> dict[str, _Cell] | None:
        """Column headings 姓名/职务/执法证号/联系电话 of this row, when it is the heading row."""
        headings: dict[str, _Cell] = {}
        for cell in cells:
            attr = _inspector_heading(self.text(cell))
            if attr and attr not in headings:
                headings[attr] = cell
        if "name" in headings and len(headings) >= 2:
            return headings
        return None

    def read_inspectors(
        self, number: int, rows: list[list[_Cell]], r: int, headings: dict[str, _Cell]
    ) -> int:
        """Read the inspector rows under the heading row ``r``; return the row after them."""
        heading_row = rows[r]
        heading_tcs = {c.tc for c in heading_row}
        self.consumed.update(heading_tcs)
        for cell in heading_row:  # the 抽查执法人员 label usually starts the heading row
            if _inspector_heading(self.text(cell)) is None:
                match = _match_label(self.text(cell))
                if match and match.spec.key == "inspectors":
                    self.labels[cell.tc] = match.spec
                    self.record(match.spec, cell.tc, [], _location(number, r + 1, cell), match.confidence)
        self.printed.add("inspectors")
        if "inspectors" not in self.found:
            spec = next(s for s in _SPECS if s.key == "inspectors")
            self.record(spec, None, [], _location(number, r + 1, headings["name"]), CLEAN)

        inspectors: list[Inspector] = []
        first_row: int | None = None
        n = r + 1
        while n < len(rows):
            row = [c for c in rows[n] if c.tc not in heading_tcs]
            if row and (row[0].tc in self.labels or _match_label(self.text(row[0]))):
                break
            if self.headings(rows[n]) is not None:
                break
            values = {attr: self.at_column(rows[n], cell, heading_tcs) for attr, cell in headings.items()}
            self.consumed.update(c.tc for c in row)
            for inspector in self.inspector_rows(values):
                inspectors.append(inspector)
                first_row = n if first_row is None else first_row
            n += 1
        if self.inspectors is None:
            self.inspectors = inspectors
            where = first_row if first_row is not None else r
            suffix = "起" if first_row is not None else ""
            self.inspectors_location = f"表{number} 第{where + 1}行{suffix}"
        elif inspectors:
            self.warn(
                "inspectors",
                f"抽查执法人员：文件中有两处执法人员名单，已采用第一处（{self.inspectors_location}）。请核对。",
            )
        return n

    def at_column(self, row: list[_Cell], heading: _Cell, heading_tcs: set[Any]) -> str:
        for cell in row:
            if cell.col <= heading.col < cell.col + cell.span and cell.tc not in heading_tcs:
                return self.text(cell)
        return ""

    def inspector_rows(self, values: dict[str, str]) -> Iterator[Inspector]:
        """One or more inspectors from one table row (several when each cell holds one per line)."""
        lines = {attr: clean_text(text, multiline=True).split("\n") for attr, text in values.items()}
        count = len(lines.get("name", []))
        if count > 1 and all(len(v) in (count, 1) for v in lines.values()):
            rows = [
                {a: (v[i] if len(v) == count else (v[0] if i == 0 else "")) for a, v in lines.items()}
                for i in range(count)
            ]
        else:
            rows = [{a: " ".join(v) for a, v in lines.items()}]
        for row in rows:
            name = _meaningful(strip_numbering(row.get("name")))
            title = _meaningful(clean_text(row.get("title")))
            licence = _meaningful(_no_space(row.get("licence_no")))
            phone = _meaningful(_no_space(row.get("phone")))
            if name or licence or phone:
                yield Inspector(name=name, title=title, licence_no=licence, phone=phone)


# --- helpers ---------------------------------------------------------------------------------
def _location(number: int, row: int, cell: _Cell) -> str:
    return f"表{number} 第{row}行 第{cell.col + 1}列"


def _short(text: str, limit: int = 30) -> str:
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _meaningful(text: str | None) -> str | None:
    """``text`` when it holds a letter, digit or Chinese character, else None (``"....."``, ``"3."``)."""
    if text and any(ch.isalnum() for ch in text):
        return text
    return None


def _no_space(text: str | None) -> str:
    return re.sub(r"\s+", "", clean_text(text))


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _iter_tables(document: Any) -> Iterable[Any]:
    """Every table of the body in document order, nested ones included (not hidden copies)."""
    body = document.element.body
    return (tbl for tbl in body.iter(W_TBL) if _visible_within(tbl, body, ""))


def _find_case_ref(document: Any) -> str | None:
    """The case number (``编号：SS-2026-00001``), preferring a paragraph that says 编号."""
    elements = [document.element.body]
    elements += [
        part.element
        for part in document.part.package.iter_parts()
        if str(part.partname).startswith("/word/header") and hasattr(part, "element")
    ]
    texts = [
        unicodedata.normalize("NFKC", _paragraph_text(p)) for element in elements for p in element.iter(W_P)
    ]
    for wanted in (True, False):
        for text in texts:
            if wanted and "编号" not in text:
                continue
            m = CASE_REF_PATTERN.search(text)
            if m:
                return m.group(1)
    return None


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
        except Exception as exc:
            raise _open_error(path) from exc
    except Exception as exc:  # zip, XML and package errors of a damaged or non-Word file
        raise _open_error(path) from exc


# --- the extractor ---------------------------------------------------------------------------
class DocxCheckTableExtractor:
    """Extractor of the 随机抽查事项检查表 from Word files (see the module docstring)."""

    name: str = "docx_check_table"
    kinds: frozenset[str] = frozenset({"docx"})

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        document = _open(path)
        walk = _Walk(file=display_name or path.name)
        for number, tbl in enumerate(_iter_tables(document), start=1):
            walk.walk_table(number, _grid(tbl))
        if len(walk.printed) < 2:
            raise InputFileError(NOT_CHECK_TABLE, field="file", code="FILE_NOT_CHECK_TABLE")
        return _build(walk, _find_case_ref(document))


def _build(walk: _Walk, case_ref: str | None) -> Extraction:
    fields: dict[str, Any] = dict.fromkeys(CHECK_TABLE_FIELDS)
    provenance: dict[str, Provenance] = {}
    located: dict[str, tuple[str, float]] = {}
    for spec in _SPECS:
        found = walk.found.get(spec.key)
        if found is None:
            walk.warn(spec.key, f"未找到“{spec.title}”栏目。请使用局统一的检查表模板填写。")
            if spec.kind == "inspectors":
                fields["inspectors"] = []
            continue
        raw = "\n".join(found.texts)
        keys = _fill(walk, spec, raw, fields)
        for key in keys:
            located[key] = (found.location, found.confidence)
        if spec.key == "inspectors" and walk.inspectors_location:
            located["inspectors"] = (walk.inspectors_location, found.confidence)
    for key, (location, confidence) in located.items():
        if key in walk.warned or (key in ("check_start", "check_end") and "check_time" in walk.warned):
            confidence = min(confidence, WARNED)
        provenance[key] = Provenance(file=walk.file, location=location, confidence=confidence)
    return Extraction(
        form="check_table",
        fields=fields,
        provenance=provenance,
        warnings=tuple(walk.warnings),
        case_ref=case_ref,
    )


def _fill(walk: _Walk, spec: _Spec, raw: str, fields: dict[str, Any]) -> tuple[str, ...]:
    """Convert the raw text of ``spec`` into field values; return the field keys it fills."""
    if spec.kind == "text":
        fields[spec.key] = clean_text(raw) or None
    elif spec.kind == "multiline":
        fields[spec.key] = clean_text(raw, multiline=True) or None
    elif spec.kind == "methods":
        fields[spec.key] = split_methods(raw) or None
    elif spec.kind == "inspectors":
        inspectors = walk.inspectors
        if inspectors is None:  # no heading row: names written as plain text
            inspectors = _inspectors_from_text(walk, raw)
        fields[spec.key] = [i.as_json() for i in inspectors]
    elif spec.kind == "date":
        fields[spec.key] = _date_value(walk, spec, raw)
    else:
        fields["check_start"], fields["check_end"] = _period_value(walk, raw)
        return ("check_start", "check_end")
    return (spec.key,)


def _inspectors_from_text(walk: _Walk, raw: str) -> list[Inspector]:
    names = [_meaningful(strip_numbering(n)) for n in re.split(r"[、，,；;\n]+|\s{2,}", raw)]
    inspectors = [Inspector(name=n, title=None, licence_no=None, phone=None) for n in names if n]
    if inspectors:
        walk.warn(
            "inspectors",
            "抽查执法人员：未按“姓名、职务、执法证号、联系电话”表格填写，只识别到姓名。请按模板逐人填写。",
        )
    return inspectors


def _date_value(walk: _Walk, spec: _Spec, raw: str) -> str | None:
    label = FIELD_LABELS[spec.key]
    dates = find_dates(raw)
    if not dates:
        if looks_like_date(raw):
            walk.warn(spec.key, f"{label}“{_short(raw)}”无法识别，请按“{_DATE_EXAMPLE}”填写。")
        return None
    if len(set(dates)) > 1:
        listed = "、".join(dict.fromkeys(_cn_date(d) for d in dates))
        walk.warn(
            spec.key,
            f"{label}：同一栏写有不同的日期（{listed}），已采用最后一个（{_cn_date(dates[-1])}）。请核对。",
        )
    return dates[-1].isoformat()


def _period_value(walk: _Walk, raw: str) -> tuple[str | None, str | None]:
    text = _short(raw, 40)
    period = parse_period_detail(raw)
    hint = f"请按“{_PERIOD_EXAMPLE}”填写"
    if period.start is None:
        if looks_like_date(raw) or any(ch.isdigit() for ch in clean_text(raw)):
            walk.warn("check_time", f"抽查时间“{text}”无法识别，{hint}。")
        return None, None
    if period.end is None:
        walk.warn("check_time", f"抽查时间“{text}”缺少结束时间，{hint}。")
    elif not (period.start_has_time and period.end_has_time):
        walk.warn("check_time", f"抽查时间“{text}”未写明开始和结束的时刻，已按 0 时记录，{hint}。")
    elif period.end < period.start:
        walk.warn("check_time", f"抽查时间“{text}”的结束时间早于开始时间，请核对。")
    start = period.start.isoformat(timespec="minutes")
    end = period.end.isoformat(timespec="minutes") if period.end else None
    return start, end
