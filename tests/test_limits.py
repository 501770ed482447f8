"""The limits checked before parsing (pipeline/limits.py) and dates run into their hour (issue #10).

Hostile files come from ``tests/hostile_files.py`` (raw bytes, ``struct``, ``zlib``); the controls
built the same way must pass the limits and open in the real readers, so that a refusal is the
limit's doing and not a broken builder.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pypdfium2 as pdfium
import pytest
from PIL import Image

from pipeline.core import limits
from pipeline.core.errors import InputFileError
from pipeline.core.text import find_dates, joined_date_times, parse_period
from pipeline.extract import detect_kind, extract_file
from tests.conftest import Samples
from tests.hostile_files import (
    CORPUS,
    deflated,
    many_members_docx,
    members_of,
    plain_pdf,
    png,
    raw_pdf,
    shared_strings_xlsx,
    write_zip,
    xlsx,
    zip_bomb_docx,
)


@pytest.fixture(autouse=True)
def pillow_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """``check_image`` sets Pillow's process-wide limit to the setting; restore it for later tests."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


@pytest.fixture
def base(samples: Samples, tmp_path: Path) -> Path:
    return samples.check_table("检查表.docx", folder=tmp_path)


def refusal(path: Path, kind: str | None = None, max_pixels: int = 80_000_000) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        limits.check_input(path, kind or detect_kind(path), max_image_pixels=max_pixels)
    return info.value


# --- controls -----------------------------------------------------------------------------------
def test_controls_pass_the_limits_and_open_in_the_readers(base: Path, tmp_path: Path) -> None:
    limits.check_input(base, "docx")
    rebuilt = write_zip(tmp_path / "rebuilt.docx", members_of(base))  # our zip writer, sane content
    limits.check_input(rebuilt, detect_kind(rebuilt))
    assert extract_file(rebuilt).fields["inspected_unit"] == extract_file(base).fields["inspected_unit"]

    book = xlsx(tmp_path / "control.xlsx")
    limits.check_input(book, detect_kind(book))
    ws = openpyxl.load_workbook(book).active
    assert ws is not None and ws["A1"].value == "被抽查单位" and ws["B1"].value == 1

    pdf_path = tmp_path / "control.pdf"
    pdf_path.write_bytes(plain_pdf())
    limits.check_input(pdf_path, "pdf")
    assert len(pdfium.PdfDocument(pdf_path)) == 1

    image = tmp_path / "control.png"
    image.write_bytes(png(40, 1))
    limits.check_input(image, "image", max_image_pixels=1000)
    with Image.open(image) as img:
        img.load()
        assert img.size == (40, 1)


# --- zip ----------------------------------------------------------------------------------------
def test_zip_bomb_is_refused_on_its_declaration_before_anything_is_inflated(
        base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = zip_bomb_docx(base, tmp_path / "bomb.docx")
    assert bomb.stat().st_size < 2 * 1024 * 1024
    with zipfile.ZipFile(bomb) as zf:  # the declaration is true: 1 GiB of XML
        assert zf.getinfo("word/document.xml").file_size > 1024 ** 3

    def no_inflating(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was decompressed")

    monkeypatch.setattr(limits, "_stream_member", no_inflating)
    error = refusal(bomb)
    assert error.code == "FILE_TOO_COMPLEX" and "word/document.xml 解压后 1024 MB" in error.message


def test_zip_directory_is_read_with_struct_including_zip64(base: Path, tmp_path: Path) -> None:
    many = many_members_docx(base, tmp_path / "many.docx", count=70_000)
    entries, cd_size = limits.zip_directory(many) or (0, 0)
    with zipfile.ZipFile(many) as zf:  # an independent reader of the same directory
        assert entries == len(zf.infolist()) > 0xFFFF
    assert 46 * entries < cd_size < limits.MAX_CENTRAL_DIRECTORY_BYTES
    assert not limits.zip_directory_ok(many)
    # Sniffing does not open such a container; the limit check names the count.
    assert detect_kind(many) == "zip"
    assert "70015 个内部文件" in refusal(many, "zip").message


def test_declared_cell_ranges_are_bounded(tmp_path: Path) -> None:
    assert "A1:B200000" in refusal(xlsx(tmp_path / "rows.xlsx", dimension="A1:B200000")).message
    assert "A1:ZZZ1" in refusal(xlsx(tmp_path / "columns.xlsx", dimension="A1:ZZZ1")).message
    # Within the corner limits, but 1000 × 100000 merged cells are too many objects for openpyxl.
    merged = refusal(xlsx(tmp_path / "merged.xlsx", merge="A1:ALL100000"))
    assert "1000000 个单元格" in merged.message
    limits.check_input(xlsx(tmp_path / "small-merge.xlsx", merge="A1:D3"), "xlsx")


def test_shared_strings_by_size_and_by_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    huge = shared_strings_xlsx(tmp_path / "huge.xlsx", megabytes=300)
    assert huge.stat().st_size < 2 * 1024 * 1024
    assert "共享字符串表解压后 300 MB" in refusal(huge).message
    strings = "".join(f"<si><t>{i}</t></si>" for i in range(30_000))
    sst = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{strings}</sst>'
    small = xlsx(tmp_path / "small.xlsx", shared=deflated("xl/sharedStrings.xml", sst.encode()))
    limits.check_input(small, "xlsx")
    monkeypatch.setattr(limits, "MAX_SHARED_STRINGS", 20_000)
    assert "共享字符串超过 20000 个" in refusal(small).message


def test_entities_are_never_expanded(base: Path, tmp_path: Path) -> None:
    internal = '<!DOCTYPE w:document [<!ENTITY name "某某公司">]>\n'
    body = "<w:p><w:r><w:t>&name;</w:t></w:r></w:p>"
    xml = (f'<?xml version="1.0"?>\n{internal}<w:document xmlns:w="http://schemas.openxmlformats.org/'
           f'wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>').encode()
    one_entity = write_zip(tmp_path / "entity.docx", members_of(base, {"word/document.xml":
                                                                        deflated("word/document.xml", xml)}))
    error = refusal(one_entity)  # even a harmless one: Office never writes a DTD
    assert error.code == "FILE_TOO_COMPLEX" and "实体" in error.message


# --- PDF ----------------------------------------------------------------------------------------
def test_pdf_page_tree_shared_subtree_is_refused(tmp_path: Path) -> None:
    # Two references to the same node: a tree that multiplies its pages at every level.
    pages = raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R 3 0 R] /Count 2 >>",
                     b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"])
    path = tmp_path / "shared.pdf"
    path.write_bytes(pages)
    error = refusal(path)
    assert error.code == "FILE_UNREADABLE" and "循环引用" in error.message


def test_pdf_real_page_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kids = " ".join(f"{n} 0 R" for n in range(3, 13)).encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [" + kids + b"] /Count 1 >>"]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * 10
    path = tmp_path / "ten.pdf"
    path.write_bytes(raw_pdf(objects))
    limits.check_input(path, "pdf")
    monkeypatch.setattr(limits, "MAX_PDF_PAGES", 9)  # /Count says 1; the tree holds 10
    assert "超过 9 页" in refusal(path).message


# --- images -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_header_parser_agrees_with_pillow(tmp_path: Path, fmt: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (123, 45), "white").save(buf, fmt, **({"progressive": True} if fmt == "JPEG" else {}))
    path = tmp_path / f"image.{fmt.lower()}"
    path.write_bytes(buf.getvalue())
    assert limits.image_size(path) == (123, 45)
    limits.check_image(path, 123 * 45)
    assert refusal(path, "image", max_pixels=123 * 45 - 1).code == "FILE_TOO_LARGE"


def test_other_formats_use_pillows_limit_set_to_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "scan.tif"
    Image.new("L", (300, 200), 255).save(path, "TIFF")
    assert limits.image_size(path) is None  # not parsed by us: Pillow's lazy open gives the size
    limits.check_image(path, 60_000)
    error = refusal(path, "image", max_pixels=20_000)  # 60000 > 2 × 20000: Pillow itself refuses
    assert error.code == "FILE_TOO_LARGE"
    assert Image.MAX_IMAGE_PIXELS == 20_000


def test_every_hostile_file_has_a_distinct_name() -> None:
    assert len({h.name for h in CORPUS}) == len(CORPUS)


# --- dates written together with their hour (issue #10, item 8) ---------------------------------
@pytest.mark.parametrize(("text", "start", "end"), [
    ("2026/4/149时至11时30分", dt.datetime(2026, 4, 14, 9, 0), dt.datetime(2026, 4, 14, 11, 30)),
    ("2026.5.1915时00分至17时", dt.datetime(2026, 5, 19, 15, 0), dt.datetime(2026, 5, 19, 17, 0)),
    ("2026年4月149时至11时", dt.datetime(2026, 4, 14, 9, 0), dt.datetime(2026, 4, 14, 11, 0)),
    ("2026-4-149:30-11:00", dt.datetime(2026, 4, 14, 9, 30), dt.datetime(2026, 4, 14, 11, 0)),
    ("2026/4/0509时至10时", dt.datetime(2026, 4, 5, 9, 0), dt.datetime(2026, 4, 5, 10, 0)),
    ("2026/4/149时至2026/4/1511时", dt.datetime(2026, 4, 14, 9, 0), dt.datetime(2026, 4, 15, 11, 0)),
    # Separated ones are read as before.
    ("2026年3月5日9时30分至11时00分", dt.datetime(2026, 3, 5, 9, 30), dt.datetime(2026, 3, 5, 11, 0)),
    ("2026/4/14 9时至11时", dt.datetime(2026, 4, 14, 9, 0), dt.datetime(2026, 4, 14, 11, 0)),
])
def test_date_run_into_its_hour_is_read_by_its_one_valid_reading(
        text: str, start: dt.datetime, end: dt.datetime) -> None:
    assert parse_period(text) == (start, end)


def test_joined_readings_are_reported_and_two_readings_are_not_guessed() -> None:
    [one] = joined_date_times("2026.5.1915时00分")
    assert one.text == "2026.5.1915时" and one.readings == (dt.datetime(2026, 5, 19, 15, 0),)
    [two] = joined_date_times("2026/4/111时至12时")  # 1日11时 or 11日1时
    assert len(two.readings) == 2
    assert parse_period("2026/4/111时至12时") == (None, None)
    assert find_dates("2026/4/111时") == []
    assert joined_date_times("2026年3月5日9时30分") == []


def _with_period(base: Path, path: Path, period: str) -> Path:
    with zipfile.ZipFile(base) as zf:
        xml = zf.read("word/document.xml").decode()
    assert "2026年11月9日9时30分至11时00分" in xml
    xml = xml.replace("2026年11月9日9时30分至11时00分", period)
    return write_zip(path, members_of(base, {"word/document.xml": deflated("word/document.xml", xml.encode())}))


def test_check_table_records_the_disambiguation_in_provenance(base: Path, tmp_path: Path) -> None:
    joined = extract_file(_with_period(base, tmp_path / "连写.docx", "2026/11/99时30分至11时00分"))
    assert joined.fields["check_start"] == "2026-11-09T09:30"
    assert joined.fields["check_end"] == "2026-11-09T11:00"
    note = joined.as_json()["provenance"]["check_start"]["note"]
    assert note == "“2026/11/99时”日期与时刻连写，唯一合理的读法为2026年11月9日9时"
    assert joined.provenance["check_end"].where.endswith(f"（{note}）")
    assert "note" not in extract_file(base).as_json()["provenance"]["check_start"]

    ambiguous = extract_file(_with_period(base, tmp_path / "两可.docx", "2026/11/111时至12时"))
    assert ambiguous.fields["check_start"] is None
    assert any("可读作2026年11月1日11时或2026年11月11日1时" in w for w in ambiguous.warnings)
