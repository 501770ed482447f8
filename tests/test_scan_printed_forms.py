"""Scans of the bureau's own printed check table (no QR code), forged independently (``scan_forge``):
form recognised by its printed labels, boxes read with the accuracy issue 12 asks for, the scan
matched to its case by the printed company name (two fitting cases: a 待审核 question whose answer attaches it);
unknown pages get no evidence; slim install."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from PIL import Image, ImageDraw

from pipeline.cases import review
from pipeline.cases.scanmatch import TextMatch, match_by_text
from pipeline.cases.scanwork import note_name
from pipeline.core.codes import FileStatus
from pipeline.core.settings import Settings
from pipeline.documents.libreoffice import Converter
from pipeline.documents.render import CHECK_TABLE_FORM
from pipeline.intake.process import Context, open_context, process_inbox
from pipeline.samples.demo import write_check_table
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors
from pipeline.scan import analyse_scan
from tests.conftest import Samples
from tests.scan_forge import BOXES, Scanner, forge

pytestmark = pytest.mark.libreoffice
TABLES = 14  # 14 scans × 5 boxes = the 70 boxes of issue 12
SEED = 1212


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    """(company, PDF) of 14 typed check tables as LibreOffice prints them, converted in one run."""
    folder = tmp_path_factory.mktemp("printed")
    rng = random.Random(SEED)
    companies = make_companies(rng, TABLES)
    people = make_inspectors(rng, 4)
    settings = Settings()
    docs = []
    for n, company in enumerate(companies):
        fields = check_table_fields(rng, company, rng.sample(people, 2), dt.datetime(2026, 11, 2 + n, 9, 30))
        path = folder / f"检查表-{n}.docx"
        write_check_table(path, fields, settings)
        docs.append((company.name, path))
    with Converter() as converter:
        pdfs = converter.convert_many([path for _, path in docs], "pdf", folder)
    return [(name, pdfs[path]) for name, path in docs]


def _scanner(n: int, rng: random.Random) -> Scanner:
    layout = ("one_sheet", "tiff", "pdf")[n % 3]
    return Scanner(dpi=(150, 200, 300)[n % 3 if layout != "one_sheet" else 1 + n % 2],
                   angle=rng.choice((-4.0, -2.5, -1.0, 1.5, 3.0, 4.0)),
                   quality=50 if n % 2 else rng.choice((60, 75, 90)),
                   noise=rng.choice((3.0, 8.0)), blur=rng.choice((0.0, 0.6)),
                   perspective=0.035 if n in (4, 10) else 0.0, layout=layout)


def test_printed_check_tables_without_qr_are_recognised_and_read_accurately(
        printed: list[tuple[str, Path]], tmp_path: Path) -> None:
    rng = random.Random(SEED)
    settings = Settings()
    counts: Counter[str] = Counter()
    misses: list[str] = []
    for n, (company, pdf) in enumerate(printed):
        truth = {box: rng.random() < 0.6 for box in BOXES}
        forged = forge(pdf, tmp_path, n + 1, truth, _scanner(n, rng), seed=SEED + n)
        (doc,) = analyse_scan(forged.path, settings).documents
        assert (doc.form, doc.matched_by) == (CHECK_TABLE_FORM, "ocr"), (forged.description, doc.warnings)
        assert doc.fields.get("inspected_unit") == company, forged.description
        assert set(doc.evidence) == set(BOXES), forged.description
        for box, seen in doc.evidence.items():
            if seen.present is None:
                counts["uncertain"] += 1
                assert seen.crop_png, "an uncertain box goes to a person with its crop"
            elif seen.present == truth[box]:
                counts["right"] += 1
            else:
                counts["false accept" if seen.present else "false reject"] += 1
                misses.append(f"{forged.description}: {box} truth={truth[box]} score={seen.score}")
    assert sum(counts.values()) == 5 * TABLES
    assert counts["false accept"] == 0, misses
    assert counts["false reject"] <= 1, misses
    assert counts["uncertain"] <= 0.1 * 5 * TABLES, counts


def test_a_page_of_another_table_is_unknown_and_gets_no_evidence(tmp_path: Path) -> None:
    page = Image.new("RGB", (1654, 2339), "white")
    draw = ImageDraw.Draw(page)
    for y in range(300, 1900, 160):  # a ruled table, but with no label of either form
        draw.line((200, y, 1450, y), fill="black", width=3)
    for x in (200, 600, 1450):
        draw.line((x, 300, x, 1740), fill="black", width=3)
    page.save(tmp_path / "SCAN_0099.jpg", quality=80)
    (doc,) = analyse_scan(tmp_path / "SCAN_0099.jpg", Settings()).documents
    assert doc.form is None and not doc.evidence
    assert any("认不出" in w for w in doc.warnings)


def test_without_ocr_a_scan_without_qr_waits_with_a_note_saying_ocr_is_needed(
        printed: list[tuple[str, Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.scan.ocr.available", lambda: False)
    forged = forge(printed[0][1], tmp_path, 7, dict.fromkeys(BOXES, True), Scanner(), seed=1)
    (doc,) = analyse_scan(forged.path, Settings()).documents
    assert doc.form is None and not doc.evidence
    assert any("文字识别组件" in w for w in doc.warnings)


@dataclasses.dataclass(frozen=True)
class _Case:
    id: str
    unit_key: str | None
    check_date: str | None
    status: str
    record: dict[str, object] | None = None


def test_text_matching_takes_one_case_allows_a_misread_character_and_never_guesses() -> None:
    cases = [_Case("C1", "烟台恒信精密机械有限公司", "2026-11-09", "incomplete"),
             _Case("C2", "烟台恒信精密机械有限公司", "2026-11-20", "incomplete"),
             _Case("C3", "山东华泰化工有限公司", "2026-11-09", "incomplete")]
    assert match_by_text({"inspected_unit": "山东华泰化工有限公司"}, cases).case_id == "C3"
    assert match_by_text({"inspected_unit": "山东华秦化工有限公司"}, cases).case_id == "C3"  # OCR misread
    assert match_by_text({"inspected_unit": "烟台恒信精密机械有限公司", "check_start": "2026-11-20"},
                         cases).case_id == "C2"
    both = match_by_text({"inspected_unit": "烟台恒信精密机械有限公司"}, cases)
    assert (both.case_id, both.candidates) == (None, ("C1", "C2"))
    by_code = match_by_text({"uscc": "91370602MA3C123456"}, cases, lambda code: "山东华泰化工有限公司")
    assert by_code.case_id == "C3"
    assert match_by_text({"inspected_unit": "完全不同的公司"}, cases).case_id is None
    # Page 2 alone shows only a date: even one case of that date is a candidate, never the match.
    assert match_by_text({"check_start": "2026-11-20"}, cases) == TextMatch(None, ("C2",))
    assert match_by_text({"check_start": "2026-11-09"}, cases) == TextMatch(None, ("C1", "C3"))


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = open_context(dataclasses.replace(settings, require_signed_scan=True))
    yield context
    context.store.close()


def test_a_scanner_named_scan_of_the_printed_form_finds_its_case(ctx: Context, samples: Samples,
                                                                  tmp_path: Path) -> None:
    samples.lists()
    typed = samples.check_table("检查表-第一家.docx")
    with Converter() as converter:  # printed before the typed file goes in (the inbox file is taken)
        pdf = converter.convert(typed, "pdf", tmp_path)
    process_inbox(ctx)
    (case,) = ctx.store.list_cases()
    forged = forge(pdf, ctx.settings.inbox, 13, dict.fromkeys(BOXES, True), Scanner(angle=2.0, quality=50), seed=3)
    outcomes = {o.name: o for o in process_inbox(ctx)}
    outcome = outcomes[forged.path.name]
    assert outcome.status is FileStatus.accepted and outcome.case == case.id


def test_a_scan_fitting_two_cases_becomes_a_question_and_the_answer_attaches_it(
        ctx: Context, samples: Samples, tmp_path: Path) -> None:
    samples.lists()
    samples.check_table("检查表-11月9日.docx")
    samples.check_table("检查表-11月20日.docx", check_start="2026-11-20T09:30", check_end="2026-11-20T11:00")
    # The form staff printed with the date left blank for the pen: it fits both checks of the unit.
    blank = samples.check_table("检查表-空白日期.docx", folder=tmp_path, check_start=None, check_end=None)
    with Converter() as converter:
        pdf = converter.convert(blank, "pdf", tmp_path)
    process_inbox(ctx)
    first, second = (c.id for c in ctx.store.list_cases())
    forged = forge(pdf, ctx.settings.inbox, 21, dict.fromkeys(BOXES, True), Scanner(angle=-1.5), seed=21)
    outcome = {o.name: o for o in process_inbox(ctx)}[forged.path.name]
    assert outcome.status is FileStatus.waiting and outcome.case is None
    assert (ctx.settings.outbox / note_name(forged.path.name)).is_file()

    sheet = ctx.settings.outbox / review.REVIEW_SHEET
    wb = openpyxl.load_workbook(sheet)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[review.HEADER_ROW]]
    rows = [dict(zip(header, (c.value for c in row), strict=True))
            for row in ws.iter_rows(min_row=review.FIRST_ROW)]
    (asked,) = [r for r in rows if forged.path.name in str(r["问题"])]
    assert asked["可选答案"] == f"{first}／{second}／都不是"
    assert first in asked["发现的内容"] and second in asked["发现的内容"]
    assert ctx.store.scan_documents(first) == ctx.store.scan_documents(second) == []

    for row in ws.iter_rows(min_row=review.FIRST_ROW):
        if row[header.index("问题编号")].value == asked["问题编号"]:
            row[header.index("确认")].value = second
    wb.save(ctx.settings.inbox / "待审核-已填.xlsx")
    process_inbox(ctx)
    (attached,) = ctx.store.scan_documents(second)
    assert (attached.form, attached.matched_by) == (CHECK_TABLE_FORM, "person")
    assert ctx.store.scan_documents(first) == [] and ctx.store.unmatched_scans() == []
    assert not (ctx.settings.outbox / note_name(forged.path.name)).exists()
    assert {b.box for b in ctx.store.scan_boxes(second)} == set(BOXES)
