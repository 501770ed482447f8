"""Working days on real 2026 dates (chinesecalendar), the local override file, and the month grid.

The 2026 facts used here were read from chinesecalendar 1.11.0 (the State Council's 2026 schedule):
春节 2026-02-15..02-23 off, 2026-02-14 (Sat) and 2026-02-28 (Sat) worked; 中秋节 2026-09-25..09-27 off;
国庆节 2026-10-01..10-07 off, 2026-09-20 (Sun) and 2026-10-10 (Sat) worked.
The 2027 schedule in the override tests is made up (it is not published yet).
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from pipeline.cli.printing import print_month, render_month
from pipeline.core.errors import BadArgsError, ConfigError
from pipeline.rules.workdays import (
    Deadline,
    WorkCalendar,
    doctor_check,
    parse_month,
)

D = date

# A fictional 2027 schedule: New Year's Day on Friday, a spring festival week with a Sunday make-up day,
# and two made-up rest days in January so the exact due date differs from a Monday–Friday count.
OVERRIDE_2027 = """\
# 测试用的 2027 年安排（虚构）
[2027]
holidays = ["2027-01-01", "2027-01-18..2027-01-19", "2027-02-05..2027-02-11"]
workdays = ["2027-02-14"]
"""


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar.load(None)


def _write(tmp_path: Path, text: str, name: str = "节假日调休.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cal_2027(tmp_path: Path) -> WorkCalendar:
    return WorkCalendar.load(_write(tmp_path, OVERRIDE_2027))


# --- the 2026 schedule as the library gives it -------------------------------------------------------

def test_spring_festival_2026(cal: WorkCalendar) -> None:
    for offset in range(9):  # 02-15 .. 02-23
        assert cal.is_workday(D(2026, 2, 15) + timedelta(days=offset)) is False
    assert cal.is_workday(D(2026, 2, 14)) is True  # Saturday, make-up
    assert cal.is_workday(D(2026, 2, 28)) is True  # Saturday, make-up
    assert cal.is_workday(D(2026, 2, 24)) is True
    assert cal.is_workday(D(2026, 2, 8)) is False  # ordinary Sunday


def test_national_day_2026(cal: WorkCalendar) -> None:
    for offset in range(7):  # 10-01 .. 10-07
        assert cal.is_workday(D(2026, 10, 1) + timedelta(days=offset)) is False
    assert cal.is_workday(D(2026, 10, 8)) is True
    assert cal.is_workday(D(2026, 9, 20)) is True  # Sunday, make-up
    assert cal.is_workday(D(2026, 10, 10)) is True  # Saturday, make-up
    assert cal.is_workday(D(2026, 10, 11)) is False
    assert cal.is_workday(D(2026, 9, 25)) is False  # 中秋节, a Friday


def test_unknown_year_is_none_not_a_guess(cal: WorkCalendar) -> None:
    assert cal.is_workday(D(2027, 1, 5)) is None
    assert cal.is_workday(D(2003, 6, 2)) is None
    assert cal.covered_years() == list(range(2004, 2027))


# --- deadlines ---------------------------------------------------------------------------------------

def test_five_working_days_across_spring_festival(cal: WorkCalendar) -> None:
    # 02-13 Fri (1), 02-14 Sat make-up (2), 02-15..23 off, 02-24 (3), 02-25 (4), 02-26 (5)
    assert cal.add_working_days(D(2026, 2, 12), 5) == Deadline(D(2026, 2, 26), True, None)


def test_twenty_working_days_across_national_day(cal: WorkCalendar) -> None:
    # 09-28..30 (3), 10-01..07 off, 10-08, 09, 10 Sat (6), 10-12..16 (11), 10-19..23 (16), 10-26..29 (20)
    assert cal.add_working_days(D(2026, 9, 25), 20) == Deadline(D(2026, 10, 29), True, None)


def test_seven_working_days_after_penalty_decision(cal: WorkCalendar) -> None:
    # 10-08 (1), 10-09 (2), 10-10 Sat make-up (3), 10-12..15 (7)
    assert cal.add_working_days(D(2026, 9, 30), 7).due == D(2026, 10, 15)


def test_start_day_not_counted_and_zero_days(cal: WorkCalendar) -> None:
    assert cal.add_working_days(D(2026, 3, 2), 1).due == D(2026, 3, 3)  # Monday → Tuesday
    assert cal.add_working_days(D(2026, 3, 2), 0).due == D(2026, 3, 2)


def test_pause_days_add_working_days(cal: WorkCalendar) -> None:
    plain = cal.add_working_days(D(2026, 2, 12), 5)
    paused = cal.add_working_days(D(2026, 2, 12), 5, pause_days=3)
    # after 02-26 (5): 02-27 (6), 02-28 Sat make-up (7), 03-02 Mon (8)
    assert paused.due == cal.add_working_days(D(2026, 2, 12), 8).due == D(2026, 3, 2)
    assert cal.working_days_between(plain.due, paused.due) == 3


def test_negative_counts_are_refused(cal: WorkCalendar) -> None:
    with pytest.raises(BadArgsError, match="负数"):
        cal.add_working_days(D(2026, 2, 12), 5, pause_days=-1)


def test_deadline_into_unknown_year_is_provisional_and_loud(cal: WorkCalendar) -> None:
    # 12-25 (1), 12-28..31 (5), then Mon–Fri in 2027: 01-01 (6), 01-04..08, 01-11..15, 01-18..21 (20)
    due = cal.add_working_days(D(2026, 12, 24), 20)
    assert due.due == D(2027, 1, 21)
    assert due.certain is False
    assert due.warning is not None
    assert "2027" in due.warning
    assert "节假日调休.toml" in due.warning
    assert "暂定" in due.warning
    assert "2027-01-21" in due.warning


def test_deadline_into_2027_with_override_is_exact(cal_2027: WorkCalendar) -> None:
    # 12-25 (1), 12-28..31 (5), 01-01 off, 01-04..08 (10), 01-11..15 (15), 01-18..19 off,
    # 01-20..22 (18), 01-25..26 (20)
    assert cal_2027.add_working_days(D(2026, 12, 24), 20) == Deadline(D(2027, 1, 26), True, None)


def test_override_year_is_fully_defined(cal_2027: WorkCalendar) -> None:
    assert cal_2027.is_workday(D(2027, 1, 1)) is False
    assert cal_2027.is_workday(D(2027, 2, 8)) is False  # listed holiday, a Monday
    assert cal_2027.is_workday(D(2027, 2, 14)) is True  # listed make-up Sunday
    assert cal_2027.is_workday(D(2027, 2, 13)) is False  # ordinary Saturday
    assert cal_2027.is_workday(D(2027, 3, 3)) is True  # ordinary Wednesday
    assert cal_2027.is_workday(D(2028, 1, 3)) is None
    assert cal_2027.covered_years()[-1] == 2027
    assert cal_2027.label(D(2027, 2, 14)) == "调休上班"


def test_override_entries_replace_single_library_days(tmp_path: Path) -> None:
    cal = WorkCalendar.load(_write(tmp_path, '[2026]\nholidays = ["2026-03-04"]\nworkdays = ["2026-10-07"]\n'))
    assert cal.is_workday(D(2026, 3, 4)) is False
    assert cal.is_workday(D(2026, 10, 7)) is True
    # everything else in 2026 still comes from chinesecalendar
    assert cal.is_workday(D(2026, 10, 6)) is False
    assert cal.is_workday(D(2026, 10, 10)) is True


def test_override_warning_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '[2027]\nholidays = ["2027-01-01"]\n')
    due = WorkCalendar.load(path).add_working_days(D(2027, 12, 20), 20)
    assert due.certain is False
    assert due.warning is not None and "2028" in due.warning and str(path) in due.warning


def test_bare_toml_dates_and_bom_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "节假日调休.toml"
    path.write_bytes("\ufeff[2027]\nholidays = [2027-01-01]\n".encode())
    assert WorkCalendar.load(path).is_workday(D(2027, 1, 1)) is False


# --- malformed override files ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[2027]\nholidays = ["2027-02-30"]\n', "第 2 行"),
        ('[2027]\nholidays = ["2027-02-30"]\n', "2027-02-30"),
        ('[2027]\nholidays = ["2028-01-01"]\n', "不在 2027 年"),
        ('[2027]\nholidays = ["2027-02-11..2027-02-05"]\n', "起止颠倒"),
        ('[2027]\nholidays = ["2027-01-01"]\nworkdays = ["2027-01-01"]\n', "同时列在"),
        ('[2027]\nholiday = ["2027-01-01"]\n', "未知的键 holiday"),
        ('[2027]\nholidays = "2027-01-01"\n', "日期列表"),
        ('[2027]\nholidays = [20270101]\n', "20270101"),
        ('holidays = ["2027-01-01"]\n', "不是年份一节"),
        ('[2027]\nholidays = ["2027-01-01" "2027-01-02"]\n', "第 2 行"),
        ('[2027]\nholidays = ["2027-01-01",\n', "文件末尾"),
        ('[2027]\nholidays = [“2027-01-01”]\n', "格式有误"),
    ],
)
def test_malformed_override_raises_config_error(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        WorkCalendar.load(_write(tmp_path, text))
    assert expected in info.value.message


def test_override_not_utf8_or_missing(tmp_path: Path) -> None:
    path = tmp_path / "节假日调休.toml"
    path.write_bytes('[2027]\nholidays = ["2027-01-01"]  # 元旦\n'.encode("gbk"))
    with pytest.raises(ConfigError, match="UTF-8"):
        WorkCalendar.load(path)
    with pytest.raises(ConfigError, match="找不到"):
        WorkCalendar.load(tmp_path / "没有这个文件.toml")


# --- counting between dates --------------------------------------------------------------------------

def test_working_days_between(cal: WorkCalendar, cal_2027: WorkCalendar) -> None:
    assert cal.working_days_between(D(2026, 2, 12), D(2026, 2, 26)) == 5
    assert cal.working_days_between(D(2026, 9, 30), D(2026, 10, 15)) == 7
    assert cal.working_days_between(D(2026, 2, 26), D(2026, 2, 12)) == -5
    assert cal.working_days_between(D(2026, 5, 5), D(2026, 5, 5)) == 0
    assert cal.working_days_between(D(2026, 12, 24), D(2027, 1, 4)) is None
    # 12-25, 12-28..31, (01-01 off), 01-04
    assert cal_2027.working_days_between(D(2026, 12, 24), D(2027, 1, 4)) == 6


# --- month table and grid ----------------------------------------------------------------------------

def test_month_table_october_2026(cal: WorkCalendar) -> None:
    table = dict(cal.month_table(2026, 10))
    assert len(table) == 31
    assert table[D(2026, 10, 1)] == "法定节假日（国庆节）"
    assert table[D(2026, 10, 3)] == "法定节假日（国庆节）"  # a Saturday inside the holiday
    assert table[D(2026, 10, 7)] == "法定节假日（国庆节）"
    assert table[D(2026, 10, 8)] == "工作日"
    assert table[D(2026, 10, 10)].startswith("调休上班")
    assert table[D(2026, 10, 11)] == "周末"
    assert sum(label.startswith("调休上班") for label in table.values()) == 1


def test_month_table_unknown_year(cal: WorkCalendar) -> None:
    labels = {label for _, label in cal.month_table(2027, 1)}
    assert labels == {"未知（无数据）"}


def _printed(spec: str, calendar: WorkCalendar) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None)
    assert print_month(spec, calendar, console) == 0
    return buffer.getvalue()


def test_print_month_february_2026(cal: WorkCalendar) -> None:
    text = _printed("2026-02", cal)
    assert "2026 年 2 月" in text
    assert text.count("春节") >= 9
    assert text.count("调休") >= 2
    lines = text.splitlines()
    header = next(line for line in lines if "一" in line and "日" in line)
    assert header.index("一") < header.index("五") < header.index("日")  # Monday first
    assert "本月工作日 16 天" in text  # 20 weekdays − 6 festival weekdays + 2 make-up Saturdays


def test_print_month_unknown_year_warns(cal: WorkCalendar, cal_2027: WorkCalendar) -> None:
    text = _printed("2027-01", cal)
    assert "未知" in text and "节假日调休.toml" in text
    assert "未知" not in _printed("2027-01", cal_2027).split("说明")[0]


def test_render_month_has_a_row_per_week(cal: WorkCalendar) -> None:
    assert render_month(2026, 2, cal).row_count == 5  # 02-01 is a Sunday, 02-28 a Saturday
    assert render_month(2026, 3, cal).row_count == 6  # 03-01 Sunday .. 03-31 Tuesday


@pytest.mark.parametrize("spec", ["2026-13", "2026", "26-12", "十二月", "", "2026-12-01"])
def test_bad_month_spec(cal: WorkCalendar, spec: str) -> None:
    with pytest.raises(BadArgsError, match="2026-12"):
        print_month(spec, cal, Console(file=io.StringIO()))


def test_month_spec_forms() -> None:
    assert parse_month("2026-12") == (2026, 12)
    assert parse_month("2026/2") == (2026, 2)
    assert parse_month("2026年2月") == (2026, 2)


# --- doctor ------------------------------------------------------------------------------------------

def test_doctor_warns_when_next_year_missing(cal: WorkCalendar) -> None:
    ok, detail = doctor_check(cal, D(2026, 3, 1))
    assert not ok
    assert "2027" in detail and "节假日调休.toml" in detail


def test_doctor_urgent_when_deadlines_reach_missing_year(cal: WorkCalendar) -> None:
    ok, detail = doctor_check(cal, D(2026, 11, 20))
    assert not ok and "未来 60 天" in detail
    _, detail_early = doctor_check(cal, D(2026, 3, 1))
    assert "未来 60 天" not in detail_early


def test_doctor_ok_with_override(cal_2027: WorkCalendar) -> None:
    ok, detail = doctor_check(cal_2027, D(2026, 11, 20))
    assert ok, detail
    assert "2027" in detail
    # at the end of 2027 the deadlines reach 2028, which nobody covers
    ok, detail = doctor_check(cal_2027, D(2027, 12, 1))
    assert not ok and "2028" in detail
