"""Realistic, fictional 行政处罚决定书 (fixed seed) for tests and ``shuangsui demo``.

``penalty_sample`` draws what a decision says (number, party, facts, basis, penalties, date);
``write_decision_docx`` lays it out with python-docx the way bureaus write them: the bureau and the
title centred, the 文号 right-aligned, the party's particulars as labelled lines (or, with
``party_table``, in a two-column table), then 经查 …, 以上事实有 …, 本机关认为 … 依据 … 决定 …,
payment and appeal notes, and the bureau and date at the end. The fine is written in Chinese
upper-case numerals with the digits in brackets (``伍万元整（¥50,000.00）``), or digits only, and
the date in Chinese numerals (``二〇二六年十一月二十日``) or digits. Bytes are identical on every run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from pipeline.core.ziputil import normalize_zip
from pipeline.samples.fictional import Company, person_name

FIXED_TIME = dt.datetime(2026, 1, 1)

# (violation type, facts, violated provision, penalty basis, categories, content template, fine in 元)
_CASES: tuple[tuple[str, str, str, str, tuple[str, ...], str, int], ...] = (
    ("未按规定建立民用爆炸物品登记制度",
     "当事人在民用爆炸物品销售活动中，未如实登记民用爆炸物品的出入库情况，2026年10月共有12批次出入库记录缺失。",
     "《民用爆炸物品安全管理条例》第二十一条", "《民用爆炸物品安全管理条例》第四十九条第（二）项",
     ("警告", "罚款"), "警告，并处罚款人民币{fine}", 50000),
    ("违反食盐专营规定销售非食用盐",
     "当事人在经营场所销售未标注“非食用”字样的工业用盐，现场查见库存45袋。",
     "《食盐专营办法》第二十条", "《食盐专营办法》第二十九条",
     ("罚款", "没收违法所得"), "没收违法所得人民币叁仟元整（¥3,000.00），并处罚款人民币{fine}", 20000),
    ("未按规定报告监控化学品生产情况",
     "当事人未按规定向主管部门报告上一年度第二类监控化学品的生产、使用情况。",
     "《中华人民共和国监控化学品管理条例》第十四条", "《中华人民共和国监控化学品管理条例》第二十一条",
     ("警告", "罚款"), "警告，并处罚款人民币{fine}", 12500),
)

_UPPER_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_CN_DATE_DIGITS = "〇一二三四五六七八九"


def upper_amount(yuan: int) -> str:
    """A whole amount in Chinese upper-case numerals as on decisions: 50000 → 伍万元整."""
    if yuan == 0:
        return "零元整"

    def four(n: int) -> str:
        out, zero = "", False
        for unit, value in (("仟", 1000), ("佰", 100), ("拾", 10), ("", 1)):
            d = n // value % 10
            if d == 0:
                zero = bool(out)
                continue
            if zero:
                out += "零"
                zero = False
            out += _UPPER_DIGITS[d] + unit
        return out

    wan, rest = divmod(yuan, 10000)
    text = four(wan) + "万" if wan else ""
    if rest:
        text += ("零" if wan and rest < 1000 else "") + four(rest)
    return text + "元整"


def cn_numeral_date(day: dt.date) -> str:
    """二〇二六年十一月二十日."""
    def small(n: int) -> str:
        tens, ones = divmod(n, 10)
        return (("" if tens == 1 else _CN_DATE_DIGITS[tens]) + "十" if tens else "") + (
            _CN_DATE_DIGITS[ones] if ones else "")

    year = "".join(_CN_DATE_DIGITS[int(c)] for c in str(day.year))
    return f"{year}年{small(day.month)}月{small(day.day)}日"


@dataclass(frozen=True)
class PenaltySample:
    """What a sample decision says; the expected extraction in ``expected`` (the contract's keys)."""

    decision_no: str
    company: Company
    violation_type: str
    facts: str
    violated: str
    basis: str
    categories: tuple[str, ...]
    content: str
    fine_yuan: int
    confiscated_yuan: int
    decision_date: dt.date
    check_date: dt.date
    bureau: str
    expected: dict[str, object] = field(default_factory=dict)


def penalty_sample(rng: random.Random, company: Company, check_date: dt.date, *, number: int = 3,
                   bureau: str = "烟台市工业和信息化局", kind: int | None = None,
                   decision_date: dt.date | None = None) -> PenaltySample:
    """A decision for ``company`` after a check on ``check_date`` (kind: index into the sample cases)."""
    vtype, facts, violated, basis, categories, content, fine = _CASES[
        rng.randrange(len(_CASES)) if kind is None else kind]
    decided = decision_date or check_date + dt.timedelta(days=rng.choice((9, 11, 14)))
    fine_text = f"{upper_amount(fine)}（¥{fine:,}.00）"
    confiscated = 3000 if "没收违法所得" in categories else 0
    year = decided.year
    sample = PenaltySample(
        decision_no=f"烟工信罚〔{year}〕{number}号", company=company, violation_type=vtype, facts=facts,
        violated=violated, basis=basis, categories=categories, content=content.format(fine=fine_text),
        fine_yuan=fine, confiscated_yuan=confiscated, decision_date=decided, check_date=check_date,
        bureau=bureau)
    expected: dict[str, object] = {
        "decision_no": sample.decision_no, "party_name": company.name, "uscc": company.uscc,
        "legal_rep": company.legal_rep, "address": company.address, "violation_type": vtype,
        "violation_facts": facts, "basis": basis, "categories": list(categories),
        "fine_wan": str(Decimal(fine) / 10000), "confiscation_wan":
            str(Decimal(confiscated) / 10000) if confiscated else None,
        "content": sample.content, "decision_date": decided.isoformat(),
    }
    return dataclasses.replace(sample, expected=expected)


def _font(document: docx.document.Document) -> None:
    style = document.styles["Normal"]
    style.font.name = "宋体"
    style.font.size = Pt(14)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")


def _para(document: docx.document.Document, text: str, *, align: Any = None, bold: bool = False,
          indent: bool = False, size: int | None = None) -> None:
    p = document.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(28)
    run = p.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)


def write_decision_docx(path: Path, sample: PenaltySample, *, party_table: bool = False,
                        labelled_type: bool = True, digits_only: bool = False,
                        numeric_date: bool = False) -> Path:
    """Write ``sample`` as a .docx decision (see the module docstring for the variants)."""
    document = docx.Document()
    _font(document)
    props = document.core_properties
    props.author, props.created, props.modified = "shuangsui samples", FIXED_TIME, FIXED_TIME
    props.last_modified_by = "shuangsui samples"
    _para(document, sample.bureau, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=22)
    _para(document, "行政处罚决定书", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=22)
    _para(document, sample.decision_no, align=WD_ALIGN_PARAGRAPH.RIGHT)
    c = sample.company
    particulars = [("当事人", c.name), ("统一社会信用代码", c.uscc), ("法定代表人", c.legal_rep), ("住所", c.address)]
    if party_table:
        table = document.add_table(rows=len(particulars), cols=2)
        table.style = "Table Grid"
        for row, (label, value) in zip(table.rows, particulars, strict=True):
            row.cells[0].text, row.cells[1].text = label, value
    else:
        for label, value in particulars:
            _para(document, f"{label}：{value}")
    if labelled_type:
        _para(document, f"案由：{sample.violation_type}")
    check = sample.check_date
    _para(document, f"{check.year}年{check.month}月{check.day}日，本机关执法人员在“双随机、一公开”监督检查中，"
          "对当事人进行了现场检查，发现当事人涉嫌违法，经批准予以立案调查。", indent=True)
    _para(document, f"经查，{sample.facts}", indent=True)
    _para(document, "以上事实有现场检查笔录、询问笔录、出入库台账复印件、现场照片等证据证实。", indent=True)
    content = sample.content
    if digits_only:
        content = content.replace(f"{upper_amount(sample.fine_yuan)}（¥{sample.fine_yuan:,}.00）",
                                  f"{sample.fine_yuan:,}元")
    _para(document, f"本机关认为，当事人的上述行为违反了{sample.violated}的规定。本机关于"
          f"{sample.decision_date.year}年{sample.decision_date.month}月{max(1, sample.decision_date.day - 5)}日"
          "向当事人送达了行政处罚告知书，当事人在法定期限内未提出陈述、申辩意见。"
          f"依据{sample.basis}的规定，本机关决定对当事人作出如下行政处罚：", indent=True)
    _para(document, f"{content}。", indent=True)
    _para(document, "当事人应当自收到本决定书之日起十五日内，将罚款缴至指定银行。逾期不缴纳罚款的，"
          "本机关可以每日按罚款数额的百分之三加处罚款。", indent=True)
    _para(document, "当事人如不服本处罚决定，可以在收到本决定书之日起六十日内向烟台市人民政府申请行政复议，"
          "也可以在六个月内依法向人民法院提起行政诉讼。", indent=True)
    _para(document, "")
    _para(document, sample.bureau, align=WD_ALIGN_PARAGRAPH.RIGHT)
    day = sample.decision_date
    _para(document, day.isoformat() if numeric_date else cn_numeral_date(day), align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(document, f"（联系人：{person_name(random.Random(day.toordinal()))}，联系电话：0535-6788123）")
    tmp = path.with_name(f".{path.name}.part")
    document.save(str(tmp))
    normalize_zip(tmp)
    tmp.replace(path)
    return path
