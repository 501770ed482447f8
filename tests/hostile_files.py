"""Builders of hostile input files for the limit tests (issue #10).

Every file is written with raw bytes, ``struct`` and ``zlib`` (a zip writer of our own, PDFs and
image headers by hand), never with the library that reads it, so that a reader's bug cannot hide in
both. Large declared contents are streams of one deflate chunk repeated after a full flush: a
300 MB shared-string table costs a few hundred kilobytes on disk and no CPU to build.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@dataclass(frozen=True)
class Member:
    """One zip member, already compressed: ``size`` and ``crc`` are what the directory declares."""

    name: str
    payload: bytes
    crc: int
    size: int
    method: int = zipfile.ZIP_DEFLATED


def deflated(name: str, data: bytes) -> Member:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Member(name, c.compress(data) + c.flush(), zlib.crc32(data), len(data))


def stored(name: str, data: bytes) -> Member:
    return Member(name, data, zlib.crc32(data), len(data), zipfile.ZIP_STORED)


def repeated(name: str, head: bytes, chunk: bytes, times: int, tail: bytes) -> Member:
    """``head + chunk * times + tail`` deflated without ever building it: after a full flush the
    compressor's state is reset, so each further copy of ``chunk`` compresses to the same bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head_z = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    chunk_z = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    tail_z = c.compress(tail) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    return Member(name, head_z + chunk_z * times + tail_z, crc, len(head) + len(chunk) * times + len(tail))


def write_zip(path: Path, members: list[Member]) -> Path:
    """A zip written field by field (ZIP64 end records when there are 65535 members or more)."""
    with path.open("wb") as out:
        central = bytearray()
        for m in members:
            offset = out.tell()
            name = m.name.encode("utf-8")
            out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x800, m.method, 0, 0x21, m.crc,
                                  len(m.payload), m.size, len(name), 0))
            out.write(name)
            out.write(m.payload)
            central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0x800, m.method, 0, 0x21,
                                   m.crc, len(m.payload), m.size, len(name), 0, 0, 0, 0, 0, offset)
            central += name
        cd_offset = out.tell()
        out.write(central)
        n = len(members)
        if n >= 0xFFFF:
            eocd64_at = out.tell()
            out.write(struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, len(central), cd_offset))
            out.write(struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd64_at, 1))
            n = 0xFFFF
        out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(central), cd_offset, 0))
    return path


def members_of(docx: Path, replace: dict[str, Member] | None = None) -> list[Member]:
    """The members of an existing container, re-deflated by us, with some replaced."""
    replace = dict(replace or {})
    members: list[Member] = []
    with zipfile.ZipFile(docx) as zf:
        for info in zf.infolist():
            members.append(replace.pop(info.filename, None) or deflated(info.filename, zf.read(info)))
    return members + list(replace.values())


# --- Word files ---------------------------------------------------------------------------------
def _document(body: str, doctype: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{doctype}'
            f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>').encode()


def zip_bomb_docx(base: Path, path: Path) -> Path:
    """``word/document.xml`` of 1 GiB (whitespace inside the body), about 1 MB on disk."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W_NS}"><w:body>'.encode()
    bomb = repeated("word/document.xml", head, b" " * MIB, 1024, b"</w:body></w:document>")
    return write_zip(path, members_of(base, {"word/document.xml": bomb}))


def ratio_docx(base: Path, path: Path) -> Path:
    """A 64 MiB picture that compresses 1000-fold: under the size limit, over the ratio limit."""
    picture = repeated("word/media/image9.png", b"", b"\0" * MIB, 64, b"")
    return write_zip(path, members_of(base, {"word/media/image9.png": picture}))


def lying_size_docx(base: Path, path: Path) -> Path:
    """``word/document.xml`` declared as 1 KiB that inflates to 32 MiB."""
    real = repeated("word/document.xml", _document("")[:-len("</w:body></w:document>")], b" " * MIB, 32,
                    b"</w:body></w:document>")
    return write_zip(path, members_of(base, {"word/document.xml": Member(real.name, real.payload, real.crc, 1024)}))


def many_members_docx(base: Path, path: Path, count: int = 100_000) -> Path:
    extra = [stored(f"customXml/item{i}.xml", b"") for i in range(count)]
    return write_zip(path, members_of(base) + extra)


BILLION_LAUGHS = (
    '<!DOCTYPE w:document [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
              for i in range(1, 10))
    + "]>\n"
)


def billion_laughs_docx(base: Path, path: Path) -> Path:
    body = "<w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>"
    return write_zip(path, members_of(base, {"word/document.xml": deflated("word/document.xml",
                                                                          _document(body, BILLION_LAUGHS))}))


def xxe_docx(base: Path, path: Path) -> Path:
    doctype = '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    body = "<w:p><w:r><w:t>&xxe;</w:t></w:r></w:p>"
    return write_zip(path, members_of(base, {"word/document.xml": deflated("word/document.xml",
                                                                          _document(body, doctype))}))


def grid_span_docx(base: Path, path: Path) -> Path:
    """A table cell spanning two billion columns (python-docx-based readers loop over the span)."""
    body = ('<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="2000000000"/></w:tcPr>'
            "<w:p><w:r><w:t>被抽查单位</w:t></w:r></w:p></w:tc></w:tr></w:tbl>")
    return write_zip(path, members_of(base, {"word/document.xml": deflated("word/document.xml", _document(body))}))


def deep_docx(base: Path, path: Path, depth: int = 20_000) -> Path:
    body = "<w:sdt>" * depth + "</w:sdt>" * depth
    return write_zip(path, members_of(base, {"word/document.xml": deflated("word/document.xml", _document(body))}))


# --- Excel files --------------------------------------------------------------------------------
_XLSX_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b'<Override PartName="/xl/sharedStrings.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    b"</Types>"
)
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ROOT_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
).encode()
_WORKBOOK = (f'<workbook xmlns="{S_NS}" xmlns:r="{_REL}"><sheets>'
             '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>').encode()
_WORKBOOK_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
).encode()


def xlsx(path: Path, *, dimension: str = "A1:B1", merge: str = "", shared: Member | None = None) -> Path:
    """A minimal workbook (one sheet, cell A1 = shared string 0, B1 = 1)."""
    merges = f'<mergeCells count="1"><mergeCell ref="{merge}"/></mergeCells>' if merge else ""
    sheet = (f'<worksheet xmlns="{S_NS}"><dimension ref="{dimension}"/><sheetData>'
             '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>1</v></c></row>'
             f"</sheetData>{merges}</worksheet>").encode()
    strings = shared or deflated("xl/sharedStrings.xml", (
        f'<sst xmlns="{S_NS}" count="1" uniqueCount="1"><si><t>被抽查单位</t></si></sst>').encode())
    return write_zip(path, [
        deflated("[Content_Types].xml", _XLSX_TYPES),
        deflated("_rels/.rels", _ROOT_RELS),
        deflated("xl/workbook.xml", _WORKBOOK),
        deflated("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
        deflated("xl/worksheets/sheet1.xml", sheet),
        strings,
    ])


def shared_strings_xlsx(path: Path, megabytes: int = 300) -> Path:
    """Shared strings that expand to ``megabytes`` MiB of ``<si>`` elements."""
    item = b"<si><t>abcdefghijklmnopqrstuvwxyz0123</t></si>"  # 43 bytes
    chunk = item * (MIB // len(item))
    head = f'<sst xmlns="{S_NS}">'.encode()
    return xlsx(path, shared=repeated("xl/sharedStrings.xml", head, chunk, megabytes, b"</sst>"))


# --- PDF ----------------------------------------------------------------------------------------
def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF with a correct cross-reference table; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _page(parent: int = 2, text: bytes = b"Hello") -> list[bytes]:
    stream = b"BT /F1 24 Tf 72 720 Td (" + text + b") Tj ET"
    return [
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>" % parent,
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        _FONT,
    ]


def plain_pdf() -> bytes:
    """A sane one-page PDF (the control)."""
    return raw_pdf([_CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", *_page()])


def cycle_pdf() -> bytes:
    """The page tree's root has a child node whose only child is the root again."""
    return raw_pdf([_CATALOG, b"<< /Type /Pages /Kids [6 0 R] /Count 1 >>", *_page(6),
                    b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"])


def million_pages_pdf() -> bytes:
    return raw_pdf([_CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1000000 >>", *_page()])


def truncated_pdf() -> bytes:
    data = plain_pdf()
    return data[: len(data) // 3]


# --- images -------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int) -> bytes:
    """A grey PNG whose header says ``width``×``height``; only the first row's data is present."""
    row = zlib.compress(b"\0" * (width + 1))
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + _png_chunk(b"IDAT", row) + _png_chunk(b"IEND", b""))


def jpeg_header(width: int, height: int) -> bytes:
    """SOI, a JFIF APP0 segment and a baseline frame header for ``width``×``height``, then EOI."""
    app0 = b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    sof = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    return (b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0
            + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9")


def bmp_header(width: int, height: int) -> bytes:
    """A 24-bit BMP header for ``width``×``height`` with no pixel data."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


# --- the corpus ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hostile:
    """One hostile file: how to build it, and what the pipeline must say about it."""

    name: str
    build: Callable[[Path, Path], object]  # (base check table .docx, target path)
    code: str
    message: str  # a fragment of the Chinese message


def _bytes(data: bytes | Callable[[], bytes]) -> Callable[[Path, Path], object]:
    def build(base: Path, path: Path) -> object:
        del base
        return path.write_bytes(data() if callable(data) else data)
    return build


OLE2_ENCRYPTED = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600 + "EncryptedPackage".encode("utf-16-le")

CORPUS: tuple[Hostile, ...] = (
    Hostile("炸弹.docx", zip_bomb_docx, "FILE_TOO_COMPLEX", "解压后 1024 MB"),
    Hostile("压缩比.docx", ratio_docx, "FILE_TOO_COMPLEX", "压缩比"),
    Hostile("谎报大小.docx", lying_size_docx, "FILE_UNREADABLE", "文件已损坏"),
    Hostile("十万部件.docx", many_members_docx, "FILE_TOO_COMPLEX", "个内部文件，上限为 5000 个"),
    Hostile("实体炸弹.docx", billion_laughs_docx, "FILE_TOO_COMPLEX", "实体"),
    Hostile("外部实体.docx", xxe_docx, "FILE_TOO_COMPLEX", "实体"),
    Hostile("跨列.docx", grid_span_docx, "FILE_TOO_COMPLEX", "跨 2000000000 列"),
    Hostile("深层嵌套.docx", deep_docx, "FILE_TOO_COMPLEX", "嵌套"),
    Hostile("整表范围.xlsx", lambda b, p: xlsx(p, dimension="A1:XFD1048576"), "FILE_TOO_COMPLEX", "A1:XFD1048576"),
    Hostile("合并整表.xlsx", lambda b, p: xlsx(p, merge="A1:ALL100000"), "FILE_TOO_COMPLEX", "单元格"),
    Hostile("共享字符串.xlsx", lambda b, p: shared_strings_xlsx(p), "FILE_TOO_COMPLEX", "共享字符串"),
    Hostile("像素炸弹.png", _bytes(png(100_000, 100_000)), "FILE_TOO_LARGE", "100000×100000"),
    Hostile("像素炸弹.jpg", _bytes(jpeg_header(65_000, 65_000)), "FILE_TOO_LARGE", "65000×65000"),
    Hostile("像素炸弹.bmp", _bytes(bmp_header(100_000, 100_000)), "FILE_TOO_LARGE", "像素"),
    Hostile("半张图.jpg", _bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF"), "FILE_UNREADABLE", "扫描件无法读取"),
    Hostile("页面循环.pdf", _bytes(cycle_pdf), "FILE_UNREADABLE", "循环引用"),
    Hostile("百万页.pdf", _bytes(million_pages_pdf), "FILE_TOO_COMPLEX", "1000000 页"),
    Hostile("截断.pdf", _bytes(truncated_pdf), "FILE_UNREADABLE", "PDF"),
    Hostile("加密.docx", _bytes(OLE2_ENCRYPTED), "FILE_ENCRYPTED", "密码"),
    Hostile("空文件.docx", _bytes(b""), "FILE_EMPTY", "文件为空"),
    Hostile("改了扩展名.docx", _bytes("被抽查单位：某公司\n".encode()), "FILE_UNSUPPORTED", "纯文本"),
)
