"""公示表 as .docx and PDF/A-2b: rendered, converted through the pool, read back; a case is never lost."""

from __future__ import annotations

import json
import random
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path

import docx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from sqlalchemy import text

from pipeline.cases.public_forms import (
    PUBLISHED_STATES,
    PdfConversionError,
    convert_to_pdf,
    recorded_forms,
    render_public_form_docx,
)
from pipeline.core.codes import CaseStatus
from pipeline.core.settings import Settings, load_settings
from pipeline.documents.libreoffice import find_soffice
from pipeline.intake.process import Context, Outcome, open_context, process_inbox
from pipeline.samples.fictional import Company, Person
from tests.conftest import Samples

pytestmark = pytest.mark.libreoffice

FORMULA_NAME = "=1+1烟台恒信科技有限公司"
MARKUP_NAME = "烟台A&B<科技>有限公司"
TASK = "民用爆炸物品销售的安全生产监督管理"  # part of the task name in the sample lists


@dataclass(frozen=True)
class Published:
    """A workspace after one pass over three check tables with their lists (all three published)."""

    settings: Settings
    ctx: Context
    companies: list[Company]
    people: list[Person]
    outcomes: list[Outcome]


_BUILT: list[Published] = []


def published_workspace(factory: pytest.TempPathFactory) -> Published:
    """Built once per test session (one LibreOffice batch) and shared by the output tests."""
    if _BUILT:
        return _BUILT[0]
    root = factory.mktemp("published")
    # Archiving (its own LibreOffice work) is tested elsewhere; these tests look at the 公示 outputs.
    settings = load_settings(env={}, print_forms_auto=False, inbox=root / "inbox", outbox=root / "outbox", data_dir=root / "var",
                             settle_seconds=0.0, require_signed_scan=False, archive_auto=False)
    settings.inbox.mkdir()
    samples = Samples(settings, random.Random(4242))
    base = samples.companies
    companies = [base[0], replace(base[1], name=FORMULA_NAME), replace(base[2], name=MARKUP_NAME)]
    for sheet in samples.lists(companies):
        _store_formula_name_as_text(sheet)
    for n, company in enumerate(companies):
        samples.check_table(f"检查表-{n}.docx", company=company)
    ctx = open_context(settings)
    outcomes = process_inbox(ctx)
    _BUILT.append(Published(settings, ctx, companies, samples.people, outcomes))
    return _BUILT[0]


def _store_formula_name_as_text(path: Path) -> None:
    """The platform exports names as text; openpyxl would save ``=1+1…`` as a formula without a value."""
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value == FORMULA_NAME:
                    cell.data_type = "s"
    wb.save(path)


@pytest.fixture
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return published_workspace(tmp_path_factory)


def docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def stems(published: Published) -> list[str]:
    names = [c.name.replace("<", "_").replace(">", "_") for c in published.companies]
    return [f"{name}-2026-11-09" for name in names]


def test_each_ready_case_gets_docx_and_pdf_and_is_published(published: Published) -> None:
    outbox = published.settings.outbox
    checks = [o for o in published.outcomes if o.name.startswith("检查表-")]
    assert [o.status.value for o in checks] == ["accepted"] * 3
    for outcome, stem in zip(checks, stems(published), strict=True):
        # The PDF is drawn directly (no LibreOffice): published with the Word file, as the file is taken.
        assert outcome.outputs == (f"公示表/{stem}.docx", f"公示表/{stem}.pdf", f"网站公示/{stem}.pdf")
        assert (outbox / "公示表" / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
        assert (outbox / "网站公示" / f"{stem}.pdf").read_bytes() == (outbox / "公示表" / f"{stem}.pdf").read_bytes()
    cases = published.ctx.store.list_cases()
    # 已公示 (or further: the archive step may package a published case in the same pass).
    assert [c.status in PUBLISHED_STATES for c in cases] == [True] * 3
    assert not list(outbox.rglob(".*.part"))  # nothing half-written left behind


def test_public_form_docx_reads_back_with_the_case_values(published: Published) -> None:
    forms = recorded_forms(published.ctx)
    for case, company, stem in zip(published.ctx.store.list_cases(), published.companies, stems(published),
                                   strict=True):
        content = docx_text(published.settings.outbox / "公示表" / f"{stem}.docx")
        form = forms[case.id][0]
        assert company.name in content  # markup characters come out whole, not escaped twice
        for value in (company.uscc, published.settings.bureau, TASK, "2026年11月9日", form.check_type, form.result):
            assert value and value in content, value


def _fonts(reader: PdfReader) -> list[DictionaryObject]:
    fonts = []
    for page in reader.pages:
        resources = page["/Resources"].get_object()
        for ref in resources.get("/Font", {}).values():
            font = ref.get_object()
            # A Type0 (CID) font keeps its descriptor in its descendant font.
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])]
            fonts.extend(descendants or [font])
    return fonts


def test_public_form_pdf_is_pdfa2b_with_every_font_embedded_and_chinese_extractable(published: Published) -> None:
    for company, stem in zip(published.companies, stems(published), strict=True):
        reader = PdfReader(published.settings.outbox / "公示表" / f"{stem}.pdf")
        content = "".join(page.extract_text() for page in reader.pages)
        squeezed = re.sub(r"\s+", "", content)
        assert "双随机" in squeezed and company.uscc in squeezed and TASK in squeezed
        assert company.name.replace("<", "").replace(">", "") in squeezed.replace("<", "").replace(">", "")
        fonts = _fonts(reader)
        assert fonts
        for font in fonts:
            descriptor = font["/FontDescriptor"].get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font.get("/BaseFont")
        xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
        assert re.search(r"pdfaid:part(>|=\")2", xmp), xmp[:500]
        assert re.search(r"pdfaid:conformance(>|=\")B", xmp), xmp[:500]


def test_render_public_form_docx_for_a_published_case_uses_what_was_published(
        published: Published, tmp_path: Path) -> None:
    case = published.ctx.store.list_cases()[2]
    out = render_public_form_docx(published.ctx, case.id, tmp_path)
    assert out == tmp_path / f"{stems(published)[2]}.docx"
    assert MARKUP_NAME in docx_text(out)


def _case_findings(ctx: Context, case_id: str) -> list[str]:
    with ctx.store.engine.connect() as conn:
        raw = conn.execute(text("SELECT findings FROM cases WHERE id=:c"), {"c": case_id}).scalar_one()
    return [f["code"] for f in json.loads(raw)]


def test_without_libreoffice_the_docx_is_published_and_the_pdf_follows_on_the_next_pass(
        settings: Settings, samples: Samples) -> None:
    # The LibreOffice way (an edited template, or the setting off): the PDF waits for a working soffice.
    settings = settings.replace(archive_auto=False, public_form_pdf_direct=False)
    samples.lists()
    samples.check_table("检查表.docx")
    broken = open_context(settings.replace(soffice=str(settings.data_dir / "no-such-soffice")))
    outcome = next(o for o in process_inbox(broken) if o.name == "检查表.docx")
    stem = f"{samples.companies[0].name}-2026-11-09"
    assert outcome.status.value == "accepted"
    assert outcome.outputs == (f"公示表/{stem}.docx",)
    assert (settings.outbox / "公示表" / f"{stem}.docx").is_file()
    case = broken.store.list_cases()[0]
    assert case.status is CaseStatus.publishable
    assert "PDF_PENDING" in _case_findings(broken, case.id)
    assert not (settings.outbox / "公示表" / f"{stem}.pdf").exists()
    assert not (settings.outbox / "网站公示").exists()

    # LibreOffice is back: the next pass (an empty inbox) makes the PDF and publishes the case.
    fixed = Context(settings, broken.store, broken.originals)
    process_inbox(fixed)
    case = fixed.store.list_cases()[0]
    assert case.status in PUBLISHED_STATES
    assert "PDF_PENDING" not in _case_findings(fixed, case.id)
    assert PdfReader(settings.outbox / "网站公示" / f"{stem}.pdf").pages[0].extract_text()
    assert (settings.outbox / "网站公示" / "index.html").is_file()


def _flaky_soffice(folder: Path, crashes: int) -> Path:
    """A soffice that crashes (SIGSEGV) on its first ``crashes`` runs, then is the real one."""
    real = find_soffice("soffice")
    assert real, "LibreOffice is needed (scripts/install-system-deps.sh installs it)"
    count = folder / "runs"
    script = folder / "soffice"
    script.write_text(f'#!/bin/sh\necho run >> "{count}"\n'
                      f'if [ "$(wc -l < "{count}")" -le {crashes} ]; then kill -SEGV $$; fi\n'
                      f'exec "{real}" "$@"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_a_crashed_converter_is_retried_and_a_lasting_failure_is_reported(
        published: Published, tmp_path: Path) -> None:
    case = published.ctx.store.list_cases()[0]
    source = render_public_form_docx(published.ctx, case.id, tmp_path / "docx")

    once = tmp_path / "once"
    once.mkdir()
    ctx = Context(published.settings.replace(soffice=str(_flaky_soffice(once, 1))), published.ctx.store,
                  published.ctx.originals)
    result = convert_to_pdf(ctx, [source], tmp_path / "pdf")
    assert result[source].read_bytes().startswith(b"%PDF")
    assert (once / "runs").read_text().count("run") == 2

    always = tmp_path / "always"
    always.mkdir()
    ctx = Context(published.settings.replace(soffice=str(_flaky_soffice(always, 99))), published.ctx.store,
                  published.ctx.originals)
    with pytest.raises(PdfConversionError) as caught:
        convert_to_pdf(ctx, [source], tmp_path / "never")
    assert caught.value.failed == (source,)
    assert "无法由 LibreOffice 转换为 PDF" in caught.value.message and source.name in caught.value.message
