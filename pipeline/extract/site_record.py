"""Read the 现场检查笔录 (细则 第十条, ``"form": "site_record"``) out of table grids.

The record is a label | value table (see ``templates/现场检查笔录.docx``). Like the check table it
is read by LABELS, on the grids every format's ``read_grids`` seam lays a file out as and with the
label walker of ``pipeline.documents.grid``: this module only knows the record's own labels and how to
turn their values into the fields of ``pipeline.core.models.SITE_RECORD_FIELDS``.

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
from collections.abc import Iterable
from typing import Any

from pipeline.core.models import SITE_RECORD_FIELDS, SITE_RECORD_LABELS, Extraction, Provenance
from pipeline.core.text import clean_text, label_key, strip_numbering
from pipeline.documents.grid import (
    WARNED,
    Form,
    FormGrids,
    FormLabels,
    Grid,
    LabelSpec,
    LabelWalk,
    date_value,
    meaningful,
    note_for,
    period_value,
    read_parts,
    walk_labels,
)

from .docx_check_table import DocxExtractor
from .pdf_check_table import PdfExtractor
from .xlsx_check_table import XlsxExtractor

__all__ = [
    "FORM",
    "NOT_SITE_RECORD",
    "NOT_SITE_RECORD_CODE",
    "SITE_RECORD",
    "DocxSiteRecordExtractor",
    "PdfSiteRecordExtractor",
    "XlsxSiteRecordExtractor",
    "extract_site_record",
    "read_site_record",
]

FORM = "site_record"
NOT_SITE_RECORD_CODE = "FILE_NOT_SITE_RECORD"
NOT_SITE_RECORD = (
    "未在文件中找到现场检查笔录（缺少“检查地点”“当事人签字（盖章）”等栏目）。请使用局统一的笔录模板填写。"
)
# A site record is recognised by at least this many of its labels (distinct rows).
MIN_LABELS = 3

# The rows of the record: the field each fills (``check_time``: both times), its label wordings.
# Matched exactly; a label row with nothing to its right reads the row below (see ``FormLabels``).
SITE_RECORD_SPECS = FormLabels(
    (
        LabelSpec("check_time", ("检查时间", "现场检查时间", "检查起止时间")),
        LabelSpec("place", ("检查地点", "现场检查地点")),
        LabelSpec("inspected_unit", ("被检查单位", "被检查单位名称", "被检查对象", "检查对象")),
        LabelSpec("legal_rep", ("法定代表人或负责人", "法定代表人负责人", "法定代表人", "负责人")),
        LabelSpec(
            "inspectors", ("检查人员及执法证号", "检查人员及证号", "执法人员及执法证号", "检查人员", "执法人员")
        ),
        LabelSpec("situation", ("检查情况", "现场检查情况", "检查内容及情况")),
        LabelSpec(
            "party_sign",
            ("当事人签字（盖章）", "当事人签字", "当事人签章", "当事人签名", "被检查单位签字（盖章）"),
        ),
        LabelSpec(
            "refusal_reason",
            ("未签字（盖章）原因", "未签字原因", "拒签原因", "拒绝签字原因", "无法取得签字原因"),
        ),
        LabelSpec("witness", ("见证人签字", "见证人签名", "见证人")),
        LabelSpec("inspector_sign", ("检查人员签字", "检查人员签名", "执法人员签字")),
    ),
    min_labels=MIN_LABELS,
    not_found=(NOT_SITE_RECORD, NOT_SITE_RECORD_CODE),
    below_always=True,
)

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


# --- values ----------------------------------------------------------------------------------
def _without_dates(text: str) -> str:
    """``text`` (NFKC) without its dates, filled in or blank."""
    return _DATE_TEXT.sub(" ", unicodedata.normalize("NFKC", text))


def _date(walk: LabelWalk, key: str, raw: str) -> str | None:
    return date_value(walk, key, SITE_RECORD_LABELS[key], raw, name_last=False)


def _period(walk: LabelWalk, raw: str) -> tuple[str | None, str | None]:
    return period_value(walk, raw, "检查时间", date_like=False)


def _inspectors(walk: LabelWalk, raw: str) -> list[dict[str, str | None]]:
    """``{name, licence_no}`` per line (or per 、-separated name when no numbers are written)."""
    inspectors: list[dict[str, str | None]] = []
    names_only = False
    text = unicodedata.normalize("NFKC", clean_text(raw, multiline=True))
    for line in (strip_numbering(part) for part in _INSPECTOR_SPLIT.split(text)):
        match = next((m for form in _INSPECTOR_FORMS if (m := form.match(line))), None)
        if match:
            name = meaningful(strip_numbering(match.group("name")))
            licence = meaningful(re.sub(r"\s+", "", match.group("no")))
            if name or licence:
                inspectors.append({"name": name, "licence_no": licence})
            continue
        for part in re.split(r"[、，,；;]+|\s{2,}", line):
            name = meaningful(strip_numbering(part))
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
    names = [line for line in lines if meaningful(line)]
    return "、".join(names) or None


# --- the engine ------------------------------------------------------------------------------
def extract_site_record(grids: Iterable[Grid], *, file: str, case_ref: str | None) -> Extraction:
    """Read the 现场检查笔录 out of ``grids`` (every table of a file, in order).

    Raises ``InputFileError`` with code ``FILE_NOT_SITE_RECORD`` when fewer than ``MIN_LABELS`` of
    the record's labels are found.
    """
    walk = walk_labels(grids, SITE_RECORD_SPECS)
    fields: dict[str, Any] = dict.fromkeys(SITE_RECORD_FIELDS)
    fields["inspectors"] = []
    located: dict[str, tuple[str, float, str]] = {}  # field → (location, confidence, spec key)
    for spec in SITE_RECORD_SPECS.specs:
        found = walk.found.get(spec.key)
        if found is None:
            walk.warn_missing(spec, "现场检查笔录")
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
        provenance[key] = Provenance(file, location, min(confidence, WARNED) if warned else confidence,
                                     note=note_for(walk, key))
    return Extraction(
        form=FORM, fields=fields, provenance=provenance, warnings=tuple(walk.warnings), case_ref=case_ref
    )


def _read_site_record(source: FormGrids) -> Extraction:
    return extract_site_record(source.grids, file=source.file, case_ref=source.case_ref)


def read_site_record(source: FormGrids) -> Extraction:
    """The site record of a file laid out by a format's ``read_grids`` (the grids only: what the
    format knows besides them is the check table's concern, see ``FormGrids``)."""
    return read_parts(source, _read_site_record, SITE_RECORD_SPECS)


SITE_RECORD = Form(FORM, read_site_record)


# --- extractors ------------------------------------------------------------------------------
# The format extractors read the record on their own grids (registered after the check table).
class DocxSiteRecordExtractor(DocxExtractor):
    form = SITE_RECORD


class XlsxSiteRecordExtractor(XlsxExtractor):
    """Each sheet is one grid; the first sheet holding the record wins."""

    form = SITE_RECORD


class PdfSiteRecordExtractor(PdfExtractor):
    """Runs after the check table refused the file, so scans (``SCAN_PENDING``) never reach it."""

    form = SITE_RECORD
