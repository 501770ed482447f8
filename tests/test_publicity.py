"""The 双公示 行政处罚 export: xlsx and csv read back, neutralised cells, no personal data, CLI."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from pipeline.cli.doctor import run_checks
from pipeline.outputs.publicity import CODES, HEADERS
from pipeline.samples.fictional import Company
from tests.conftest import cli_env
from tests.test_penalty import decision, penalty_check_table, run, workspace

BUREAU_USCC = "11370600MB2853907B"
FORMULA_NAME = "=HYPERLINK(\"http://example.invalid\",\"烟台恒信精密机械有限公司\")"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two penalty cases, one of a company whose name a spreadsheet would run as a formula."""
    from pipeline.intake.process import open_context

    settings, samples = workspace(tmp_path_factory.mktemp("publicity"), bureau_uscc=BUREAU_USCC)
    samples.companies[1] = dataclasses.replace(samples.companies[1], name=FORMULA_NAME)
    samples.lists()
    penalty_check_table(samples, "检查表-甲.docx", company=0)
    penalty_check_table(samples, "检查表-乙.docx", company=1)
    _, first = decision(samples, company=0, number=3)
    _, second = decision(samples, company=1, number=4, decided=dt.date(2026, 11, 23), digits_only=True)
    ctx = open_context(settings)
    run(ctx)
    [xlsx] = sorted((settings.outbox / "双公示").glob("行政处罚-*.xlsx"))
    yield {"ctx": ctx, "settings": settings, "samples": samples, "xlsx": xlsx, "csv": xlsx.with_suffix(".csv"),
           "decisions": (first, second)}
    ctx.store.close()


def test_xlsx_has_header_codes_and_typed_values(exported: dict[str, Any]) -> None:
    ws = load_workbook(exported["xlsx"]).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == HEADERS and rows[1] == CODES
    assert "CF_WSH" in CODES and "CF_XDR_MC" in CODES and len(rows) == 4
    first, second = exported["decisions"]
    by_no = {r[HEADERS.index("行政处罚决定书文号")]: dict(zip(HEADERS, r, strict=True)) for r in rows[2:]}
    one = by_no[first.decision_no]
    assert one["行政相对人名称"] == first.company.name
    assert one["行政相对人类别"] == "法人及非法人组织"
    assert one["行政相对人代码_1（统一社会信用代码）"] == first.company.uscc
    assert one["违法行为类型"] == first.violation_type and one["违法事实"] == first.facts
    assert one["处罚依据"] == first.basis and one["处罚类别"] == "警告；罚款"
    assert one["罚款金额（万元）"] == 5
    fine_col = HEADERS.index("罚款金额（万元）") + 1
    assert all(ws.cell(r, fine_col).data_type == "n" and ws.cell(r, fine_col).number_format == "0.0000"
               for r in (3, 4))
    assert one["处罚决定日期"] == "2026-11-20" and one["公示截止期"] == "2029-11-20"
    assert one["处罚机关"] == "烟台市工业和信息化局" and one["处罚机关统一社会信用代码"] == BUREAU_USCC
    assert one["数据来源单位统一社会信用代码"] == BUREAU_USCC
    two = by_no[second.decision_no]
    assert two["罚款金额（万元）"] == 5 and two["处罚决定日期"] == "2026-11-23"
    # The formula-looking name is kept visible but inert.
    cell = next(c for c in ws["A"] if c.value and "HYPERLINK" in str(c.value))
    assert cell.value == "'" + FORMULA_NAME and cell.data_type == "s"
    assert ws.freeze_panes == "A3"


def test_csv_is_utf8_with_bom_and_matches_the_xlsx(exported: dict[str, Any]) -> None:
    raw = exported["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == HEADERS and tuple(rows[1]) == CODES
    sheet = [["" if v is None else v for v in r] for r in load_workbook(exported["xlsx"]).active.iter_rows(
        min_row=3, values_only=True)]
    assert len(rows) == 2 + len(sheet)
    for text_row, cells in zip(rows[2:], sheet, strict=True):
        for header, text_value, cell in zip(HEADERS, text_row, cells, strict=True):
            expected = format(cell, "g") if isinstance(cell, int | float) else str(cell)
            assert text_value == expected, header
    assert any(r[0] == "'" + FORMULA_NAME for r in rows)
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r)


def test_no_inspector_phone_or_certificate_number_is_published(exported: dict[str, Any]) -> None:
    people = exported["samples"].people
    secrets = [p.phone for p in people] + [p.licence_no for p in people]
    texts = [exported["csv"].read_text(encoding="utf-8-sig")]
    texts += [str(v) for r in load_workbook(exported["xlsx"]).active.iter_rows(values_only=True) for v in r]
    joined = "\n".join(texts)
    assert not [s for s in secrets if s in joined]
    assert "0535-6788123" not in joined  # the decision's own contact line is not a column either


def test_a_second_pass_the_same_day_rewrites_the_days_file_with_all_rows(exported: dict[str, Any]) -> None:
    from pipeline.cases.penalty import penalties

    ctx, samples = exported["ctx"], exported["samples"]
    assert all(r.exported_at for r in penalties(ctx))
    samples.companies.append(Company("烟台博远电子科技有限公司", samples.companies[2].uscc, "李明", "山东省烟台市", "批发业"))
    penalty_check_table(samples, "检查表-丙.docx", company=2)
    decision(samples, company=2, number=5)
    # The first decision again, in another layout (say rescanned as a table): one row per 文号.
    decision(samples, company=0, number=3, name="行政处罚决定书-3-表格版.docx", party_table=True)
    run(ctx)
    assert len([r for r in penalties(ctx) if r.decision_no == "烟工信罚〔2026〕3号"]) == 2
    rows = list(load_workbook(exported["xlsx"]).active.iter_rows(min_row=3, values_only=True))
    assert sorted(r[HEADERS.index("行政处罚决定书文号")] for r in rows) == [
        "烟工信罚〔2026〕3号", "烟工信罚〔2026〕4号", "烟工信罚〔2026〕5号"]


def test_cli_exports_everything_with_the_configured_date_format(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli.main import main
    from pipeline.intake.process import open_context
    from pipeline.outputs.publicity import export_pending

    settings, samples = workspace(tmp_path)
    samples.lists()
    penalty_check_table(samples)
    decision(samples)
    ctx = open_context(settings)
    try:
        run(ctx)
        assert export_pending(ctx).outputs == []  # nothing new: no file is written again
    finally:
        ctx.store.close()
    note = next((settings.outbox / "双公示").glob("*.提示.txt")).read_text(encoding="utf-8")
    assert "bureau_uscc" in note  # an empty bureau code is said next to the export
    env = cli_env(settings) | {"SHUANGSUI_BUNDLE_INTERVAL": "off", "SHUANGSUI_PUBLICITY_DATE_FORMAT": "%Y/%m/%d",
                               "SHUANGSUI_PUBLICITY_CODE_ROW": "否"}
    for key, value in env.items():
        if key.startswith("SHUANGSUI_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["publicity", "--all"]) == 0
    done = capsys.readouterr()
    assert "bureau_uscc" in done.err and "已导出 1 条" in done.out.replace("\n", "")  # rich wraps lines
    rows = list(load_workbook(next((settings.outbox / "双公示").glob("*.xlsx"))).active.iter_rows(values_only=True))
    assert rows[0] == HEADERS and len(rows) == 2  # no code row
    assert rows[1][HEADERS.index("处罚决定日期")] == "2026/11/20"


def test_doctor_says_when_the_bureau_code_is_missing(tmp_path: Path) -> None:
    from pipeline.cli.doctor import _bureau_uscc

    settings, _ = workspace(tmp_path)
    check = _bureau_uscc(settings)
    assert not check.ok and check.optional and "bureau_uscc" in check.detail
    assert _bureau_uscc(settings.replace(bureau_uscc=BUREAU_USCC)).ok
    assert "_bureau_uscc" in run_checks.__code__.co_names  # part of shuangsui doctor


def test_company_category_follows_the_credit_code() -> None:
    from pipeline.outputs.publicity import party_category

    assert party_category("92370602MA3C8XXXXX") == "个体工商户"
    assert party_category("91370602MA3C8XXXXX") == "法人及非法人组织"
    assert party_category(None) == "自然人"


_ = random  # the workspace's samples use a fixed seed (tests.conftest.Samples)
