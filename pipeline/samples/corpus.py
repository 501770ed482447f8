"""A corpus of filled check tables in every supported format, each named for the variant it
exercises and paired with its expected JSON (``<name>.expected.json``).

Word variants are rendered from the project's template and then edited the way staff edit forms;
Excel variants come from ``pipeline.samples.xlsx``; PDF and legacy files are made from them by the
real LibreOffice. Used by the tests (field-exact extraction) and by ``benchmarks/extract.py``.
Fixed seed: the same corpus every run.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docx import Document

from pipeline.documents.libreoffice import Converter
from pipeline.documents.render import render_check_table
from pipeline.samples.fictional import Company, check_table_fields, make_companies, make_inspectors
from pipeline.samples.xlsx import write_check_table_xlsx

SEED = 31337
BUREAU = "烟台市工业和信息化局"
CN_DIGITS = "〇一二三四五六七八九"


@dataclass(frozen=True)
class Item:
    path: Path
    expected: dict[str, Any]


def _cn_year_date(day: str) -> str:
    y, m, d = (int(x) for x in day.split("-"))

    def small(n: int) -> str:
        if n < 10:
            return CN_DIGITS[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")

    return "".join(CN_DIGITS[int(c)] for c in str(y)) + f"年{small(m)}月{small(d)}日"


def _dotted(day: str) -> str:
    y, m, d = (int(x) for x in day.split("-"))
    return f"{y}.{m}.{d}"


def _cn(day: str) -> str:
    y, m, d = (int(x) for x in day.split("-"))
    return f"{y}年{m}月{d}日"


def _edit_cells(path: Path, edit: Callable[[str], str]) -> None:
    """Rewrite the text of every table paragraph through ``edit`` (keeping the first run's format)."""
    doc = Document(str(path))
    # Keep the elements themselves: an id() of a freed lxml proxy can be reused by another cell.
    seen: set[Any] = set()
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                if cell._tc in seen:
                    continue
                seen.add(cell._tc)
                for para in cell.paragraphs:
                    new = edit(para.text)
                    if new != para.text and para.runs:
                        para.runs[0].text = new
                        for run in para.runs[1:]:
                            run.text = ""
    doc.save(str(path))


DATE_KEYS = ("dept_opinion_date", "leader_approval_date", "authority_opinion_date", "leader_confirmation_date",
             "authority_seal_date")


def _replace_dates(fmt: Callable[[str], str], fields: dict[str, Any]) -> Callable[[str], str]:
    days = {fields[k] for k in DATE_KEYS}

    def edit(text: str) -> str:
        for day in days:
            text = text.replace(_cn(day), fmt(day))
        return text

    return edit


def _spaced_labels(text: str) -> str:
    if text in ("被抽查单位", "抽查依据", "处理意见和建议"):
        return " ".join(text)
    return text


def _full_width_digits(text: str) -> str:
    return re.sub(r"1[3-9]\d{9}", lambda m: m.group(0).translate(str.maketrans("0123456789", "０１２３４５６７８９")),
                  text)


def _plain_methods(fields: dict[str, Any]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        return "、".join(fields["methods"]) if "☐书面检查" in text or "☑书面检查" in text else text

    return edit


def _colon_period(fields: dict[str, Any]) -> Callable[[str], str]:
    start, end = fields["check_start"], fields["check_end"]

    def edit(text: str) -> str:
        if text.startswith(_cn(start[:10])) and "时" in text:
            return f"{start[:10]} {int(start[11:13])}:{start[14:16]}-{int(end[11:13])}:{end[14:16]}"
        return text

    return edit


def docx_variants(rng: random.Random, companies: list[Company], people: list[Any],
                  out: Path) -> list[Item]:
    """Word check tables: the template as filled, plus the edits staff make."""
    start = dt.datetime(2026, 11, 9, 9, 30)
    items: list[Item] = []

    def make(name: str, company: Company, n_people: int, day: int,
             edit: Callable[[dict[str, Any]], Callable[[str], str] | None] | None = None,
             **overrides: Any) -> None:
        fields = check_table_fields(rng, company, people[:n_people], start + dt.timedelta(days=day))
        fields.update(overrides)
        path = out / f"{name}.docx"
        render_check_table(fields, path, template_dir=Path(__file__).resolve().parents[2] / "templates",
                           bureau=BUREAU, case_id=None, dept_opinion="同意。", authority_opinion="同意。")
        if edit is not None and (fn := edit(fields)) is not None:
            _edit_cells(path, fn)
        items.append(Item(path, copy.deepcopy(fields)))

    make("docx-两名执法人员", companies[0], 2, 0)
    make("docx-三名执法人员", companies[1], 3, 1)
    make("docx-六名执法人员", companies[2], 6, 2)
    make("docx-标签含空格", companies[3], 2, 3, lambda f: _spaced_labels)
    make("docx-日期用点号", companies[4], 2, 4, lambda f: _replace_dates(_dotted, f))
    make("docx-日期中文数字", companies[5], 3, 5, lambda f: _replace_dates(_cn_year_date, f))
    make("docx-电话全角数字", companies[0], 2, 6, lambda f: _full_width_digits)
    make("docx-抽查方式纯文字", companies[1], 2, 7, _plain_methods, methods=["现场检查", "书面检查"])
    make("docx-抽查时间冒号写法", companies[2], 2, 8, _colon_period)
    make("docx-审批日期未填", companies[3], 2, 9, None, dept_opinion_date=None, leader_approval_date=None,
         authority_opinion_date=None)
    make("docx-单位名含特殊字符", companies[4], 2, 10, None, inspected_unit="烟台A&B<科技>有限公司")
    make("docx-多行抽查情况", companies[5], 4, 11, None,
         situation="1. 查阅出入库台账，记录完整。\n2. 现场检查储存场所，未发现问题。\n3. 安全管理制度已上墙。")
    return items


def write_expected(items: list[Item]) -> None:
    for item in items:
        item.path.with_name(item.path.name + ".expected.json").write_text(
            json.dumps(item.expected, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")


def sample_people(seed: int = SEED) -> tuple[random.Random, list[Company], list[Any]]:
    rng = random.Random(seed)
    return rng, make_companies(rng, 6), make_inspectors(rng, 6)


XLSX_VARIANTS = ("plain", "date_cells", "title_rows", "numbers", "formula", "two_sheets")
XLSX_NAMES = {"plain": "普通", "date_cells": "日期单元格", "title_rows": "标题行与空列", "numbers": "号码为数值",
              "formula": "公式", "two_sheets": "封面加表单"}


def xlsx_variants(rng: random.Random, companies: list[Company], people: list[Any], out: Path) -> list[Item]:

    items = []
    start = dt.datetime(2026, 11, 16, 14, 0)
    for n, variant in enumerate(XLSX_VARIANTS):
        fields = check_table_fields(rng, companies[n % len(companies)], people[: 2 + n % 3],
                                    start + dt.timedelta(days=n))
        path = out / f"xlsx-{XLSX_NAMES[variant]}.xlsx"
        write_check_table_xlsx(path, fields, bureau=BUREAU, variant=variant)
        items.append(Item(path, copy.deepcopy(fields)))
    return items


def build_corpus(out: Path, soffice: str = "soffice") -> list[Item]:
    """Every variant in every format: Word and Excel sources, then LibreOffice-made PDF, .doc, .odt,
    .rtf (from Word) and .xls, .ods (from Excel). Returns the items; also writes the expected JSON.
    Every file is built or ``ConversionError`` is raised: the corpus never shrinks."""

    rng, companies, people = sample_people()
    out.mkdir(parents=True, exist_ok=True)
    word = docx_variants(rng, companies, people, out)
    excel = xlsx_variants(rng, companies, people, out)
    items = word + excel
    # LibreOffice's .xls export stores a cross-sheet text formula's result as 0 (xlrd then reads 0):
    # a known limitation of that route, documented in the README, so it is left out here.
    no_formula = [i for i in excel if "公式" not in i.path.name]
    with Converter(soffice) as converter:
        for sources, target, label in ((word, "pdf", "pdf"), (word, "doc", "doc"), (word, "odt", "odt"),
                                       (word[:4], "rtf", "rtf"), (no_formula, "xls", "xls"), (excel, "ods", "ods")):
            made = converter.convert_many([i.path for i in sources], target, out / label)
            for item in sources:
                # A corpus that silently shrinks hides a broken conversion: a file the batch did
                # not make is tried once on its own, and ``convert`` raises if it fails again.
                output = made.get(item.path) or converter.convert(item.path, target, out / label)
                renamed = output.with_name(
                    item.path.stem.replace("docx-", f"{label}-由Word转换-").replace(
                        "xlsx-", f"{label}-由Excel转换-") + f".{target}")
                output.replace(renamed)
                items.append(Item(renamed, item.expected))
    write_expected(items)
    return items
