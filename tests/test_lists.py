"""Lists (名录库): messy sheets, refusals, versions in force on a date, diffs, ``shuangsui lists``."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from rich.console import Console

from pipeline.cases import lists
from pipeline.cli.printing import print_lists
from pipeline.core.codes import FileStatus
from pipeline.core.errors import BadArgsError
from pipeline.core.settings import Settings
from pipeline.intake.list_import import import_list_file
from pipeline.intake.process import LISTS_FOLDER, Context, open_context
from pipeline.store import open_store
from tests.conftest import Samples, process_json, run_cli
from tests.end_states import assert_published

TASK_HEADER = ["任务名称", "抽查类型", "抽查事项", "企业名称", "统一社会信用代码", "计划开始日期", "计划结束日期"]
ITEM = "民用爆炸物品销售的安全生产监督管理"


def full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch for ch in text)


def save(wb: Workbook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def tasks_sheet(path: Path, task_name: str, companies: list[Any], *, title: str | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "抽查任务"
    if title:
        ws.append([title])
    ws.append(TASK_HEADER)
    for c in companies:
        ws.append([task_name, "不定向抽查", ITEM, c.name, c.uscc, dt.date(2026, 1, 1), dt.date(2026, 12, 31)])
    return save(wb, path)


def units_sheet(path: Path, rows: list[list[Any]], *, title: str | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(["企业名称", "统一社会信用代码", "住所"])
    for row in rows:
        ws.append(row)
    return save(wb, path)


@pytest.fixture
def ctx(settings: Settings) -> Any:
    context = open_context(settings)
    yield context
    context.store.close()


def by_name(files: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in files}


# --- reading messy sheets -----------------------------------------------------------------------------

def test_messy_units_sheet_on_a_second_sheet_with_header_on_row_5(tmp_path: Path, samples: Samples) -> None:
    a, b, c = samples.companies[:3]
    wb = Workbook()
    notes = wb.active
    notes.title = "填表说明"
    notes.append(["本表由省平台导出，请勿修改表头。"])
    notes.append(["企业名称请填写全称"])  # one column name alone is not a header
    ws = wb.create_sheet("名录")
    ws.append(["烟台市工业和信息化局检查对象名录库"])
    ws.merge_cells("A1:F1")
    ws.append(["（2026年11月1日起施行）"])
    ws.append(["单位：烟台市工业和信息化局", None, None, "导出时间：2026-10-20"])
    ws.append([])
    ws.append(["序号", "住所", "统一社会\n信用代码", "备注", "企业名称 ", "所属行业"])
    ws.append([1, "烟台市芝罘区  幸福路1号", f" {a.uscc.lower()} ", "新增", a.name, "批发业"])
    ws.append([])
    ws.append([2, "烟台市福山区", full_width(b.uscc),
               None, f"{b.name}\u3000", "制造业"])
    ws.append(["序号", "住所", "统一社会信用代码", "备注", "企业名称", "所属行业"])  # header repeated on page 2
    ws.append([3, None, c.uscc, None, c.name, None])
    ws.append(["制表人：王明"])
    path = save(wb, tmp_path / "对象.xlsx")

    imported = lists.read_list(path)

    assert imported.kind.kind == "units"
    assert (imported.sheet, imported.header_row) == ("名录", 5)
    assert imported.effective_from == dt.date(2026, 11, 1)
    assert [n for n, _ in imported.rows] == [6, 8, 10]
    first, second, third = (r for _, r in imported.rows)
    assert first == {"企业名称": a.name, "统一社会信用代码": a.uscc, "住所": "烟台市芝罘区 幸福路1号", "所属行业": "批发业"}
    assert second["统一社会信用代码"] == b.uscc and second["企业名称"] == b.name
    assert third["住所"] is None and third["企业名称"] == c.name
    assert "序号" not in first and "备注" not in first
    assert imported.warnings == ()


def test_inspectors_with_numbers_as_codes_real_dates_and_other_column_names(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["执法检查人员名录库", None, None, "更新日期", dt.datetime(2026, 9, 1)])
    ws.append(["联系电话", "姓名", "执法证件号码", "有效期至（年月日）", "职务", "回避单位"])
    ws.append([13805351234, "张 伟", 37060220190001, dt.datetime(2028, 12, 31), "科长", None])
    ws.append(["0535-6881234", "李海燕", full_width("37060220200002"), "2027年6月30日", "科员", "烟台某某化工有限公司"])
    ws.append([13905355678.0, "王明", 37060220210003.0, 46752, "科员", None])
    ws.append([None, "赵静", " 37060220220004 ", "长期", "副科长", None])
    ws.append([None, "孙磊", "37060220230005", "明年", "科员", None])
    ws["D5"].number_format = "General"  # a date serial without a date format
    path = save(wb, tmp_path / "人员.xlsx")

    imported = lists.read_list(path)

    assert imported.kind.kind == "inspectors"
    assert imported.effective_from == dt.date(2026, 9, 1)
    rows = [r for _, r in imported.rows]
    assert [r["执法证号"] for r in rows] == ["37060220190001", "37060220200002", "37060220210003",
                                           "37060220220004", "37060220230005"]
    assert [r["联系电话"] for r in rows[:3]] == ["13805351234", "0535-6881234", "13905355678"]
    assert [r["执法证有效期至"] for r in rows] == ["2028-12-31", "2027-06-30", "2027-12-31", "长期", "明年"]
    assert rows[0]["姓名"] == "张 伟"
    # "长期" is a known way of saying "no end"; "明年" is not a date and is said once, naming the row.
    [warning] = imported.warnings
    assert "第 7 行" in warning and "执法证有效期至" in warning and "明年" in warning


def test_tasks_with_merged_task_name_and_effective_date_in_a_label_cell(tmp_path: Path, samples: Samples) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["生效日期：", dt.datetime(2026, 12, 1)])
    ws.append([*TASK_HEADER, "备注"])
    for c in samples.companies[:3]:
        ws.append([None, "定向抽查", ITEM, c.name, c.uscc, "2026.12.1", 20261231, None])
    ws["A3"] = "2026年度第二批抽查"
    ws.merge_cells("A3:A5")
    path = save(wb, tmp_path / "任务.xlsx")

    imported = lists.read_list(path)

    assert imported.kind.kind == "tasks"
    assert imported.effective_from == dt.date(2026, 12, 1)
    assert [r["任务名称"] for _, r in imported.rows] == ["2026年度第二批抽查"] * 3
    assert {(r["计划开始日期"], r["计划结束日期"]) for _, r in imported.rows} == {("2026-12-01", "2026-12-31")}


def test_rows_without_identity_are_skipped_and_empty_required_cells_named(tmp_path: Path) -> None:
    path = units_sheet(tmp_path / "对象.xlsx", [["烟台甲有限公司", None, "芝罘区"], [None, None, "只有住所"],
                                              ["烟台乙有限公司", "91370611MA3CBBBB2X", "福山区"]])
    imported = lists.read_list(path)
    assert [r["企业名称"] for _, r in imported.rows] == ["烟台甲有限公司", "烟台乙有限公司"]
    skipped, empty = imported.warnings
    assert "第 3 行" in skipped and "已跳过" in skipped
    assert "第 2 行" in empty and "统一社会信用代码" in empty


@pytest.mark.parametrize(("texts", "expected"), [
    (["2026年度抽查任务（2026年11月1日起施行）"], dt.date(2026, 11, 1)),
    (["生效日期：2026-11-01"], dt.date(2026, 11, 1)),
    (["更新日期 2026-11-01"], dt.date(2026, 11, 1)),
    (["自二〇二六年十一月一日起执行"], dt.date(2026, 11, 1)),
    (["制表日期：2026-10-20", "更新日期：2026-10-25", "生效日期：２０２６年１１月１日"], dt.date(2026, 11, 1)),
    (["2026年度抽查任务", "制表日期：2026-10-20"], None),
])
def test_effective_date_stated_in_a_title_row(texts: list[str], expected: dt.date | None) -> None:
    assert lists.stated_effective_date(texts)[0] == expected


def test_two_different_effective_dates_take_the_first_and_warn() -> None:
    day, warnings = lists.stated_effective_date(["（2026年11月1日起施行）", "生效日期：2026-12-01"])
    assert day == dt.date(2026, 11, 1)
    [warning] = warnings
    assert "2026-12-01" in warning and "只保留一个生效日期" in warning


def test_duplicate_key_is_a_warning_not_a_refusal(settings: Settings, samples: Samples) -> None:
    a, b = samples.companies[:2]
    units_sheet(settings.inbox / LISTS_FOLDER / "检查对象名录库.xlsx",
                [[a.name, a.uscc, "芝罘区"], [b.name, b.uscc, "福山区"], [a.name + "（重复）", a.uscc, "莱山区"]])
    result = by_name(process_json(settings))[f"{LISTS_FOLDER}/检查对象名录库.xlsx"]
    assert result["status"] == "accepted"
    [finding] = result["findings"]
    assert finding["severity"] == "warning"
    assert "第 2、4 行" in finding["message"] and a.uscc in finding["message"] and "第 2 行为准" in finding["message"]
    store = open_store(settings.db_url)
    try:
        assert len(store.list_rows("units")) == 3
        assert lists.lookup_publication(store, a.name, "2026-11-09").uscc == a.uscc
    finally:
        store.close()


def test_sheet_lacking_a_needed_column_is_refused_naming_it(settings: Settings, samples: Samples) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["2026年度抽查任务"])
    ws.append([h for h in TASK_HEADER if h != "计划结束日期"])
    c = samples.companies[0]
    ws.append(["任务", "不定向抽查", ITEM, c.name, c.uscc, dt.date(2026, 11, 1)])
    path = save(wb, settings.inbox / LISTS_FOLDER / "抽查任务.xlsx")
    original = path.read_bytes()

    result = by_name(process_json(settings))[f"{LISTS_FOLDER}/抽查任务.xlsx"]

    assert result["status"] == "rejected"
    [finding] = result["findings"]
    assert finding["code"] == "LIST_COLUMN_MISSING"
    assert "计划结束日期" in finding["message"] and "抽查任务" in finding["message"]
    assert finding["field"] == "计划结束日期"
    assert (settings.outbox / "退回" / "抽查任务.xlsx").read_bytes() == original
    store = open_store(settings.db_url)
    try:
        assert store.list_versions() == []
    finally:
        store.close()


# --- versions in force ----------------------------------------------------------------------------------

def test_check_is_validated_against_the_version_in_force_on_its_date(ctx: Context, tmp_path: Path,
                                                                    samples: Samples) -> None:
    company = samples.companies[0]
    old = tasks_sheet(tmp_path / "任务-上半年.xlsx", "2026年度第一批抽查", [company], title="（2026年1月1日起施行）")
    new = tasks_sheet(tmp_path / "任务-第二批.xlsx", "2026年度第二批抽查", [company], title="生效日期：2026-11-20")
    # Imported out of order: the effective dates decide, not the order of import.
    assert import_list_file(ctx, new).status is FileStatus.accepted
    assert import_list_file(ctx, old).status is FileStatus.accepted

    before = lists.lookup_publication(ctx.store, company.name, "2026-11-09")
    on_the_day = lists.lookup_publication(ctx.store, company.name, dt.date(2026, 11, 20))
    after = lists.lookup_publication(ctx.store, company.name, "2026-12-05")
    assert before.task_name == "2026年度第一批抽查"
    assert on_the_day.task_name == after.task_name == "2026年度第二批抽查"
    assert [t["任务名称"] for t in lists.tasks_on(ctx.store, dt.date(2026, 3, 1))] == ["2026年度第一批抽查"]
    assert [t["任务名称"] for t in lists.tasks_on(ctx.store, dt.date(2026, 12, 1))] == ["2026年度第二批抽查"]
    # No date: the newest import (today's behaviour for callers that do not know a date).
    assert [t["任务名称"] for t in ctx.store.list_rows("tasks")] == ["2026年度第一批抽查"]
    versions = ctx.store.list_versions("tasks")
    assert [(v.effective_from, v.source_name) for v in versions] == [
        ("2026-01-01", "任务-上半年.xlsx"), ("2026-11-20", "任务-第二批.xlsx")]


def test_check_table_dated_before_the_new_version_uses_the_old_task_name(settings: Settings,
                                                                          samples: Samples) -> None:
    company = samples.companies[0]
    units, _tasks, _roster = samples.lists([company])
    folder = units.parent
    _tasks.unlink()
    tasks_sheet(folder / "抽查任务-1.xlsx", "2026年度旧任务名称", [company], title="（2026年1月1日起施行）")
    tasks_sheet(folder / "抽查任务-2.xlsx", "2026年度新任务名称", [company], title="（2026年11月20日起施行）")
    samples.check_table("检查表.docx", company=company)  # checked on 2026-11-09

    result = by_name(process_json(settings))["检查表.docx"]

    assert result["status"] == "accepted", result
    from docx import Document

    doc = Document(str(settings.outbox / result["outputs"][0]))
    text = "\n".join(cell.text for table in doc.tables for row in table.rows for cell in row.cells)
    text += "\n".join(p.text for p in doc.paragraphs)
    assert "2026年度旧任务名称" in text and "2026年度新任务名称" not in text


def test_without_a_stated_date_a_version_is_in_force_from_its_import_date(ctx: Context, tmp_path: Path,
                                                                       samples: Samples) -> None:
    a, b = samples.companies[:2]
    import_list_file(ctx, units_sheet(tmp_path / "v1.xlsx", [[a.name, a.uscc, "芝罘区"]]))
    import_list_file(ctx, units_sheet(tmp_path / "v2.xlsx", [[b.name, b.uscc, "福山区"]],
                                            title="（2099年1月1日起施行）"))
    today = dt.date.today()
    [first, future] = ctx.store.list_versions("units")
    assert first.effective_from == today.isoformat() and future.effective_from == "2099-01-01"
    assert [r["企业名称"] for r in lists.unit_directory(ctx.store, today)] == [a.name]
    # A check dated before every version uses the earliest list there is.
    assert [r["企业名称"] for r in lists.unit_directory(ctx.store, dt.date(2020, 1, 1))] == [a.name]
    assert [r["企业名称"] for r in lists.unit_directory(ctx.store, dt.date(2099, 1, 1))] == [b.name]
    assert lists.inspector_roster(ctx.store, today) == []


# --- diffs and shuangsui lists ------------------------------------------------------------------------

def test_diff_reports_added_removed_and_changed_rows() -> None:
    old = [
        {"企业名称": "烟台甲有限公司", "统一社会信用代码": "91370602AAAAAAAA1X", "住所": "芝罘区", "法定代表人": "王一"},
        {"企业名称": "烟台乙有限公司", "统一社会信用代码": "91370611BBBBBBBB2X", "住所": "福山区", "法定代表人": "李二"},
        {"企业名称": "烟台丙有限公司", "统一社会信用代码": None, "住所": "莱山区", "法定代表人": "赵三"},
    ]
    new = [
        {"企业名称": "烟台甲有限公司", "统一社会信用代码": "91370602AAAAAAAA1X", "住所": "芝罘区幸福路1号", "所属行业": "批发业"},
        {"企业名称": "烟台丙有限公司", "统一社会信用代码": "91370613CCCCCCCC3X", "住所": "莱山区", "所属行业": None},
        {"企业名称": "烟台丁有限公司", "统一社会信用代码": "91370614DDDDDDDD4X", "住所": "蓬莱区", "所属行业": None},
    ]
    diff = lists.diff_versions(old, new, "units")
    assert [r["企业名称"] for r in diff.added] == ["烟台丁有限公司"]
    assert [r["企业名称"] for r in diff.removed] == ["烟台乙有限公司"]
    assert dict(diff.changed) == {
        ("91370602AAAAAAAA1X",): {"住所": ("芝罘区", "芝罘区幸福路1号")},
        # Gained its code: matched by name, so it is a change, not a removal plus an addition.
        ("91370613CCCCCCCC3X",): {"统一社会信用代码": (None, "91370613CCCCCCCC3X")},
    }
    assert diff.columns_added == ["所属行业"] and diff.columns_removed == ["法定代表人"]
    assert lists.diff_versions(new, [dict(r) for r in new], "units").empty


@pytest.mark.parametrize(("kind", "row", "key"), [
    ("units", {"企业名称": "烟台 甲（有限）公司", "统一社会信用代码": None}, ("烟台甲(有限)公司",)),
    ("units", {"企业名称": "烟台甲", "统一社会信用代码": "91370602aaaa"}, ("91370602AAAA",)),
    ("inspectors", {"姓名": "张三", "执法证号": "3706 001"}, ("3706001",)),
    ("tasks", {"任务名称": "任务A", "企业名称": "烟台甲（有限）公司"}, ("任务A", "烟台甲(有限)公司")),
    ("tasks", {"任务名称": "任务A", "企业名称": None}, None),
    ("items", {"抽查事项": "工业节能监察"}, ("工业节能监察",)),
])
def test_row_identity_per_list(kind: str, row: dict[str, Any], key: tuple[str, ...] | None) -> None:
    assert lists.row_key(kind, row) == key


def test_tasks_diff_by_task_and_company() -> None:
    old = [{"任务名称": "A", "企业名称": "烟台甲有限公司", "抽查类型": "不定向抽查", "计划结束日期": "2026-12-31"}]
    new = [{"任务名称": "A", "企业名称": "烟台甲有限公司", "抽查类型": "定向抽查", "计划结束日期": "2026-12-31"},
           {"任务名称": "B", "企业名称": "烟台甲有限公司", "抽查类型": "定向抽查", "计划结束日期": "2026-12-31"}]
    diff = lists.diff_versions(old, new, "tasks")
    assert [(r["任务名称"], r["企业名称"]) for r in diff.added] == [("B", "烟台甲有限公司")]
    assert diff.changed == [(("A", "烟台甲有限公司"), {"抽查类型": ("不定向抽查", "定向抽查")})]
    assert diff.removed == []


def test_print_lists_shows_versions_and_what_changed(ctx: Context, tmp_path: Path, samples: Samples) -> None:
    a, b, c = samples.companies[:3]
    # Another list imported first, so the database's row ids differ from each list's own version numbers.
    import_list_file(ctx, tasks_sheet(tmp_path / "任务.xlsx", "危险化学品安全检查", [a]))
    import_list_file(ctx, units_sheet(tmp_path / "名录-10月.xlsx", [[a.name, a.uscc, "芝罘区"], [b.name, b.uscc, "福山区"]],
                                            title="生效日期：2026-10-01"))
    import_list_file(ctx, units_sheet(tmp_path / "名录-11月.xlsx",
                                            [[a.name, a.uscc, "芝罘区幸福路[1]号"], [c.name, c.uscc, "莱山区"]],
                                            title="生效日期：2026-11-01"))
    buffer = io.StringIO()
    console = Console(file=buffer, width=250, color_system=None)

    assert print_lists(ctx.store, console, kind="检查对象名录库") == 0

    out = buffer.getvalue()
    assert "名录-10月.xlsx" in out and "名录-11月.xlsx" in out and "2026-10-01" in out and "2026-11-01" in out
    assert "新增 1 行，删除 1 行，变更 1 行" in out
    assert "检查对象名录库 版本 2（2026-11-01 起）相对版本 1：" in out
    assert f"新增  {c.name}（{c.uscc}）" in out
    assert f"删除  {b.name}（{b.uscc}）" in out
    assert f"变更  {a.name}（{a.uscc}）：住所 芝罘区 → 芝罘区幸福路[1]号" in out
    assert "抽查任务" not in out  # only the list asked for

    buffer = io.StringIO()
    print_lists(ctx.store, Console(file=buffer, width=250, color_system=None), diff=False)
    out = buffer.getvalue()
    assert "尚未导入" in out and "执法检查人员名录库" in out and "新增" not in out
    with pytest.raises(BadArgsError, match="不认识的名录"):
        print_lists(ctx.store, console, kind="花名册")


def test_diff_examples_are_capped_at_twenty(ctx: Context, tmp_path: Path) -> None:
    rows = [[f"烟台第{n}有限公司", f"9137060200000{n:04d}X", "芝罘区"] for n in range(30)]
    import_list_file(ctx, units_sheet(tmp_path / "v1.xlsx", rows[:2], title="生效日期：2026-01-01"))
    import_list_file(ctx, units_sheet(tmp_path / "v2.xlsx", rows, title="生效日期：2026-02-01"))
    buffer = io.StringIO()
    print_lists(ctx.store, Console(file=buffer, width=250, color_system=None), kind="units")
    out = buffer.getvalue()
    assert "新增 28 行" in out
    assert out.count("新增  烟台第") == 20 and "另有 8 行变化未列出" in out


# --- shuangsui lists import FILE -------------------------------------------------------------------------

def test_import_list_file_keeps_the_original_and_records_it_like_the_inbox(ctx: Context, tmp_path: Path,
                                                                           samples: Samples) -> None:
    a = samples.companies[0]
    path = units_sheet(tmp_path / "检查对象名录库.xlsx", [[a.name, a.uscc, "芝罘区"]])
    data = path.read_bytes()

    outcome = import_list_file(ctx, path)

    assert outcome.status is FileStatus.accepted and outcome.name == f"{LISTS_FOLDER}/检查对象名录库.xlsx"
    assert path.read_bytes() == data
    [file] = ctx.store.list_files()
    assert (file.inbox_path, file.form, file.status) == (f"{LISTS_FOLDER}/检查对象名录库.xlsx", "list:units",
                                                         FileStatus.accepted)
    assert ctx.originals.verify(file.sha256)
    [version] = ctx.store.list_versions()
    assert (version.file_id, version.source_name, version.sha256) == (file.id, path.name, file.sha256)
    assert ctx.store.list_version_rows(version.id)[0]["统一社会信用代码"] == a.uscc

    again = import_list_file(ctx, path)
    assert again.status is FileStatus.duplicate and "未导入新版本" in again.findings[0].message
    assert len(ctx.store.list_versions()) == 1 and path.exists()


def test_import_list_file_refuses_a_bad_sheet_without_a_version(ctx: Context, tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.append(["姓名", "职务", "科室"])
    wb.active.append(["张三", "科长", "安全生产科"])
    path = save(wb, tmp_path / "人员.xlsx")

    outcome = import_list_file(ctx, path)

    assert outcome.status is FileStatus.rejected
    assert outcome.findings[0].code == "LIST_COLUMN_MISSING" and "执法证号" in outcome.findings[0].message
    assert ctx.store.list_versions() == [] and path.exists()
    assert not (ctx.settings.outbox / "退回").exists()


def test_import_list_file_completes_a_waiting_case(settings: Settings, samples: Samples, tmp_path: Path) -> None:
    company = samples.companies[0]
    samples.check_table("检查表.docx", company=company)
    [result] = process_json(settings)
    assert result["status"] == "waiting"
    ctx = open_context(settings)
    try:
        for path in samples.lists([company], folder=tmp_path):
            assert import_list_file(ctx, path).status is FileStatus.accepted
        assert_published(ctx, result["case"])
        assert [p.name for p in (settings.outbox / "公示表").glob("*.docx")] == [f"{company.name}-2026-11-09.docx"]
    finally:
        ctx.store.close()


def test_cli_lists_import_then_lists(settings: Settings, samples: Samples, tmp_path: Path) -> None:
    a = samples.companies[0]
    path = units_sheet(tmp_path / "名录.xlsx", [[a.name, a.uscc, "芝罘区"]], title="（2026年10月1日起施行）")
    proc = run_cli(settings, "lists", "import", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "已受理" in proc.stderr + proc.stdout
    proc = run_cli(settings, "lists")
    assert proc.returncode == 0, proc.stderr
    assert "名录.xlsx" in proc.stdout and "2026-10-01" in proc.stdout


# --- the store ------------------------------------------------------------------------------------------

def test_migration_0003_backfills_versions_imported_before_it(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    folder = resources.files("pipeline.store") / "migrations" / "sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                 " applied_at TEXT NOT NULL)")
    for n, name in ((1, "0001_initial.sql"), (2, "0002_lists.sql")):
        conn.executescript((folder / name).read_text(encoding="utf-8"))
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01')", (n, name))
    conn.execute("INSERT INTO files (id, sha256, original_name, inbox_path, size, mtime_ns, received_at, status)"
                 " VALUES (1, 'ab12', '名录.xlsx', '名录库/名录.xlsx', 1, 1, '2026-10-05T08:00:00+08:00', 'accepted')")
    conn.execute("INSERT INTO list_versions (id, kind, file_id, imported_at, row_count)"
                 " VALUES (1, 'units', 1, '2026-10-05T08:00:00+08:00', 1)")
    conn.execute("INSERT INTO list_rows VALUES (1, 2, ?)", (json.dumps({"企业名称": "烟台甲有限公司"}),))
    conn.commit()
    conn.close()

    store = open_store(f"sqlite:///{db}")
    try:
        [version] = store.list_versions()
        assert (version.effective_from, version.source_name, version.sha256) == ("2026-10-05", "名录.xlsx", "ab12")
        assert store.list_rows("units", dt.date(2026, 10, 5)) == [{"企业名称": "烟台甲有限公司"}]
        # The old positional call still works and fills name and SHA-256 from the file row.
        with store.begin() as tx:
            new_id = tx.add_list_version("units", 1, [(2, {"企业名称": "烟台乙有限公司"})])
        newest = store.list_version_on("units")
        assert newest is not None and newest.id == new_id and newest.source_name == "名录.xlsx"
        assert newest.effective_from == dt.date.today().isoformat()
    finally:
        store.close()


@pytest.mark.parametrize(("column", "value", "expected"), [
    ("统一社会信用代码", " ９１３７０６０２ＭＡ３Ｃ ", "91370602MA3C"),
    ("执法证号", 37060220190001.0, "37060220190001"),
    ("联系电话", 13805351234, "13805351234"),
    ("计划开始日期", dt.datetime(2026, 11, 1, 0, 0), "2026-11-01"),
    ("计划开始日期", 46327, "2026-11-01"),
    ("计划开始日期", "2026/11/1", "2026-11-01"),
    ("计划开始日期", "20261101", "2026-11-01"),
    ("投诉举报次数", 2.0, 2),
    ("是否列入经营异常名录", False, "否"),
    ("住所", "  烟台市\n芝罘区 ", "烟台市 芝罘区"),
    ("住所", "   ", None),
])
def test_cells_are_normalised(column: str, value: Any, expected: Any) -> None:
    assert lists.normalise_cell(column, value) == expected
