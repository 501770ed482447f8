"""Read the 现场检查笔录 (细则 第十条, ``"form": "site_record"``) out of table grids.

The record is a label | value table (see ``templates/现场检查笔录.docx``). Like the check table it
is read by LABELS on the format-independent ``Grid`` of ``pipeline.extract.grid``, so every format
whose extractor lays its tables out as grids can be read: this module only knows the record's own
labels and how to turn their values into the fields of ``pipeline.models.SITE_RECORD_FIELDS``.

A label matches when its ``label_key`` (with or without a parenthetical such as （盖章）) is one of
the wordings below; a value is the text of the distinct cells to the label's right (up to the next
label), the text after a colon in the label cell itself, or the row below a label that fills its
own row. Labels are matched exactly, never fuzzily, so that a check table (被抽查单位, 抽查时间,
抽查情况) is never read as a site record.

Field contract: ``check_start``/``check_end`` are ``YYYY-MM-DDTHH:MM``; ``party_sign_date`` and
``inspector_sign_date`` ``YYYY-MM-DD``; ``inspectors`` a list of ``{name, licence_no}`` read from
lines such as ``张三（执法证号：37060120190001）``; ``party_signed`` is True when the party's
signature box holds anything besides the date (a name, 已签字, 已盖章), False when it is empty or
says the party refused, None when the record has no such box; ``witness`` is the name(s) in the
witness box without its date line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pdfplumber

from pipeline.errors import InputFileError
from pipeline.models import SITE_RECORD_FIELDS, SITE_RECORD_LABELS, Extraction, Provenance

from . import pdf_check_table as pdf
from . import xlsx_check_table as xlsx
from .base import error_for_kind
from .docx_check_table import _case_ref, _grid, _iter_tables, _open
from .grid import Grid, GridCell, find_case_ref
from .normalize import (
    clean_text,
    find_dates,
    label_key,
    looks_like_date,
    parse_period_detail,
    strip_numbering,
)
from .sniff import detect_kind

__all__ = [
    "FORM",
    "NOT_SITE_RECORD",
    "NOT_SITE_RECORD_CODE",
    "DocxSiteRecordExtractor",
    "PdfSiteRecordExtractor",
    "XlsxSiteRecordExtractor",
    "extract_site_record",
]

FORM = "site_record"
NOT_SITE_RECORD_CODE = "FILE_NOT_SITE_RECORD"
NOT_SITE_RECORD = (
    "未在文件中找到现场检查笔录（缺少“检查地点”“当事人签字（盖章）”等栏目）。请使用局统一的笔录模板填写。"
)
# A site record is recognised by at least this many of its labels (distinct rows).
MIN_LABELS = 3

CLEAN = 1.0  # the value of a printed label, in the cells to its right
FUZZY = 0.7  # a value written in the label cell, or in the row below the label
WARNED = 0.5  # a warning was raised about the field

_PERIOD_EXAMPLE = "2026年3月5日9时30分至11时00分"
_DATE_EXAMPLE = "2026年3月5日"


@dataclass(frozen=True)
class _Spec:
    """A row of the record: the field it fills (``check_time``: both times), its label wordings."""

    key: str
    labels: tuple[str, ...]

    @property
    def title(self) -> str:
        return self.labels[0]


_SPECS: tuple[_Spec, ...] = (
    _Spec("check_time", ("检查时间", "现场检查时间", "检查起止时间")),
    _Spec("place", ("检查地点", "现场检查地点")),
    _Spec("inspected_unit", ("被检查单位", "被检查单位名称", "被检查对象", "检查对象")),
    _Spec("legal_rep", ("法定代表人或负责人", "法定代表人负责人", "法定代表人", "负责人")),
    _Spec(
        "inspectors", ("检查人员及执法证号", "检查人员及证号", "执法人员及执法证号", "检查人员", "执法人员")
    ),
    _Spec("situation", ("检查情况", "现场检查情况", "检查内容及情况")),
    _Spec(
        "party_sign",
        ("当事人签字（盖章）", "当事人签字", "当事人签章", "当事人签名", "被检查单位签字（盖章）"),
    ),
    _Spec(
        "refusal_reason", ("未签字（盖章）原因", "未签字原因", "拒签原因", "拒绝签字原因", "无法取得签字原因")
    ),
    _Spec("witness", ("见证人签字", "见证人签名", "见证人")),
    _Spec("inspector_sign", ("检查人员签字", "检查人员签名", "执法人员签字")),
)
_LABELS: dict[str, _Spec] = {label_key(label): spec for spec in _SPECS for label in spec.labels}
_PARENTHETICAL = re.compile(r"[(（][^)）]*[)）]")
_COLON = re.compile(r"[:：]")

# One inspector (NFKC text): 张三(执法证号:37060120190001), 张三(证号 3706…), 张三(3706…),
# 张三 执法证号:37060120190001, 张三 37060120190001; the name may carry a list number.
_INSPECTOR_FORMS = (
    re.compile(r"^(?P<name>[^()]*?)\s*\(\s*(?:执法)?证[件号码编\s]*:?\s*(?P<no>[^()]*?)\s*\)$"),
    re.compile(r"^(?P<name>[^()]*?)\s*\(\s*(?P<no>[A-Za-z0-9\-]{6,})\s*\)$"),
    re.compile(r"^(?P<name>[^\d:]+?)\s*(?:(?:执法)?证[件号码编]*)?\s*[:,，]?\s*(?P<no>[A-Za-z0-9\-]{6,})$"),
)
# Where one inspector ends: a line end, a semicolon, or a separator after a closing parenthesis.
_INSPECTOR_SPLIT = re.compile(r"\n|[;；]|(?<=\))\s*[,，、]?\s*")
# A date as printed or as the blank template (``2026年3月5日``, ``　　年　　月　　日``, ``2026-03-05``).
_DATE_TEXT = re.compile(
    r"(?:\d{4}|[〇零○一二三四五六七八九]{4})?\s*年\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})?\s*月"
    r"\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})?\s*[日号]|\d{4}\s*[./\-]\s*\d{1,2}\s*[./\-]\s*\d{1,2}"
)
# Words of the signature box that are not a signature: the label repeated, the date's caption.
_BOX_WORDS = re.compile(r"当事人|被检查单位|签字|签名|签章|盖章|日期")
# What staff write when the party did not sign: 拒绝签字, 拒签, 未签字, 不予签字, 无法取得签字.
_REFUSED = re.compile(r"拒|未签|未盖|不签|不予|无法|没有签")


# --- walking the grids -----------------------------------------------------------------------
@dataclass
class _Found:
    """The value read for one spec."""

    texts: list[str]
    location: str
    confidence: float
    label: Hashable


@dataclass
class _Walk:
    """State of one walk over a file's grids."""

    consumed: set[Hashable] = field(default_factory=set)
    labels: dict[Hashable, _Spec] = field(default_factory=dict)
    found: dict[str, _Found] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    warned: set[str] = field(default_factory=set)

    def warn(self, key: str, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
        self.warned.add(key)

    def record(
        self, spec: _Spec, label: Hashable, texts: list[str], location: str, confidence: float
    ) -> None:
        texts = [t for t in texts if clean_text(t)]
        previous = self.found.get(spec.key)
        if previous is None:
            self.found[spec.key] = _Found(texts, location, confidence, label)
            return
        if previous.label == label:  # a vertically merged label: its next row
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
            f"{spec.title}：栏目出现两次且内容不同（“{_short(old)}”与“{_short(new)}”），"
            f"已采用第一处（{previous.location}）。请核对后只保留一处。",
        )

    def walk(self, rows: Grid) -> None:
        for r, cells in enumerate(rows):
            c = 0
            while c < len(cells):
                cell = cells[c]
                if cell.key in self.consumed:
                    c += 1
                    continue
                spec = self.labels.get(cell.key)
                inline: str | None = None
                if spec is None:
                    matched = _match_label(cell.text)
                    if matched is None:
                        c += 1
                        continue
                    spec, inline = matched
                    self.labels[cell.key] = spec
                values, c = self.values_right(cells, c + 1)
                confidence = CLEAN if inline is None else FUZZY
                if inline is None and not values and r + 1 < len(rows):
                    values = self.values_below(rows[r + 1], cell)
                    confidence = FUZZY
                texts = ([inline] if inline is not None else []) + [v.text for v in values]
                target = (
                    cell
                    if inline is not None
                    else next((v for v in values if clean_text(v.text)), values[0] if values else cell)
                )
                self.record(spec, cell.key, texts, target.location, confidence)

    def values_right(self, cells: list[GridCell], start: int) -> tuple[list[GridCell], int]:
        """The value of a label cell: the distinct cells from ``start`` up to the next label."""
        values: list[GridCell] = []
        c = start
        while c < len(cells):
            cell = cells[c]
            if cell.key in self.labels or cell.key in self.consumed or _match_label(cell.text):
                break
            values.append(cell)
            self.consumed.add(cell.key)
            c += 1
        return values, c

    def values_below(self, row: list[GridCell], label: GridCell) -> list[GridCell]:
        """The next row as the value of a label that fills its own row (nothing to its right)."""
        if any(c.key == label.key or c.key in self.consumed or _match_label(c.text) for c in row):
            return []
        self.consumed.update(c.key for c in row)
        return list(row)


def _lookup(text: str) -> _Spec | None:
    for key in (label_key(text), label_key(_PARENTHETICAL.sub("", text))):
        if key in _LABELS:
            return _LABELS[key]
    return None


def _match_label(text: str) -> tuple[_Spec, str | None] | None:
    """The spec of a label cell, and the value written after a colon in it (None when there is none)."""
    if not text.strip():
        return None
    spec = _lookup(text)
    if spec is not None:
        return spec, None
    colon = _COLON.search(text)
    if colon:
        spec = _lookup(text[: colon.start()])
        if spec is not None:
            rest = text[colon.end() :]
            return spec, (rest if clean_text(rest) else None)
    return None


# --- values ----------------------------------------------------------------------------------
def _short(text: str, limit: int = 30) -> str:
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _meaningful(text: str | None) -> str | None:
    """``text`` when it holds a letter, digit or Chinese character, else None (blank lines, ``……``)."""
    if text and any(ch.isalnum() for ch in text):
        return text
    return None


def _without_dates(text: str) -> str:
    """``text`` (NFKC) without its dates, filled in or blank."""
    return _DATE_TEXT.sub(" ", unicodedata.normalize("NFKC", text))


def _date(walk: _Walk, key: str, raw: str) -> str | None:
    label = SITE_RECORD_LABELS[key]
    dates = find_dates(raw)
    if not dates:
        if looks_like_date(raw):
            walk.warn(key, f"{label}“{_short(raw)}”无法识别，请按“{_DATE_EXAMPLE}”填写。")
        return None
    if len(set(dates)) > 1:
        listed = "、".join(dict.fromkeys(f"{d.year}年{d.month}月{d.day}日" for d in dates))
        walk.warn(key, f"{label}：同一栏写有不同的日期（{listed}），已采用最后一个。请核对。")
    return dates[-1].isoformat()


def _period(walk: _Walk, raw: str) -> tuple[str | None, str | None]:
    text = _short(raw, 40)
    period = parse_period_detail(raw)
    hint = f"请按“{_PERIOD_EXAMPLE}”填写"
    if period.start is None:
        if any(ch.isdigit() for ch in clean_text(raw)):
            walk.warn("check_time", f"检查时间“{text}”无法识别，{hint}。")
        return None, None
    if period.end is None:
        walk.warn("check_time", f"检查时间“{text}”缺少结束时间，{hint}。")
    elif not (period.start_has_time and period.end_has_time):
        walk.warn("check_time", f"检查时间“{text}”未写明开始和结束的时刻，已按 0 时记录，{hint}。")
    elif period.end < period.start:
        walk.warn("check_time", f"检查时间“{text}”的结束时间早于开始时间，请核对。")
    start = period.start.isoformat(timespec="minutes")
    end = period.end.isoformat(timespec="minutes") if period.end else None
    return start, end


def _inspectors(walk: _Walk, raw: str) -> list[dict[str, str | None]]:
    """``{name, licence_no}`` per line (or per 、-separated name when no numbers are written)."""
    inspectors: list[dict[str, str | None]] = []
    names_only = False
    text = unicodedata.normalize("NFKC", clean_text(raw, multiline=True))
    for line in (strip_numbering(part) for part in _INSPECTOR_SPLIT.split(text)):
        match = next((m for form in _INSPECTOR_FORMS if (m := form.match(line))), None)
        if match:
            name = _meaningful(strip_numbering(match.group("name")))
            licence = _meaningful(re.sub(r"\s+", "", match.group("no")))
            if name or licence:
                inspectors.append({"name": name, "licence_no": licence})
            continue
        for part in re.split(r"[、，,；;]+|\s{2,}", line):
            name = _meaningful(strip_numbering(part))
            if name:
                inspectors.append({"name": name, "licence_no": None})
                names_only = True
    if names_only:
        walk.warn(
            "inspectors",
            "检查人员及执法证号：有检查人员未写明执法证号，请按“张三（执法证号：37060120190001）”逐行填写。",
        )
    return inspectors


def _party_signed(raw: str) -> bool:
    """Whether the party's signature box holds a signature (see the module docstring)."""
    rest = label_key(_BOX_WORDS.sub("", _without_dates(raw)))
    if not rest:
        return False
    return not _REFUSED.search(_without_dates(raw))


def _witness(raw: str) -> str | None:
    lines = (clean_text(_without_dates(line)) for line in raw.split("\n"))
    names = [line for line in lines if _meaningful(line)]
    return "、".join(names) or None


# --- the engine ------------------------------------------------------------------------------
def extract_site_record(grids: Iterable[Grid], *, file: str, case_ref: str | None) -> Extraction:
    """Read the 现场检查笔录 out of ``grids`` (every table of a file, in order).

    Raises ``InputFileError`` with code ``FILE_NOT_SITE_RECORD`` when fewer than ``MIN_LABELS`` of
    the record's labels are found.
    """
    walk = _Walk()
    for rows in grids:
        walk.walk(rows)
    if len({spec.key for spec in walk.labels.values()}) < MIN_LABELS:
        raise InputFileError(NOT_SITE_RECORD, field="file", code=NOT_SITE_RECORD_CODE)

    fields: dict[str, Any] = dict.fromkeys(SITE_RECORD_FIELDS)
    fields["inspectors"] = []
    located: dict[str, tuple[str, float, str]] = {}  # field → (location, confidence, spec key)
    for spec in _SPECS:
        found = walk.found.get(spec.key)
        if found is None:
            walk.warn(spec.key, f"未找到“{spec.title}”栏目。请使用局统一的现场检查笔录模板填写。")
            continue
        raw = "\n".join(found.texts)
        keys: tuple[str, ...] = (spec.key,)
        if spec.key == "check_time":
            fields["check_start"], fields["check_end"] = _period(walk, raw)
            keys = ("check_start", "check_end")
        elif spec.key == "inspectors":
            fields["inspectors"] = _inspectors(walk, raw)
        elif spec.key == "situation" or spec.key == "refusal_reason":
            fields[spec.key] = clean_text(raw, multiline=True) or None
        elif spec.key == "party_sign":
            fields["party_signed"] = _party_signed(raw)
            fields["party_sign_date"] = _date(walk, "party_sign_date", raw)
            keys = ("party_signed", "party_sign_date")
        elif spec.key == "witness":
            fields["witness"] = _witness(raw)
        elif spec.key == "inspector_sign":
            fields["inspector_sign_date"] = _date(walk, "inspector_sign_date", raw)
            keys = ("inspector_sign_date",)
        else:
            fields[spec.key] = clean_text(raw) or None
        for key in keys:
            if fields[key] not in (None, []):
                located[key] = (found.location, found.confidence, spec.key)

    provenance: dict[str, Provenance] = {}
    for key, (location, confidence, spec_key) in located.items():
        warned = key in walk.warned or spec_key in walk.warned
        provenance[key] = Provenance(file, location, min(confidence, WARNED) if warned else confidence)
    return Extraction(
        form=FORM, fields=fields, provenance=provenance, warnings=tuple(walk.warnings), case_ref=case_ref
    )


# --- Word ------------------------------------------------------------------------------------
class DocxSiteRecordExtractor:
    """Extractor of the 现场检查笔录 from Word files, on the check-table extractor's Word grids."""

    name: str = "docx_site_record"
    kinds: frozenset[str] = frozenset({"docx"})

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        document = _open(path)
        texts: dict[Any, str] = {}
        grids = (_grid(number, tbl, texts) for number, tbl in enumerate(_iter_tables(document), start=1))
        return extract_site_record(grids, file=display_name or path.name, case_ref=_case_ref(document))


# --- PDF -------------------------------------------------------------------------------------
class PdfSiteRecordExtractor:
    """Extractor of the 现场检查笔录 from PDF files, on the check-table extractor's PDF grids.

    It runs after ``PdfCheckTableExtractor`` has refused the file as not a check table, so scans
    without a text layer (``SCAN_PENDING``) never reach it.
    """

    name: str = "pdf_site_record"
    kinds: frozenset[str] = frozenset({"pdf"})

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        form_grid, form_case = pdf._read_form(path)
        try:
            with pdfplumber.open(path, password="") as document:
                raw_pages = pdf._raw_pages(document)
        except Exception as exc:  # pdfminer raises many kinds of errors on damaged files
            raise pdf._open_error(exc) from exc
        pages = pdf._read_pages(raw_pages)
        grids = ([form_grid] if form_grid else []) + pages.grids
        case_ref = find_case_ref("\n".join(t for t in (form_case, pages.first_page_text) if t))
        return extract_site_record(grids, file=display_name or path.name, case_ref=case_ref)


# --- Excel -----------------------------------------------------------------------------------
class XlsxSiteRecordExtractor:
    """Extractor of the 现场检查笔录 from Excel workbooks, on the check-table extractor's sheet grids.

    Each sheet is one grid; the first sheet holding the record wins.
    """

    name: str = "xlsx_site_record"
    kinds: frozenset[str] = frozenset({"xlsx", "xls"})

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        try:
            kind = detect_kind(path)
            data = path.read_bytes()
        except OSError as exc:
            raise error_for_kind("unreadable") from exc
        if kind not in self.kinds:
            raise error_for_kind(kind)
        file = display_name or path.name
        for sheet in xlsx._xls_sheets(data) if kind == "xls" else xlsx._xlsx_sheets(data):
            try:
                return extract_site_record(
                    [sheet.grid()], file=file, case_ref=find_case_ref(sheet.all_text())
                )
            except InputFileError as exc:
                if exc.code != NOT_SITE_RECORD_CODE:
                    raise
        raise InputFileError(NOT_SITE_RECORD, field="file", code=NOT_SITE_RECORD_CODE)
