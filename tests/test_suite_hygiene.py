"""The suite itself: no test may skip, so a missing dependency that CI installs shows as a failure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests import system_deps

TESTS = Path(__file__).resolve().parent


def _skip_calls(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in {"skip", "skipif", "importorskip"}:
            found.append(f"line {node.lineno}: {node.attr}")
    return found


def test_no_test_file_skips() -> None:
    offenders = {p.name: calls for p in sorted(TESTS.glob("*.py")) if (calls := _skip_calls(p.read_text("utf-8")))}
    assert offenders == {}


def test_the_skip_finder_sees_every_spelling() -> None:
    source = "import pytest\npytest.skip('x')\n@pytest.mark.skipif(True, reason='')\ndef f(): pytest.importorskip('y')\n"
    assert len(_skip_calls(source)) == 3


def test_missing_libreoffice_fails_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_deps, "find_soffice", lambda setting: None)
    with pytest.raises(pytest.fail.Exception, match=r"install-system-deps\.sh"):
        system_deps.require_soffice()
