"""System programs the tests need and CI installs: a missing one fails the test instead of skipping it.

A skip would hide a broken install (CI installs LibreOffice through ``scripts/install-system-deps.sh``),
so the tests ask here and fail with the fix-it message.
"""

from __future__ import annotations

import shutil

import pytest

from pipeline.documents.libreoffice import find_soffice

INSTALL_HINT = "请运行 scripts/install-system-deps.sh（apt-get install libreoffice-writer-nogui libreoffice-calc-nogui）后再测试。"


def require_soffice() -> str:
    """The LibreOffice executable; the calling test fails when it is not installed."""
    found = find_soffice("soffice")
    if found is None:
        pytest.fail(f"找不到 LibreOffice（soffice）：{INSTALL_HINT}")
    return found


def require_program(name: str, package: str) -> str:
    """A command-line tool a test drives (``strace``, Info-ZIP's ``zip``); the test fails when it is missing."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"找不到 {name}：请运行 scripts/install-system-deps.sh（apt-get install {package}）后再测试。")
    return found
