"""China's working days, for the deadlines of the 工作细则 (第十一条 5, 第十三条 20, 第十五条 7 个工作日).

Working days in China are not Monday–Friday: statutory holidays (法定节假日) move every year and some
weekends are make-up working days (调休上班). The ``chinesecalendar`` package (import name
``chinese_calendar``) holds the State Council's schedules for 2004–2026 and raises for any other year.
The State Council publishes next year's schedule around November, so staff can enter it in a local
override file (setting ``calendar_file``, by default ``<data_dir>/节假日调休.toml``)::

    # 国务院办公厅公布的 2027 年部分节假日安排（示例）
    [2027]
    holidays = ["2027-01-01", "2027-02-05..2027-02-11"]   # 放假日期；a..b 表示连续多天（含两端）
    workdays = ["2027-02-14"]                              # 调休上班的日期

Rules of the file:

* one table per year (``[2027]``), with at most the two keys ``holidays`` and ``workdays``; each is a
  list of ``"YYYY-MM-DD"`` strings (or bare TOML dates) and ``"YYYY-MM-DD..YYYY-MM-DD"`` ranges;
* a year that ``chinesecalendar`` does not cover is **fully defined** by the file: Monday–Friday are
  working days and Saturday/Sunday rest days, except the listed holidays (rest) and workdays (work);
* for a year ``chinesecalendar`` covers, the file's entries override those single days only;
* every date must lie in its table's year, and no date may be both a holiday and a workday.

A malformed file raises :class:`~pipeline.core.errors.ConfigError` naming the line or value to fix.

When a count of working days runs into a year that neither source covers, :meth:`WorkCalendar.add_working_days`
still gives a *provisional* date (counting Monday–Friday) so that staff see something, but the
:class:`Deadline` says ``certain=False`` and carries a loud Chinese warning that says how to fix it.
The result is never a quiet guess.
"""

from __future__ import annotations

import calendar as _stdcal
import datetime as dt
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import chinese_calendar

from pipeline.core.errors import BadArgsError, ConfigError

DEFAULT_FILE_NAME = "节假日调休.toml"

LABEL_WORKDAY = "工作日"
LABEL_WEEKEND = "周末"
LABEL_HOLIDAY = "法定节假日"
LABEL_MAKEUP = "调休上班"
LABEL_UNKNOWN = "未知（无数据）"

WEEKDAY_HEADERS = ("一", "二", "三", "四", "五", "六", "日")

# chinesecalendar's English holiday names (``chinese_calendar.Holiday`` values) in Chinese.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}

_RANGE_SEP = ".."
_MONTH_SPEC = re.compile(r"\s*(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?\s*")


class DayKind(Enum):
    workday = LABEL_WORKDAY
    weekend = LABEL_WEEKEND
    holiday = LABEL_HOLIDAY
    makeup = LABEL_MAKEUP
    unknown = LABEL_UNKNOWN


@dataclass(frozen=True)
class DayInfo:
    """What one day is, and where that came from (``library``, ``file`` or ``none``)."""

    day: dt.date
    kind: DayKind
    name: str | None = None
    source: str = "library"

    @property
    def is_workday(self) -> bool | None:
        if self.kind is DayKind.unknown:
            return None
        return self.kind in (DayKind.workday, DayKind.makeup)

    @property
    def label(self) -> str:
        """Chinese status label: 工作日, 周末, 法定节假日（春节）, 调休上班（春节）, 未知（无数据）."""
        if self.name and self.kind in (DayKind.holiday, DayKind.makeup):
            return f"{self.kind.value}（{self.name}）"
        return self.kind.value


@dataclass(frozen=True)
class Deadline:
    """A due date; ``certain`` is False (and ``warning`` says why, in Chinese) when it is provisional."""

    due: dt.date
    certain: bool
    warning: str | None


def _zh_name(name: str | None) -> str | None:
    if not name:
        return None
    return HOLIDAY_NAMES_ZH.get(name, name)


def _library_years() -> tuple[int, int]:
    days = list(chinese_calendar.holidays) + list(chinese_calendar.workdays)
    return min(days).year, max(days).year


def _year_span(years: Iterable[int]) -> str:
    """2004、2005、2006、2027 → '2004–2006、2027'."""
    ordered = sorted(set(years))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}–{ordered[j]}")
        i = j + 1
    return "、".join(parts)


# --- the override file -------------------------------------------------------------------------------

_FORMAT_HINT = (
    "格式示例：[2027] 一节下写 holidays = [\"2027-01-01\", \"2027-02-05..2027-02-11\"] 和 "
    "workdays = [\"2027-02-14\"]。"
)


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line.split("#", 1)[0]:
            return number
    return None


def _where(path: Path, text: str, needle: str) -> str:
    line = _line_of(text, needle)
    return f"{path} 第 {line} 行" if line else str(path)


def _parse_day(path: Path, text: str, year: int, key: str, raw: str, item: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(item.strip())
    except ValueError:
        raise ConfigError(
            f"节假日调休文件 {_where(path, text, raw)}：[{year}] {key} 中的“{raw}”不是有效日期。"
            f"日期请写成 {year}-02-05 这样的 年-月-日，连续多天写成 {year}-02-05..{year}-02-11。"
        ) from None
    if day.year != year:
        raise ConfigError(
            f"节假日调休文件 {_where(path, text, raw)}：[{year}] {key} 中的“{raw}”不在 {year} 年。"
            f"请把它移到 [{day.year}] 一节，或改正年份。"
        )
    return day


def _parse_entries(path: Path, text: str, year: int, key: str, value: Any) -> set[dt.date]:
    if not isinstance(value, list):
        raise ConfigError(
            f"节假日调休文件 {_where(path, text, key)}：[{year}] 的 {key} 应为日期列表（用方括号括起）。"
            + _FORMAT_HINT
        )
    days: set[dt.date] = set()
    for entry in value:
        if isinstance(entry, dt.datetime):
            entry = entry.date()
        if isinstance(entry, dt.date):
            days.add(_parse_day(path, text, year, key, entry.isoformat(), entry.isoformat()))
            continue
        if not isinstance(entry, str):
            raise ConfigError(
                f"节假日调休文件 {_where(path, text, str(entry))}：[{year}] {key} 中的“{entry}”不是日期。"
                "日期请加引号写成 \"2027-01-01\"。" + _FORMAT_HINT
            )
        if _RANGE_SEP in entry:
            first_raw, _, last_raw = entry.partition(_RANGE_SEP)
            first = _parse_day(path, text, year, key, entry, first_raw)
            last = _parse_day(path, text, year, key, entry, last_raw)
            if last < first:
                raise ConfigError(
                    f"节假日调休文件 {_where(path, text, entry)}：[{year}] {key} 中的范围“{entry}”起止颠倒。"
                    "请写成 早的日期..晚的日期。"
                )
            days.update(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
        else:
            days.add(_parse_day(path, text, year, key, entry, entry))
    return days


@dataclass(frozen=True)
class _Overrides:
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    years: frozenset[int] = frozenset()


def _read_override(path: Path) -> _Overrides:
    if not path.is_file():
        raise ConfigError(
            f"找不到节假日调休文件 {path}。请检查设置项 calendar_file，或新建该文件。" + _FORMAT_HINT
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(
            f"节假日调休文件 {path} 不是 UTF-8 编码。请用记事本“另存为”并选择 UTF-8 编码后重试。"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f"第 {match.group(1)} 行附近" if match else ("文件末尾附近" if "end of document" in str(exc) else "")
        raise ConfigError(
            f"节假日调休文件 {path} {where}格式有误（{exc}）。日期要加英文引号，列表用英文方括号和逗号。"
            + _FORMAT_HINT
        ) from None

    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    years: set[int] = set()
    for key, section in data.items():
        if not (re.fullmatch(r"\d{4}", key) and isinstance(section, dict)):
            raise ConfigError(
                f"节假日调休文件 {_where(path, text, key)}：“{key}”不是年份一节。每一年写成 [2027] 这样的一节。"
                + _FORMAT_HINT
            )
        year = int(key)
        unknown = sorted(set(section) - {"holidays", "workdays"})
        if unknown:
            raise ConfigError(
                f"节假日调休文件 {_where(path, text, unknown[0])}：[{year}] 中有未知的键 {'、'.join(unknown)}。"
                "只能写 holidays（放假日期）和 workdays（调休上班日期）。"
            )
        rest = _parse_entries(path, text, year, "holidays", section.get("holidays", []))
        work = _parse_entries(path, text, year, "workdays", section.get("workdays", []))
        both = sorted(rest & work)
        if both:
            raise ConfigError(
                f"节假日调休文件 {_where(path, text, both[0].isoformat())}：{both[0]} 同时列在 holidays 和 "
                "workdays 中。请按国务院的通知只保留一处。"
            )
        years.add(year)
        holidays |= rest
        workdays |= work
    return _Overrides(frozenset(holidays), frozenset(workdays), frozenset(years))


# --- the calendar ------------------------------------------------------------------------------------

class WorkCalendar:
    """chinesecalendar plus the local override file; answers which days are working days."""

    def __init__(self, overrides: _Overrides | None = None, source: Path | None = None) -> None:
        self._overrides = overrides or _Overrides()
        self.source = source
        self._lib_first, self._lib_last = _library_years()
        # day → DayInfo: chinesecalendar validates every date it is asked (about 0.2 ms), and a case's
        # deadlines count the same weeks again and again.
        self._days: dict[dt.date, DayInfo] = {}

    @classmethod
    def load(cls, override: Path | None) -> WorkCalendar:
        """The calendar from chinesecalendar and, if given, the override file (ConfigError if malformed)."""
        if override is None:
            return cls()
        return cls(_read_override(override), source=override)

    # -- single days --

    def library_covers(self, year: int) -> bool:
        return self._lib_first <= year <= self._lib_last

    def covered_years(self) -> list[int]:
        """Every year whose working days are known (from chinesecalendar or the file), ascending."""
        return sorted(set(range(self._lib_first, self._lib_last + 1)) | self._overrides.years)

    def covers(self, year: int) -> bool:
        return self.library_covers(year) or year in self._overrides.years

    def day_info(self, day: dt.date) -> DayInfo:
        if isinstance(day, dt.datetime):
            day = day.date()
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._day_info(day)
        return known

    def _day_info(self, day: dt.date) -> DayInfo:
        weekend = day.weekday() >= 5
        in_library = self.library_covers(day.year)
        rest, library_name = False, None
        if in_library:
            rest, raw_name = chinese_calendar.get_holiday_detail(day)
            library_name = _zh_name(raw_name)
        if day in self._overrides.holidays:
            return DayInfo(day, DayKind.holiday, library_name, "file")
        if day in self._overrides.workdays:
            return DayInfo(day, DayKind.makeup if weekend else DayKind.workday,
                           library_name if weekend else None, "file")
        if in_library:
            if rest:
                return DayInfo(day, DayKind.holiday if library_name else DayKind.weekend, library_name)
            return DayInfo(day, DayKind.makeup if library_name else DayKind.workday, library_name)
        if day.year in self._overrides.years:
            return DayInfo(day, DayKind.weekend if weekend else DayKind.workday, None, "file")
        return DayInfo(day, DayKind.unknown, None, "none")

    def is_workday(self, day: dt.date) -> bool | None:
        """True/False, or None when neither chinesecalendar nor the file covers the day's year."""
        return self.day_info(day).is_workday

    def label(self, day: dt.date) -> str:
        return self.day_info(day).label

    def month_table(self, year: int, month: int) -> list[tuple[dt.date, str]]:
        """Every day of the month with its Chinese status label (see :attr:`DayInfo.label`)."""
        _, days = _stdcal.monthrange(year, month)
        return [(d, self.label(d)) for d in (dt.date(year, month, i) for i in range(1, days + 1))]

    # -- counting --

    def add_working_days(self, start: dt.date, n: int, *, pause_days: int = 0) -> Deadline:
        """The n-th working day after ``start`` (``start`` itself not counted).

        ``pause_days`` adds that many working days: time spent on 检验、检测、鉴定、专家评审 does not
        count (第十一条). Days in a year without data are counted Monday–Friday, and the result is then
        provisional (``certain=False``) with a warning that says how to fix it.
        """
        if n < 0 or pause_days < 0:
            raise BadArgsError(f"工作日天数不能为负数（期限 {n} 天，暂停 {pause_days} 天）。请改正后重试。")
        if isinstance(start, dt.datetime):
            start = start.date()
        remaining = n + pause_days
        day = start
        unknown: set[int] = set()
        while remaining > 0:
            day += dt.timedelta(days=1)
            works = self.is_workday(day)
            if works is None:
                unknown.add(day.year)
                works = day.weekday() < 5
            if works:
                remaining -= 1
        if not unknown:
            return Deadline(day, True, None)
        return Deadline(day, False, self._unknown_warning(sorted(unknown), day))

    def working_days_between(self, a: dt.date, b: dt.date) -> int | None:
        """Working days after ``a`` up to and including ``b``; negative when ``b`` is before ``a``.

        None when any day in between belongs to a year without data.
        """
        if b < a:
            back = self.working_days_between(b, a)
            return None if back is None else -back
        count = 0
        day = a
        while day < b:
            day += dt.timedelta(days=1)
            works = self.is_workday(day)
            if works is None:
                return None
            count += 1 if works else 0
        return count

    # -- messages --

    def fix_hint(self) -> str:
        if self.source is not None:
            return f"请在 {self.source} 中"
        return f"请在数据目录中新建 {DEFAULT_FILE_NAME}（或设置项 calendar_file 指定的文件）并"

    def _unknown_warning(self, years: list[int], due: dt.date) -> str:
        span = _year_span(years)
        return (
            f"期限计算涉及 {span} 年，但尚无 {span} 年的法定节假日数据"
            f"（chinesecalendar 仅含 {self._lib_first}–{self._lib_last} 年）。"
            f"截止日期 {due.isoformat()} 为按周一至周五推算的暂定日期，"
            f"{self.fix_hint()}录入国务院公布的 {span} 年安排后重新计算。"
        )

    def describe_sources(self) -> str:
        version = getattr(chinese_calendar, "__version__", "")
        text = f"chinesecalendar {version}".strip() + f"：{self._lib_first}–{self._lib_last} 年"
        if self._overrides.years:
            text += f"；本地文件 {self.source}：{_year_span(self._overrides.years)} 年"
        return text


# --- display -----------------------------------------------------------------------------------------

DAY_STYLES = {
    DayKind.workday: "",
    DayKind.weekend: "dim",
    DayKind.holiday: "bold red",
    DayKind.makeup: "bold yellow",
    DayKind.unknown: "magenta",
}


def day_mark(info: DayInfo) -> str:
    if info.kind is DayKind.holiday:
        return info.name or "假"
    if info.kind is DayKind.makeup:
        return "调休"
    if info.kind is DayKind.weekend:
        return "休"
    if info.kind is DayKind.unknown:
        return "未知"
    return ""




def parse_month(spec: str) -> tuple[int, int]:
    """'2026-12', '2026/12', '2026年12月' → (2026, 12); anything else is a BadArgsError."""
    match = _MONTH_SPEC.fullmatch(spec or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadArgsError(
            f"月份“{spec}”格式不对。请写成 年-月，如 shuangsui calendar 2026-12。"
        )
    return int(match.group(1)), int(match.group(2))




# --- shuangsui doctor --------------------------------------------------------------------------------

def doctor_check(
    calendar: WorkCalendar, today: dt.date, *, horizon_days: int = 60, longest_deadline: int = 20
) -> tuple[bool, str]:
    """(ok, Chinese detail): are next year and every year that deadlines of the next 60 days reach covered?

    A check ending within ``horizon_days`` gets deadlines of up to ``longest_deadline`` working days.
    """
    reach = calendar.add_working_days(today + dt.timedelta(days=horizon_days), longest_deadline).due
    soon = {today.year + k for k in range(reach.year - today.year + 1)}
    missing_soon = sorted(y for y in soon if not calendar.covers(y))
    missing_next = [] if calendar.covers(today.year + 1) else [today.year + 1]
    if not missing_soon and not missing_next:
        return True, calendar.describe_sources()
    missing = sorted(set(missing_soon) | set(missing_next))
    span = _year_span(missing)
    detail = f"没有 {span} 年的法定节假日数据（{calendar.describe_sources()}）。"
    if missing_soon:
        detail += (
            f"未来 {horizon_days} 天内结束的检查，期限会延伸到 {_year_span(missing_soon)} 年，"
            "现在只能按周一至周五给出暂定日期。"
        )
    else:
        detail += "国务院一般在每年 11 月公布下一年的放假安排。"
    detail += f"{calendar.fix_hint()}录入 {span} 年的放假和调休上班日期。" + _FORMAT_HINT
    return False, detail
