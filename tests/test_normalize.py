"""Tests of the pure text, date and period normalisation functions."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from pipeline.core.text import (
    clean_text,
    company_key,
    find_dates,
    label_key,
    looks_like_date,
    parse_date,
    parse_period,
    parse_period_detail,
    split_methods,
    strip_numbering,
)

# --- clean_text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  烟台某某\u3000有限公司  ", "烟台某某 有限公司"),
        ("ＡＢＣ１２３", "ABC123"),
        ("烟台（某某）有限公司：", "烟台（某某）有限公司："),  # Chinese punctuation kept as written
        ("第一行\n\n第二行\t\t末尾", "第一行 第二行 末尾"),
        ("零\u200b宽\ufeff字符", "零宽字符"),
        ("\xa0\xa0不间断空格\xa0", "不间断空格"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text(raw: str | None, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_text_multiline_keeps_lines() -> None:
    raw = "  企业证照齐全。 \r\n\r\n\u3000\u3000发现台账  记录不完整。\n  \n已责令整改。"
    assert clean_text(raw, multiline=True) == "企业证照齐全。\n发现台账 记录不完整。\n已责令整改。"


# --- label_key -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("被抽查单位", "被抽查单位"),
        ("被 抽 查 单 位", "被抽查单位"),
        ("被抽查单位：", "被抽查单位"),
        ("被抽查单位:", "被抽查单位"),
        ("抽查执法\n人员", "抽查执法人员"),
        ("执法科室\u3000意见", "执法科室意见"),
        ("抽查情况（包括发现问题、整改措施等）", "抽查情况包括发现问题整改措施等"),
        ("抽查情况(包括发现问题、整改措施等)", "抽查情况包括发现问题整改措施等"),
        ("", ""),
        (None, ""),
    ],
)
def test_label_key(raw: str | None, key: str) -> None:
    assert label_key(raw) == key


# --- company_key / strip_numbering -----------------------------------------------------------


def test_company_key() -> None:
    assert company_key("烟台某某（集团） 有限公司") == "烟台某某(集团)有限公司"
    assert company_key("烟台某某(集团)有限公司") == company_key("烟台某某（集团）\u3000有限公司")
    assert company_key(None) == ""


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("1.张三", "张三"),
        ("1、张三", "张三"),
        ("1．张三", "张三"),
        ("（1）张三", "张三"),
        ("(12)张三", "张三"),
        ("１.张三", "张三"),
        ("1 张三", "张三"),
        ("①张三", "张三"),
        ("1.", ""),
        ("3.", ""),
        ("张三", "张三"),
        ("欧阳1号", "欧阳1号"),
        ("", ""),
    ],
)
def test_strip_numbering(raw: str, name: str) -> None:
    assert strip_numbering(raw) == name


# --- dates -----------------------------------------------------------------------------------

MARCH_5 = date(2026, 3, 5)


@pytest.mark.parametrize(
    "raw",
    [
        "2026年3月5日",
        "2026年03月05日",
        "2026.3.5",
        "2026-03-05",
        "2026/3/5",
        "2026 年 3 月 5 日",
        "２０２６年３月５日",
        "２０２６．３．５",
        "二〇二六年三月五日",
        "二零二六年三月五日",
        "（盖章）2026年3月5日",
        "同意。 （盖章） 2026 年 3 月 5 日",
        "（盖章）\n2026年3月5日",
        "2026年3月5号",
    ],
)
def test_parse_date(raw: str) -> None:
    assert parse_date(raw) == MARCH_5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("二〇二六年十月一日", date(2026, 10, 1)),
        ("二〇二六年十一月十日", date(2026, 11, 10)),
        ("二〇二五年十二月二十三日", date(2025, 12, 23)),
        ("二〇二六年一月三十一日", date(2026, 1, 31)),
        ("二〇二六年三月二十日", date(2026, 3, 20)),
    ],
)
def test_parse_date_chinese_numerals(raw: str, expected: date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "年 月 日",
        "　　年　　月　　日",
        "（盖章）年  月  日",
        "",
        None,
        "同意",
        "2026年2月30日",
        "2026年13月1日",
    ],
)
def test_parse_date_none(raw: str | None) -> None:
    assert parse_date(raw) is None


def test_find_dates_returns_all_in_order() -> None:
    text = "同意于2026年3月5日开展检查。（盖章）2026.3.1"
    assert find_dates(text) == [date(2026, 3, 5), date(2026, 3, 1)]
    assert find_dates("2026年3月5日 2026年3月5日") == [MARCH_5, MARCH_5]
    assert find_dates("年 月 日") == []


def test_phone_and_licence_numbers_are_not_dates() -> None:
    assert find_dates("37060020190001 13805351234 0535-6789012") == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("年 月 日", False),
        ("（盖章）　年　月　日", False),
        ("2026年13月2日", True),
        ("二〇二六年二月三十日", True),
        ("2026.02.30", True),
        ("同意", False),
    ],
)
def test_looks_like_date(raw: str, expected: bool) -> None:
    assert looks_like_date(raw) is expected


# --- periods ---------------------------------------------------------------------------------


def dt(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute)


@pytest.mark.parametrize(
    ("raw", "start", "end"),
    [
        ("2026年3月5日9时30分至11时00分", dt(5, 9, 30), dt(5, 11)),
        ("2026年3月5日 9时30分至2026年3月6日11时", dt(5, 9, 30), dt(6, 11)),
        ("2026-03-05 9:30-11:00", dt(5, 9, 30), dt(5, 11)),
        ("2026年3月5日9:30至11:00", dt(5, 9, 30), dt(5, 11)),
        ("2026年3月5日9：30至11：00", dt(5, 9, 30), dt(5, 11)),
        ("2026年3月5日9时至11时", dt(5, 9), dt(5, 11)),
        ("2026年3月5日9时30分至11时", dt(5, 9, 30), dt(5, 11)),
        ("２０２６年３月５日９时３０分至１１时００分", dt(5, 9, 30), dt(5, 11)),
        ("2026 年 3 月 5 日 9 时 30 分至 11 时 00 分", dt(5, 9, 30), dt(5, 11)),
        ("2026年3月5日9时30分~11时", dt(5, 9, 30), dt(5, 11)),
        ("2026年3月5日9时30分—11时", dt(5, 9, 30), dt(5, 11)),
        ("2026年3月5日9时30分到11时", dt(5, 9, 30), dt(5, 11)),
        ("2026年3月5日9点半至11点", dt(5, 9, 30), dt(5, 11)),
        ("2026年3月5日下午3时至5时", dt(5, 15), dt(5, 17)),
        ("2026年3月5日上午9时至下午3时", dt(5, 9), dt(5, 15)),
        ("2026年3月5日9时至6日11时", dt(5, 9), dt(6, 11)),
        ("2026年3月5日9时至3月6日11时", dt(5, 9), dt(6, 11)),
        ("2026年3月5日22时至次日1时", dt(5, 22), dt(6, 1)),
        ("二〇二六年三月五日九时三十分至十一时", dt(5, 9, 30), dt(5, 11)),
    ],
)
def test_parse_period(raw: str, start: datetime, end: datetime) -> None:
    assert parse_period(raw) == (start, end)


@pytest.mark.parametrize(
    "raw",
    ["年 月 日 时 分至 时 分", "　　年　　月　　日　　时　　分至　　时　　分", "", None, "9时30分至11时"],
)
def test_parse_period_blank(raw: str | None) -> None:
    assert parse_period(raw) == (None, None)


def test_parse_period_partial() -> None:
    assert parse_period("2026年3月5日9时30分") == (dt(5, 9, 30), None)
    assert parse_period("2026年3月5日9时30分至　时　分") == (dt(5, 9, 30), None)
    detail = parse_period_detail("2026年3月5日")
    assert (detail.start, detail.end, detail.start_has_time) == (dt(5, 0), None, False)
    detail = parse_period_detail("2026年3月5日至2026年3月6日")
    assert (detail.start, detail.end) == (dt(5, 0), dt(6, 0))
    assert not detail.start_has_time and not detail.end_has_time


def test_parse_period_invalid_time() -> None:
    detail = parse_period_detail("2026年3月5日25时至26时")
    assert detail.start == dt(5, 0)
    assert not detail.start_has_time


# --- methods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "methods"),
    [
        ("☑现场检查 ☐书面检查", ["现场检查"]),
        ("☐书面检查　☑现场检查　☐网络监测　☐检验检测", ["现场检查"]),
        ("☑书面检查　☑现场检查　☐网络监测　☑检验检测", ["书面检查", "现场检查", "检验检测"]),
        ("✔网络监测 □书面检查", ["网络监测"]),
        ("✓书面检查 ▢现场检查", ["书面检查"]),
        ("√现场检查 □书面检查", ["现场检查"]),
        ("■书面检查□现场检查", ["书面检查"]),
        ("☒实地核查 ☐第三方验证", ["实地核查"]),
        ("⊠第三方验证 ▣检验检测", ["第三方验证", "检验检测"]),
        ("☐书面检查 ☐现场检查", []),
        ("☑现 场 检 查", ["现场检查"]),
        ("☑其他：问卷调查", ["其他：问卷调查"]),
        ("现场检查、书面检查", ["现场检查", "书面检查"]),
        ("现场检查，书面检查", ["现场检查", "书面检查"]),
        ("现场检查 书面检查", ["现场检查", "书面检查"]),
        ("书面检查和现场检查", ["书面检查", "现场检查"]),
        ("问卷调查、座谈了解", ["问卷调查", "座谈了解"]),
        ("", []),
        (None, []),
    ],
)
def test_split_methods(raw: str | None, methods: list[str]) -> None:
    assert split_methods(raw) == methods
