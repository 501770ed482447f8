"""The format-independent engine that reads forms (the 随机抽查事项检查表, the 现场检查笔录) out of table grids.

Every format module (Word, Excel, PDF …) has one public seam, ``read_grids(path, *, display_name=None)
-> FormGrids``, that lays the tables of a file out as ``Grid``s: rows of distinct ``GridCell``s in grid
order, each with the identity of its (merged) cell, its first grid column, the number of grid columns
it covers, its visible text and a location shown to people. A ``Form`` reads its fields out of a
``FormGrids``; a ``GridExtractor`` puts a format's seam and a form together as an ``Extractor``.

The engine is driven by LABELS, not positions: staff merge, split, insert and delete cells. A form is
a list of ``LabelSpec``s and its rules (``FormLabels``); one walker (``walk_labels``) reads every form.
A cell whose text matches a known label takes its value from the distinct cells to its right (up to
the next label), from the text after a colon in the label cell itself (for the check table also after
a line break), or from the row below a label that fills its own row. The check table's inspector
sub-table (姓名|职务|执法证号|联系电话) is read by its headings.

``extract_check_table`` turns the grids into the extraction contract's ``Extraction``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.core.errors import InputFileError
from pipeline.core.models import CHECK_TABLE_FIELDS, FIELD_LABELS, Extraction, Inspector, Provenance
from pipeline.core.text import (
    clean_text,
    find_dates,
    joined_date_times,
    label_key,
    looks_like_date,
    parse_period_detail,
    split_methods,
    strip_numbering,
)

__all__ = [
    "CASE_REF_PATTERN",
    "CHECK_TABLE",
    "NOT_CHECK_TABLE",
    "NOT_CHECK_TABLE_CODE",
    "Form",
    "FormGrids",
    "FormLabels",
    "Grid",
    "GridCell",
    "GridExtractor",
    "LabelSpec",
    "LabelWalk",
    "extract_check_table",
    "find_case_ref",
    "note_for",
    "read_check_table",
    "read_parts",
    "walk_labels",
]

CASE_REF_PATTERN = re.compile(r"(?<![A-Z0-9])([A-Z]{2,6}-\d{4}-\d{4,6})(?!\d)")

CLEAN = 1.0  # the label printed on the form
FUZZY = 0.7  # a near label, a value written in the label cell, a value in the row below
WARNED = 0.5  # a warning was raised about the field

NOT_CHECK_TABLE = "未在文件中找到随机抽查事项检查表（缺少“被抽查单位”等栏目）。请使用局统一的检查表模板填写。"
NOT_CHECK_TABLE_CODE = "FILE_NOT_CHECK_TABLE"
_PERIOD_EXAMPLE = "2026年3月5日9时30分至11时00分"
_DATE_EXAMPLE = "2026年3月5日"


# --- the grid --------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridCell:
    """A distinct cell on a grid row, as an extractor hands it to the engine.

    ``key`` is the identity of the underlying (merged) cell: cells with equal keys are the same
    merged cell (a vertically merged cell appears on each row it covers, with the same key).
    ``location`` is the provenance shown to people (``表1 第3行 第2列``, ``检查表!B3``);
    ``row_location`` names the whole row (``表1 第3行``) for values that span several cells, and
    defaults to ``location``.
    """

    key: Hashable
    col: int
    span: int
    text: str
    location: str
    row_location: str = ""

    @property
    def row_place(self) -> str:
        return self.row_location or self.location


Grid = list[list[GridCell]]


@dataclass(frozen=True)
class FormGrids:
    """A file as a format's ``read_grids`` seam lays it out for the forms.

    ``grids`` are the file's tables in order, ``case_ref`` the case number printed outside the form
    (``find_case_ref``), ``file`` the name provenance shows. A file of several ``parts`` (the sheets
    of a workbook) is read part by part; the first part holding the form wins (``read_parts``).

    What the format knows about the file besides its tables is read by the check table only (the
    site record is tried after the check table has refused the file): ``warnings`` are added to its
    warnings; ``refusal`` is raised instead of reading the grids (a PDF without a text layer);
    ``not_found`` is raised instead of ``FILE_NOT_CHECK_TABLE`` (a partly scanned PDF may hold the
    form on its images); ``annotate`` adds the format's own notes (Excel formulas without a value).
    """

    grids: list[Grid]
    case_ref: str | None
    file: str
    warnings: tuple[str, ...] = ()
    refusal: InputFileError | None = None
    not_found: InputFileError | None = None
    annotate: Callable[[Extraction], Extraction] | None = None
    parts: tuple[FormGrids, ...] = ()


@dataclass(frozen=True)
class Form:
    """A form read out of any format's grids: its name (``Extraction.form``) and its reader."""

    name: str
    read: Callable[[FormGrids], Extraction]


# --- label specification ---------------------------------------------------------------------
@dataclass(frozen=True)
class LabelSpec:
    """A row of a form: the field(s) it fills, its label wordings, how its value is read."""

    key: str  # a field key of the form, or "check_time" for check_start/check_end
    labels: tuple[str, ...]  # wordings counted as the printed label (confidence 1.0)
    kind: str = "text"  # check table: "text" | "multiline" | "methods" | "inspectors" | "date" | "period"

    @property
    def title(self) -> str:
        return self.labels[0]


_FUZZY_RATIO = 0.8
_PARENTHETICAL = re.compile(r"[(（][^)）]*[)）]")
_COLON = re.compile(r"[:：]")


@dataclass(frozen=True)
class LabelMatch:
    spec: LabelSpec
    printed: bool  # worded as printed on the form, not a near match
    inline: str | None = None  # a value written in the label cell itself

    @property
    def confidence(self) -> float:
        return CLEAN if self.printed and self.inline is None else FUZZY


@dataclass(frozen=True)
class FormLabels:
    """A form's label rows (``specs``) and its rules for reading them with ``walk_labels``.

    ``min_labels``: fewer distinct printed labels found means the file does not hold the form
    (``InputFileError`` with ``not_found`` = (message, code)). ``fuzzy``: near wordings of a label
    count too. ``line_values``: a label cell may hold its value on the lines after the label.
    ``inspector_headings``: the headings (``label_key`` → ``Inspector`` attribute) of an inspector
    sub-table, read by ``LabelWalk.read_inspectors`` under a heading row. ``below_always``: every
    label row with nothing to its right (a later row of a merged label too) reads the row below,
    at ``FUZZY`` even when that row is not taken; without it only a label's first row reads the row
    below, and only a value taken from it lowers the confidence.
    """

    specs: tuple[LabelSpec, ...]
    min_labels: int
    not_found: tuple[str, str]
    fuzzy: bool = False
    line_values: bool = False
    inspector_headings: Mapping[str, str] = field(default_factory=dict)
    below_always: bool = False
    exact: Mapping[str, LabelSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exact = {label_key(label): spec for spec in self.specs for label in spec.labels}
        object.__setattr__(self, "exact", exact)

    @property
    def labels(self) -> tuple[str, ...]:
        """Every printed label, for readers that must spot labels in running text."""
        return tuple(label for spec in self.specs for label in spec.labels)

    def lookup(self, text: str, *, fuzzy: bool = False) -> tuple[LabelSpec, bool] | None:
        """The spec ``text`` is a label of and whether it is worded as printed, or None."""
        keys = [label_key(text), label_key(_PARENTHETICAL.sub("", text))]
        for key in keys:
            if key in self.exact:
                return self.exact[key], True
        if not fuzzy:
            return None
        scored: list[tuple[float, LabelSpec]] = []
        for key in {k for k in keys if 3 <= len(k) <= 20}:
            for label, spec in self.exact.items():
                scored.append((difflib.SequenceMatcher(None, key, label).ratio(), spec))
        scored.sort(key=lambda s: s[0], reverse=True)
        if not scored or scored[0][0] < _FUZZY_RATIO:
            return None
        best = scored[0][1]
        if any(s is not best and r >= scored[0][0] for r, s in scored[1:]):
            return None  # two labels fit equally well: do not guess
        return best, False

    def match(self, text: str) -> LabelMatch | None:
        """Whether a cell's text is a label, possibly followed by its value after a colon (or a line)."""
        if not text.strip():
            return None
        found = self.lookup(text, fuzzy=self.fuzzy)
        if found:
            return LabelMatch(*found)
        colon = _COLON.search(text)
        if colon:
            found = self.lookup(text[: colon.start()], fuzzy=self.fuzzy)
            if found:
                rest = text[colon.end() :]
                return LabelMatch(*found, rest if clean_text(rest) else None)
        if self.line_values:
            first, newline, rest = text.strip().partition("\n")
            if newline:
                found = self.lookup(first, fuzzy=self.fuzzy)
                if found:
                    return LabelMatch(*found, rest)
        return None

    def is_label_cell(self, text: str) -> bool:
        """A printed label, alone or followed by its value after a colon (ends a run of value cells)."""
        if self.lookup(text) is not None:
            return True
        colon = _COLON.search(text)
        return colon is not None and self.lookup(text[: colon.start()]) is not None

    def heading(self, text: str) -> str | None:
        """The ``Inspector`` attribute of an inspector sub-table heading, or None."""
        return self.inspector_headings.get(label_key(text))


# --- collecting values -----------------------------------------------------------------------
@dataclass
class _Found:
    """What was read for one spec (mutable while the tables are walked)."""

    texts: list[str]
    location: str
    confidence: float
    label: Hashable | None


@dataclass
class LabelWalk:
    """State of one walk over a file's tables for ``form``; what it found."""

    form: FormLabels
    consumed: set[Hashable] = field(default_factory=set)
    labels: dict[Hashable, LabelSpec] = field(default_factory=dict)
    found: dict[str, _Found] = field(default_factory=dict)
    printed: set[str] = field(default_factory=set)  # specs whose printed label was seen
    inspectors: list[Inspector] | None = None
    inspectors_location: str | None = None
    warnings: list[str] = field(default_factory=list)
    warned: set[str] = field(default_factory=set)
    notes: dict[str, str] = field(default_factory=dict)  # field key → how it was read (Provenance.note)

    def warn(self, key: str, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
        self.warned.add(key)

    def warn_missing(self, spec: LabelSpec, template: str) -> None:
        self.warn(spec.key, f"未找到“{spec.title}”栏目。请使用局统一的{template}模板填写。")

    # -- recording -----------------------------------------------------------------------
    def record(
        self, spec: LabelSpec, label: Hashable | None, texts: list[str], location: str, confidence: float
    ) -> None:
        texts = [t for t in texts if clean_text(t)]
        previous = self.found.get(spec.key)
        if previous is None:
            self.found[spec.key] = _Found(texts, location, confidence, label)
            return
        if label is not None and previous.label == label:  # a vertically merged label: more rows
            previous.texts.extend(texts)
            return
        old = clean_text("\n".join(previous.texts), multiline=True)
        new = clean_text("\n".join(texts), multiline=True)
        if not new or new == old:
            return
        if not old:
            self.found[spec.key] = _Found(texts, location, confidence, label)
            return
        self.warn(
            spec.key,
            f"{spec.title}：栏目出现两次且内容不同（“{shorten(old)}”与“{shorten(new)}”），"
            f"已采用第一处（{previous.location}）。请核对后只保留一处。",
        )

    # -- walking -------------------------------------------------------------------------
    def walk_table(self, rows: Grid) -> None:
        r = 0
        while r < len(rows):
            headings = self.headings(rows[r])
            if headings is not None:
                r = self.read_inspectors(rows, r, headings)
                continue
            self.walk_row(rows, r)
            r += 1

    def walk_row(self, rows: Grid, r: int) -> None:
        cells = rows[r]
        c = 0
        while c < len(cells):
            cell = cells[c]
            if cell.key in self.consumed:
                c += 1
                continue
            spec = self.labels.get(cell.key)  # a continuation row of a vertically merged label
            if spec is not None and not self.form.below_always:
                values, c = self.values_right(cells, c + 1)
                self.record(spec, cell.key, [v.text for v in values], "", CLEAN)
                continue
            match = LabelMatch(spec, True) if spec is not None else self.form.match(cell.text)
            if match is None:
                c += 1
                continue
            if spec is None:
                self.labels[cell.key] = match.spec
                if match.printed:
                    self.printed.add(match.spec.key)
            values, c = self.values_right(cells, c + 1)
            texts = [v.text for v in values]
            confidence = match.confidence
            if match.inline is not None:
                texts.insert(0, match.inline)
            elif not values and r + 1 < len(rows):
                below = self.values_below(rows[r + 1], cell)
                if below or self.form.below_always:
                    values, confidence = below, min(confidence, FUZZY)
                    texts = [v.text for v in values]
            if match.inline is not None:
                target = cell
            else:
                target = next((v for v in values if clean_text(v.text)), values[0] if values else cell)
            self.record(match.spec, cell.key, texts, target.location, confidence)

    def values_right(self, cells: list[GridCell], start: int) -> tuple[list[GridCell], int]:
        """Distinct cells from ``start`` up to the next label; they become consumed."""
        values: list[GridCell] = []
        c = start
        while c < len(cells):
            cell = cells[c]
            if cell.key in self.labels or cell.key in self.consumed:
                break
            if self.form.is_label_cell(cell.text):
                break
            values.append(cell)
            self.consumed.add(cell.key)
            c += 1
        return values, c

    def values_below(self, row: list[GridCell], label: GridCell) -> list[GridCell]:
        """The next row as the value of a label that fills its own row (no cell to its right)."""
        if any(c.key == label.key or c.key in self.consumed or c.key in self.labels for c in row):
            return []
        if self.headings(row) is not None or any(self.form.match(c.text) for c in row):
            return []
        self.consumed.update(c.key for c in row)
        return list(row)

    # -- the inspector sub-table ---------------------------------------------------------
    def headings(self, cells: list[GridCell]) -> dict[str, GridCell] | None:
        """Column headings 姓名/职务/执法证号/联系电话 of this row, when it is the heading row."""
        if not self.form.inspector_headings:
            return None
        headings: dict[str, GridCell] = {}
        for cell in cells:
            attr = self.form.heading(cell.text)
            if attr and attr not in headings:
                headings[attr] = cell
        if "name" in headings and len(headings) >= 2:
            return headings
        return None

    def read_inspectors(self, rows: Grid, r: int, headings: dict[str, GridCell]) -> int:
        """Read the inspector rows under the heading row ``r``; return the row after them."""
        spec = next(s for s in self.form.specs if s.kind == "inspectors")
        heading_row = rows[r]
        heading_keys = {c.key for c in heading_row}
        self.consumed.update(heading_keys)
        for cell in heading_row:  # the 抽查执法人员 label usually starts the heading row
            if self.form.heading(cell.text) is None:
                match = self.form.match(cell.text)
                if match and match.spec is spec:
                    self.labels[cell.key] = spec
                    self.record(spec, cell.key, [], cell.location, match.confidence)
        self.printed.add(spec.key)
        if spec.key not in self.found:
            self.record(spec, None, [], headings["name"].location, CLEAN)

        inspectors: list[Inspector] = []
        first_row: int | None = None
        n = r + 1
        while n < len(rows):
            row = [c for c in rows[n] if c.key not in heading_keys]
            # the first filled cell (a sheet may have empty cells left of the form) ends the list
            # when it is a label
            first = next((c for c in row if c.key in self.labels or c.text.strip()), None)
            if first is not None and (first.key in self.labels or self.form.match(first.text)):
                break
            if self.headings(rows[n]) is not None:
                break
            values = {attr: self.at_column(rows[n], cell, heading_keys) for attr, cell in headings.items()}
            self.consumed.update(c.key for c in row)
            for inspector in self.inspector_rows(values):
                inspectors.append(inspector)
                first_row = n if first_row is None else first_row
            n += 1
        if self.inspectors is None:
            self.inspectors = inspectors
            if first_row is not None:
                self.inspectors_location = f"{rows[first_row][0].row_place}起"
            else:
                self.inspectors_location = heading_row[0].row_place
        elif inspectors:
            self.warn(
                spec.key,
                f"抽查执法人员：文件中有两处执法人员名单，已采用第一处（{self.inspectors_location}）。请核对。",
            )
        return n

    def at_column(self, row: list[GridCell], heading: GridCell, heading_keys: set[Hashable]) -> str:
        for cell in row:
            if cell.col <= heading.col < cell.col + cell.span and cell.key not in heading_keys:
                return cell.text
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
            name = meaningful(strip_numbering(row.get("name")))
            if name is not None and name.isdigit():  # a row number typed as a bare number (Excel turns "3." into 3)
                name = None
            title = meaningful(clean_text(row.get("title")))
            licence = meaningful(_no_space(row.get("licence_no")))
            phone = meaningful(_no_space(row.get("phone")))
            if name or licence or phone:
                yield Inspector(name=name, title=title, licence_no=licence, phone=phone)


def walk_labels(grids: Iterable[Grid], form: FormLabels) -> LabelWalk:
    """Walk ``grids`` (every table of a file, in order) for the labels of ``form``.

    Raises ``InputFileError`` (``form.not_found``) when fewer than ``form.min_labels`` of the form's
    printed labels are found.
    """
    walk = LabelWalk(form)
    for rows in grids:
        walk.walk_table(rows)
    if len(walk.printed) < form.min_labels:
        message, code = form.not_found
        raise InputFileError(message, field="file", code=code)
    return walk


def read_parts(source: FormGrids, read: Callable[[FormGrids], Extraction], form: FormLabels) -> Extraction:
    """``read(source)``, or for a file of parts, ``read`` of the first part that holds the form."""
    if not source.parts:
        return read(source)
    message, code = form.not_found
    for part in source.parts:
        try:
            return read(part)
        except InputFileError as exc:
            if exc.code != code:
                raise
    raise InputFileError(message, field="file", code=code)


# --- helpers ---------------------------------------------------------------------------------
def shorten(text: str, limit: int = 30) -> str:
    """``text`` on one line, cut to ``limit`` characters (with …) for a message."""
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def meaningful(text: str | None) -> str | None:
    """``text`` when it holds a letter, digit or Chinese character, else None (``"....."``, ``"3."``)."""
    if text and any(ch.isalnum() for ch in text):
        return text
    return None


def _no_space(text: str | None) -> str:
    return re.sub(r"\s+", "", clean_text(text))


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def date_value(walk: LabelWalk, key: str, label: str, raw: str, *, name_last: bool) -> str | None:
    """The last date written in ``raw`` (``YYYY-MM-DD``), with a warning about ``key`` (called
    ``label``) when none can be read or several differ (``name_last``: the warning names the one taken)."""
    dates = find_dates(raw)
    _joined_notes(walk, key, label, raw)
    if not dates:
        if looks_like_date(raw):
            walk.warn(key, f"{label}“{shorten(raw)}”无法识别，请按“{_DATE_EXAMPLE}”填写。")
        return None
    if len(set(dates)) > 1:
        listed = "、".join(dict.fromkeys(cn_date(d) for d in dates))
        taken = f"（{cn_date(dates[-1])}）" if name_last else ""
        walk.warn(key, f"{label}：同一栏写有不同的日期（{listed}），已采用最后一个{taken}。请核对。")
    return dates[-1].isoformat()


def _joined_notes(walk: LabelWalk, key: str, label: str, raw: str) -> None:
    """A date run into its hour (``2026/4/149时``): its one reading goes into provenance; with two
    readings (``2026/4/111时``: 1日11时 or 11日1时) nothing is guessed and staff are asked."""
    taken: list[str] = []
    for joined in joined_date_times(raw):
        readings = [f"{cn_date(r.date())}{r.hour}时" for r in joined.readings]
        if len(readings) == 1:
            taken.append(f"“{joined.text}”日期与时刻连写，唯一合理的读法为{readings[0]}")
        elif readings:
            walk.warn(key, f"{label}“{joined.text}”日期与时刻连写，可读作{'或'.join(readings)}，无法确定。"
                           "请在日期和时刻之间加空格后重新放入。")
    if taken:
        walk.notes[key] = "；".join(taken)


def period_value(walk: LabelWalk, raw: str, label: str, *, date_like: bool) -> tuple[str | None, str | None]:
    """Start and end (``YYYY-MM-DDTHH:MM``) of the period in ``raw``, with warnings about
    ``check_time`` (called ``label``). An unreadable period is warned about when it holds a digit,
    or (``date_like``) anything that looks like a date."""
    text = shorten(raw, 40)
    period = parse_period_detail(raw)
    _joined_notes(walk, "check_time", label, raw)
    hint = f"请按“{_PERIOD_EXAMPLE}”填写"
    if period.start is None:
        if (date_like and looks_like_date(raw)) or any(ch.isdigit() for ch in clean_text(raw)):
            walk.warn("check_time", f"{label}“{text}”无法识别，{hint}。")
        return None, None
    if period.end is None:
        walk.warn("check_time", f"{label}“{text}”缺少结束时间，{hint}。")
    elif not (period.start_has_time and period.end_has_time):
        walk.warn("check_time", f"{label}“{text}”未写明开始和结束的时刻，已按 0 时记录，{hint}。")
    elif period.end < period.start:
        walk.warn("check_time", f"{label}“{text}”的结束时间早于开始时间，请核对。")
    start = period.start.isoformat(timespec="minutes")
    end = period.end.isoformat(timespec="minutes") if period.end else None
    return start, end


def note_for(walk: LabelWalk, key: str) -> str | None:
    """The provenance note of field ``key`` (the period's note for ``check_start``/``check_end``)."""
    if key in ("check_start", "check_end"):
        return walk.notes.get("check_time")
    return walk.notes.get(key)


def find_case_ref(text: str) -> str | None:
    """The case number printed on the form (``编号：SS-2026-00001``), or None.

    ``text`` is the document's text outside the form, one line per paragraph; a line that says
    编号 is preferred over a case-number-like string elsewhere.
    """
    lines = unicodedata.normalize("NFKC", text).split("\n")
    for wanted in (True, False):
        for line in lines:
            if wanted and "编号" not in line:
                continue
            m = CASE_REF_PATTERN.search(line)
            if m:
                return m.group(1)
    return None


# --- the check table -------------------------------------------------------------------------
# Column headings of the inspector sub-table → Inspector attribute.
INSPECTOR_HEADINGS: dict[str, str] = {
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

CHECK_TABLE_SPECS = FormLabels(
    (
        LabelSpec("inspected_unit", ("被抽查单位",)),
        LabelSpec("basis", ("抽查依据",), "multiline"),
        LabelSpec("scope", ("抽查范围及主要内容",), "multiline"),
        LabelSpec("methods", ("抽查方式",), "methods"),
        LabelSpec("inspectors", ("抽查执法人员",), "inspectors"),
        LabelSpec("dept_opinion_date", ("执法科室意见",), "date"),
        LabelSpec("leader_approval_date", ("分管领导批准签字",), "date"),
        LabelSpec("authority_opinion_date", ("抽查执法主体意见",), "date"),
        LabelSpec("situation", ("抽查情况", "抽查情况（包括发现问题、整改措施等）"), "multiline"),
        LabelSpec("check_time", ("抽查时间",), "period"),
        LabelSpec("handling", ("处理意见和建议",), "multiline"),
        LabelSpec("leader_confirmation_date", ("分管领导确认签字",), "date"),
        LabelSpec("authority_seal_date", ("抽查执法主体盖章",), "date"),
    ),
    min_labels=2,
    not_found=(NOT_CHECK_TABLE, NOT_CHECK_TABLE_CODE),
    fuzzy=True,
    line_values=True,
    inspector_headings=INSPECTOR_HEADINGS,
)
# Every printed label of the check table, for readers that must spot labels in running text.
FORM_LABELS: tuple[str, ...] = CHECK_TABLE_SPECS.labels


def extract_check_table(grids: Iterable[Grid], *, file: str, case_ref: str | None) -> Extraction:
    """Read the check table out of ``grids`` (every table of a file, in order).

    ``file`` is the name shown in provenance, ``case_ref`` the case number found outside the form
    (see ``find_case_ref``). Raises ``InputFileError`` (``FILE_NOT_CHECK_TABLE``) when fewer than two
    of the form's printed labels are found.
    """
    walk = walk_labels(grids, CHECK_TABLE_SPECS)
    fields: dict[str, Any] = dict.fromkeys(CHECK_TABLE_FIELDS)
    provenance: dict[str, Provenance] = {}
    located: dict[str, tuple[str, float]] = {}
    for spec in CHECK_TABLE_SPECS.specs:
        found = walk.found.get(spec.key)
        if found is None:
            walk.warn_missing(spec, "检查表")
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
        provenance[key] = Provenance(file=file, location=location, confidence=confidence, note=note_for(walk, key))
    return Extraction(
        form="check_table",
        fields=fields,
        provenance=provenance,
        warnings=tuple(walk.warnings),
        case_ref=case_ref,
    )


def _fill(walk: LabelWalk, spec: LabelSpec, raw: str, fields: dict[str, Any]) -> tuple[str, ...]:
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
        fields[spec.key] = date_value(walk, spec.key, FIELD_LABELS[spec.key], raw, name_last=True)
    else:
        fields["check_start"], fields["check_end"] = period_value(walk, raw, "抽查时间", date_like=True)
        return ("check_start", "check_end")
    return (spec.key,)


def _inspectors_from_text(walk: LabelWalk, raw: str) -> list[Inspector]:
    names = [meaningful(strip_numbering(n)) for n in re.split(r"[、，,；;\n]+|\s{2,}", raw)]
    inspectors = [Inspector(name=n, title=None, licence_no=None, phone=None) for n in names if n]
    if inspectors:
        walk.warn(
            "inspectors",
            "抽查执法人员：未按“姓名、职务、执法证号、联系电话”表格填写，只识别到姓名。请按模板逐人填写。",
        )
    return inspectors


def _read_check_table(source: FormGrids) -> Extraction:
    """The check table of one file (or part), with what its format knows about the file."""
    if source.refusal is not None:
        raise source.refusal
    try:
        extraction = extract_check_table(source.grids, file=source.file, case_ref=source.case_ref)
    except InputFileError as exc:
        if exc.code == NOT_CHECK_TABLE_CODE and source.not_found is not None:
            raise source.not_found from exc
        raise
    if source.warnings:
        extraction = replace(extraction, warnings=(*extraction.warnings, *source.warnings))
    return source.annotate(extraction) if source.annotate is not None else extraction


def read_check_table(source: FormGrids) -> Extraction:
    """The check table of a file laid out by a format's ``read_grids`` (see ``FormGrids``)."""
    return read_parts(source, _read_check_table, CHECK_TABLE_SPECS)


CHECK_TABLE = Form("check_table", read_check_table)


# --- extractors ------------------------------------------------------------------------------
class GridExtractor:
    """An ``Extractor`` (``pipeline.extract.base``) of ``form`` (default: the check table).

    A format subclasses it once, naming itself (``fmt``, the first half of ``name``:
    ``docx_check_table``), its ``kinds`` and its ``read_grids`` seam; every form is read from it.
    """

    fmt: str = ""
    kinds: frozenset[str] = frozenset()
    form: Form = CHECK_TABLE

    def __init__(self, form: Form | None = None) -> None:
        self.form = form or self.form
        self.name = f"{self.fmt}_{self.form.name}"

    @staticmethod
    def read_grids(path: Path, *, display_name: str | None = None) -> FormGrids:
        raise NotImplementedError

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        return self.form.read(self.read_grids(path, display_name=display_name))
