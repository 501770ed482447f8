"""Electronic seals and signatures (电子签章) pasted into the boxes' cells of a typed Word check table
(or that form saved as PDF by LibreOffice):
read as box evidence (source electronic), and with ``accept_electronic_seal`` the case needs no scan
for those boxes. The seal is drawn with Pillow and inserted with python-docx, as Word would hold it."""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Mm
from PIL import Image, ImageDraw

from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.settings import Settings
from pipeline.documents.libreoffice import Converter
from pipeline.extract import extract_file
from pipeline.intake.process import Context, open_context, process_inbox
from tests.conftest import Samples
from tests.end_states import assert_published

LABELS = {"dept_opinion_seal": "执法科室意见", "leader_approval_signature": "分管领导批准签字",
          "authority_opinion_seal": "抽查执法主体意见", "leader_confirmation_signature": "分管领导确认签字",
          "authority_seal": "抽查执法主体盖章"}


def seal_png(text: str = "烟台市工业和信息化局") -> bytes:
    """A round red 电子签章 on a transparent background, as signing software exports it."""
    size = 400
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (220, 30, 40, 255)
    draw.ellipse((10, 10, size - 10, size - 10), outline=red, width=14)
    star = [(200 + (70 if k % 2 == 0 else 28) * math.cos(math.radians(-90 + 36 * k)),
             200 + (70 if k % 2 == 0 else 28) * math.sin(math.radians(-90 + 36 * k))) for k in range(10)]
    draw.polygon(star, fill=red)
    for i in range(len(text)):  # the bureau's name around the rim, as short strokes
        a = math.radians(-210 + 240 * (i + 0.5) / len(text))
        x, y = 200 + 140 * math.cos(a), 200 + 140 * math.sin(a)
        draw.rectangle((x - 12, y - 12, x + 12, y + 12), fill=red)
    return _png(image)


def signature_png() -> bytes:
    image = Image.new("RGB", (360, 120), "white")
    points = [(20 + 3.2 * k, 60 + 35 * math.sin(k / 6.0) * math.cos(k / 23.0)) for k in range(100)]
    ImageDraw.Draw(image).line(points, fill=(15, 25, 110), width=6)
    return _png(image)


def logo_png() -> bytes:
    """A black picture (a logo) pasted in a seal box: not a seal."""
    image = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(image).rectangle((30, 30, 170, 170), fill=(20, 20, 20))
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def paste(docx_path: Path, pictures: dict[str, bytes]) -> None:
    """Insert each picture into the value cell right of its box's row label, like 插入 → 图片 in Word."""
    document = Document(str(docx_path))
    done = set()
    for table in document.tables:
        for row in table.rows:
            cells = row.cells
            label = "".join(cells[0].text.split())
            for box, picture in pictures.items():
                if label == LABELS[box] and box not in done:
                    run = cells[-1].paragraphs[-1].add_run()
                    run.add_picture(io.BytesIO(picture), width=Mm(38 if box.endswith("_seal") else 30))
                    done.add(box)
    assert done == set(pictures), set(pictures) - done
    document.save(str(docx_path))


ALL = {"dept_opinion_seal": seal_png(), "leader_approval_signature": signature_png(),
       "authority_opinion_seal": seal_png(), "leader_confirmation_signature": signature_png(),
       "authority_seal": seal_png()}


def test_seal_and_signature_images_in_the_boxes_are_electronic_evidence(samples: Samples, tmp_path: Path) -> None:
    path = samples.check_table("检查表-电子签章.docx", folder=tmp_path)
    paste(path, {"dept_opinion_seal": seal_png(), "leader_approval_signature": signature_png(),
                 "authority_opinion_seal": logo_png()})
    extraction = extract_file(path)
    assert extraction.form == "check_table"
    assert set(extraction.evidence) == {"dept_opinion_seal", "leader_approval_signature"}
    assert all(e["present"] is True and e["source"] == "electronic" for e in extraction.evidence.values())
    assert extraction.evidence["dept_opinion_seal"]["score"] > 0.9  # its ink is red
    assert extract_file(samples.check_table("检查表-无签章.docx", folder=tmp_path)).evidence == {}


@pytest.mark.libreoffice
def test_the_same_word_form_saved_as_pdf_keeps_its_electronic_evidence(samples: Samples, tmp_path: Path) -> None:
    path = samples.check_table("检查表-电子签章.docx", folder=tmp_path)
    paste(path, {"dept_opinion_seal": seal_png(), "leader_approval_signature": signature_png(),
                 "authority_opinion_seal": logo_png(), "authority_seal": seal_png()})
    with Converter() as converter:
        pdf = converter.convert(path, "pdf", tmp_path / "pdf")
    extraction = extract_file(pdf)
    assert extraction.form == "check_table"
    assert set(extraction.evidence) == {"dept_opinion_seal", "leader_approval_signature", "authority_seal"}
    assert all(e["source"] == "electronic" for e in extraction.evidence.values())
    plain = samples.check_table("检查表-无签章.docx", folder=tmp_path)
    with Converter() as converter:
        assert extract_file(converter.convert(plain, "pdf", tmp_path / "pdf")).evidence == {}


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = open_context(dataclasses.replace(settings, require_signed_scan=True))
    yield context
    context.store.close()


def test_a_check_table_sealed_electronically_publishes_without_a_scan(ctx: Context, samples: Samples) -> None:
    samples.lists()
    paste(samples.check_table("检查表-电子签章.docx"), ALL)
    outcome = {o.name: o for o in process_inbox(ctx)}["检查表-电子签章.docx"]
    assert outcome.case is not None and outcome.status is FileStatus.accepted, outcome.findings
    assert_published(ctx, outcome.case)
    (doc,) = ctx.store.scan_documents(outcome.case)
    assert doc.matched_by == "electronic"


def test_a_missing_electronic_seal_names_its_box_and_the_setting_can_refuse_them(
        settings: Settings, samples: Samples) -> None:
    samples.lists()
    upper = {box: ALL[box] for box in ("dept_opinion_seal", "leader_approval_signature", "authority_opinion_seal")}
    paste(samples.check_table("检查表-缺盖章.docx"), upper)
    ctx = open_context(dataclasses.replace(settings, require_signed_scan=True))
    try:
        outcome = {o.name: o for o in process_inbox(ctx)}["检查表-缺盖章.docx"]
        assert outcome.case is not None
        case = ctx.store.get_case(outcome.case)
        assert case is not None and case.status is CaseStatus.incomplete
        pending = [f for f in case.findings or [] if f["code"] == "EVIDENCE_PENDING"]
        assert {f["field"] for f in pending} == {"leader_confirmation_signature", "authority_seal"}
        assert all("没有电子签章" in f["message"] for f in pending)
    finally:
        ctx.store.close()
    strict = open_context(dataclasses.replace(settings, require_signed_scan=True, accept_electronic_seal=False,
                                              inbox=settings.inbox))
    try:
        paste(samples.check_table("检查表-全部电子签章.docx", company=samples.companies[1]), ALL)
        outcome = {o.name: o for o in process_inbox(strict)}["检查表-全部电子签章.docx"]
        assert outcome.case is not None
        case = strict.store.get_case(outcome.case)
        assert case is not None and case.status is CaseStatus.incomplete
        assert "EVIDENCE_PENDING" in {f["code"] for f in case.findings or []}
    finally:
        strict.store.close()
