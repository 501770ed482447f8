"""Pure text and date normalisation for values read from the check table.

Conventions (decided here, relied on by every extractor):

* ``clean_text`` keeps a value *as written*: Chinese punctuation such as （）、： stays as it is.
  Only full-width digits and Latin letters are folded to ASCII (``２０２６`` → ``2026``), zero-width
  characters are dropped and whitespace is folded (any run, including the full-width space U+3000,
  becomes one ASCII space). With ``multiline=True`` line breaks survive (blank lines are dropped),
  which is what long free-text fields (抽查情况, 处理意见和建议) want.
* ``label_key`` is a matching key only, never shown: full NFKC, no whitespace, no punctuation.
* Date and time parsing applies full NFKC first (full-width digits, ``：``, ``～``, U+3000) and
  understands Chinese numerals (``二〇二六年三月五日``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = [
    "KNOWN_METHODS",
    "JoinedDateTime",
    "Period",
    "clean_text",
    "company_key",
    "find_dates",
    "joined_date_times",
    "label_key",
    "looks_like_date",
    "parse_date",
    "parse_period",
    "parse_period_detail",
    "split_methods",
    "strip_numbering",
]

# Full-width digits and Latin letters (U+FF10..U+FF5A) → ASCII; everything else is kept as written.
_FULLWIDTH_ALNUM = {
    cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(0xFF01, 0xFF5F) if chr(cp).isalnum()
}
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_SPACE_RUN = re.compile(r"[^\S\n]+")
_ANY_SPACE_RUN = re.compile(r"\s+")


def clean_text(s: str | None, *, multiline: bool = False) -> str:
    """Return ``s`` as written, with full-width alphanumerics folded and whitespace tidied.

    Without ``multiline`` every whitespace run (newlines included) becomes one space; with it, each
    line is tidied on its own and blank lines are dropped. ``None`` gives ``""``.
    """
    if not s:
        return ""
    text = s.translate(_ZERO_WIDTH).translate(_FULLWIDTH_ALNUM)
    if not multiline:
        return _ANY_SPACE_RUN.sub(" ", text).strip()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\v", "\n").replace("\f", "\n")
    lines = (_SPACE_RUN.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _is_dropped_in_key(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("P")


def label_key(s: str | None) -> str:
    """Key for matching labels: NFKC, without any whitespace or punctuation.

    ``"抽查执法\\n人员："`` → ``"抽查执法人员"``; ``"抽查情况（包括发现问题、整改措施等）"`` →
    ``"抽查情况包括发现问题整改措施等"``.
    """
    if not s:
        return ""
    text = unicodedata.normalize("NFKC", s.translate(_ZERO_WIDTH))
    return "".join(ch for ch in text if not _is_dropped_in_key(ch))


def company_key(s: str | None) -> str:
    """Key for matching company names: NFKC (so （） becomes ()), no whitespace."""
    if not s:
        return ""
    text = unicodedata.normalize("NFKC", s.translate(_ZERO_WIDTH))
    return _ANY_SPACE_RUN.sub("", text)


# ---------------------------------------------------------------------------------------------
# Numbering of list items ("1.张三", "（1）张三")

_NUMBERING = re.compile(
    r"""^\s*(?:
        [(（]\s*\d{1,3}\s*[)）]          # (1) （1）
      | \d{1,3}\s*[.、．,，)）:：]        # 1. 1、 1． 1) 1：
      | [\u2460-\u2473\u2474-\u2487\u2488-\u249b]   # ① ⑴ ⒈
      | [一二三四五六七八九十]{1,3}\s*[、.．]   # 一、
      | \d{1,2}\s+(?=\D)                # "1 张三"
    )\s*""",
    re.VERBOSE,
)


def strip_numbering(s: str | None) -> str:
    """Remove a leading list number: ``1.张三`` / ``1、张三`` / ``（1）张三`` → ``张三``; ``1.`` → ``""``."""
    text = clean_text(s)
    return _NUMBERING.sub("", text, count=1).strip()


# ---------------------------------------------------------------------------------------------
# Dates

_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "○": 0,
    "Ｏ": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_DIGIT_CLASS = "〇零○一二三四五六七八九"
_NUM = rf"(?:\d{{1,2}}|[{_CN_DIGIT_CLASS}十]{{1,3}})"
_YEAR = rf"(?:\d{{4}}|[{_CN_DIGIT_CLASS}]{{4}})"

# 2026年3月5日, 二〇二六年三月五日 (the 日 may be missing when nothing else follows).
_DATE_YMD = re.compile(rf"(?<!\d)({_YEAR})\s*年\s*({_NUM})\s*月\s*({_NUM})(?!\d)(?:\s*[日号])?")
# 2026-03-05, 2026.3.5, 2026/3/5 (the same separator twice).
_DATE_SEP = re.compile(r"(?<!\d)(\d{4})\s*([./\-])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?!\d)")
# Partial dates, used only for the end of a period: 3月6日, 6日, 次日.
_DATE_MD = re.compile(rf"(?<![\d年])({_NUM})\s*月\s*({_NUM})(?!\d)\s*[日号]?")
_DATE_D = re.compile(rf"(?<![\d月年])({_NUM})\s*[日号]")
_NEXT_DAY = re.compile(r"次日|第二天|翌日")
# Something that looks like an attempt at a date (used to tell "blank" from "unreadable").
_DATE_LIKE = re.compile(rf"[\d{_CN_DIGIT_CLASS}十]\s*[年月日号]|\d\s*[./\-]\s*\d|[年月]\s*\d")


def _cn_number(s: str) -> int | None:
    """``"23"``, ``"二十三"``, ``"十"``, ``"〇五"`` → int; ``None`` when not a number."""
    if s.isascii() and s.isdigit():
        return int(s)
    if "十" in s:
        tens, _, ones = s.partition("十")
        if "十" in ones or len(tens) > 1 or len(ones) > 1:
            return None
        t = _CN_DIGITS.get(tens) if tens else 1
        o = _CN_DIGITS.get(ones) if ones else 0
        if t is None or o is None:
            return None
        return t * 10 + o
    value = 0
    for ch in s:
        digit = _CN_DIGITS.get(ch)
        if digit is None:
            return None
        value = value * 10 + digit
    return value


def _make_date(y: str, m: str, d: str) -> date | None:
    year, month, day = _cn_number(y), _cn_number(m), _cn_number(d)
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _nfkc(s: str | None) -> str:
    return unicodedata.normalize("NFKC", s.translate(_ZERO_WIDTH)) if s else ""


def _date_spans(text: str) -> list[tuple[int, int, date | None]]:
    """All full dates in NFKC ``text`` as (start, end, date); ``date`` is None when invalid.

    A date run into its time (``2026/4/149时``) is included when it has exactly one valid reading;
    its span ends after the day's digits, so that the time reader still sees the hour."""
    spans: list[tuple[int, int, date | None]] = []
    for m in _DATE_YMD.finditer(text):
        spans.append((m.start(), m.end(), _make_date(m.group(1), m.group(2), m.group(3))))
    for m in _DATE_SEP.finditer(text):
        if not any(s <= m.start() < e for s, e, _ in spans):
            spans.append((m.start(), m.end(), _make_date(m.group(1), m.group(3), m.group(4))))
    for joined in _joined(text):
        if len(joined.readings) != 1:
            continue
        # 2026/11/99时 also reads as the invalid day 99: the joined reading replaces it.
        overlapping = [span for span in spans if span[0] <= joined.start < span[1]]
        if all(d is None for _, _, d in overlapping):
            spans = [span for span in spans if span not in overlapping]
            spans.append((joined.start, joined.day_end, joined.readings[0].date()))
    spans.sort(key=lambda span: span[0])
    return spans


# A date whose day runs into the hour, without a separator: 2026/4/149时, 2026.5.1915时00分,
# 2026年4月149时, 2026-4-149:30. The digits after the month split into day + hour in at most two ways.
_JOINED_TAIL = r"(\d{2,4})(?=\s*(?:[时点]|:\s*\d{2}))"
_JOINED_SEP = re.compile(r"(?<!\d)(\d{4})\s*([./\-])\s*(\d{1,2})\s*\2\s*" + _JOINED_TAIL)
_JOINED_YMD = re.compile(rf"(?<!\d)({_YEAR})\s*年\s*({_NUM})\s*月\s*" + _JOINED_TAIL)


@dataclass(frozen=True)
class JoinedDateTime:
    """A date written together with its hour (``2026/4/149时``): the text as written and every
    valid reading (date at the hour). Exactly one reading is taken; several are ambiguous."""

    text: str
    readings: tuple[datetime, ...]
    start: int = 0  # where the date starts in the NFKC text
    day_end: int = 0  # where the day's digits end, when there is exactly one reading


def _joined(text: str) -> list[JoinedDateTime]:
    found: list[JoinedDateTime] = []
    matches = [(m, m.group(1), m.group(3)) for m in _JOINED_SEP.finditer(text)]
    matches += [(m, m.group(1), m.group(2)) for m in _JOINED_YMD.finditer(text)]
    for m, year, month in matches:
        digits = m.group(m.lastindex or 0)
        readings: list[datetime] = []
        day_end = 0
        for split in (1, 2):
            day, hour = digits[:split], digits[split:]
            if not 1 <= len(hour) <= 2 or int(hour) > 23:
                continue
            d = _make_date(year, month, day)
            if d is not None:
                readings.append(datetime.combine(d, time(int(hour), 0)))
                day_end = m.start(m.lastindex or 0) + split
        end = m.end()
        unit = re.match(r"\s*[时点]", text[end:])
        shown = text[m.start():end + (unit.end() if unit else 0)]
        found.append(JoinedDateTime(shown, tuple(readings), m.start(), day_end))
    return found


def joined_date_times(s: str | None) -> list[JoinedDateTime]:
    """The dates in ``s`` written together with their hour (see ``JoinedDateTime``), in order."""
    return sorted(_joined(_nfkc(s)), key=lambda j: j.start)


def find_dates(s: str | None) -> list[date]:
    """Every valid date written in ``s``, in order of appearance (duplicates kept)."""
    return [d for _, _, d in _date_spans(_nfkc(s)) if d is not None]


def parse_date(s: str | None) -> date | None:
    """The first date in ``s`` (``2026年3月5日``, ``2026.3.5``, ``二〇二六年三月五日`` …), or None.

    Surrounding text is ignored (``（盖章）2026年3月5日``); a blank template ``年 月 日`` gives None.
    Use ``find_dates`` to notice a cell holding two different dates.
    """
    dates = find_dates(s)
    return dates[0] if dates else None


def looks_like_date(s: str | None) -> bool:
    """True when ``s`` seems to hold a (possibly unreadable) date rather than a blank template."""
    return bool(_DATE_LIKE.search(_nfkc(s)))


# ---------------------------------------------------------------------------------------------
# Periods (抽查时间)

_TIME_CN = re.compile(
    rf"(上午|下午|晚上|中午)?\s*({_NUM})\s*[时点](?:\s*(半)|\s*({_NUM})(?!\s*[时点:\d])\s*分?)?"
)
_TIME_COLON = re.compile(r"(上午|下午|晚上|中午)?\s*(?<!\d)(\d{1,2})\s*:\s*(\d{2})(?!\d)")
_RANGE_SEP = re.compile(r"至|到|~|—+|–|-|－|―")
_MASK = "\x00"


@dataclass(frozen=True)
class Period:
    """A parsed 抽查时间; ``*_has_time`` is False when only a date was written (time set to 00:00)."""

    start: datetime | None
    end: datetime | None
    start_has_time: bool = False
    end_has_time: bool = False


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = _MASK * (end - start)
    return "".join(chars)


def _first_time(segment: str, *, afternoon: bool = False) -> tuple[time | None, bool]:
    """The first time of day in ``segment`` and whether it is marked 下午/晚上.

    ``afternoon`` carries a 下午 from the start of a period to an unmarked end (下午3时至5时).
    """
    candidates: list[tuple[int, str | None, str, str | None]] = []
    for m in _TIME_COLON.finditer(segment):
        candidates.append((m.start(), m.group(1), m.group(2), m.group(3)))
    for m in _TIME_CN.finditer(segment):
        candidates.append((m.start(), m.group(1), m.group(2), "30" if m.group(3) else m.group(4)))
    if not candidates:
        return None, False
    _, ampm, hour, minute = min(candidates, key=lambda c: c[0])
    pm = ampm in ("下午", "晚上") or (ampm is None and afternoon)
    return _make_time(pm, hour, minute), pm


def _make_time(pm: bool, h: str, m: str | None) -> time | None:
    hour = _cn_number(h)
    minute = _cn_number(m) if m else 0
    if hour is None or minute is None:
        return None
    if pm and hour < 12:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def _end_date(segment: str, start: date) -> date | None:
    """A date in the end part of a period: full dates are masked already; try 3月6日, 6日, 次日."""
    if _NEXT_DAY.search(segment):
        return start + timedelta(days=1)
    m = _DATE_MD.search(segment)
    if m:
        return _make_date(str(start.year), m.group(1), m.group(2))
    m = _DATE_D.search(segment)
    if m:
        return _make_date(str(start.year), str(start.month), m.group(1))
    return None


def parse_period_detail(s: str | None) -> Period:
    """Parse a 抽查时间 such as ``2026年3月5日9时30分至11时00分`` (see ``parse_period``)."""
    text = _nfkc(s)
    spans = _date_spans(text)
    masked = _mask(text, [(a, b) for a, b, _ in spans])
    first = next((i for i, ch in enumerate(masked) if ch == _MASK or ch.isdigit()), None)
    if first is None or not spans or spans[0][2] is None:
        return Period(None, None)
    sep = _RANGE_SEP.search(masked, first)
    left_end = sep.start() if sep else len(text)
    right_start = sep.end() if sep else len(text)

    start_day = spans[0][2]
    start_time, afternoon = _first_time(masked[:left_end])
    start = datetime.combine(start_day, start_time or time(0, 0))

    right_dates = [d for a, _, d in spans if a >= right_start]
    right_masked = masked[right_start:]
    if right_dates:
        end_day: date | None = right_dates[0]
    else:
        end_day = _end_date(right_masked, start_day) or start_day
    end_time = _first_time(right_masked, afternoon=afternoon)[0] if sep else None
    if end_day is None or (end_time is None and not (right_dates and sep)):
        return Period(start, None, start_time is not None, False)
    end = datetime.combine(end_day, end_time or time(0, 0))
    return Period(start, end, start_time is not None, end_time is not None)


def parse_period(s: str | None) -> tuple[datetime | None, datetime | None]:
    """Start and end of a 抽查时间, each None when not written.

    Understands ``2026年3月5日9时30分至11时00分``, ``2026年3月5日 9时30分至2026年3月6日11时``,
    ``2026-03-05 9:30-11:00``, ``2026年3月5日9:30至11:00``, ``9时`` (minutes 0), ``下午3时``,
    an end written as ``3月6日11时`` / ``6日11时`` / ``次日1时``, full-width digits and Chinese
    numerals. An end time without a date is on the start's day. The blank template
    ``年 月 日 时 分至 时 分`` gives ``(None, None)``; times without any date give ``(None, None)``.
    A date written without a time gives 00:00 (see ``parse_period_detail`` to tell).
    """
    period = parse_period_detail(s)
    return period.start, period.end


# ---------------------------------------------------------------------------------------------
# 抽查方式

KNOWN_METHODS: tuple[str, ...] = ("书面检查", "现场检查", "网络监测", "检验检测", "实地核查", "第三方验证")
_MARKED = "☑✔✓√■☒⊠▣🗹🗷"
_UNMARKED = "☐□▢🗆"
_BOX = re.compile(f"([{_MARKED}{_UNMARKED}])([^{_MARKED}{_UNMARKED}]*)")
_METHOD_SEP = re.compile(r"[、，,；;/|\s]+")
_SEP_CHARS = "、，,；;/|:：.。 \n\t"


def _known_in(text: str) -> list[str]:
    """Known method names found in ``text`` (whitespace ignored), in order of appearance."""
    compact = _ANY_SPACE_RUN.sub("", text)
    found = sorted((compact.find(m), m) for m in KNOWN_METHODS if m in compact)
    return [m for _, m in found]


def split_methods(s: str | None) -> list[str]:
    """The 抽查方式 written in ``s``.

    With check boxes (``☑现场检查 ☐书面检查``) only the marked ones count, in order of appearance;
    plain text (``现场检查、书面检查``) names all of them. Known methods come back under their standard
    name; other wording is returned cleaned, split on separators.
    """
    text = clean_text(s)
    if not text:
        return []
    result: list[str] = []
    if _BOX.search(text):
        for m in _BOX.finditer(text):
            if m.group(1) not in _MARKED:
                continue
            fragment = m.group(2).strip(_SEP_CHARS)
            names = _known_in(fragment) or ([fragment] if fragment else [])
            result.extend(n for n in names[:1] if n not in result)
        return result
    known = _known_in(text)
    if known:
        return known
    for part in _METHOD_SEP.split(text):
        part = part.strip(_SEP_CHARS)
        if part and part not in result:
            result.append(part)
    return result
