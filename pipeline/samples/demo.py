"""``shuangsui demo``: fills the inbox with realistic sample documents so a newcomer sees the whole flow.

The samples (fixed seed, byte-identical on every run) are: the 检查对象名录库, 抽查任务 and
执法检查人员名录库 sheets, three complete check tables with the 现场检查笔录 of the on-site ones and
the signed scans of all of them (→ 公示表), one whose company is not in the lists (→ 待补充), one with a
single inspector (→ 退回), and a check that led to a penalty with its 行政处罚决定书.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

from openpyxl import Workbook

from pipeline.core.settings import Settings
from pipeline.core.ziputil import normalize_zip
from pipeline.documents.render import render_check_table, render_site_record
from pipeline.intake.inbox import scan_inbox
from pipeline.intake.process import LISTS_FOLDER
from pipeline.samples.demo_scans import write_demo_scans
from pipeline.samples.fictional import (
    ITEMS,
    Company,
    Person,
    check_table_fields,
    make_companies,
    make_inspectors,
    site_record_fields,
)
from pipeline.samples.penalty import penalty_sample, write_decision_docx
from pipeline.store import Store

SEED = 20261128
FIXED_TIME = dt.datetime(2026, 1, 1)


def _fixed_core_times(name: str, data: bytes) -> bytes:
    # openpyxl stamps the save time into dcterms:modified; the demo must be byte-identical every run.
    if name != "docProps/core.xml":
        return data
    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>2026-01-01T00:00:00Z\g<2>", data)


def _save_workbook(wb: Workbook, path: Path) -> None:
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "shuangsui demo"
    tmp = path.with_name(f".{path.name}.part")
    wb.save(tmp)
    normalize_zip(tmp, _fixed_core_times)
    tmp.replace(path)


def write_units_sheet(path: Path, companies: list[Company]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "检查对象名录库"
    ws.append(["烟台市工业和信息化局检查对象名录库（省平台导出）"])
    ws.append(["企业名称", "统一社会信用代码", "法定代表人", "住所", "所属行业", "投诉举报次数",
               "是否列入经营异常名录", "是否有严重违法记录"])
    for c in companies:
        ws.append([c.name, c.uscc, c.legal_rep, c.address, c.industry, 0, "否", "否"])
    _save_workbook(wb, path)


def write_tasks_sheet(path: Path, companies: list[Company], item: str) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "抽查任务"
    ws.append(["任务名称", "抽查类型", "抽查事项", "企业名称", "统一社会信用代码", "计划开始日期", "计划结束日期"])
    for c in companies:
        ws.append([f"2026年度{item}双随机抽查", "不定向抽查", item, c.name, c.uscc,
                   dt.date(2026, 11, 1), dt.date(2026, 12, 31)])
    _save_workbook(wb, path)


def write_roster_sheet(path: Path, people: list[Person], avoid: dict[str, str] | None = None) -> None:
    """``avoid`` maps a person's name to their 回避单位 (names or codes, separated by 、)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "执法检查人员名录库"
    ws.append(["姓名", "职务", "科室", "执法证号", "执法证有效期至", "联系电话", "回避单位"])
    for p in people:
        ws.append([p.name, p.title, p.section, p.licence_no, p.valid_until, p.phone, (avoid or {}).get(p.name)])
    _save_workbook(wb, path)


def write_site_record(path: Path, fields: dict, settings: Settings) -> None:
    tmp = path.with_name(f".{path.name}.part")
    render_site_record(fields, tmp, template_dir=settings.templates_dir, bureau=settings.bureau, case_id=None)
    normalize_zip(tmp)
    tmp.replace(path)


def write_check_table(path: Path, fields: dict, settings: Settings) -> None:
    tmp = path.with_name(f".{path.name}.part")
    render_check_table(fields, tmp, template_dir=settings.templates_dir, bureau=settings.bureau, case_id=None,
                       dept_opinion="同意开展检查。", authority_opinion="同意。")
    normalize_zip(tmp)
    tmp.replace(path)


def fill_demo_inbox(settings: Settings, store: Store, *, only_if_empty: bool = False) -> list[Path]:
    inbox = settings.inbox
    candidates, _ = scan_inbox(inbox)
    if only_if_empty and (candidates or store.list_files()):
        return []
    rng = random.Random(SEED)
    companies = make_companies(rng, 5)
    people = make_inspectors(rng, 4)
    listed, unlisted = companies[:4], companies[4]
    (inbox / LISTS_FOLDER).mkdir(parents=True, exist_ok=True)
    written = [inbox / LISTS_FOLDER / "检查对象名录库.xlsx", inbox / LISTS_FOLDER / "抽查任务.xlsx",
               inbox / LISTS_FOLDER / "执法检查人员名录库.xlsx"]
    write_units_sheet(written[0], listed)
    write_tasks_sheet(written[1], listed, ITEMS[0][0])
    write_roster_sheet(written[2], people)

    start = dt.datetime(2026, 11, 9, 9, 30)
    signed: list[tuple[Path, str, dict]] = []  # typed forms that also get a signed scan
    for n, company in enumerate(listed[:3]):
        team = rng.sample(people, 2)
        when = start + dt.timedelta(days=n)
        fields = check_table_fields(rng, company, team, when)
        path = inbox / f"检查表-{company.name}.docx"
        write_check_table(path, fields, settings)
        written.append(path)
        signed.append((path, "check_table", fields))
        if "现场检查" in fields["methods"]:  # 第十条: an on-site check comes with its 现场检查笔录
            record = inbox / f"现场检查笔录-{company.name}.docx"
            record_fields = site_record_fields(rng, company, team, when, refused=n == 1)
            write_site_record(record, record_fields, settings)
            written.append(record)
            signed.append((record, "site_record", record_fields))
    fields = check_table_fields(rng, unlisted, rng.sample(people, 2), start + dt.timedelta(days=4))
    written.append(inbox / f"检查表-{unlisted.name}.docx")
    write_check_table(written[-1], fields, settings)
    fields = check_table_fields(rng, listed[3], people[:1], start + dt.timedelta(days=5))
    written.append(inbox / "检查表-执法人员不足两人.docx")
    write_check_table(written[-1], fields, settings)
    written += _demo_penalty_case(settings, listed[1], people, start + dt.timedelta(days=7), signed)

    written += write_demo_scans(settings, signed)
    return written


def _demo_penalty_case(settings: Settings, company: Company, people: list[Person], when: dt.datetime,
                       signed: list[tuple[Path, str, dict]]) -> list[Path]:
    """A check that led to a penalty (立案、罚款) and its 行政处罚决定书 (→ 双公示, 综合科)."""

    rng = random.Random(SEED + 15)  # its own stream: the other samples stay byte-identical
    fields = check_table_fields(rng, company, people[2:4], when)
    fields.update(methods=["书面检查"], situation="查阅出入库台账，发现企业未如实登记民用爆炸物品出入库情况，10月共有12批次记录缺失。",
                  handling="已责令企业立即改正；违法事实清楚，已立案调查，拟依法给予行政处罚。")
    check = settings.inbox / f"检查表-{company.name}-查处.docx"
    write_check_table(check, fields, settings)
    signed.append((check, "check_table", fields))
    sample = penalty_sample(rng, company, when.date(), kind=0, bureau=settings.bureau,
                            decision_date=when.date() + dt.timedelta(days=9))
    decision = write_decision_docx(settings.inbox / f"行政处罚决定书-{company.name}.docx", sample)
    return [check, decision]
