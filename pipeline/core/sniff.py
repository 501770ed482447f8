"""Tell what a dropped file really is, from its content (never from its extension).

Staff rename files, save Word documents as web pages and scan paper forms; the extension says
little. ``detect_kind`` looks at magic bytes, for zip containers at the part names and for OLE2
compound files (old Office and WPS formats) at the names in the compound file's directory.
"""

from __future__ import annotations

import codecs
import mmap
import re
import struct
import unicodedata
import zipfile
from pathlib import Path
from typing import Literal

from pipeline.core.limits import small_member, zip_directory_ok

__all__ = ["KINDS", "KIND_LABELS", "detect_kind", "ole2_flavour"]

KIND_LABELS: dict[str, str] = {
    "docx": "Word 文档（.docx）",
    "xlsx": "Excel 工作簿（.xlsx）",
    "odt": "OpenDocument 文本（.odt）",
    "ods": "OpenDocument 表格（.ods）",
    "pdf": "PDF 文件",
    "xls": "Excel 97-2003 工作簿（.xls/.et）",
    "ole2": "旧版 Office/WPS 文件（.doc/.xls/.wps/.et）",
    "encrypted_ooxml": "加密的 Office 文件",
    "rtf": "RTF 文件",
    "html": "网页文件（HTML）",
    "image": "图片",
    "text": "纯文本文件",
    "zip": "压缩包（或已损坏的 Office 文件）",
    "empty": "空文件",
    "unknown": "无法识别的文件",
}
KINDS: frozenset[str] = frozenset(KIND_LABELS)

_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def _directory_entry(name: str) -> re.Pattern[bytes]:
    """An OLE2 directory entry of the stream ``name``: UTF-16LE name, zero padding to 64 bytes,
    the name's byte length with its terminator, and the object type 2 (stream)."""
    raw = name.encode("utf-16-le")
    head = raw + b"\0" * (64 - len(raw)) + struct.pack("<H", len(raw) + 2) + b"\x02"
    return re.compile(re.escape(head))


# Streams that identify the application of an OLE2 file (Word/WPS text, Excel/WPS spreadsheet;
# "Book" is the BIFF5 name of Excel 5/95 workbooks).
_OLE2_WORD = _directory_entry("WordDocument")
_OLE2_WORKBOOKS = (_directory_entry("Workbook"), _directory_entry("Book"))
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_IMAGE_MAGICS = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"II*\x00",  # TIFF, little endian
    b"MM\x00*",  # TIFF, big endian
    b"BM",  # BMP
    b"GIF87a",
    b"GIF89a",
)
_WORD_MAIN_TYPES = (
    b"wordprocessingml.document.main+xml",
    b"wordprocessingml.template.main+xml",
    b"ms-word.document.macroEnabled.main+xml",
    b"ms-word.template.macroEnabledTemplate.main+xml",
)
_HTML_START = re.compile(r"<(?:html|!doctype\s+html|table|head|body|meta)\b", re.IGNORECASE)
_HEAD_BYTES = 4096
_TEXT_BYTES = 1 << 20


def detect_kind(path: Path) -> str:
    """Return the content kind of ``path``: one of ``KINDS`` (see ``KIND_LABELS``).

    Raises ``OSError`` when the file cannot be read.
    """
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if not head:
        return "empty"
    if head.startswith(_ZIP_MAGICS):
        return _zip_kind(path)
    if head.startswith(_OLE2_MAGIC):
        if _contains(path, _ENCRYPTED_PACKAGE):
            return "encrypted_ooxml"
        return "xls" if ole2_flavour(path) == "xls" else "ole2"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(_IMAGE_MAGICS) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if _is_html(head):
        return "html"
    if _is_text(path):
        return "text"
    return "unknown"


def ole2_flavour(path: Path) -> Literal["doc", "xls", "unknown"]:
    """Which application wrote the OLE2 compound file ``path``: Word/WPS text (``"doc"``, stream
    ``WordDocument``), Excel/WPS spreadsheet (``"xls"``, stream ``Workbook`` or ``Book``), else
    ``"unknown"``. Looks for the streams' directory entries; raises ``OSError`` when unreadable."""
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if _OLE2_WORD.search(mm):
            return "doc"
        if any(pattern.search(mm) for pattern in _OLE2_WORKBOOKS):
            return "xls"
    return "unknown"


def _zip_kind(path: Path) -> str:
    # Sniffing reads only the zip directory and two small members, bounded before zipfile opens it
    # (pipeline.core.limits); a container beyond the limits is a "zip", refused by pipeline.core.limits.check_input.
    if not zip_directory_ok(path):
        return "zip"
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names:
                mimetype = (small_member(zf, "mimetype") or b"").strip()
                if mimetype == b"application/vnd.oasis.opendocument.text":
                    return "odt"
                if mimetype == b"application/vnd.oasis.opendocument.spreadsheet":
                    return "ods"
            if "[Content_Types].xml" in names:
                content_types = small_member(zf, "[Content_Types].xml") or b""
                if any(t in content_types for t in _WORD_MAIN_TYPES):
                    return "docx"
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError):
        pass
    return "zip"


def _contains(path: Path, needle: bytes) -> bool:
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return mm.find(needle) != -1


def _decode_head(head: bytes) -> str:
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, errors="ignore")
    return head.decode("utf-8", errors="ignore")


def _is_html(head: bytes) -> bool:
    text = _decode_head(head).lstrip()
    if not text.startswith("<"):
        return False
    return bool(_HTML_START.search(text[:1024]))


def _is_text(path: Path) -> bool:
    with path.open("rb") as fh:
        chunk = fh.read(_TEXT_BYTES)
    if b"\x00" in chunk:
        return False
    final = len(chunk) < _TEXT_BYTES
    if chunk.startswith(codecs.BOM_UTF8):
        chunk = chunk[len(codecs.BOM_UTF8) :]
    for encoding in ("utf-8", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(chunk, final=final)
        except UnicodeDecodeError:
            continue
        return all(ch in "\t\r\n\f\v" or unicodedata.category(ch) != "Cc" for ch in text)
    return False
