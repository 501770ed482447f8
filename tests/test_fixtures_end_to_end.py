"""Hand-made check tables (``tests/fixtures/``, saved by LibreOffice as a clerk would) through ``process``.

The fixtures were typed into the bureau's form and saved by LibreOffice (see
``tests/fixtures/make_fixtures.py``); their expected values are written by hand in ``expected.json``.
Each is read field for field, then taken by ``shuangsui process`` to a published 公示表, whose Word and
PDF files are opened again: the unit, its 统一社会信用代码, the check date, the task and the result are
printed, and nothing of the inspectors (name, phone, 执法证号) is, since the 公示表 is public.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import docx
import pdfplumber
import pytest

from pipeline.core.codes import CaseStatus
from pipeline.core.settings import Settings
from pipeline.extract import extract_file
from pipeline.intake.process import LISTS_FOLDER, open_context
from pipeline.samples.demo import write_roster_sheet, write_tasks_sheet, write_units_sheet
from pipeline.samples.fictional import Company, Person
from tests.conftest import process_json
from tests.system_deps import require_soffice

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
SUFFIXES = ("docx", "xlsx", "pdf", "doc")


def fixture(suffix: str) -> Path:
    return FIXTURES / f"检查表-福瑞达.{suffix}"


def write_lists(settings: Settings) -> None:
    company = Company(EXPECTED["unit_name"], EXPECTED["uscc"], EXPECTED["legal_rep"], "山东省烟台市芝罘区长江路8号",
                      "化学原料和化学制品制造业")
    people = [Person(p["name"], p["title"], p["section"], p["licence_no"], dt.date(2028, 12, 31), p["phone"])
              for p in EXPECTED["inspectors"]]
    folder = settings.inbox / LISTS_FOLDER
    folder.mkdir(parents=True)
    write_units_sheet(folder / "检查对象名录库.xlsx", [company])
    write_tasks_sheet(folder / "抽查任务.xlsx", [company], EXPECTED["task_item"])
    write_roster_sheet(folder / "执法检查人员名录库.xlsx", people)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_fixture_is_read_as_written(suffix: str) -> None:
    if suffix == "doc":
        require_soffice()
    fields = extract_file(fixture(suffix)).fields
    assert fields["inspected_unit"] == EXPECTED["unit_name"]
    assert fields["check_start"] == EXPECTED["check_start"]
    assert fields["check_end"] == EXPECTED["check_end"]
    assert fields["methods"] == ["书面检查"]
    assert [{k: p[k] for k in ("name", "title", "licence_no", "phone")} for p in EXPECTED["inspectors"]] == [
        {k: p[k] for k in ("name", "title", "licence_no", "phone")} for p in fields["inspectors"]]
    assert fields["handling"] == "无"
    assert fields["leader_confirmation_date"] == "2026-11-12"


def _docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _pdf_text(path: Path) -> str:
    """The page text, then each table cell's text on its own (a wrapped cell is split across lines)."""
    with pdfplumber.open(path) as pdf:
        pages = [page.extract_text() or "" for page in pdf.pages]
        cells = ["".join((cell or "").split()) for page in pdf.pages for table in page.extract_tables()
                 for row in table for cell in row]
    return "\n".join(pages + cells)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_fixture_reaches_a_published_public_form(settings: Settings, suffix: str) -> None:
    require_soffice()
    write_lists(settings)
    shutil.copyfile(fixture(suffix), settings.inbox / fixture(suffix).name)

    files = process_json(settings)

    check = next(f for f in files if f["name"] == fixture(suffix).name)
    assert check["status"] == "accepted", check
    stem = f"{EXPECTED['unit_name']}-{EXPECTED['check_start'][:10]}"
    ctx = open_context(settings)
    case = ctx.store.get_case(check["case"])
    assert case is not None and case.status is CaseStatus.published, case
    assert not [f for f in case.findings or [] if f["code"] == "PDF_PENDING"]
    folder = settings.outbox / "公示表"
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{stem}.docx", f"{stem}.pdf", "公示表汇总.xlsx"])
    assert (settings.outbox / "网站公示" / f"{stem}.pdf").is_file()
    for text in (_docx_text(folder / f"{stem}.docx"), _pdf_text(folder / f"{stem}.pdf")):
        flat = "|".join("".join(line.split()) for line in text.split("\n"))
        for value in (EXPECTED["unit_name"], EXPECTED["uscc"], EXPECTED["check_date_printed"],
                      EXPECTED["task_name"], EXPECTED["check_type"], EXPECTED["result"], settings.bureau):
            assert value in flat, value
        for person in EXPECTED["inspectors"]:
            for private in (person["name"], person["phone"], person["licence_no"]):
                assert private not in flat, private
    assert not list(settings.inbox.glob("检查表-*")), "the processed file is still in the inbox"
