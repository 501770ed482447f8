"""Tests of content sniffing and of the registry's refusals, from real file bytes."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl
import pytest
from PIL import Image
from pypdf import PdfWriter

from pipeline.core.errors import InputFileError
from pipeline.core.sniff import KINDS, ole2_flavour
from pipeline.documents.grid import NOT_CHECK_TABLE
from pipeline.extract import KIND_LABELS, Extractor, detect_kind, extract_file, get_extractor

OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_paragraph("随机抽查事项检查表")
    document.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    workbook.active.append(["企业名称", "统一社会信用代码"])
    workbook.save(path)
    return path


def make_pdf(path: Path) -> Path:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def make_odf(path: Path, mimetype: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", "<office:document-content/>")
    return path


def make_image(path: Path, fmt: str) -> Path:
    Image.new("RGB", (8, 8), "white").save(path, format=fmt)
    return path


def test_docx_by_content_whatever_the_extension(tmp_path: Path) -> None:
    assert detect_kind(make_docx(tmp_path / "a.docx")) == "docx"
    assert detect_kind(make_docx(tmp_path / "renamed.pdf")) == "docx"


def test_xlsx(tmp_path: Path) -> None:
    assert detect_kind(make_xlsx(tmp_path / "a.xlsx")) == "xlsx"


def test_odf(tmp_path: Path) -> None:
    assert detect_kind(make_odf(tmp_path / "a.odt", "application/vnd.oasis.opendocument.text")) == "odt"
    assert (
        detect_kind(make_odf(tmp_path / "a.ods", "application/vnd.oasis.opendocument.spreadsheet")) == "ods"
    )


def test_other_zip_and_broken_zip(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert detect_kind(path) == "zip"
    data = make_docx(tmp_path / "b.docx").read_bytes()
    assert detect_kind(write(tmp_path / "broken.docx", data[:200])) == "zip"


def test_pdf(tmp_path: Path) -> None:
    assert detect_kind(make_pdf(tmp_path / "a.pdf")) == "pdf"
    assert (
        detect_kind(write(tmp_path / "junk.pdf", b"\r\n" * 10 + make_pdf(tmp_path / "b.pdf").read_bytes()))
        == "pdf"
    )


def test_ole2_and_encrypted_ooxml(tmp_path: Path) -> None:
    assert detect_kind(write(tmp_path / "old.doc", OLE2 + b"\0" * 1024)) == "ole2"
    locked = OLE2 + b"\0" * 5000 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 100
    assert detect_kind(write(tmp_path / "locked.docx", locked)) == "encrypted_ooxml"


def ole2_entry(name: str) -> bytes:
    """A 128-byte OLE2 directory entry of the stream ``name`` (type 2), as in a real compound file."""
    raw = name.encode("utf-16-le")
    return raw + b"\0" * (64 - len(raw)) + struct.pack("<H", len(raw) + 2) + b"\x02\x01" + b"\0" * 60


@pytest.mark.parametrize(
    ("streams", "flavour", "kind"),
    [
        (("Workbook",), "xls", "xls"),
        (("Book",), "xls", "xls"),  # Excel 5/95
        (("WordDocument", "1Table"), "doc", "ole2"),
        (("Root Entry",), "unknown", "ole2"),
    ],
)
def test_ole2_flavour(tmp_path: Path, streams: tuple[str, ...], flavour: str, kind: str) -> None:
    data = OLE2 + b"\0" * 1024 + b"".join(ole2_entry(s) for s in streams)
    path = write(tmp_path / "old.bin", data)
    assert ole2_flavour(path) == flavour
    assert detect_kind(path) == kind


def test_text_mentioning_workbook_is_not_xls(tmp_path: Path) -> None:
    data = OLE2 + b"\0" * 1024 + "Workbook".encode("utf-16-le") + b"\0" * 200
    assert detect_kind(write(tmp_path / "old.doc", data)) == "ole2"


def test_empty(tmp_path: Path) -> None:
    assert detect_kind(write(tmp_path / "a.docx", b"")) == "empty"


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body><table><tr><td>x</td></tr></table></body></html>",
        b"\xef\xbb\xbf  \n<!DOCTYPE html>\n<html lang='zh'></html>",
        b"<table><tr><td>\xe8\xa2\xab</td></tr></table>",
        "<html><body>检查表</body></html>".encode("utf-16"),
    ],
)
def test_html(tmp_path: Path, data: bytes) -> None:
    assert detect_kind(write(tmp_path / "a.doc", data)) == "html"


def test_rtf(tmp_path: Path) -> None:
    assert detect_kind(write(tmp_path / "a.doc", b"{\\rtf1\\ansi hello}")) == "rtf"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP"])
def test_images(tmp_path: Path, fmt: str) -> None:
    assert detect_kind(make_image(tmp_path / "scan.docx", fmt)) == "image"


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_docx_that_is_really_text(tmp_path: Path, encoding: str) -> None:
    path = write(
        tmp_path / "检查表.docx", "被抽查单位：烟台某某有限公司\n抽查时间：2026年3月5日\n".encode(encoding)
    )
    assert detect_kind(path) == "text"


def test_unknown_binary(tmp_path: Path) -> None:
    assert detect_kind(write(tmp_path / "a.bin", bytes(range(256)) * 4)) == "unknown"


def test_kind_labels_cover_all_kinds() -> None:
    assert set(KIND_LABELS) == KINDS
    assert all(label for label in KIND_LABELS.values())


# --- registry --------------------------------------------------------------------------------


def test_registry_has_docx_extractor() -> None:
    extractor = get_extractor("docx")
    assert isinstance(extractor, Extractor)
    assert "docx" in extractor.kinds
    assert get_extractor("image") is not None  # signed scans are read for their case and evidence


@pytest.mark.parametrize(
    ("maker", "code", "message"),
    [
        (
            lambda p: write(p, b""),
            "FILE_EMPTY",
            "文件为空（0 字节）。请确认文件已完整保存后重新放入收件箱。",
        ),
        (
            lambda p: write(p, OLE2 + b"\0" * 600 + "EncryptedPackage".encode("utf-16-le")),
            "FILE_ENCRYPTED",
            "文件已加密（设置了打开密码）。请取消密码后重新放入。",
        ),
        (lambda p: write(p, OLE2 + b"\0" * 600), "FILE_UNREADABLE", "LibreOffice 无法打开此文件"),
        (make_pdf, "FILE_NOT_CHECK_TABLE", "PDF 中没有任何文字或图片（空白页）"),  # a blank page: neither a form nor a scan
        (make_xlsx, "FILE_NOT_CHECK_TABLE", NOT_CHECK_TABLE),  # read by the Excel extractor
        # A picture with no form on it: read as a scan, and refused as no check table.
        (lambda p: make_image(p, "PNG"), "FILE_NOT_CHECK_TABLE", "扫描件中认不出随机抽查事项检查表或现场检查笔录"),
    ],
)
def test_refusals(tmp_path: Path, maker: Callable[[Path], Path], code: str, message: str) -> None:
    path = tmp_path / "检查表.docx"
    maker(path)
    with pytest.raises(InputFileError) as info:
        extract_file(path)
    assert info.value.code == code
    assert info.value.message.startswith(message)
    assert info.value.field == "file"


@pytest.mark.parametrize("kind_bytes", [b"hello\n", b"{\\rtf1 x}", b"<html></html>", bytes(range(256))])
def test_other_refusals_have_chinese_messages(tmp_path: Path, kind_bytes: bytes) -> None:
    with pytest.raises(InputFileError) as info:
        extract_file(write(tmp_path / "a.docx", kind_bytes))
    # RTF and HTML are readable through LibreOffice but hold no form.
    assert info.value.code in {"FILE_UNSUPPORTED", "FILE_UNREADABLE", "FILE_NOT_CHECK_TABLE"}
    assert "docx" in info.value.message or "检查表" in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as info:
        extract_file(tmp_path / "gone.docx")
    assert info.value.code == "FILE_UNREADABLE"
