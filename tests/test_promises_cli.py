"""Promises of the guides that only the command line shows (issue #11): a configuration file named by
``--config`` or ``SHUANGSUI_CONFIG``, ``max_file_mb``, ``CASE_REF_UNKNOWN``, ``LIST_HEADER_MISSING``,
``doctor`` without LibreOffice, and ``watch`` stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from openpyxl import Workbook

from pipeline.core.settings import Settings
from pipeline.intake.process import LISTS_FOLDER
from tests.conftest import Samples, cli_env, run_cli

pytestmark = pytest.mark.slow


def files_of(proc: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    assert proc.returncode == 0, proc.stderr
    return {f["name"]: f for f in json.loads(proc.stdout)["files"]}


def padded_docx(samples: Samples, name: str, megabytes: float) -> Path:
    """A real check table made bigger than ``megabytes`` by an incompressible custom part."""
    path = samples.check_table(name)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("customXml/padding.bin", os.urandom(int(megabytes * 1048576)))
    return path


@pytest.mark.parametrize("how", ["--config", "SHUANGSUI_CONFIG"])
def test_a_configuration_file_named_on_the_command_line_or_in_the_environment_applies(
        settings: Settings, samples: Samples, tmp_path: Path, how: str) -> None:
    samples.lists()
    config = tmp_path / "别处" / "本局设置.toml"
    config.parent.mkdir()
    config.write_text("max_file_mb = 1\n", encoding="utf-8")
    big = padded_docx(samples, "大文件.docx", 1.5)
    data = big.read_bytes()
    small = samples.check_table("检查表.docx", company=samples.companies[1])
    assert small.stat().st_size < 1048576
    if how == "--config":
        proc = run_cli(settings, "--config", str(config), "process", "--json")
    else:
        proc = subprocess.run([sys.executable, "-m", "pipeline", "process", "--json"],
                              env=cli_env(settings) | {"SHUANGSUI_CONFIG": str(config)},
                              cwd=settings.data_dir.parent, capture_output=True, text=True, timeout=300)
    files = files_of(proc)
    refused = files["大文件.docx"]
    assert refused["status"] == "rejected"
    assert [f["code"] for f in refused["findings"]] == ["FILE_TOO_LARGE"]
    assert "超过上限 1 MB" in refused["findings"][0]["message"]
    assert (settings.outbox / "退回" / "大文件.docx").read_bytes() == data
    assert files["检查表.docx"]["status"] == "accepted"


def test_a_missing_configuration_file_is_named(settings: Settings, tmp_path: Path) -> None:
    proc = run_cli(settings, "--config", str(tmp_path / "没有.toml"), "process")
    assert proc.returncode != 0
    assert "找不到配置文件" in proc.stderr and "没有.toml" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_max_file_mb_default_admits_a_large_real_file(settings: Settings, samples: Samples) -> None:
    samples.lists()
    padded_docx(samples, "附图较多.docx", 3)
    files = files_of(run_cli(settings, "process", "--json"))
    assert files["附图较多.docx"]["status"] == "accepted", files["附图较多.docx"]


def test_a_case_number_the_system_never_gave_is_noted_and_the_table_filed_by_unit_and_date(
        settings: Settings, samples: Samples) -> None:
    samples.lists()
    path = samples.check_table("检查表.docx")
    document = docx.Document(str(path))
    document.paragraphs[0].insert_paragraph_before("编号：SS-2026-09999")
    document.save(str(path))
    result = files_of(run_cli(settings, "process", "--json"))["检查表.docx"]
    assert result["status"] == "accepted", result
    unknown = [f for f in result["findings"] if f["code"] == "CASE_REF_UNKNOWN"]
    assert len(unknown) == 1 and "SS-2026-09999" in unknown[0]["message"]
    assert result["case"] != "SS-2026-09999" and result["case"].startswith("SS-2026-")


def test_a_list_sheet_without_its_header_row_is_refused(settings: Settings, samples: Samples) -> None:
    folder = settings.inbox / LISTS_FOLDER
    folder.mkdir(parents=True)
    wb = Workbook()
    for company in samples.companies[:3]:  # the rows alone, the header row cut off
        wb.active.append([company.name, company.uscc, "芝罘区"])
    wb.save(folder / "检查对象名录库.xlsx")
    result = files_of(run_cli(settings, "process", "--json"))["名录库/检查对象名录库.xlsx"]
    assert result["status"] == "rejected"
    assert [f["code"] for f in result["findings"]] == ["LIST_HEADER_MISSING"]
    assert "表头" in result["findings"][0]["message"]


def test_doctor_says_libreoffice_is_missing_and_how_to_install_it(settings: Settings, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pipeline", "doctor"],
                          env=cli_env(settings) | {"SHUANGSUI_SOFFICE": str(tmp_path / "没有的soffice")},
                          cwd=settings.data_dir.parent, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "LibreOffice" in out and "apt-get install" in out
    assert "Traceback" not in out


def test_watch_stopped_by_sigterm_finishes_cleanly_and_leaves_the_data_folder_free(
        settings: Settings, samples: Samples, tmp_path: Path) -> None:
    samples.lists()
    log = tmp_path / "watch.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "watch"], env=cli_env(settings),
                                cwd=settings.data_dir.parent, stdout=subprocess.DEVNULL, stderr=err)
    try:
        samples.check_table("检查表.docx")
        deadline = time.monotonic() + 180
        while not any((settings.outbox / "公示表").glob("*.docx")):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in log.read_text(encoding="utf-8")
    assert not list(settings.outbox.rglob("*.part")) and not list(settings.outbox.rglob(".*.part"))
    # The single-writer lock went with it: the next run starts at once.
    assert run_cli(settings, "process", "--json").returncode == 0
