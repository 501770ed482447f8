"""A two-page scan of the pipeline's printed check table where only page 1 still carries its QR code
(page 2's was cut off, smudged or covered by a seal): both pages belong to the case, and page 2's
boxes are found from its printed labels. The marks are placed by ``scan_forge`` from the PDF itself."""

from __future__ import annotations

import random
from pathlib import Path

import pdfplumber
import pytest
from PIL import ImageDraw

from pipeline.core.settings import Settings
from pipeline.documents.libreoffice import Converter
from pipeline.documents.render import CHECK_TABLE_FORM
from pipeline.samples.scan_synth import FormPdfs
from pipeline.scan import analyse_scan
from pipeline.scan.geometry import BOX_SPECS
from tests.scan_forge import BOXES, Scanner, locate_cells, marked_pages, scanned

pytestmark = pytest.mark.libreoffice
ROOT = Path(__file__).resolve().parent.parent
CASE = "SS-2026-00031"


@pytest.mark.parametrize(("truth", "scanner"), [
    (dict.fromkeys(BOXES, True), Scanner(dpi=200, angle=1.5, quality=75)),
    ({"dept_opinion_seal": True, "leader_approval_signature": False, "authority_opinion_seal": True,
      "leader_confirmation_signature": True, "authority_seal": False}, Scanner(dpi=150, angle=-3.0, quality=50)),
], ids=["all-signed-200dpi", "two-missing-150dpi-q50"])
def test_page_two_without_its_qr_code_is_read_from_its_printed_labels(
        tmp_path: Path, truth: dict[str, bool], scanner: Scanner) -> None:
    with Converter() as converter:
        printed = FormPdfs(converter, tmp_path, ROOT / "templates").get(CHECK_TABLE_FORM, CASE).pdf
    rng = random.Random(31)
    pages = marked_pages(printed, locate_cells(printed), truth, scanner.dpi, rng)
    with pdfplumber.open(printed) as pdf:  # the QR code is the page's only picture
        qr_codes = [(image["x0"], image["top"], image["x1"], image["bottom"]) for image in pdf.pages[1].images]
    assert len(qr_codes) == 1
    k = scanner.dpi / 72
    ImageDraw.Draw(pages[1]).rectangle(tuple(v * k for v in qr_codes[0]), fill="white")
    shots = [scanned(page, scanner, rng) for page in pages]
    path = tmp_path / "IMG_0031.tif"
    shots[0].save(path, save_all=True, append_images=shots[1:], compression="jpeg", quality=scanner.quality)

    (doc,) = analyse_scan(path, Settings()).documents
    assert (doc.form, doc.case_id, doc.matched_by, doc.pages) == (CHECK_TABLE_FORM, CASE, "qr", (0, 1))
    assert any("第2页没有可读的二维码，按印制的栏目名" in w for w in doc.warnings), doc.warnings
    page_of = {s.box: s.page for s in BOX_SPECS if s.form == CHECK_TABLE_FORM}
    assert {box: doc.evidence[box].page + 1 for box in BOXES} == {box: page_of[box] for box in BOXES}
    assert {box: doc.evidence[box].present for box in BOXES} == truth
