"""Signed scans through the pipeline: matched to their case, box evidence recorded, the case moved on."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.evidence import case_evidence
from pipeline.core.settings import Settings
from pipeline.documents.render import CHECK_TABLE_FORM, SITE_RECORD_FORM
from pipeline.intake.process import Context, Outcome, open_context, process_inbox
from pipeline.samples.scan_synth import (
    ALL_MARKS,
    FormPdf,
    FormPdfs,
    Marks,
    Scanning,
    make_scan,
    signed_pages,
    write_scan,
)
from pipeline.scan.geometry import derive_geometry, parse_geometry
from tests.conftest import Samples, run_cli
from tests.end_states import assert_published

pytestmark = pytest.mark.libreoffice


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = open_context(dataclasses.replace(settings, require_signed_scan=True))
    yield context
    context.store.close()


def run(ctx: Context) -> dict[str, Outcome]:
    return {o.name: o for o in process_inbox(ctx)}


def typed_case(ctx: Context, samples: Samples, name: str = "检查表-恒信.docx", **overrides: object) -> str:
    samples.lists()
    run(ctx)
    samples.check_table(name, **overrides)
    outcome = run(ctx)[name]
    assert outcome.status is FileStatus.waiting
    assert "EVIDENCE_PENDING" in {f.code for f in outcome.findings}
    assert outcome.case
    return outcome.case


def status(ctx: Context, case_id: str) -> CaseStatus:
    case = ctx.store.get_case(case_id)
    assert case is not None
    return case.status


def test_a_signed_scan_with_the_qr_code_completes_its_case(ctx: Context, samples: Samples,
                                                           form_pdfs: FormPdfs) -> None:
    case_id = typed_case(ctx, samples)
    # A phone photo per page: the two pages of the table arrive as two files.
    scanning = Scanning(dpi=200, angle=1.5, noise=6, quality=70)
    pages = list(signed_pages(form_pdfs.get(CHECK_TABLE_FORM, case_id), ALL_MARKS[CHECK_TABLE_FORM], scanning, 3))
    assert len(pages) == 2
    write_scan(pages[:1], ctx.settings.inbox / "扫描0001.jpg", quality=70)
    outcome = run(ctx)["扫描0001.jpg"]
    assert outcome.status is FileStatus.accepted and outcome.case == case_id
    assert status(ctx, case_id) is CaseStatus.incomplete  # the second page is still missing
    write_scan(pages[1:], ctx.settings.inbox / "扫描0002.jpg", quality=70)
    assert run(ctx)["扫描0002.jpg"].case == case_id
    seen = case_evidence(ctx.store.scan_boxes(case_id)).of("check_table")
    assert seen is not None and all(s.present for s in seen.boxes.values())
    assert_published(ctx, case_id)  # archiving and bundles are off here
    assert list((ctx.settings.outbox / "公示表").glob("*.docx"))
    events = [e.action for e in ctx.store.events("case", case_id)]
    assert "scan_attached" in events


def test_a_missing_seal_keeps_the_case_waiting_and_names_the_box(ctx: Context, samples: Samples,
                                                                  form_pdfs: FormPdfs) -> None:
    case_id = typed_case(ctx, samples)
    marks = Marks.of(ink=("leader_approval_signature", "leader_confirmation_signature"),
                     seals=("dept_opinion_seal", "authority_opinion_seal"))  # no 抽查执法主体盖章
    make_scan(form_pdfs.get(CHECK_TABLE_FORM, case_id), marks, Scanning(dpi=200), ctx.settings.inbox / "扫描.tif")
    run(ctx)
    assert status(ctx, case_id) is CaseStatus.incomplete
    case = ctx.store.get_case(case_id)
    assert case is not None
    notes = list((ctx.settings.outbox / "待补充").glob(f"{case_id}-*.说明.txt"))
    assert notes and "抽查执法主体盖章" in notes[0].read_text(encoding="utf-8")


def test_a_scan_without_a_known_case_waits_then_matches_its_typed_file_by_name(
        ctx: Context, samples: Samples, form_pdfs: FormPdfs) -> None:
    samples.lists()
    run(ctx)
    # Printed from Word (its QR names no case of this system): only the file name can tell.
    make_scan(form_pdfs.get(CHECK_TABLE_FORM, "SS-2026-09999"), ALL_MARKS[CHECK_TABLE_FORM], Scanning(dpi=200),
              ctx.settings.inbox / "检查表-恒信-签字.pdf")
    outcome = run(ctx)["检查表-恒信-签字.pdf"]
    assert outcome.status is FileStatus.waiting and outcome.case is None
    note = ctx.settings.outbox / "待匹配" / "检查表-恒信-签字.pdf.说明.txt"
    assert note.is_file() and "无法确定属于哪个案卷" in note.read_text(encoding="utf-8")

    samples.check_table("检查表-恒信.docx")
    typed = run(ctx)["检查表-恒信.docx"]
    assert typed.case
    assert not note.exists()
    seen = case_evidence(ctx.store.scan_boxes(typed.case)).of("check_table")
    assert seen is not None and seen.boxes["authority_seal"].file_name == "检查表-恒信-签字.pdf"
    assert_published(ctx, typed.case)
    scan_row = next(f for f in ctx.store.list_files() if f.original_name == "检查表-恒信-签字.pdf")
    assert scan_row.status is FileStatus.accepted and scan_row.case_id == typed.case


def test_one_pdf_holding_the_table_and_the_site_record_completes_an_on_site_check(
        ctx: Context, samples: Samples, form_pdfs: FormPdfs) -> None:
    case_id = typed_case(ctx, samples, methods=["现场检查"])
    scanning = Scanning(dpi=200, angle=-2.0, quality=80)
    refused = Marks.of(ink=("refusal_reason", "inspector_signatures"))
    pages = [*signed_pages(form_pdfs.get(CHECK_TABLE_FORM, case_id), ALL_MARKS[CHECK_TABLE_FORM], scanning, 1),
             *signed_pages(form_pdfs.get(SITE_RECORD_FORM, case_id), refused, scanning, 2)]
    write_scan(pages, ctx.settings.inbox / "签字件.pdf", quality=80, dpi=200)
    outcome = run(ctx)["签字件.pdf"]
    assert outcome.status is FileStatus.accepted
    seen = case_evidence(ctx.store.scan_boxes(case_id))
    assert set(seen.scans) == {"check_table", "site_record"}
    record = seen.scans["site_record"].boxes
    assert record["refusal_reason"].present and not record["party_seal"].present
    assert_published(ctx, case_id)  # archiving and bundles are off here


def test_an_uncertain_box_goes_to_the_review_sheet_with_its_crop(ctx: Context, samples: Samples,
                                                                 form_pdfs: FormPdfs) -> None:
    case_id = typed_case(ctx, samples)
    make_scan(form_pdfs.get(CHECK_TABLE_FORM, case_id), ALL_MARKS[CHECK_TABLE_FORM], Scanning(dpi=200),
              ctx.settings.inbox / "扫描.tif")
    run(ctx)
    # A person's doubt is simulated on the stored evidence: the next pass asks about that box.
    with ctx.store.begin() as tx:
        crop = ctx.settings.data_dir / "crop.png"
        from PIL import Image

        Image.new("RGB", (120, 60), "white").save(crop)
        tx.conn.exec_driver_sql("UPDATE evidence SET present=NULL, crop=? WHERE box='authority_seal'", (str(crop),))
        tx.conn.exec_driver_sql("UPDATE cases SET status='incomplete' WHERE id=?", (case_id,))
    run(ctx)
    assert status(ctx, case_id) is CaseStatus.review
    sheet = load_workbook(ctx.settings.outbox / "待审核.xlsx")
    ws = sheet.active
    assert ws is not None
    prompts = [str(c.value) for c in ws["E"] if c.value]
    assert any("抽查执法主体盖章" in p for p in prompts)
    assert len(ws._images) == 1  # the crop is shown beside the question


def test_forms_prints_the_case_forms_and_their_signed_scan_finds_the_case(ctx: Context, samples: Samples,
                                                                          form_pdfs: FormPdfs) -> None:
    case_id = typed_case(ctx, samples)
    proc = run_cli(ctx.settings, "forms", case_id)
    assert proc.returncode == 0, proc.stderr
    folder = ctx.settings.outbox / "打印" / case_id
    printed = folder / "随机抽查事项检查表.docx"
    blank = folder / "现场检查笔录（空白）.docx"
    assert printed.is_file() and blank.is_file()
    unit = (ctx.store.get_case(case_id) or pytest.fail("no case")).unit_name or ""
    assert unit in "".join(c.text for t in Document(str(printed)).tables for r in t.rows for c in r.cells)
    assert not re.search(r"1[3-9]\d{9}", "".join(p.text for p in Document(str(blank)).paragraphs))
    # Ready to print as PDF too, the unit on the page.
    assert {p.name for p in folder.glob("*.pdf")} == {"随机抽查事项检查表.pdf", "现场检查笔录（空白）.pdf"}
    pdf_text = "".join(page.extract_text() or "" for page in PdfReader(str(folder / "随机抽查事项检查表.pdf")).pages)
    assert unit[:6] in pdf_text.replace("\n", "")
    # Print it (LibreOffice), sign and seal every box, scan it: the QR code finds the case.
    pdf = form_pdfs.converter.convert(printed, "pdf", ctx.settings.data_dir / "printed")
    form = FormPdf(CHECK_TABLE_FORM, case_id, pdf, parse_geometry(derive_geometry(pdf, CHECK_TABLE_FORM)))
    make_scan(form, ALL_MARKS[CHECK_TABLE_FORM], Scanning(dpi=200, angle=-1.0), ctx.settings.inbox / "IMG_0042.tif")
    outcome = run(ctx)["IMG_0042.tif"]
    assert outcome.status is FileStatus.accepted and outcome.case == case_id
    assert_published(ctx, case_id)  # archiving and bundles are off here
    assert run_cli(ctx.settings, "forms", "SS-2026-99999").returncode == 2
