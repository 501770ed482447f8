"""The optional OCR extra (``pipeline.scan.ocr``): printed company name, dates and form read from
real rendered forms that were sealed over in red, rotated, noised and saved as JPEG; and the pipeline
without the extra."""

from __future__ import annotations

import datetime as dt
import io
import math
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from pipeline.cli.doctor import run_checks
from pipeline.core.settings import Settings
from pipeline.documents.libreoffice import Converter
from pipeline.documents.render import render_check_table, render_site_record
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors, site_record_fields
from pipeline.scan import ocr
from pipeline.scan.ocr import OcrLine, OcrUnavailable

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
BUREAU = "烟台市工业和信息化局"
DPI = 200
SEED = 5150
SEAL_RED = (214, 32, 38)


# --- synthetic scans ------------------------------------------------------------------------------
def _cjk_font(size: int) -> ImageFont.FreeTypeFont:
    listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=True).stdout
    files = sorted(line.split(":")[0].strip() for line in listed.splitlines() if line.strip())
    assert files, "no Chinese font installed (fonts-noto-cjk)"
    return ImageFont.truetype(files[0], size)


def _seal(page: Image.Image, centre: tuple[float, float], text: str, radius: int = 160) -> Image.Image:
    """``page`` with a red round seal (rim, text round the rim, star) stamped over it like ink."""
    layer = Image.new("RGB", page.size, "white")
    draw = ImageDraw.Draw(layer)
    cx, cy = centre
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=SEAL_RED, width=12)
    font = _cjk_font(int(radius * 0.3))
    for i, char in enumerate(text):
        angle = math.radians(-200 + 220 * (i + 0.5) / len(text))
        glyph = Image.new("L", (int(radius * 0.4),) * 2, 0)
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), char, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        x = cx + radius * 0.72 * math.cos(angle) - glyph.width / 2
        y = cy + radius * 0.72 * math.sin(angle) - glyph.height / 2
        layer.paste(SEAL_RED, (int(x), int(y)), glyph)
    star = [(cx + radius * (0.28 if k % 2 == 0 else 0.11) * math.cos(math.radians(-90 + 36 * k)),
             cy + radius * (0.28 if k % 2 == 0 else 0.11) * math.sin(math.radians(-90 + 36 * k))) for k in range(10)]
    draw.polygon(star, fill=SEAL_RED)
    return ImageChops.multiply(page.convert("RGB"), layer)  # ink: black print stays black under the seal


def _scanned(page: Image.Image, rng: random.Random) -> Image.Image:
    """``page`` as a scanner delivers it: slightly rotated, noisy, JPEG at quality 60."""
    image = page.rotate(rng.uniform(-0.8, 0.8), resample=Image.Resampling.BICUBIC, fillcolor="white")
    noise = Image.effect_noise(image.size, 12).convert("RGB")
    image = ImageChops.add(image, noise, scale=1.0, offset=-128)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


@dataclass(frozen=True)
class Scan:
    form: str
    unit: str
    day: str
    case_id: str | None
    pages: tuple[Image.Image, ...]
    seal_centre: tuple[float, float]  # on page 1, over the 被抽查单位 / 被检查单位 value


def _sealed_pages(pdf: Path, unit: str, seal_text: str, rng: random.Random) -> tuple[list[Image.Image], tuple[float, float]]:
    document = pdfium.PdfDocument(str(pdf))
    scale = DPI / 72
    pages: list[Image.Image] = []
    centre = (0.0, 0.0)
    with pdfplumber.open(pdf) as plumbed:
        for index in range(len(document)):
            page = document[index].render(scale=scale).to_pil()
            if index == 0:
                hit = plumbed.pages[0].search(unit)[0]
                # the rim crosses the name, the star sits just right of its middle
                centre = ((hit["x0"] + hit["x1"]) / 2 * scale + 40, (hit["top"] + hit["bottom"]) / 2 * scale + 25)
                page = _seal(page, centre, seal_text)
            pages.append(_scanned(page, rng))
    document.close()
    return pages, centre


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scan]:
    """A check table and a 现场检查笔录 rendered, converted by LibreOffice in one call, sealed, scanned."""
    folder = tmp_path_factory.mktemp("ocr-scans")
    rng = random.Random(SEED)
    table_co, record_co = make_companies(rng, 2)
    people = make_inspectors(rng, 2)
    table_fields = check_table_fields(rng, table_co, people, dt.datetime(2026, 10, 21, 9, 30))
    record_fields = site_record_fields(rng, record_co, people, dt.datetime(2026, 9, 3, 14, 0))
    table_docx, record_docx = folder / "检查表.docx", folder / "笔录.docx"
    render_check_table(table_fields, table_docx, template_dir=TEMPLATES, bureau=BUREAU, case_id="SS-2026-00417")
    render_site_record(record_fields, record_docx, template_dir=TEMPLATES, bureau=BUREAU, case_id=None)
    with Converter() as converter:
        pdfs = converter.convert_many([table_docx, record_docx], "pdf", folder)
    table_pages, table_seal = _sealed_pages(pdfs[table_docx], table_co.name, BUREAU, rng)
    record_pages, record_seal = _sealed_pages(pdfs[record_docx], record_co.name, record_co.name[:10], rng)
    return {
        "check_table": Scan("check_table", table_co.name, "2026-10-21", "SS-2026-00417", tuple(table_pages), table_seal),
        "site_record": Scan("site_record", record_co.name, "2026-09-03", None, tuple(record_pages), record_seal),
    }


@pytest.fixture(scope="module")
def lines(scans: dict[str, Scan]) -> dict[tuple[str, int], list[OcrLine]]:
    """OCR of the pages the layout tests look at, once for the module (seconds a page)."""
    assert ocr.available(), ocr.describe()
    return {(name, index): ocr.read_lines(scans[name].pages[index]) for name, index in
            (("check_table", 1), ("site_record", 0))}


def _red_pixels(image: Image.Image) -> int:
    red, green, blue = image.convert("RGB").split()
    redness = ImageChops.darker(ImageChops.subtract(red, green), ImageChops.subtract(red, blue))
    return redness.point(lambda v: 255 if v >= 80 else 0).histogram()[255]


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None


# --- reading sealed scans ---------------------------------------------------------------------------
@pytest.mark.libreoffice
def test_scan_really_has_the_seal_over_the_company_name(scans: dict[str, Scan]) -> None:
    """Guards the fixture: the red seal lies on the name row, so the next tests read through it."""
    scan = scans["check_table"]
    cx, cy = scan.seal_centre
    region = scan.pages[0].crop((int(cx - 170), int(cy - 170), int(cx + 170), int(cy + 170)))
    assert _red_pixels(region) > 8000


@pytest.mark.libreoffice
def test_read_fields_reads_company_form_and_number_through_a_red_seal(scans: dict[str, Scan]) -> None:
    scan = scans["check_table"]
    original = scan.pages[0].copy()
    fields = ocr.read_fields(scan.pages[0])
    assert fields["inspected_unit"] == scan.unit
    assert fields["form"] == "check_table"
    assert fields["case_ref"] == scan.case_id
    assert "check_start" not in fields  # 抽查时间 is on page 2 of the check table
    assert _same(scan.pages[0], original)  # the caller's image is untouched


@pytest.mark.libreoffice
def test_check_date_is_read_from_the_second_page_of_the_check_table(
    scans: dict[str, Scan], lines: dict[tuple[str, int], list[OcrLine]]
) -> None:
    fields = {key: found.value for key, found in ocr.find_fields(lines["check_table", 1]).items()}
    assert fields["check_start"] == scans["check_table"].day
    assert fields["check_end"] == scans["check_table"].day
    assert fields["form"] == "check_table"  # no title on page 2: told by labels printed only on this form
    assert "inspected_unit" not in fields


@pytest.mark.libreoffice
def test_site_record_gives_unit_date_and_form(scans: dict[str, Scan], lines: dict[tuple[str, int], list[OcrLine]]) -> None:
    scan = scans["site_record"]
    found = ocr.find_fields(lines["site_record", 0])
    assert found["inspected_unit"].value == scan.unit
    assert found["check_start"].value == scan.day
    assert found["form"].value == "site_record"
    assert "case_ref" not in found  # rendered without a case number
    # provenance: the value comes from a line on the label's row, right of it, with its confidence
    label, value = found["inspected_unit"].lines[0], found["inspected_unit"].lines[-1]
    assert label.text.startswith("被检查单位") and value.bbox[0] > label.bbox[2]
    assert abs(value.middle - label.middle) < label.height
    assert ocr.MIN_CONFIDENCE <= found["inspected_unit"].confidence <= 1.0


@pytest.mark.libreoffice
def test_read_lines_are_in_reading_order_with_boxes_on_the_page(
    scans: dict[str, Scan], lines: dict[tuple[str, int], list[OcrLine]]
) -> None:
    page = lines["site_record", 0]
    width, height = scans["site_record"].pages[0].size
    texts = [line.text for line in page]
    title = next(i for i, text in enumerate(texts) if "现场检查笔录" in text)
    unit_label = texts.index("被检查单位")
    assert title < texts.index("检查时间") < unit_label < texts.index("检查情况")
    assert texts[unit_label + 1] == scans["site_record"].unit  # the value follows its label on the row
    for line in page:
        left, top, right, bottom = line.bbox
        assert 0 <= left < right <= width and 0 <= top < bottom <= height
        assert 0.0 <= line.confidence <= 1.0


# --- red removal --------------------------------------------------------------------------------------
def test_remove_red_whitens_seal_ink_and_keeps_black_print_under_it() -> None:
    page = Image.new("RGB", (300, 100), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((10, 10, 90, 90), fill=(0, 0, 0))  # print
    draw.rectangle((110, 10, 190, 90), fill=SEAL_RED)  # seal ink
    draw.rectangle((210, 10, 290, 90), fill=(150, 20, 30))  # dark, heavily stamped seal ink
    sealed_print = ImageChops.multiply(Image.new("RGB", (80, 80), (20, 20, 20)), Image.new("RGB", (80, 80), SEAL_RED))
    page.paste(sealed_print, (10, 10))  # print under the seal
    before = page.copy()
    clean = ocr.remove_red(page)
    assert clean.mode == "RGB" and clean.size == page.size
    assert clean.getpixel((50, 50))[0] < 40
    assert clean.getpixel((150, 50)) == (255, 255, 255)
    assert clean.getpixel((250, 50)) == (255, 255, 255)
    assert clean.getpixel((5, 5)) == (255, 255, 255)
    assert _same(page, before)


# --- layout rules on given lines (no OCR) ---------------------------------------------------------------
def _line(text: str, left: float, top: float, right: float, confidence: float = 0.99) -> OcrLine:
    return OcrLine(text, (left, top, right, top + 40), confidence)


def test_value_after_the_label_on_the_same_line_and_split_values_are_joined() -> None:
    found = ocr.find_fields([
        _line("被检查单位：烟台港城化工有限公司", 100, 500, 900),
        _line("检查时间", 100, 600, 260),
        _line("二〇二六年三月五日", 300, 604, 600),
        _line("9时30分至11时", 620, 598, 900),
    ])
    assert found["inspected_unit"].value == "烟台港城化工有限公司"
    assert found["check_start"].value == "2026-03-05"
    assert found["check_end"].value == "2026-03-05"
    assert found["form"].value == "site_record"


def test_unsure_or_missing_values_are_left_out() -> None:
    found = ocr.find_fields([
        _line("烟台市工业和信息化局随机抽查事项检查表", 300, 300, 1300),
        _line("被抽查单位", 100, 500, 280),
        _line("烟台博远盐业有限公司", 300, 500, 700, confidence=0.62),
        _line("抽查时间", 100, 700, 260),
        _line("年 月 日 时 分至 时 分", 300, 700, 900),  # the blank template
        _line("抽查依据", 100, 900, 260),  # a different row: never taken as a value
    ])
    assert found.keys() == {"form"}
    assert found["form"].value == "check_table"


def test_a_page_with_labels_of_both_forms_and_no_title_has_no_form() -> None:
    found = ocr.find_fields([_line("被抽查单位", 100, 500, 280), _line("检查地点", 100, 600, 260)])
    assert "form" not in found


# --- engine: no download, and the pipeline without the extra --------------------------------------------
@pytest.fixture
def fresh_engine() -> Iterator[None]:
    """Forget the cached engine before and after, so each test loads it under its own conditions."""
    ocr._load.cache_clear()
    yield
    ocr._load.cache_clear()


def test_engine_loads_its_models_with_the_network_blocked(monkeypatch: pytest.MonkeyPatch, fresh_engine: None) -> None:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert ocr.available(), ocr.describe()
    assert "PP-OCRv6" in ocr.describe()
    lines = ocr.read_lines(Image.new("RGB", (400, 200), "white"))
    assert lines == []
    assert attempts == []


def test_missing_model_file_disables_ocr_instead_of_downloading(monkeypatch: pytest.MonkeyPatch,
                                                                fresh_engine: None) -> None:
    monkeypatch.setattr(ocr, "_DET_MODEL", "PP-OCRv6_det_missing.onnx")
    assert not ocr.available()
    assert "PP-OCRv6_det_missing.onnx" in ocr.describe()


def test_without_the_extra_ocr_is_unavailable_and_doctor_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, fresh_engine: None, settings: Settings
) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr", None)  # what an uninstalled package looks like to import
    assert ocr.available() is False
    with pytest.raises(OcrUnavailable) as info:
        ocr.read_fields(Image.new("RGB", (100, 100), "white"))
    assert "pip install 'shuangsui[ocr]'" in info.value.message
    assert info.value.exit_code == 4
    check = next(c for c in run_checks(settings) if c.name == "文字识别（可选）")
    assert check.optional and not check.ok
    assert "rapidocr" in check.detail and "pip install 'shuangsui[ocr]'" in check.detail


def test_without_the_extra_a_scan_is_still_analysed(monkeypatch: pytest.MonkeyPatch, fresh_engine: None,
                                                    settings: Settings, tmp_path: Path) -> None:
    """The scan analysis asks ``available()`` and never calls ``read_fields`` without the extra."""
    from pipeline.scan import analyse_scan

    monkeypatch.setitem(sys.modules, "rapidocr", None)
    calls: list[Image.Image] = []
    monkeypatch.setattr(ocr, "read_fields", lambda image: calls.append(image) or {})
    path = tmp_path / "扫描件.png"
    page = Image.new("RGB", (1654, 2339), "white")
    ImageDraw.Draw(page).text((200, 300), "烟台市工业和信息化局随机抽查事项检查表", font=_cjk_font(60), fill="black")
    page.save(path)
    analysis = analyse_scan(path, settings)
    assert calls == []
    assert len(analysis.documents) == 1
    assert analysis.documents[0].fields.get("inspected_unit") is None
