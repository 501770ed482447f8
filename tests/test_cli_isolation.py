"""Commands that read a file from outside outside a pass (``extract``, ``lists import``) read it in the
same isolated worker as the inbox does (issue #10): a hostile or greedy file gets its Chinese message
and the input-file exit code, never a traceback or an exhausted machine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core.errors import ExitCode
from pipeline.core.settings import Settings
from tests.conftest import Samples, cli_env
from tests.hostile_files import shared_strings_xlsx, zip_bomb_docx
from tests.test_memory_error import SMALL_MB, big_workbook

pytestmark = pytest.mark.slow


def run(settings: Settings, *args: str, memory_mb: int = 1024) -> subprocess.CompletedProcess[str]:
    env = cli_env(settings) | {"SHUANGSUI_FILE_MEMORY_MB": str(memory_mb)}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=env, cwd=settings.data_dir.parent,
                          capture_output=True, text=True, timeout=300)


def assert_refused(proc: subprocess.CompletedProcess[str], message: str) -> None:
    said = proc.stdout + proc.stderr
    assert proc.returncode == ExitCode.input_file, (proc.returncode, said)
    assert re.sub(r"\s", "", message) in re.sub(r"\s", "", said), said  # rich wraps long lines
    assert "Traceback" not in said and "Exception" not in said, said


def test_extract_reads_in_the_worker(settings: Settings, samples: Samples, tmp_path: Path) -> None:
    good = samples.check_table("检查表.docx", folder=tmp_path)
    proc = run(settings, "extract", str(good), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["form"] == "check_table"

    assert_refused(run(settings, "extract", str(zip_bomb_docx(good, tmp_path / "炸弹.docx"))), "解压后 1024 MB")
    # In-process, nothing would bound it (it would be read, and found not to be a check table).
    assert_refused(run(settings, "extract", str(big_workbook(tmp_path / "大表.xlsx")), memory_mb=SMALL_MB),
                   f"需要的内存超过 {SMALL_MB} MB")


def test_lists_import_of_a_hostile_sheet_says_why_in_chinese(settings: Settings, tmp_path: Path) -> None:
    bomb = shared_strings_xlsx(tmp_path / "检查对象名录库.xlsx")
    assert_refused(run(settings, "lists", "import", str(bomb)), "共享字符串表解压后 300 MB")
    big = big_workbook(tmp_path / "执法检查人员名录库.xlsx")
    assert_refused(run(settings, "lists", "import", str(big), memory_mb=SMALL_MB), f"需要的内存超过 {SMALL_MB} MB")
