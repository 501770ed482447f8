"""Scan inputs that must be refused with a Chinese message, and what counts as a scan (no LibreOffice)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from pipeline.core.errors import InputFileError
from pipeline.core.settings import Settings
from pipeline.extract import extract_file
from pipeline.scan import analyse_scan, is_scan
from pipeline.scan.pages import iter_pages


@pytest.fixture(autouse=True)
def _no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    # The optional OCR extra (seconds per page) is another module's concern; keep it out of these tests.
    monkeypatch.setattr("pipeline.scan.analyse._page_reader", lambda template_dir: None)


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width``×``height`` pixels (a decompression bomb's shape)."""
    buf = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def _text_pdf(lines: list[str]) -> bytes:
    """A PDF with one line of Helvetica text per page (a real text layer), written by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for i, line in enumerate(lines):
        page_no, content_no = 4 + 2 * i, 5 + 2 * i
        kids.append(f"{page_no} 0 R")
        stream = f"BT /F1 14 Tf 72 760 Td ({line}) Tj ET"
        objects += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_no} 0 R "
                    "/Resources << /Font << /F1 3 0 R >> >> >>",
                    f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream"]
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(lines)} >>"
    objects.insert(2, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _page(width: int = 1240, height: int = 1754) -> Image.Image:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).rectangle((width // 10, height // 6, width * 9 // 10, height * 5 // 6), outline="black",
                                    width=3)
    return image


def test_decompression_bomb_is_refused_as_too_large_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(40_000, 40_000))
    with pytest.raises(InputFileError) as info:
        analyse_scan(path, Settings())
    assert info.value.code == "FILE_TOO_LARGE"
    assert "扫描件过大" in info.value.message and "dpi" in info.value.message


def test_page_over_the_pixel_setting_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    _page(2000, 1500).save(path)
    with pytest.raises(InputFileError) as info:
        analyse_scan(path, Settings(scan_max_pixels=2_000_000))
    assert info.value.code == "FILE_TOO_LARGE" and "2000×1500" in info.value.message


def test_too_many_pages_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "many.tif"
    frames = [_page(400, 560) for _ in range(4)]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    with pytest.raises(InputFileError) as info:
        list(iter_pages(path, max_pixels=10**8, max_pages=3))
    assert info.value.code == "FILE_TOO_LARGE" and "共 4 页" in info.value.message


def test_truncated_jpeg_is_unreadable_with_a_chinese_message(tmp_path: Path) -> None:
    buf = io.BytesIO()
    _page().save(buf, format="JPEG", quality=80)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    assert is_scan(path)
    with pytest.raises(InputFileError) as info:
        analyse_scan(path, Settings())
    assert info.value.code == "FILE_UNREADABLE" and "重新扫描" in info.value.message
    with pytest.raises(InputFileError) as via_extract:
        extract_file(path)
    assert via_extract.value.code == "FILE_UNREADABLE"


def test_corrupt_pdf_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    with pytest.raises(InputFileError) as info:
        analyse_scan(path, Settings())
    assert info.value.code == "FILE_UNREADABLE"


def test_blank_page_without_form_is_reported_unknown_not_failed(tmp_path: Path) -> None:
    path = tmp_path / "blank.png"
    Image.new("L", (1240, 1754), 250).save(path)
    analysis = analyse_scan(path, Settings())
    (doc,) = analysis.documents
    assert (doc.form, doc.case_id, doc.matched_by, dict(doc.evidence)) == (None, None, "none", {})
    assert doc.warnings and "二维码" in doc.warnings[0]
    with pytest.raises(InputFileError) as info:
        extract_file(path)
    assert info.value.code == "FILE_NOT_CHECK_TABLE" and "二维码" in info.value.message


def test_text_pdf_is_not_a_scan_and_mixed_pdf_reports_text_pages(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    text_pdf = tmp_path / "text.pdf"
    text_pdf.write_bytes(_text_pdf(["Inspection record, page 1", "Inspection record, page 2"]))
    assert not is_scan(text_pdf)

    mixed = tmp_path / "mixed.pdf"
    scans = tmp_path / "scan.pdf"
    _page(620, 877).save(scans, format="PDF", resolution=75)
    merged = pdfium.PdfDocument(text_pdf)
    merged.import_pages(pdfium.PdfDocument(scans))
    merged.save(str(mixed))
    merged.close()
    assert is_scan(mixed)
    analysis = analyse_scan(mixed, Settings())
    assert analysis.page_count == 3 and analysis.text_pages == (0, 1)
    assert [d.pages for d in analysis.documents] == [(2,)]


def test_transparent_png_is_read_as_white_paper_and_large_pages_are_reduced(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    image = Image.new("RGBA", (3000, 4200), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((300, 700, 2700, 3500), outline=(0, 0, 0, 255), width=9)
    image.save(path)
    (page,) = list(iter_pages(path, max_pixels=10**8, max_pages=5))
    assert page.image is not None and page.image.mode == "RGB"
    assert max(page.image.size) <= 2400
    assert page.image.getpixel((10, 10)) == (255, 255, 255)
    assert max(page.image.getpixel((172, 1000))) < 128  # the drawn border (x 300), at 2400/4200 of its size
