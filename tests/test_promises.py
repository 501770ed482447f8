"""What README.md and docs/使用说明.md promise the staff, one test per promise, through the inbox.

Each test drops files the way staff do, runs a pass (``process_inbox``, what ``process`` and ``watch``
call) and looks at the outbox and the case as the guide says they will be.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
from pathlib import Path

import openpyxl
import pdfplumber
import pytest
from PIL import Image, ImageDraw

from pipeline.cases.review import ANSWER_COL, ID_COL, REVIEW_SHEET
from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.evidence import case_evidence
from pipeline.core.settings import Settings
from pipeline.documents.render import CHECK_TABLE_FORM
from pipeline.intake.process import Context, Outcome, open_context, process_inbox
from pipeline.rules.bureau import SEEN
from pipeline.samples.demo import fill_demo_inbox
from pipeline.samples.scan_synth import FormPdfs, Marks, Scanning, mark_page, rasterise, scan_page, write_scan
from tests.conftest import Samples, process_json, run_cli
from tests.end_states import assert_published

pytestmark = pytest.mark.libreoffice


def run(ctx: Context) -> dict[str, Outcome]:
    return {o.name: o for o in process_inbox(ctx)}


def review_rows(path: Path) -> list[dict[str, object]]:
    """The question rows of the review sheet, by header (the header row is the one naming 问题编号)."""
    ws = openpyxl.load_workbook(path).worksheets[0]
    rows = [list(r) for r in ws.iter_rows()]
    at = next(i for i, r in enumerate(rows) if any(c.value == ID_COL for c in r))
    header = [c.value for c in rows[at]]
    return [{str(h): c for h, c in zip(header, r, strict=True)} for r in rows[at + 1:] if isinstance(r[0].value, int)]


def test_a_uscc_with_a_bad_check_digit_is_asked_never_published(ctx: Context, samples: Samples) -> None:
    """使用说明: USCC_INVALID — 代码的校验位不对，请确认后再用 (待审核)."""
    company = samples.companies[0]
    last = company.uscc[-1]
    bad = dataclasses.replace(company, uscc=company.uscc[:-1] + ("0" if last != "0" else "1"))
    samples.lists(companies=[bad, *samples.companies[1:]])
    run(ctx)
    samples.check_table("检查表.docx")
    outcome = run(ctx)["检查表.docx"]
    assert outcome.status is FileStatus.waiting and outcome.case  # accepted; its case waits for a person
    assert "USCC_INVALID" in {f.code for f in outcome.findings}
    case = ctx.store.get_case(outcome.case)
    assert case is not None and case.status is CaseStatus.review
    rows = review_rows(ctx.settings.outbox / REVIEW_SHEET)
    assert [str(r["发现的内容"].value) for r in rows if "统一社会信用代码" in str(r["问题"].value)] == [bad.uscc]
    assert not list((ctx.settings.outbox / "公示表").glob("*.docx"))


def test_a_site_record_listing_one_inspector_is_returned(ctx: Context, samples: Samples) -> None:
    """使用说明: SITE_RECORD_INSPECTORS — 笔录至少列出两名执法人员，否则笔录被退回 (第十条)."""
    samples.lists()
    run(ctx)
    one = [{"name": samples.people[0].name, "licence_no": samples.people[0].licence_no}]
    samples.site_record("现场检查笔录.docx", inspectors=one)
    outcome = run(ctx)["现场检查笔录.docx"]
    assert outcome.status is FileStatus.rejected
    assert [f.code for f in outcome.findings if f.severity == "error"] == ["SITE_RECORD_INSPECTORS"]
    returned = ctx.settings.outbox / "退回"
    assert (returned / "现场检查笔录.docx").is_file()
    explanation = (returned / "现场检查笔录.docx.错误说明.txt").read_text(encoding="utf-8")
    assert "第十条" in explanation and "1 名检查人员" in explanation


def test_the_same_content_again_is_a_duplicate_without_a_second_output(ctx: Context, samples: Samples) -> None:
    """使用说明: 同样内容的文件再放一次，只记为“重复文件”，不会再生成一份结果."""
    samples.lists()
    run(ctx)
    first = samples.check_table("检查表.docx")
    data = first.read_bytes()
    outcome = run(ctx)["检查表.docx"]
    assert_published(ctx, outcome.case or "")
    before = sorted(p.relative_to(ctx.settings.outbox) for p in ctx.settings.outbox.rglob("*") if p.is_file())
    (ctx.settings.inbox / "检查表（副本）.docx").write_bytes(data)
    again = run(ctx)["检查表（副本）.docx"]
    assert again.status is FileStatus.duplicate and again.outputs == ()
    after = sorted(p.relative_to(ctx.settings.outbox) for p in ctx.settings.outbox.rglob("*") if p.is_file()
                   if p.parent.name != "回执")
    assert after == [p for p in before if p.parent.name != "回执"]


def test_the_website_folder_holds_no_phone_or_licence_number(ctx: Context, samples: Samples) -> None:
    """使用说明: 网站公示 … 不含电话和执法证号."""
    samples.lists()
    run(ctx)
    samples.check_table("检查表.docx")
    assert_published(ctx, run(ctx)["检查表.docx"].case or "")
    private = {p.phone for p in samples.people} | {p.licence_no for p in samples.people}
    website = ctx.settings.outbox / "网站公示"
    pdfs = list(website.glob("*.pdf"))
    assert pdfs and (website / "index.html").is_file()
    for path in website.iterdir():
        text = path.read_bytes().decode("utf-8", "replace")
        if path.suffix == ".pdf":
            from_pdf = _pdf_text(path)
            assert samples.companies[0].uscc in from_pdf
            text += from_pdf
        assert not [value for value in private if value in text], path.name


def _pdf_text(path: Path) -> str:
    with pdfplumber.open(path) as pdf:
        return "".join(re.sub(r"\s", "", page.extract_text() or "") for page in pdf.pages)


def test_a_waiting_note_is_removed_when_the_missing_list_arrives(ctx: Context, samples: Samples) -> None:
    """使用说明: 待补充 … 新的名录 … 放入收件箱后，系统自动重新核对，案卷继续往下走，说明文件随之删除."""
    samples.lists(companies=samples.companies[1:])  # the checked company is not in the lists yet
    run(ctx)
    samples.check_table("检查表.docx")
    outcome = run(ctx)["检查表.docx"]
    assert outcome.status is FileStatus.waiting and "USCC_MISSING" in {f.code for f in outcome.findings}
    notes = ctx.settings.outbox / "待补充"
    assert [p.name for p in notes.iterdir()] == [f"{outcome.case}-{samples.companies[0].name}.说明.txt"]
    for path in (ctx.settings.inbox / "名录库").iterdir():
        path.unlink()
    samples.lists()  # the new export with the company in it
    run(ctx)
    assert_published(ctx, outcome.case or "")
    assert list(notes.iterdir()) == []


def test_a_completed_check_table_joins_its_case(ctx: Context, samples: Samples) -> None:
    """使用说明: 检查表后半部分还没填 → 待补充; 同一单位、同一检查日期的改正件归入原来的案卷."""
    samples.lists()
    run(ctx)
    samples.check_table("检查表-检查前.docx", situation=None, handling=None, check_start=None, check_end=None,
                        leader_confirmation_date=None,
                        authority_seal_date=None)
    before = run(ctx)["检查表-检查前.docx"]
    assert before.status is FileStatus.waiting and "LOWER_HALF_PENDING" in {f.code for f in before.findings}
    samples.check_table("检查表-检查后.docx")
    after = run(ctx)["检查表-检查后.docx"]
    assert after.status is FileStatus.accepted and after.case == before.case
    assert_published(ctx, after.case or "")
    assert len(ctx.store.list_cases()) == 1


# --- an uncertain signature, answered in 待审核.xlsx ------------------------------------------------

FAINT_BOX = "leader_confirmation_signature"


def faint_scan(form_pdfs: FormPdfs, case_id: str, out: Path) -> None:
    """The printed check table signed and sealed everywhere except one signature box, which holds a
    short stroke only: too much ink for an empty box, too little for a signature."""
    marks = Marks.of(ink=("leader_approval_signature",),
                     seals=("dept_opinion_seal", "authority_opinion_seal", "authority_seal"))
    form, dpi, rng = form_pdfs.get(CHECK_TABLE_FORM, case_id), 200, random.Random(1)
    pages: list[Image.Image] = []
    for image, geometry in zip(rasterise(form.pdf, dpi), form.pages, strict=True):
        page = mark_page(image, geometry, marks, dpi, rng)
        for box in geometry.boxes:
            if box.spec.box == FAINT_BOX:
                x0, y0, x1, y1 = (v * dpi / 72 for v in box.cell)
                x, y = (x0 + x1) / 2, y0 + (y1 - y0) * 0.35
                ImageDraw.Draw(page).line([(x, y), (x + 150, y + 30)], fill=(20, 20, 60), width=4)
        pages.append(scan_page(page, Scanning(dpi=dpi), rng))
    write_scan(pages, out)


def test_an_uncertain_signature_answered_in_the_review_sheet_is_adopted(settings: Settings, samples: Samples,
                                                                       form_pdfs: FormPdfs) -> None:
    """使用说明: 扫描件上某一栏看不清 → 待审核 with a crop; 在“确认”一列选答案，保存，放回收件箱 → 采用."""
    ctx = open_context(settings.replace(require_signed_scan=True))
    try:
        samples.lists()
        run(ctx)
        samples.check_table("检查表.docx")
        case_id = run(ctx)["检查表.docx"].case or ""
        faint_scan(form_pdfs, case_id, ctx.settings.inbox / "扫描.tif")
        assert run(ctx)["扫描.tif"].status is FileStatus.accepted
        seen = case_evidence(ctx.store.scan_boxes(case_id)).of(CHECK_TABLE_FORM)
        assert seen is not None and seen.boxes[FAINT_BOX].present is None
        case = ctx.store.get_case(case_id)
        assert case is not None and case.status is CaseStatus.review

        # The clerk opens the sheet, picks the answer in 确认, saves it and drops it back.
        sheet_path = ctx.settings.outbox / REVIEW_SHEET
        (row,) = [r for r in review_rows(sheet_path) if "分管领导确认签字" in str(r["问题"].value)]
        workbook = openpyxl.load_workbook(sheet_path)
        cell = row[ANSWER_COL]
        assert isinstance(cell, openpyxl.cell.cell.Cell)
        workbook.worksheets[0][cell.coordinate] = SEEN
        workbook.save(ctx.settings.inbox / "待审核（已填）.xlsx")

        outcomes = run(ctx)
        assert outcomes["待审核（已填）.xlsx"].status is FileStatus.accepted
        assert_published(ctx, case_id)
        assert [q.answer for q in ctx.store.questions(status="answered")] == [SEEN]
        assert review_rows(sheet_path) == []
    finally:
        ctx.close()


def test_a_receipt_tells_where_the_file_went_even_when_its_case_moved_on(settings: Settings) -> None:
    """使用说明: 回执 … 不用问信息化人员就能知道文件去了哪里. A check table whose signed scan came in the same
    pass made its case wait for a moment only: its line must not send the clerk after a scan already given."""
    ctx = open_context(settings.replace(require_signed_scan=True))
    try:
        fill_demo_inbox(ctx.settings, ctx.store)
        outcomes = run(ctx)
        published = {c.id for c in ctx.store.list_cases() if c.status is CaseStatus.published}
        waited = [o for o in outcomes.values() if o.status is FileStatus.waiting and o.case in published]
        assert waited, "the demo has check tables that wait for their scan until it is read in the same pass"
        receipt = (ctx.settings.outbox / "回执" / f"{dt.date.today().isoformat()}.txt").read_text(encoding="utf-8")
        lines = {line.split("  ")[1]: line for line in receipt.splitlines() if "  → " in line}
        for outcome in waited:
            line = lines[Path(outcome.name).name]
            assert f"案卷 {outcome.case}（现已公示）" in line and "扫描件" not in line, line
        still = next(o for o in outcomes.values() if o.status is FileStatus.waiting and o.case not in published)
        assert "（现待补充）  （" in lines[Path(still.name).name]  # a case still waiting keeps its note
    finally:
        ctx.close()


def test_a_last_result_date_moves_the_publication_deadline(settings: Settings, samples: Samples) -> None:
    """使用说明: ``shuangsui case 案卷编号 --last-result-date 2026-11-20`` 登记综合检查最后一项结果的确定日期
    （期限从这天算起），案卷随即重新核对."""
    samples.lists(companies=samples.companies[1:])  # the case stays open: its company is not listed yet
    samples.check_table("检查表.docx")
    case_id = next(f["case"] for f in process_json(settings) if f["name"] == "检查表.docx")
    proc = run_cli(settings, "case", case_id, "--last-result-date", "2026-11-20")
    assert proc.returncode == 0, proc.stderr
    assert "当前状态：待补充" in proc.stdout
    ctx = open_context(settings)
    try:
        case = ctx.store.get_case(case_id)
        # 20 working days (第十三条) after Friday 2026-11-20, no holiday in between: 2026-12-18.
        assert case is not None and case.due_publish == "2026-12-18"
    finally:
        ctx.close()
    shown = run_cli(settings, "case", case_id)
    assert shown.returncode == 0 and "2026-12-18" in shown.stdout


def test_a_check_registered_as_targeted_is_not_published(settings: Settings, samples: Samples) -> None:
    """使用说明: ``--targeted 是`` 登记这是针对特定对象的检查（不是双随机，不按双随机公示）."""
    samples.lists(companies=samples.companies[1:])
    samples.check_table("检查表.docx")
    case_id = next(f["case"] for f in process_json(settings) if f["name"] == "检查表.docx")
    proc = run_cli(settings, "case", case_id, "--targeted", "是")
    assert proc.returncode == 0, proc.stderr
    for path in (settings.inbox / "名录库").iterdir():
        path.unlink()
    samples.lists()  # the company arrives: a 双随机 check would now be published
    process_json(settings)
    ctx = open_context(settings)
    try:
        case = ctx.store.get_case(case_id)
        assert case is not None and case.status is CaseStatus.received
        assert "NOT_RANDOM" in {f["code"] for f in case.findings or []}
    finally:
        ctx.close()
    assert not list((settings.outbox / "公示表").glob("*.docx"))
    assert not list((settings.outbox / "网站公示").glob("*.pdf"))
