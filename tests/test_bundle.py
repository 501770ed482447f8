"""The 综合科 bundle: built after a pass when its month has ended, every file opened again."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pdfplumber
import pytest
from docx.oxml.ns import qn
from docx.shared import Cm, Length, Pt
from openpyxl import load_workbook
from pypdf import PdfReader

from pipeline.cases.overview import case_lines
from pipeline.cases.penalty import penalties
from pipeline.core.errors import BadArgsError
from pipeline.documents.libreoffice import Converter
from pipeline.intake.process import open_context
from pipeline.intake.process import penalty_outputs as after_pass
from pipeline.outputs.bundle import build_bundle, last_ended_period, parse_period
from tests.conftest import cli_env
from tests.system_deps import require_soffice
from tests.test_penalty import decision, penalty_check_table, run, workspace

AFTER_NOVEMBER = dt.date(2026, 12, 2)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A penalty case with its decision and a case without penalty, then the pass on 2 December."""
    settings, samples = workspace(tmp_path_factory.mktemp("bundle"), bundle_interval="month")
    samples.lists()
    penalty_check_table(samples, "检查表-查处.docx", company=0)
    samples.check_table("检查表-无问题.docx", company=samples.companies[1])
    _, sample = decision(samples, company=0)
    ctx = open_context(settings)
    outcomes = run(ctx)  # today (November 2026 or later) may already bundle November
    outputs = after_pass(ctx, today=AFTER_NOVEMBER)
    folder = settings.outbox / "综合科" / "2026-11"
    yield {"ctx": ctx, "settings": settings, "samples": samples, "sample": sample, "folder": folder,
           "zip": folder.with_name("2026-11.zip"), "case": outcomes["检查表-查处.docx"].case,
           "other": outcomes["检查表-无问题.docx"].case, "outputs": outputs}
    ctx.store.close()


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.libreoffice
def test_bundle_folder_and_zip_hold_the_same_files(bundled: dict[str, Any]) -> None:
    company = bundled["samples"].companies[0].name
    assert _files(bundled["folder"]) == sorted([
        "公示表汇总.xlsx", f"检查表副本/{bundled['case']}-{company}.pdf", "处罚结果上传清单.xlsx", "移交清单.docx",
        "manifest-sha256.txt"])
    with zipfile.ZipFile(bundled["zip"]) as zf:
        assert sorted(zf.namelist()) == [f"2026-11/{name}" for name in _files(bundled["folder"])]
        for name in _files(bundled["folder"]):
            assert zf.read(f"2026-11/{name}") == (bundled["folder"] / name).read_bytes()
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.libreoffice
def test_manifest_hashes_every_other_file(bundled: dict[str, Any]) -> None:
    folder = bundled["folder"]
    lines = (folder / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines()
    listed = {}
    for line in lines:
        digest, name = re.fullmatch(r"([0-9a-f]{64})  (.+)", line).groups()  # type: ignore[union-attr]
        listed[name] = digest
    assert sorted(listed) == [f for f in _files(folder) if f != "manifest-sha256.txt"]
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.libreoffice
def test_check_table_copy_is_a_pdfa_of_the_penalty_case_only(bundled: dict[str, Any]) -> None:
    [pdf] = (bundled["folder"] / "检查表副本").iterdir()
    reader = PdfReader(pdf)
    content = "".join(page.extract_text() for page in reader.pages)
    assert bundled["samples"].companies[0].name in re.sub(r"\s+", "", content)
    assert "随机抽查事项检查表" in re.sub(r"\s+", "", content)
    assert b"pdfaid:part" in pdf.read_bytes()
    assert bundled["other"] not in pdf.name


@pytest.mark.libreoffice
def test_upload_list_has_the_decision_with_typed_dates(bundled: dict[str, Any]) -> None:
    ws = load_workbook(bundled["folder"] / "处罚结果上传清单.xlsx").active
    header, *rows = list(ws.iter_rows(values_only=True))
    assert header[:9] == ("序号", "案卷编号", "企业名称", "统一社会信用代码", "行政处罚决定书文号", "处罚类别",
                          "罚款金额（万元）", "处罚决定日期", "上传公开期限")
    [row] = rows
    record = dict(zip(header, row, strict=True))
    sample = bundled["sample"]
    assert record["案卷编号"] == bundled["case"] and record["企业名称"] == sample.company.name
    assert record["行政处罚决定书文号"] == sample.decision_no and record["罚款金额（万元）"] == 5
    assert record["处罚决定日期"] == dt.datetime(2026, 11, 20) and record["上传公开期限"] == dt.datetime(2026, 12, 1)
    assert record["是否逾期"] == "是"  # handed over on 2 December, the deadline was 1 December
    assert ws.cell(2, 9).number_format == "yyyy-mm-dd"


@pytest.mark.libreoffice
def test_handover_list_names_every_file_and_has_signature_lines(bundled: dict[str, Any]) -> None:
    document = docx.Document(str(bundled["folder"] / "移交清单.docx"))
    table = document.tables[0]
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0] == ["序号", "文件", "数量/页数", "说明"]
    listed = {r[1]: r[2] for r in rows[1:]}
    assert set(listed) == set(_files(bundled["folder"])) - {"移交清单.docx"}
    pdf = next(name for name in listed if name.endswith(".pdf"))
    assert listed[pdf] == f"{len(PdfReader(bundled['folder'] / pdf).pages)} 页"
    assert listed["处罚结果上传清单.xlsx"] == "1 条"
    text = "\n".join(p.text for p in document.paragraphs)
    assert document.paragraphs[0].text == "“双随机、一公开”材料移交清单" and "期　　间：2026年11月" in text
    seal, blank, signed = ([c.text for c in r.cells] for r in document.tables[1].rows)
    assert seal == ["移交单位（盖章）", "接收单位（盖章）"] and blank == ["", ""]
    assert signed == ["移交人（签字）：\n日期：　　　　年　　月　　日", "接收人（签字）：\n日期：　　　　年　　月　　日"]


@pytest.mark.libreoffice
def test_handover_list_prints_as_an_official_page(bundled: dict[str, Any], tmp_path: Path) -> None:
    """Opened again and printed through LibreOffice: title in 黑体, fixed columns, counts and the SHA-256 note on
    one line each, a seal area at least as tall as a seal (4.2 cm) above the signature lines."""
    source = bundled["folder"] / "移交清单.docx"
    document = docx.Document(str(source))
    [title] = document.paragraphs[0].runs
    assert title.bold and title.font.size == Pt(18)
    assert title.element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    files = document.tables[0]
    assert files._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    assert [round(Length(int(c.get(qn("w:w"))) * 635).cm, 1) for c in files._tbl.tblGrid.iterchildren()] \
        == [1.2, 7.4, 2.3, 5.1]
    require_soffice()
    with Converter(profile_root=tmp_path / "lo") as converter:
        pdf_path = converter.convert(source, "pdf", tmp_path)
    with pdfplumber.open(pdf_path) as pdf:
        assert len(pdf.pages) == 1
        lines = [(line["top"], line["text"].replace(" ", "")) for line in pdf.pages[0].extract_text_lines()]
    texts = [text for _, text in lines]
    assert "“双随机、一公开”材料移交清单" in texts
    assert any(re.fullmatch(r"\d+manifest-sha256\.txt1份SHA-256校验值", t) for t in texts), texts
    assert any("处罚结果上传清单.xlsx1条" in t for t in texts) and any(re.search(r"\d页", t) for t in texts), texts
    seal_top = next(top for top, text in lines if text == "移交单位（盖章）接收单位（盖章）")
    sign_top = next(top for top, text in lines if text == "移交人（签字）：接收人（签字）：")
    assert sign_top - seal_top > Cm(4.2).pt
    assert any(t.count("日期：年月日") == 2 for t in texts), texts


@pytest.mark.libreoffice
def test_summary_is_in_the_bundle_and_the_decision_counts_as_handed_over(bundled: dict[str, Any]) -> None:
    wb = load_workbook(bundled["folder"] / "公示表汇总.xlsx")
    values = {str(v) for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for v in r if v}
    assert bundled["case"] in values and bundled["other"] in values
    [row] = penalties(bundled["ctx"])
    assert row.bundled_at
    [line] = [c for c in case_lines(bundled["ctx"], today=AFTER_NOVEMBER) if c.case_id == bundled["case"]]
    assert any("已移交综合科" in f for f in line.flags)


@pytest.mark.libreoffice
def test_a_bundle_is_built_once_and_kept_without_force(bundled: dict[str, Any]) -> None:
    ctx, zip_path = bundled["ctx"], bundled["zip"]
    before = zip_path.stat().st_mtime_ns
    assert after_pass(ctx, today=AFTER_NOVEMBER + dt.timedelta(days=3)) == []
    assert not build_bundle(ctx, "2026-11").built
    assert zip_path.stat().st_mtime_ns == before
    off = dataclasses.replace(ctx, settings=ctx.settings.replace(bundle_interval="off"))
    assert after_pass(off, today=dt.date(2027, 1, 5)) == []
    assert not (ctx.settings.outbox / "综合科" / "2026-12.zip").exists()


@pytest.mark.libreoffice
def test_cli_builds_a_period_and_rebuilds_it_identically_with_force(
        bundled: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli.main import main

    settings = bundled["settings"]
    env = cli_env(settings) | {"SHUANGSUI_BUNDLE_INTERVAL": "off"}
    monkeypatch.chdir(settings.data_dir.parent)
    for key, value in env.items():
        if key.startswith("SHUANGSUI_"):
            monkeypatch.setenv(key, value)
    assert main(["bundle", "综合科", "--period", "2026-10"]) == 0  # no penalty case: nothing to convert
    zip_path = settings.outbox / "综合科" / "2026-10.zip"
    data = zip_path.read_bytes()
    with zipfile.ZipFile(zip_path) as zf:
        assert "2026-10/移交清单.docx" in zf.namelist() and "2026-10/处罚结果上传清单.xlsx" in zf.namelist()
    assert main(["bundle", "综合科", "--period", "2026-10", "--force"]) == 0
    assert zip_path.read_bytes() == data  # deterministic
    capsys.readouterr()
    assert main(["bundle", "综合科", "--period", "2026-10"]) == 0
    assert "--force" in capsys.readouterr().out.replace("\n", "")  # kept; says how to rebuild
    assert main(["bundle", "产业政策科", "--period", "2026-10"]) == 2
    assert main(["bundle", "综合科", "--period", "2026-13"]) == 2


def test_periods_months_and_iso_weeks() -> None:
    assert parse_period("2026-11") == parse_period("2026-11")
    november = parse_period("2026-11")
    assert (november.name, november.start, november.end) == ("2026-11", dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    week = parse_period("2026-w47")
    assert (week.name, week.start, week.end) == ("2026-W47", dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert last_ended_period("month", dt.date(2026, 12, 2)).name == "2026-11"
    assert last_ended_period("month", dt.date(2027, 1, 1)).name == "2026-12"
    assert last_ended_period("week", dt.date(2026, 11, 25)).name == "2026-W47"
    with pytest.raises(BadArgsError):
        parse_period("2026-W60")
