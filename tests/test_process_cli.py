"""End to end through the real CLI: files dropped in an inbox, outputs opened again and checked."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from docx import Document

from pipeline.core.settings import Settings
from tests.conftest import Samples, process_json, run_cli


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def by_name(files: list[dict]) -> dict[str, dict]:
    return {f["name"]: f for f in files}


def test_check_table_with_lists_becomes_public_form(settings: Settings, samples: Samples) -> None:
    samples.lists()
    company = samples.companies[0]
    samples.check_table("检查表.docx", company=company)
    files = by_name(process_json(settings))
    result = files["检查表.docx"]
    assert result["status"] == "accepted", result
    assert result["case"].startswith("SS-2026-")
    # The PDF is drawn directly, so it is published with the Word file in the same pass.
    stem = f"{company.name}-2026-11-09"
    assert result["outputs"] == [f"公示表/{stem}.docx", f"公示表/{stem}.pdf", f"网站公示/{stem}.pdf"]
    text = docx_text(settings.outbox / result["outputs"][0])
    for expected in (company.name, company.uscc, "烟台市工业和信息化局", "不定向抽查", "2026年11月9日",
                     "2026年度民用爆炸物品销售的安全生产监督管理双随机抽查"):
        assert expected in text
    # Personal data of inspectors never reaches the public form.
    for person in samples.people[:2]:
        assert person.phone not in text and person.licence_no not in text
    assert not (settings.inbox / "检查表.docx").exists()
    assert files["名录库/检查对象名录库.xlsx"]["status"] == "accepted"


def test_one_inspector_is_returned_unchanged_with_chinese_explanation(settings: Settings, samples: Samples) -> None:
    samples.lists()
    original = samples.check_table("检查表-一人.docx", inspectors=1)
    data = original.read_bytes()
    result = by_name(process_json(settings))["检查表-一人.docx"]
    assert result["status"] == "rejected"
    assert [f["code"] for f in result["findings"]] == ["INSPECTORS_TOO_FEW"]
    assert result["findings"][0]["field"] == "inspectors"
    returned = settings.outbox / "退回" / "检查表-一人.docx"
    assert returned.read_bytes() == data
    note = (settings.outbox / "退回" / "检查表-一人.docx.错误说明.txt").read_text(encoding="utf-8")
    assert "不得少于两人" in note and "第十条" in note and "重新放入收件箱" in note
    assert not original.exists()


def test_same_content_twice_is_a_duplicate_without_second_output(settings: Settings, samples: Samples) -> None:
    samples.lists()
    path = samples.check_table("检查表.docx")
    copy = path.read_bytes()
    first = by_name(process_json(settings))["检查表.docx"]
    (settings.inbox / "检查表-再次.docx").write_bytes(copy)
    second = by_name(process_json(settings))["检查表-再次.docx"]
    assert second["status"] == "duplicate"
    assert second["case"] == first["case"]
    assert second["outputs"] == []
    assert len(list((settings.outbox / "公示表").glob("*.docx"))) == 1


def test_waiting_case_is_published_when_the_lists_arrive(settings: Settings, samples: Samples) -> None:
    samples.check_table("检查表.docx")
    result = by_name(process_json(settings))["检查表.docx"]
    assert result["status"] == "waiting"
    assert {f["code"] for f in result["findings"]} == {"USCC_MISSING", "TASK_MISSING", "ROSTER_MISSING"}
    assert not list((settings.outbox / "公示表").glob("*.docx"))  # (the 汇总 lists the waiting case)
    note = next((settings.outbox / "待补充").iterdir()).read_text(encoding="utf-8")
    assert "检查对象名录库" in note
    samples.lists()
    process_json(settings)
    forms = list((settings.outbox / "公示表").glob("*.docx"))
    assert len(forms) == 1 and samples.companies[0].uscc in docx_text(forms[0])


def test_lock_and_temp_files_are_ignored_and_left_alone(settings: Settings, samples: Samples) -> None:
    lock = settings.inbox / "~$检查表.docx"
    lock.write_bytes(b"\x00lock")
    (settings.inbox / ".~lock.检查表.docx#").write_text("x")
    (settings.inbox / "Thumbs.db").write_bytes(b"x")
    files = process_json(settings)
    assert {f["status"] for f in files} == {"ignored"}
    assert lock.exists() and lock.read_bytes() == b"\x00lock"
    assert not (settings.outbox / "退回").exists()


def test_bad_inputs_are_returned_byte_for_byte_and_processing_goes_on(
        settings: Settings, samples: Samples) -> None:
    samples.lists()
    bad = {
        "空文件.docx": b"",
        "损坏.docx": b"PK\x03\x04 this is not really a zip",
        "图片改名.docx": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        "说明.txt": "这不是检查表".encode(),
    }
    for name, data in bad.items():
        (settings.inbox / name).write_bytes(data)
    samples.check_table("检查表.docx")
    files = by_name(process_json(settings))
    assert files["检查表.docx"]["status"] == "accepted"
    for name, data in bad.items():
        assert files[name]["status"] == "rejected", files[name]
        message = files[name]["findings"][0]["message"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in message)
        assert (settings.outbox / "退回" / name).read_bytes() == data
        assert (settings.outbox / "退回" / f"{name}.错误说明.txt").exists()
    assert files["空文件.docx"]["findings"][0]["code"] == "FILE_EMPTY"


def test_company_name_with_markup_characters_comes_out_whole(settings: Settings, samples: Samples) -> None:
    from pipeline.samples.fictional import Company

    hostile = Company("烟台A&B<科技>有限公司", samples.companies[0].uscc, "王伟", "烟台", "制造业")
    samples.lists([hostile])
    samples.check_table("检查表.docx", company=hostile)
    result = by_name(process_json(settings))["检查表.docx"]
    assert result["status"] == "accepted", result
    output = result["outputs"][0]
    assert result["outputs"] == [f"{folder}/烟台A&B_科技_有限公司-2026-11-09.{ext}"
                                 for folder, ext in (("公示表", "docx"), ("公示表", "pdf"), ("网站公示", "pdf"))]
    assert "烟台A&B<科技>有限公司" in docx_text(settings.outbox / output)


def test_extract_prints_the_public_json_contract(settings: Settings, samples: Samples, tmp_path: Path) -> None:
    path = samples.check_table("检查表.docx", folder=tmp_path)
    proc = run_cli(settings, "extract", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["form"] == "check_table"
    assert list(data["fields"]) == ["inspected_unit", "basis", "scope", "methods", "inspectors", "situation",
                                    "check_start", "check_end", "handling", "dept_opinion_date",
                                    "leader_approval_date", "authority_opinion_date",
                                    "leader_confirmation_date", "authority_seal_date"]
    expected = samples.fields()
    for key in ("inspected_unit", "check_start", "check_end", "authority_seal_date"):
        assert data["fields"][key] == expected[key]
    assert data["fields"]["inspectors"] == expected["inspectors"]
    assert data["provenance"]["inspected_unit"]["file"] == "检查表.docx"


def test_extract_on_a_missing_file_exits_with_input_error(settings: Settings) -> None:
    proc = run_cli(settings, "extract", "不存在.docx")
    assert proc.returncode == 3
    assert "找不到文件" in proc.stderr


@pytest.mark.libreoffice
def test_version_and_demo(settings: Settings) -> None:
    """The demo as ``make run`` sees it (signed scans required): every complete case is published."""
    settings = dataclasses.replace(settings, require_signed_scan=True)
    proc = run_cli(settings, "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("shuangsui ")
    assert run_cli(settings, "demo").returncode == 0
    files = by_name(process_json(settings))
    scans = {n: f for n, f in files.items() if n.endswith("-签字.tif")}
    assert len(scans) == 7 and all(f["status"] == "accepted" and f["case"] for f in scans.values())
    assert [n for n, f in files.items() if f["status"] == "rejected"] == ["检查表-执法人员不足两人.docx"]
    # Three complete checks and the penalty check are published; the unlisted company waits.
    assert len(list((settings.outbox / "公示表").glob("*.docx"))) == 4
    assert [p.name for p in (settings.outbox / "待补充").glob("*.说明.txt")] == [
        f"{files['检查表-烟台市金岭电子科技有限公司.docx']['case']}-烟台市金岭电子科技有限公司.说明.txt"]
    assert not any((settings.outbox / "待匹配").glob("*"))
    # The demo is deterministic: a second demo's files are recognised as duplicates.
    shutil.rmtree(settings.inbox)
    assert run_cli(settings, "demo").returncode == 0
    assert {f["status"] for f in process_json(settings)} == {"duplicate"}
