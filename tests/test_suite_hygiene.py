"""The suite itself: no test may skip, so a missing dependency that CI installs shows as a failure."""

from __future__ import annotations

import ast
import tomllib
from importlib import metadata
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


def test_the_holiday_calendar_is_the_pinned_release() -> None:
    """The workday tests assume the data of one chinesecalendar release (2004–2026, nothing for 2027):
    a different installed release fails here, with the reason, rather than in those tests."""
    import chinese_calendar

    pyproject = tomllib.loads((TESTS.parent / "pyproject.toml").read_text("utf-8"))
    [pin] = [d for d in pyproject["project"]["dependencies"] if d.startswith("chinesecalendar")]
    assert pin == f"chinesecalendar=={metadata.version('chinesecalendar')}"
    years = {d.year for d in chinese_calendar.holidays}
    assert max(years) == 2026, "a release with 2027 data: update test_workdays.py, test_rules.py, test_penalty.py"
