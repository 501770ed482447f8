"""A file that needs more memory than ``file_memory_mb`` is 文件过于复杂, never 文件已损坏 (issue #10).

RLIMIT_AS turns the worker's overrun into a ``MemoryError`` deep inside a reader; the readers' broad
``except Exception`` clauses (damaged files fail in many ways) must let it through, or an honest but
large file would be returned as damaged and the clerk told to re-save it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook, load_workbook

from pipeline.core.codes import FileStatus
from pipeline.core.settings import Settings
from tests.conftest import cli_env

SMALL_MB = 40


def big_workbook(path: Path, rows: int = 2_000, columns: int = 50) -> Path:
    """100 000 numbers: under every limit before parsing, but openpyxl holds each cell as an object."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sheet1")
    for r in range(rows):
        sheet.append([r * columns + c for c in range(columns)])
    book.save(path)
    return path


def test_a_workbook_beyond_the_memory_limit_is_too_complex_not_damaged(settings: Settings) -> None:
    path = big_workbook(settings.inbox / "大表.xlsx")
    data = path.read_bytes()
    book = load_workbook(path, read_only=True)  # not damaged: it opens, given the memory
    assert sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) == 2_000
    book.close()
    # A fresh process as staff run it: a worker forked from a long-lived one (this test process) inherits
    # its freed heap, which RLIMIT_AS does not count again. The limit under test is memory; a generous
    # time limit keeps a busy machine from deciding it.
    proc = subprocess.run([sys.executable, "-m", "pipeline", "process", "--json"],
                          env=cli_env(settings) | {"SHUANGSUI_FILE_MEMORY_MB": str(SMALL_MB),
                                                   "SHUANGSUI_FILE_TIMEOUT_S": "900"},
                          cwd=settings.data_dir.parent, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    (outcome,) = json.loads(proc.stdout)["files"]
    assert outcome["status"] == FileStatus.rejected.value
    findings = outcome["findings"]
    assert [f["code"] for f in findings] == ["FILE_TOO_COMPLEX"], [f["message"] for f in findings]
    assert f"需要的内存超过 {SMALL_MB} MB" in findings[0]["message"]
    assert (settings.outbox / "退回" / "大表.xlsx").read_bytes() == data


# What the analysis worker runs under RLIMIT_AS (intake/analysis.py and the readers it calls).
ANALYSIS_CODE = ("pipeline/core", "pipeline/extract", "pipeline/scan", "pipeline/documents",
                 "pipeline/cases/lists.py", "pipeline/cases/review.py", "pipeline/cases/scanwork.py")


def _catches(handler: ast.ExceptHandler, name: str) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(k, ast.Name) and k.id == name for k in kinds)


def test_every_broad_except_in_the_readers_lets_memory_error_through() -> None:
    root = Path(__file__).resolve().parent.parent
    files = [p for part in ANALYSIS_CODE for p in ([root / part] if part.endswith(".py")
                                                   else sorted((root / part).rglob("*.py")))]
    swallowing = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            passed = False  # an earlier handler re-raises MemoryError
            for handler in node.handlers:
                if _catches(handler, "MemoryError"):
                    passed = isinstance(handler.body[-1], ast.Raise) and handler.body[-1].exc is None
                broad = handler.type is None or _catches(handler, "Exception") or _catches(handler, "BaseException")
                reraises = isinstance(handler.body[-1], ast.Raise) and handler.body[-1].exc is None
                if broad and not passed and not reraises:
                    swallowing.append(f"{path.relative_to(root)}:{handler.lineno}")
    assert swallowing == []
