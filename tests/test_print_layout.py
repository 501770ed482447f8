"""The printed forms look official: 宋体 comes out in a serif Simplified Chinese face, 黑体 in a sans one, the digits in
the family of the text around them (``doctor`` says when no serif face is installed), and a certificate or phone
number is never broken across two lines."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import docx
import pdfplumber
import pypdfium2
import pytest
from docx.oxml.ns import qn
from docx.shared import Pt
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

from pipeline.cli.doctor import run_checks
from pipeline.core.settings import Settings
from pipeline.documents.fonts import check_serif
from pipeline.documents.libreoffice import Converter
from pipeline.documents.render import render_check_table, render_site_record
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors, site_record_fields
from tests.system_deps import require_soffice

NOTO_SERIF = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
SERIF_SC_INDEX, SERIF_JP_INDEX = 2, 0  # faces of the collection (fc-query)


def _pdf(tmp_path: Path, source: Path) -> Path:
    require_soffice()
    with Converter(profile_root=tmp_path / "lo") as converter:
        return converter.convert(source, "pdf", tmp_path / "pdf")


def _font_of(page: pdfplumber.page.Page, text: str) -> set[str]:
    """The fonts of the characters of the first line that holds ``text``."""
    for line in page.extract_text_lines():
        at = line["text"].replace(" ", "").find(text)
        if at >= 0:
            chars = [c for c in line["chars"] if c["text"].strip()][at:at + len(text)]
            return {c["fontname"].split("+", 1)[-1] for c in chars}
    raise AssertionError(f"{text} not in the PDF")


def test_check_table_pdf_sets_song_serif_hei_sans_and_digits_in_the_same_family(tmp_path: Path,
                                                                                settings: Settings) -> None:
    rng = random.Random(7)
    company = make_companies(rng, 1)[0]
    people = make_inspectors(rng, 2)
    fields = check_table_fields(rng, company, people, dt.datetime(2026, 11, 9, 9, 30))
    source = tmp_path / "检查表.docx"
    render_check_table(fields, source, template_dir=settings.templates_dir, bureau="烟台市工业和信息化局",
                       case_id="SS-2026-00001")
    with pdfplumber.open(_pdf(tmp_path, source)) as pdf:
        page = pdf.pages[0]
        body = _font_of(page, company.name)
        assert len(body) == 1 and "NotoSerifCJK" in next(iter(body)), body
        assert {f for f in _font_of(page, "随机抽查事项检查表") if "Sans" in f}, "title in 黑体 (a sans face)"
        assert _font_of(page, people[0].licence_no) == body  # digits: the family of the 宋体 text
        assert _font_of(page, "SS-2026-00001") == body


def _glyph(image: Image.Image) -> Image.Image:
    """The ink of ``image``, cut to its box and scaled to 96×96 pixels."""
    gray = image.convert("L")
    box = ImageOps.invert(gray).getbbox()
    assert box is not None, "no ink"
    return gray.crop(box).resize((96, 96))


def _difference(a: Image.Image, b: Image.Image) -> int:
    return sum(ImageChops.difference(a, b).point(lambda v: 255 if v > 96 else 0).histogram()[255:])


def test_song_glyphs_are_the_simplified_chinese_ones(tmp_path: Path) -> None:
    # 直 is drawn differently in Japanese and in Simplified Chinese; the PDF names the collection's JP face
    # (one CFF table for all its languages), so the glyph itself is compared.
    document = docx.Document()
    style = document.styles["Normal"]
    style.font.name = "宋体"
    style.font.size = Pt(96)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    document.add_paragraph("直")
    source = tmp_path / "直.docx"
    document.save(str(source))
    pdf = pypdfium2.PdfDocument(str(_pdf(tmp_path, source)))
    try:
        printed = _glyph(pdf[0].render(scale=2).to_pil())
    finally:
        pdf.close()

    def reference(index: int) -> Image.Image:
        canvas = Image.new("L", (300, 300), 255)
        ImageDraw.Draw(canvas).text((20, 20), "直", fill=0, font=ImageFont.truetype(NOTO_SERIF, 192, index=index))
        return _glyph(canvas)

    sc, jp = reference(SERIF_SC_INDEX), reference(SERIF_JP_INDEX)
    assert _difference(printed, sc) * 2 < _difference(printed, jp)


def test_doctor_finds_the_serif_face(tmp_path: Path, settings: Settings) -> None:
    found = check_serif(tmp_path)
    assert found.ok and found.face == "Noto Serif CJK SC" and found.detail == "宋体 → Noto Serif CJK SC"
    [check] = [c for c in run_checks(settings) if c.name.startswith("宋体")]
    assert check.ok and not check.optional


def test_doctor_says_how_to_install_a_serif_face_when_there_is_none(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # A server whose only fonts are DejaVu: 宋体 would come out in a Latin sans face.
    conf = tmp_path / "only-dejavu.conf"
    conf.write_text(f"""<?xml version="1.0"?>
<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{tmp_path / "cache"}</cachedir></fontconfig>
""", encoding="utf-8")
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    found = check_serif(tmp_path / "check")
    assert not found.ok and found.face.startswith("DejaVu")
    assert found.detail.startswith(f"宋体会被换成 {found.face}。没有宋体类（衬线）中文字体")
    assert "sudo apt-get install fonts-noto-cjk" in found.detail


# The longest numbers a form must hold: certificates of 15 and 19 digits and one with a province prefix; a mobile
# number, a landline and a landline with an extension.
LONG_NUMBERS = (("370601201800012", "13873383683"), ("3706012018000123456", "0535-66881234"),
                ("鲁370601201800012345", "0535-66881234-123"))


def test_certificate_and_phone_numbers_stay_on_one_line(tmp_path: Path, settings: Settings) -> None:
    rng = random.Random(11)
    company = make_companies(rng, 1)[0]
    people = make_inspectors(rng, 3)
    start = dt.datetime(2026, 11, 9, 9, 30)
    fields = check_table_fields(rng, company, people, start)
    record = site_record_fields(rng, company, people, start)
    for inspector, (licence, phone) in zip(fields["inspectors"], LONG_NUMBERS, strict=True):
        inspector.update(licence_no=licence, phone=phone, title="一级主任科员")
    record["inspectors"] = [{"name": i["name"], "licence_no": i["licence_no"]} for i in fields["inspectors"]]
    check, site = tmp_path / "检查表.docx", tmp_path / "笔录.docx"
    render_check_table(fields, check, template_dir=settings.templates_dir, bureau="烟台市工业和信息化局",
                       case_id="SS-2026-00001")
    render_site_record(record, site, template_dir=settings.templates_dir, bureau="烟台市工业和信息化局",
                       case_id="SS-2026-00001")
    require_soffice()
    with Converter(profile_root=tmp_path / "lo") as converter:
        pdfs = converter.convert_many([check, site], "pdf", tmp_path / "pdf")
    for source, numbers in ((check, [n for pair in LONG_NUMBERS for n in pair]),
                            (site, [licence for licence, _ in LONG_NUMBERS])):
        with pdfplumber.open(pdfs[source]) as pdf:
            lines = [line["text"].replace(" ", "") for line in pdf.pages[0].extract_text_lines()]
        for number in numbers:
            assert any(number in line for line in lines), (source.name, number, lines)
