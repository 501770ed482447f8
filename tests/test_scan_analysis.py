"""Signed scans generated from the real templates: QR matching, splitting, box evidence, geometry."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw

from pipeline.core.errors import InputFileError
from pipeline.core.settings import Settings
from pipeline.documents.libreoffice import Converter
from pipeline.documents.render import CHECK_TABLE_FORM, SITE_RECORD_FORM
from pipeline.extract import extract_file
from pipeline.extract.scan import extract_scan
from pipeline.samples.scan_synth import (
    ALL_MARKS,
    FormPdf,
    FormPdfs,
    Marks,
    Scanning,
    make_scan,
    mark_page,
    rasterise,
    scan_page,
    signed_pages,
    write_scan,
)
from pipeline.scan import (
    BOX_LABELS,
    CHECK_TABLE_BOXES,
    SITE_RECORD_BOXES,
    analyse_scan,
    is_scan,
    write_normalised_pdf,
)
from pipeline.scan.geometry import PROBE_CASE_ID, derive_geometry, geometry_path
from pipeline.scan.register import find_qr

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.libreoffice

CASE_A = "SS-2026-00011"
CASE_B = "SS-2026-00012"


@pytest.fixture(scope="session")
def forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FormPdf]:
    """The forms as LibreOffice PDFs, all converted in one soffice run for the whole session."""
    cache = tmp_path_factory.mktemp("scan-forms")
    with Converter() as converter:
        pdfs = FormPdfs(converter, cache, ROOT / "templates")
        made = pdfs.get_many([
            (CHECK_TABLE_FORM, CASE_A, None),
            (SITE_RECORD_FORM, CASE_A, None),
            (CHECK_TABLE_FORM, CASE_B, None),
            (CHECK_TABLE_FORM, PROBE_CASE_ID, {}),
            (SITE_RECORD_FORM, PROBE_CASE_ID, {}),
        ])
    names = ("ct_a", "sr_a", "ct_b", "probe_ct", "probe_sr")
    return dict(zip(names, made, strict=True))


@pytest.fixture
def plain_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The optional OCR extra (seconds per page) is another module's concern; keep it out of these tests.
    monkeypatch.setattr("pipeline.scan.analyse._page_reader", lambda template_dir: None)
    return Settings()


def _truth(form: str, marks: Marks) -> dict[str, bool]:
    boxes = CHECK_TABLE_BOXES if form == CHECK_TABLE_FORM else SITE_RECORD_BOXES
    return {box: box in marks.ink or box in marks.seals for box in boxes}


# A representative slice of the calibration grid (benchmarks/scans.py runs the whole sweep).
GRID = [
    ("ct_a", Marks.of(ink=["leader_approval_signature"], seals=["dept_opinion_seal", "authority_seal"]),
     Scanning(dpi=200, angle=0.0, quality=90), ".png"),
    ("ct_a", ALL_MARKS[CHECK_TABLE_FORM], Scanning(dpi=150, angle=-4.5, noise=10, quality=40), ".tif"),
    ("ct_a", Marks.of(ink=["leader_confirmation_signature"], seals=["authority_opinion_seal"]),
     Scanning(dpi=300, angle=3.0, scale=1.04, shift=(30, -25), grey=True, quality=60), ".pdf"),
    ("ct_a", Marks(), Scanning(dpi=200, angle=180.0, quality=75), ".tif"),
    ("sr_a", Marks.of(ink=["party_signature", "inspector_signatures"], seals=["party_seal"]),
     Scanning(dpi=200, angle=2.0, noise=6, quality=75), ".jpg"),
    ("sr_a", Marks.of(ink=["refusal_reason", "witness_signature", "inspector_signatures"]),
     Scanning(dpi=150, angle=-2.5, grey=True, quality=50), ".jpg"),
    ("sr_a", Marks.of(seals=["party_seal"]), Scanning(dpi=300, angle=5.0, scale=0.96, quality=95), ".bmp"),
]


@pytest.mark.parametrize(("name", "marks", "scanning", "suffix"), GRID,
                         ids=[f"{g[0]}-{g[2].dpi}dpi-{g[2].angle:+.0f}deg{'-grey' if g[2].grey else ''}{g[3]}"
                              for g in GRID])
def test_generated_scan_matches_its_case_and_reports_each_box(
    forms: dict[str, FormPdf], tmp_path: Path, plain_settings: Settings,
    name: str, marks: Marks, scanning: Scanning, suffix: str,
) -> None:
    form_pdf = forms[name]
    path = make_scan(form_pdf, marks, scanning, tmp_path / f"scan{suffix}", seed=3)
    assert is_scan(path)
    analysis = analyse_scan(path, plain_settings)
    assert len(analysis.documents) == 1
    doc = analysis.documents[0]
    assert (doc.form, doc.case_id, doc.matched_by) == (form_pdf.form, CASE_A, "qr")
    single_page = suffix in (".jpg", ".png", ".bmp")
    expected = _truth(form_pdf.form, marks)
    if single_page and form_pdf.form == CHECK_TABLE_FORM:  # only page 1 is in the file
        expected = {k: v for k, v in expected.items() if k in CHECK_TABLE_BOXES[:3]}
        assert any("第2页" in w for w in doc.warnings)
    got = {box: ev.present for box, ev in doc.evidence.items()}
    assert got == expected
    for ev in doc.evidence.values():
        assert (ev.score >= 1.0) == bool(ev.present)
        x0, y0, x1, y1 = ev.bbox
        assert x1 - x0 > 200 and y1 - y0 > 40


def test_multipage_tiff_is_split_by_qr_codes(forms: dict[str, FormPdf], tmp_path: Path,
                                             plain_settings: Settings) -> None:
    scanning = Scanning(dpi=150, angle=1.0, quality=70)
    pages = [*signed_pages(forms["ct_a"], ALL_MARKS[CHECK_TABLE_FORM], scanning, seed=1),
             *signed_pages(forms["sr_a"], Marks.of(ink=["refusal_reason"]), scanning, seed=2),
             *signed_pages(forms["ct_b"], Marks(), scanning, seed=3)]
    path = write_scan(pages, tmp_path / "batch.tif", quality=70, dpi=150)
    analysis = analyse_scan(path, plain_settings)
    assert analysis.page_count == 5
    split = [(d.form, d.case_id, d.pages) for d in analysis.documents]
    assert split == [(CHECK_TABLE_FORM, CASE_A, (0, 1)), (SITE_RECORD_FORM, CASE_A, (2,)),
                     (CHECK_TABLE_FORM, CASE_B, (3, 4))]
    assert all(ev.present for ev in analysis.documents[0].evidence.values())
    assert analysis.documents[1].evidence["refusal_reason"].present is True
    assert analysis.documents[1].evidence["party_signature"].present is False
    assert not any(ev.present for ev in analysis.documents[2].evidence.values())


def test_image_only_pdf_with_two_forms_prints_documents(forms: dict[str, FormPdf], tmp_path: Path) -> None:
    scanning = Scanning(dpi=150, angle=-1.5, quality=60)
    pages = [*signed_pages(forms["sr_a"], Marks.of(ink=["party_signature"]), scanning, seed=4),
             *signed_pages(forms["ct_a"], Marks.of(seals=["authority_seal"]), scanning, seed=5)]
    path = write_scan(pages, tmp_path / "扫描件.pdf", quality=60, dpi=150)
    with pytest.raises(InputFileError) as pending:  # the pipeline's PDF path keeps saying "a scan"
        extract_file(path)
    assert pending.value.code == "SCAN_PENDING"
    extraction = extract_scan(path).as_json()
    assert extraction["form"] == SITE_RECORD_FORM and extraction["case_ref"] == CASE_A
    assert extraction["evidence"]["party_signature"] == {"present": True,
                                                         "score": extraction["evidence"]["party_signature"]["score"]}
    assert [(d["form"], d["pages"]) for d in extraction["documents"]] == [(SITE_RECORD_FORM, [0]),
                                                                          (CHECK_TABLE_FORM, [1, 2])]
    table = extraction["documents"][1]["evidence"]
    assert table["authority_seal"]["present"] is True and table["dept_opinion_seal"]["present"] is False
    json.dumps(extraction)  # the CLI prints it as JSON


def _without_qr(image: Image.Image) -> Image.Image:
    hit = find_qr(image)
    assert hit is not None
    xs = [x for x, _ in hit.corners]
    ys = [y for _, y in hit.corners]
    blank = image.copy()
    ImageDraw.Draw(blank).rectangle((min(xs) - 20, min(ys) - 20, max(xs) + 20, max(ys) + 20), fill="white")
    return blank


def test_page_without_qr_joins_the_form_before_it(forms: dict[str, FormPdf], tmp_path: Path,
                                                  plain_settings: Settings) -> None:
    scanning = Scanning(dpi=200, angle=0.8, quality=80)
    first, second = signed_pages(forms["ct_a"], ALL_MARKS[CHECK_TABLE_FORM], scanning, seed=6)
    path = write_scan([first, _without_qr(second)], tmp_path / "two.tif", dpi=200)
    (doc,) = analyse_scan(path, plain_settings).documents
    assert (doc.case_id, doc.pages, doc.matched_by) == (CASE_A, (0, 1), "qr")
    assert any("第2页没有可读的二维码" in w for w in doc.warnings)
    assert doc.evidence["authority_seal"].page == 1
    assert doc.evidence["authority_seal"].present in (True, None)  # located by layout: never a false "absent"
    assert doc.evidence["leader_confirmation_signature"].present in (True, None)


def test_scan_without_any_qr_is_not_guessed_from_its_layout(
    forms: dict[str, FormPdf], tmp_path: Path, plain_settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without OCR (a slim install) a page without a QR code is unknown: no form, no box evidence
    # (issue 12: the layout guess called a check table a 现场检查笔录 and reported its boxes).
    monkeypatch.setattr("pipeline.scan.analyse._page_reader", lambda template_dir: None)
    rng = random.Random(8)
    (page,) = rasterise(forms["sr_a"].pdf, 150)
    page = mark_page(page, forms["sr_a"].pages[0], Marks.of(ink=["party_signature"]), 150, rng)
    page = scan_page(_without_qr(page), Scanning(dpi=150, angle=-2.0), rng)
    path = write_scan([page], tmp_path / "noqr.png")
    (doc,) = analyse_scan(path, plain_settings).documents
    assert (doc.form, doc.case_id, doc.matched_by) == (None, None, "none")
    assert not doc.evidence
    assert any("文字识别组件" in w for w in doc.warnings)


def test_uncertain_box_is_none_with_a_png_crop(forms: dict[str, FormPdf], tmp_path: Path,
                                               plain_settings: Settings) -> None:
    dpi = 200
    first, second = rasterise(forms["ct_a"].pdf, dpi)
    box = next(b for b in forms["ct_a"].pages[0].boxes if b.spec.box == "leader_approval_signature")
    k = dpi / 72
    x, y = (box.cell[0] + 60) * k, (box.cell[1] + 25) * k
    ImageDraw.Draw(first).rectangle((x, y, x + 9 * k, y + 9 * k), fill=(20, 20, 20))  # a blot, not a signature
    path = write_scan([first, second], tmp_path / "blot.tif", dpi=dpi)
    (doc,) = analyse_scan(path, plain_settings).documents
    evidence = doc.evidence["leader_approval_signature"]
    assert evidence.present is None and 0.25 < evidence.score < 1.0
    assert evidence.crop_png is not None
    crop = Image.open(io.BytesIO(evidence.crop_png))
    assert crop.format == "PNG" and crop.width > 3 * crop.height
    assert doc.evidence["dept_opinion_seal"].crop_png is None
    warnings = extract_file(path).warnings
    assert any(BOX_LABELS["leader_approval_signature"] in w and "人工核对" in w for w in warnings)


def test_normalised_pdf_holds_the_pages_upright(forms: dict[str, FormPdf], tmp_path: Path,
                                                plain_settings: Settings) -> None:
    scanning = Scanning(dpi=200, angle=4.0, quality=80)
    pages = [*signed_pages(forms["sr_a"], Marks(), scanning, seed=9),
             *signed_pages(forms["ct_a"], Marks(), scanning, seed=10)]
    source = write_scan(pages, tmp_path / "mixed.tif", dpi=200)
    out = tmp_path / "check_table.pdf"
    write_normalised_pdf(source, [1, 2], out)
    assert is_scan(out)
    pdf = pdfium.PdfDocument(out)
    try:
        assert len(pdf) == 2
        width, height = pdf[0].get_size()
        image = pdf[0].render(scale=150 / 72).to_pil()
    finally:
        pdf.close()
    assert 0.6 < width / height < 0.85  # portrait, A4-like
    hit = find_qr(image)
    assert hit is not None and hit.form == CHECK_TABLE_FORM and hit.page == 1
    (x0, y0), (x1, y1) = hit.corners[0], hit.corners[1]
    assert abs(y1 - y0) < 0.02 * abs(x1 - x0)  # level after the fix (it was 4° off)


def test_committed_geometry_matches_a_fresh_build(forms: dict[str, FormPdf]) -> None:
    for key, form in (("probe_ct", CHECK_TABLE_FORM), ("probe_sr", SITE_RECORD_FORM)):
        committed = json.loads(geometry_path(ROOT / "templates", form).read_text(encoding="utf-8"))
        fresh = json.loads(json.dumps(derive_geometry(forms[key].pdf, form)))
        assert fresh == committed, "请运行 make templates"
        assert {box for page in fresh["pages"] for box in page["boxes"]} == set(
            CHECK_TABLE_BOXES if form == CHECK_TABLE_FORM else SITE_RECORD_BOXES)
