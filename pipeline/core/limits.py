"""Limits checked before any parser sees a file from outside (issue #10, part 2).

Staff drop whatever they have, including files from outside the bureau. The readers behind the
pipeline (python-docx, openpyxl, pdfplumber, pdfium, Pillow) trust what a file declares: the size of
a zip member, the range of a merged cell, the number of pages, the size of an image. A few hundred
bytes can declare gigabytes. ``check_input`` looks at those declarations first, with tools other
than the reader's (``struct`` on the zip directory and the image headers, expat (as defusedxml sets it up) streaming
over each XML part, ``pypdf`` over the PDF page tree), and refuses the file before the reader
starts. The limits are modelled on pypdf's ``MAX_*`` constants and Apache POI's ``ZipSecureFile``.

The limits are constants, not settings: they sit far above any form the bureau fills in (a check
table is a few dozen kilobytes) and far below what hurts the machine, and no clerk or IT person
has a reason to move them. The one limit that depends on how staff scan, pixels per page, is the
existing setting ``scan_max_pixels``.

Every refusal is an ``InputFileError`` with a Chinese message: ``FILE_TOO_COMPLEX`` for a file
beyond a limit, ``FILE_TOO_LARGE`` for an image beyond ``scan_max_pixels`` (like the scan reader),
``FILE_UNREADABLE`` for a structure no honest writer produces (a page tree that loops),
``FILE_ENCRYPTED`` for a PDF with an opening password. A file that is merely damaged passes: the
reader that fails on it says so in its own words.
"""

from __future__ import annotations

import logging
import struct
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple
from xml.parsers import expat

from pipeline.core.biff import book_shape, workbook_stream
from pipeline.core.codes import FindingCode
from pipeline.core.errors import InputFileError

__all__ = [
    "MAX_CENTRAL_DIRECTORY_BYTES",
    "MAX_COMPRESSION_RATIO",
    "MAX_PDF_PAGES",
    "MAX_PDF_TREE_DEPTH",
    "MAX_SHARED_STRINGS",
    "MAX_SHARED_STRINGS_BYTES",
    "MAX_SHEETS",
    "MAX_SHEET_CELLS",
    "MAX_SHEET_COLUMNS",
    "MAX_SHEET_ROWS",
    "MAX_TABLE_SPAN",
    "MAX_XLS_BYTES",
    "MAX_XML_DEPTH",
    "MAX_XML_ELEMENTS",
    "MAX_XML_PART_BYTES",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_MEMBER_BYTES",
    "MAX_ZIP_TOTAL_BYTES",
    "RATIO_MIN_BYTES",
    "EndRecord",
    "check_image",
    "check_input",
    "check_pdf",
    "check_xls",
    "check_zip",
    "end_record",
    "small_member",
    "zip_directory",
    "zip_directory_ok",
]

_MIB = 1 << 20

# --- zip containers (.docx, .xlsx, .odt, .ods, zip-based .wps) ------------------------------------
MAX_ZIP_MEMBERS = 5_000  # a .docx has about 20 parts, a workbook of 50 sheets a few hundred
MAX_CENTRAL_DIRECTORY_BYTES = 8 * _MIB  # read whole by zipfile; bounds its work whatever the count says
MAX_ZIP_MEMBER_BYTES = 256 * _MIB  # one part, uncompressed (a photo pasted into a Word file)
MAX_ZIP_TOTAL_BYTES = 512 * _MIB  # all parts, uncompressed
# Apache POI refuses parts that inflate more than 100-fold; XML of real forms compresses 5-20-fold.
MAX_COMPRESSION_RATIO = 100
RATIO_MIN_BYTES = 1 * _MIB  # small parts may compress well (a run of spaces) without harm
_CHUNK = 1 * _MIB  # parts are decompressed in chunks of this size, never whole

# --- XML parts ----------------------------------------------------------------------------------
# No DTD at all: Office refuses a document with one, and every entity trick (billion laughs,
# external entities) needs one.
MAX_XML_PART_BYTES = 128 * _MIB
MAX_XML_DEPTH = 256  # nested Word tables add about four levels each
MAX_XML_ELEMENTS = 4_000_000  # per part
MAX_TABLE_SPAN = 1_000  # w:gridSpan/gridBefore/gridAfter; Word itself allows 63 columns

# --- sheets -----------------------------------------------------------------------------------
# openpyxl creates an object per cell, per cell of a merged range and per cell a hyperlink covers.
MAX_SHEET_ROWS = 100_000
MAX_SHEET_COLUMNS = 1_000
MAX_SHEET_CELLS = 1_000_000  # cells written + cells covered by merges and hyperlinks, per sheet
MAX_SHARED_STRINGS_BYTES = 32 * _MIB  # xl/sharedStrings.xml uncompressed; loaded whole by openpyxl
MAX_SHARED_STRINGS = 1_000_000
# Legacy .xls (xlrd): read whole into memory, each sheet built as a padded rectangle (core/biff.py).
MAX_XLS_BYTES = 32 * _MIB  # a check table is some 50 KB; lists must be .xlsx anyway
MAX_SHEETS = 256

# --- PDF --------------------------------------------------------------------------------------
MAX_PDF_PAGES = 500  # a check table has 1-3 pages; scans have their own setting scan_max_pages
MAX_PDF_TREE_DEPTH = 64
_MAX_PDF_NODES = 2 * MAX_PDF_PAGES + 1_000

_ZIP_KINDS = frozenset({"docx", "xlsx", "odt", "ods", "zip"})
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_EOCD = struct.Struct("<4sHHHHIIH")  # end of central directory record
_EOCD64_LOCATOR = struct.Struct("<4sIQI")
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")
_PYPDF_LOG = logging.getLogger("pypdf")

_REDO = "请确认放入的是检查表本身；如是从其他系统导出或从网上下载的文件，请在 Word/WPS/Excel 中打开后另存一份，再放入收件箱。"


def _too_complex(detail: str) -> InputFileError:
    return InputFileError(f"文件过于复杂，超出处理上限（{detail}）。{_REDO}", field="file",
                          code=FindingCode.file_too_complex.value)


def _mb(n: int) -> str:
    return f"{n / _MIB:.0f} MB"


def check_input(path: Path, kind: str, *, max_image_pixels: int | None = None) -> None:
    """Refuse ``path`` (sniffed as ``kind``) when it exceeds a limit; see the module docstring.

    ``max_image_pixels`` is the setting ``scan_max_pixels`` (images are not checked without it).
    Raises ``InputFileError``; returns None for a file within the limits or of another kind.
    """
    if kind in _ZIP_KINDS:
        check_zip(path, parse_xml=kind != "zip")
    elif kind == "pdf":
        check_pdf(path)
    elif kind == "xls":
        check_xls(path)
    elif kind == "image" and max_image_pixels is not None:
        check_image(path, max_image_pixels)


# --- zip ----------------------------------------------------------------------------------------
class EndRecord(NamedTuple):
    """A zip's end of central directory record: where it is in the file, its fields, and the tail read."""

    at: int
    fields: tuple[Any, ...]
    tail: bytes
    tail_at: int


def end_record(fh: BinaryIO, size: int) -> EndRecord | None:
    """The last end record in the file's tail (the comment may hide others before it), or None."""
    tail_len = min(size, _EOCD.size + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < _EOCD.size:
        return None
    return EndRecord(size - tail_len + pos, _EOCD.unpack_from(tail, pos), tail, size - tail_len)


def zip_directory(path: Path) -> tuple[int, int] | None:
    """(number of members, bytes of the central directory) as the end record says, ZIP64 included;
    None when there is no end record. Read with ``struct`` from the file's tail only."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        found = end_record(fh, size)
        if found is None:
            return None
        tail, pos = found.tail, found.at - found.tail_at
        _sig, _disk, _cd_disk, on_disk, total, cd_size, _cd_offset, _comment = found.fields
        entries = max(on_disk, total)
        locator_at = pos - _EOCD64_LOCATOR.size
        if locator_at >= 0 and tail[locator_at:locator_at + 4] == b"PK\x06\x07":
            _sig, _disk, eocd64_at, _disks = _EOCD64_LOCATOR.unpack_from(tail, locator_at)
            fh.seek(min(eocd64_at, size))
            record = fh.read(_EOCD64.size)
            if len(record) == _EOCD64.size and record[:4] == b"PK\x06\x06":
                fields = _EOCD64.unpack(record)
                entries = max(entries, fields[6], fields[7])
                cd_size = max(cd_size, fields[8])
    return entries, cd_size


def zip_directory_ok(path: Path) -> bool:
    """True when opening ``path`` with ``zipfile`` is cheap: few members, a small central directory."""
    try:
        directory = zip_directory(path)
    except OSError:
        return False
    return directory is None or (directory[0] <= MAX_ZIP_MEMBERS and directory[1] <= MAX_CENTRAL_DIRECTORY_BYTES)


def small_member(zf: zipfile.ZipFile, name: str, limit: int = _MIB) -> bytes | None:
    """The member ``name`` when it exists and declares at most ``limit`` bytes, else None.

    ``zipfile`` never returns more than the declared size (a longer stream fails its CRC), so the
    declaration bounds the work."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    return zf.read(info) if info.file_size <= limit else None


def check_zip(path: Path, *, parse_xml: bool = True) -> None:
    """Member count, directory size, each member's declared and actual size and compression ratio;
    with ``parse_xml`` each XML part streamed through ``_XmlGuard``."""
    directory = zip_directory(path)
    if directory is None:
        return
    entries, cd_size = directory
    if entries > MAX_ZIP_MEMBERS or cd_size > MAX_CENTRAL_DIRECTORY_BYTES:
        raise _too_complex(f"内部有 {entries} 个内部文件，上限为 {MAX_ZIP_MEMBERS} 个")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise _too_complex(f"内部有 {len(infos)} 个内部文件，上限为 {MAX_ZIP_MEMBERS} 个")
        total = 0
        for info in infos:
            _check_declared(info)
            total += info.file_size
        if total > MAX_ZIP_TOTAL_BYTES:
            raise _too_complex(f"解压后共 {_mb(total)}，上限为 {_mb(MAX_ZIP_TOTAL_BYTES)}")
        for info in infos:
            _stream_member(zf, info, parse_xml=parse_xml)


def _check_declared(info: zipfile.ZipInfo) -> None:
    name, size = info.filename, info.file_size
    if name == "xl/sharedStrings.xml" and size > MAX_SHARED_STRINGS_BYTES:
        raise _too_complex(f"共享字符串表解压后 {_mb(size)}，上限为 {_mb(MAX_SHARED_STRINGS_BYTES)}")
    if size > MAX_ZIP_MEMBER_BYTES:
        raise _too_complex(f"内部文件 {name} 解压后 {_mb(size)}，上限为 {_mb(MAX_ZIP_MEMBER_BYTES)}")
    if name.endswith(_XML_SUFFIXES) and size > MAX_XML_PART_BYTES:
        raise _too_complex(f"内部文件 {name} 解压后 {_mb(size)}，上限为 {_mb(MAX_XML_PART_BYTES)}")
    if size > RATIO_MIN_BYTES and size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        ratio = size // max(info.compress_size, 1)
        raise _too_complex(f"内部文件 {name} 压缩比 {ratio}:1，上限为 {MAX_COMPRESSION_RATIO}:1")


def _stream_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, *, parse_xml: bool) -> None:
    """Decompress ``info`` in bounded chunks, counting what comes out (the declaration may lie);
    an XML part is fed to expat on the way (no DTD, no entities) with ``_XmlGuard`` counting."""
    parser = _guarded_parser(info.filename) if parse_xml and info.filename.endswith(_XML_SUFFIXES) else None
    produced = 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                produced += len(chunk)
                if produced > MAX_ZIP_MEMBER_BYTES or (
                        produced > RATIO_MIN_BYTES and produced > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)):
                    raise _too_complex(f"内部文件 {info.filename} 解压后超过上限")
                if parser is not None:
                    parser.Parse(chunk, False)
            if parser is not None:
                parser.Parse(b"", True)
    except (expat.ExpatError, zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError):
        return  # malformed XML, a damaged or encrypted part: the reader refuses it in its own words


def _guarded_parser(name: str) -> Any:
    """An expat parser refusing what defusedxml refuses (DTDs, entity declarations, external
    references), its elements counted by ``_XmlGuard``. expat's own handlers, without ElementTree's
    tree-builder layer, make this check a few times cheaper than the parse the readers do later."""
    guard = _XmlGuard(name)

    def refuse(*_args: Any) -> None:
        raise _too_complex(f"内部文件 {name} 含有 XML 实体或文档类型声明，不予展开")

    def refuse_reference(*args: Any) -> int:
        refuse(*args)
        return 0  # not reached: refuse raises

    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_reference
    parser.StartElementHandler = guard.start
    parser.EndElementHandler = guard.end
    return parser


def _cell_ref(ref: str) -> tuple[int, int] | None:
    """``"XFD1048576"`` → (row 1048576, column 16384); ``"$A$1"`` too; None when not a reference."""
    ref = ref.replace("$", "").strip().upper()
    letters = ref.rstrip("0123456789")
    digits = ref[len(letters):]
    if not letters.isalpha() or not letters.isascii() or not digits or len(letters) > 4 or len(digits) > 9:
        return None
    column = 0
    for ch in letters:
        column = column * 26 + ord(ch) - 64
    return int(digits), column


def _range_area(ref: str) -> tuple[int, int, int]:
    """The (last row, last column, number of cells) of ``"A1:C3"`` or ``"B2"`` (0s when unreadable)."""
    first, _, last = ref.partition(":")
    a, b = _cell_ref(first), _cell_ref(last or first)
    if a is None or b is None:
        return 0, 0, 0
    rows = abs(b[0] - a[0]) + 1
    columns = abs(b[1] - a[1]) + 1
    return max(a[0], b[0]), max(a[1], b[1]), rows * columns


class _XmlGuard:
    """The handlers of the guarded expat parser over one XML part: counts what the readers would build
    from it (depth, elements, sheet cells and ranges, shared strings, table spans)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sheet = name.startswith("xl/worksheets/")
        self.shared_strings = name == "xl/sharedStrings.xml"
        self.word = name.startswith("word/")
        self.depth = 0
        self.elements = 0
        self.cells = 0  # cells written plus cells covered by merges and hyperlinks
        self.strings = 0

    # The XMLParser target interface.
    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        self.elements += 1
        if self.depth > MAX_XML_DEPTH:
            raise _too_complex(f"内部文件 {self.name} 嵌套超过 {MAX_XML_DEPTH} 层")
        if self.elements > MAX_XML_ELEMENTS:
            raise _too_complex(f"内部文件 {self.name} 超过 {MAX_XML_ELEMENTS} 个元素")
        local = tag.rpartition("}")[2]
        if self.sheet:
            self._sheet_element(local, attrib)
        elif self.shared_strings and local == "si":
            self.strings += 1
            if self.strings > MAX_SHARED_STRINGS:
                raise _too_complex(f"共享字符串超过 {MAX_SHARED_STRINGS} 个")
        elif self.word and local in ("gridSpan", "gridBefore", "gridAfter"):
            value = next((v for k, v in attrib.items() if k.rpartition("}")[2] == "val"), "")
            if value.strip().isdigit() and int(value) > MAX_TABLE_SPAN:
                raise _too_complex(f"表格单元格跨 {value} 列，上限为 {MAX_TABLE_SPAN} 列")

    def _sheet_element(self, local: str, attrib: dict[str, str]) -> None:
        if local == "dimension":
            self._check_corner(attrib.get("ref", ""), "工作表范围")
        elif local == "row":
            row = attrib.get("r", "")
            if row.isdigit() and int(row) > MAX_SHEET_ROWS:
                raise _too_complex(f"工作表有第 {row} 行，上限为 {MAX_SHEET_ROWS} 行")
        elif local == "c":
            self._add_cells(1)
            ref = attrib.get("r")
            if ref:
                self._check_corner(ref, "单元格")
        elif local in ("mergeCell", "hyperlink"):
            ref = attrib.get("ref", "")
            if ":" in ref:
                self._check_corner(ref, "合并单元格" if local == "mergeCell" else "超链接范围")
                self._add_cells(_range_area(ref)[2])

    def _check_corner(self, ref: str, what: str) -> None:
        row, column, _ = _range_area(ref)
        if row > MAX_SHEET_ROWS or column > MAX_SHEET_COLUMNS:
            raise _too_complex(f"{what} {ref} 超过 {MAX_SHEET_ROWS} 行或 {MAX_SHEET_COLUMNS} 列")

    def _add_cells(self, n: int) -> None:
        self.cells += n
        if self.cells > MAX_SHEET_CELLS:
            raise _too_complex(f"工作表超过 {MAX_SHEET_CELLS} 个单元格")

    def end(self, tag: str) -> None:
        self.depth -= 1

    def close(self) -> None:
        return None


# --- legacy .xls ---------------------------------------------------------------------------------
def check_xls(path: Path) -> None:
    """Size, sheets, each sheet's extent as xlrd would allocate it, merged cells and shared strings of
    a BIFF workbook, from its records (``core/biff.py``), before xlrd builds any of it."""
    size = path.stat().st_size
    if size > MAX_XLS_BYTES:
        raise _too_complex(f"旧版 Excel 文件有 {_mb(size)}，上限为 {_mb(MAX_XLS_BYTES)}")
    try:
        stream = workbook_stream(path.read_bytes())
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception:  # a damaged container: xlrd gives the verdict
        return
    if stream is None:
        return
    book = book_shape(stream)
    sheets = max(len(book.sheets), book.declared_sheets)
    if sheets > MAX_SHEETS:
        raise _too_complex(f"工作簿有 {sheets} 个工作表，上限为 {MAX_SHEETS} 个")
    if book.strings > MAX_SHARED_STRINGS:
        raise _too_complex(f"共享字符串超过 {MAX_SHARED_STRINGS} 个")
    for sheet in book.sheets:
        if sheet.rows > MAX_SHEET_ROWS or sheet.columns > MAX_SHEET_COLUMNS:
            raise _too_complex(f"工作表超过 {MAX_SHEET_ROWS} 行或 {MAX_SHEET_COLUMNS} 列")
        if sheet.cells > MAX_SHEET_CELLS or sheet.merged_cells > MAX_SHEET_CELLS:
            raise _too_complex(f"工作表范围 {sheet.rows} 行 × {sheet.columns} 列，超过 {MAX_SHEET_CELLS} 个单元格")


# --- PDF ----------------------------------------------------------------------------------------
_PDF_ENCRYPTED = "PDF 文件已加密（设置了打开密码）。请取消密码后重新导出 PDF，再放入收件箱。"
_PDF_LOOP = ("PDF 文件的页面结构有误（页面目录循环引用自身），无法安全读取。"
             "请用原软件重新导出 PDF（或“打印为 PDF”）后放入收件箱。")


def check_pdf(path: Path) -> None:
    """The page tree of ``path`` walked with pypdf before pdfplumber/pdfium: declared and real page
    count, depth, and any node met twice (a loop, or a shared subtree that multiplies the pages)."""
    from pypdf import PasswordType, PdfReader

    level = _PYPDF_LOG.level
    _PYPDF_LOG.setLevel(logging.CRITICAL)  # pypdf logs every repair of a damaged file
    try:
        try:
            reader = PdfReader(path, strict=False)
            if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                raise InputFileError(_PDF_ENCRYPTED, field="file", code=FindingCode.file_encrypted.value)
            root: Any = reader.trailer["/Root"].get_object()
            pages = root["/Pages"]
        except InputFileError:
            raise
        except MemoryError:
            raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
        except Exception:  # damaged beyond pypdf's repair: pdfplumber/pdfium give the verdict
            return
        _walk_page_tree(pages)
    finally:
        _PYPDF_LOG.setLevel(level)


def _walk_page_tree(pages: Any) -> None:
    from pypdf.generic import IndirectObject

    def resolve(node: Any) -> tuple[Any, tuple[int, int] | None]:
        if isinstance(node, IndirectObject):
            return node.get_object(), (node.idnum, node.generation)
        return node, None

    try:
        top, _ = resolve(pages)
        declared = int(top.get("/Count", 0))
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception:
        return
    if declared > MAX_PDF_PAGES:
        raise _too_complex(f"PDF 声明有 {declared} 页，上限为 {MAX_PDF_PAGES} 页")
    seen: set[tuple[int, int]] = set()
    seen_direct: set[int] = set()
    leaves = 0
    stack: list[tuple[Any, int]] = [(pages, 1)]
    while stack:
        node_ref, depth = stack.pop()
        try:
            node, ident = resolve(node_ref)
        except MemoryError:
            raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
        except Exception:
            continue  # a missing object: pdfium skips it too
        if ident is not None:
            if ident in seen:
                raise InputFileError(_PDF_LOOP, field="file", code=FindingCode.file_unreadable.value)
            seen.add(ident)
        else:
            if id(node) in seen_direct:
                raise InputFileError(_PDF_LOOP, field="file", code=FindingCode.file_unreadable.value)
            seen_direct.add(id(node))
        if len(seen) + len(seen_direct) > _MAX_PDF_NODES:
            raise _too_complex(f"PDF 页面目录超过 {_MAX_PDF_NODES} 个节点")
        if depth > MAX_PDF_TREE_DEPTH:
            raise _too_complex(f"PDF 页面目录嵌套超过 {MAX_PDF_TREE_DEPTH} 层")
        kids = node.get("/Kids") if hasattr(node, "get") else None
        if kids is None or node.get("/Type") == "/Page":
            leaves += 1
            if leaves > MAX_PDF_PAGES:
                raise _too_complex(f"PDF 超过 {MAX_PDF_PAGES} 页")
            continue
        try:
            kids = kids.get_object()
            stack.extend((kid, depth + 1) for kid in reversed(list(kids)))
        except MemoryError:
            raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
        except Exception:
            continue


# --- images -------------------------------------------------------------------------------------
_PNG = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers: SOF0-SOF15 without DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_IMAGE_UNREADABLE = "扫描件无法读取（文件已损坏或不完整）。请重新扫描或重新导出后放入收件箱。"
_MAX_JPEG_SEGMENTS = 10_000


def _image_too_large(detail: str) -> InputFileError:
    return InputFileError(
        f"扫描件过大：{detail}。请以 200～300 dpi 重新扫描（彩色或灰度），必要时分成几个文件。",
        field="file", code=FindingCode.file_too_large.value)


def _unreadable_image() -> InputFileError:
    return InputFileError(_IMAGE_UNREADABLE, field="file", code=FindingCode.file_unreadable.value)


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG or JPEG, read with ``struct``; None for other formats.

    Raises ``InputFileError`` (``FILE_UNREADABLE``) for a PNG or JPEG whose header is cut short or
    malformed."""
    with path.open("rb") as fh:
        head = fh.read(32)
        if head.startswith(_PNG):
            if len(head) < 24 or head[12:16] != b"IHDR":
                raise _unreadable_image()
            width, height = struct.unpack(">II", head[16:24])
            return width, height
        if head.startswith(b"\xff\xd8"):
            fh.seek(2)
            return _jpeg_size(fh)
    return None


def _jpeg_size(fh: Any) -> tuple[int, int]:
    for _ in range(_MAX_JPEG_SEGMENTS):
        byte = fh.read(1)
        if byte != b"\xff":
            break
        while byte == b"\xff":  # fill bytes before a marker
            byte = fh.read(1)
        if not byte:
            break
        marker = byte[0]
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            continue  # markers without a length
        if marker in (0xD9, 0xDA):  # end of image, or the scan data before any frame header
            break
        length_bytes = fh.read(2)
        if len(length_bytes) < 2:
            break
        (length,) = struct.unpack(">H", length_bytes)
        if length < 2:
            break
        if marker in _JPEG_SOF:
            frame = fh.read(5)
            if len(frame) < 5:
                break
            _precision, height, width = struct.unpack(">BHH", frame)
            return width, height
        fh.seek(length - 2, 1)
    raise _unreadable_image()


def check_image(path: Path, max_pixels: int) -> None:
    """Pixels of a PNG/JPEG from its header (our own parser), every format through Pillow's lazy
    open with its decompression-bomb limit set to ``max_pixels``; nothing is decoded."""
    from PIL import Image, UnidentifiedImageError

    size = image_size(path)
    if size is not None:
        width, height = size
        if width == 0 or height == 0:
            raise _unreadable_image()
        if width * height > max_pixels:
            raise _image_too_large(f"图片为 {width}×{height} 像素，超过每页 {max_pixels} 像素的上限")
    # Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that. Process-wide on purpose: tied
    # to the setting rather than Pillow's default (about 89 megapixels), so that the scan reader's
    # later opens agree with this check when IT raises scan_max_pixels.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the check below says it
            with Image.open(path) as img:
                width, height = img.size
    except Image.DecompressionBombError as exc:
        raise _image_too_large("图片像素数超出上限") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error) as exc:
        raise _unreadable_image() from exc
    if width * height > max_pixels:
        raise _image_too_large(f"图片为 {width}×{height} 像素，超过每页 {max_pixels} 像素的上限")
