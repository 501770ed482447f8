"""Old and foreign formats (.doc/.wps, .rtf, .odt, .ods, web pages, other OLE2 files) via LibreOffice.

``LegacyExtractor`` converts the file with LibreOffice (``pipeline.documents.libreoffice``) into .docx (word
processing) or .xlsx (spreadsheet) and hands the result to the extractors registered for that
kind, with the original display name, so provenance names the dropped file; confidences and
warnings are those of the inner extractor.

Word or spreadsheet:

* odt, rtf → docx; ods → xlsx;
* OLE2 (``sniff.ole2_flavour``): Word/WPS text → docx; a compound file of unknown flavour is tried
  as a Word document and, when its name says spreadsheet (.xls/.et/…), then as a workbook.
  (Excel/WPS workbooks are sniffed as ``xls`` and read by the xlsx extractor directly.)
* HTML: an Excel/WPS export (``xmlns:x="urn:schemas-microsoft-com:office:excel"``, ProgId
  ``Excel.Sheet``) or a page that is nothing but tables → xlsx, else docx; when the first choice
  holds no form, the other is tried (a page without any table only as docx).

Each route names LibreOffice's import filter, so a damaged file fails to load (``ConversionError``,
``FILE_UNREADABLE``) instead of being imported as plain text.

The LibreOffice executable is the ``soffice`` given to the constructor, or else the ``soffice``
setting (``pipeline.core.settings.load_settings()``), read when a file is extracted. Without LibreOffice
the file is refused with ``FILE_UNSUPPORTED`` and a message saying how to fix it.
"""

from __future__ import annotations

import re
import tempfile
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from pipeline.core.errors import InputFileError
from pipeline.core.models import Extraction
from pipeline.core.settings import load_settings
from pipeline.core.sniff import KIND_LABELS, detect_kind, ole2_flavour
from pipeline.documents.libreoffice import DEFAULT_TIMEOUT, ConversionError, Converter, LibreOfficeMissing

from .base import Reader, error_for_kind

__all__ = ["LIBREOFFICE_MISSING", "LegacyExtractor", "conversion_routes", "worth_next_route"]

LIBREOFFICE_MISSING = (
    "服务器未安装 LibreOffice，无法读取旧版格式（.doc/.xls/.wps/.et/.rtf/.odt）。请在 Word/WPS 中另存为 "
    ".docx 或 .xlsx 后重新放入，或请信息化人员安装 LibreOffice（运行 shuangsui doctor 查看）。"
)


def _no_spreadsheet_reader(kind: str) -> str:
    label = KIND_LABELS.get(kind, kind)
    return f"此文件（{label}）是表格，暂时无法读取。请在 Excel/WPS 中另存为 .xlsx 后重新放入收件箱。"


@dataclass(frozen=True)
class _Route:
    """How to convert: output kind (``docx``/``xlsx``), input extension and import filter."""

    target: str
    suffix: str
    infilter: str


_DOC = _Route("docx", ".doc", "MS Word 97")  # Word 97–2003 and Kingsoft WPS text (.wps)
_XLS = _Route("xlsx", ".xls", "MS Excel 97")  # Excel 97–2003 and Kingsoft ET (.et)
_RTF = _Route("docx", ".rtf", "Rich Text Format")
_ODT = _Route("docx", ".odt", "writer8")
_ODS = _Route("xlsx", ".ods", "calc8")
_HTML_WORD = _Route("docx", ".html", "HTML (StarWriter)")
_HTML_SHEET = _Route("xlsx", ".html", "HTML (StarCalc)")

_SPREADSHEET_SUFFIXES = frozenset({".xls", ".xlt", ".et", ".ett", ".xlsx", ".xlsm", ".ods"})

_HTML_BYTES = 1 << 20
_SHEET_MARKERS = re.compile(
    rb"urn:schemas-microsoft-com:office:excel|progid\"?\s+content=\"?excel\.sheet|content=\"?microsoft excel",
    re.IGNORECASE,
)
_WORD_MARKERS = re.compile(
    rb"urn:schemas-microsoft-com:office:word|progid\"?\s+content=\"?word\.document|content=\"?microsoft word",
    re.IGNORECASE,
)
_PROGID = re.compile(rb"progid\"?\s+content=\"?(excel\.sheet|word\.document)", re.IGNORECASE)


class _TableText(HTMLParser):
    """Counts the visible characters of a page inside and outside ``<table>`` elements."""

    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.tables = 0
        self.skip = 0
        self.inside = 0
        self.outside = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.depth += 1
            self.tables += 1
        elif tag in self._SKIP:
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth = max(0, self.depth - 1)
        elif tag in self._SKIP:
            self.skip = max(0, self.skip - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        count = len("".join(data.split()))
        if self.depth:
            self.inside += count
        else:
            self.outside += count


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def _html_layout(path: Path) -> tuple[bool, bool]:
    """(is a spreadsheet export, has a table) for a web page; see ``html_is_spreadsheet``."""
    with path.open("rb") as fh:
        raw = fh.read(_HTML_BYTES)
    parser = _TableText()
    parser.feed(_decode(raw))
    parser.close()
    has_table = parser.tables > 0
    progid = _PROGID.search(raw)
    if progid:
        return progid.group(1).lower() == b"excel.sheet", has_table
    if _WORD_MARKERS.search(raw):
        return False, has_table
    if _SHEET_MARKERS.search(raw):
        return True, has_table
    return parser.inside > 0 and parser.outside == 0, has_table


def html_is_spreadsheet(path: Path) -> bool:
    """Whether a web page is a spreadsheet export (Excel/WPS markers, or nothing but tables)."""
    return _html_layout(path)[0]


def _try_next(exc: InputFileError) -> bool:
    """Whether another route may do better: nothing came out, or no form was found in it."""
    return isinstance(exc, ConversionError) or exc.code.startswith("FILE_NOT_")


def worth_next_route(exc: InputFileError) -> bool:
    """Whether another route may do better (for callers converting elsewhere, e.g. through the queue)."""
    return _try_next(exc)


def conversion_routes(kind: str, path: Path, display: str) -> list[_Route]:
    """How LibreOffice converts a file of ``kind``, in the order tried (empty: not a kind it converts)."""
    return LegacyExtractor._routes(kind, path, display)


class LegacyExtractor:
    """Extractor for kinds LibreOffice must convert first (see the module docstring)."""

    name: str = "legacy_libreoffice"
    kinds: frozenset[str] = frozenset({"ole2", "rtf", "odt", "ods", "html"})

    def __init__(self, soffice: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 reader: Reader | None = None) -> None:
        # The registry hands itself in: the converted file is read by whichever extractor reads its kind.
        self.reader = reader
        self.soffice = soffice
        self.timeout = timeout
        self._converters: dict[str, Converter] = {}
        self._lock = threading.Lock()

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        display = display_name or path.name
        try:
            kind = detect_kind(path)
            routes = self._routes(kind, path, display)
        except OSError as exc:
            raise error_for_kind("unreadable") from exc
        if not routes:
            raise error_for_kind(kind)
        errors: list[InputFileError] = []
        for route in routes:
            if route.target == "xlsx" and (self.reader is None or self.reader.get_extractor("xlsx") is None):
                errors.append(InputFileError(_no_spreadsheet_reader(kind), field="file", code="FILE_UNSUPPORTED"))
                continue
            try:
                return self._via(route, path, display)
            except InputFileError as exc:
                if not _try_next(exc):
                    raise
                errors.append(exc)
        # Prefer "readable, but no form in it" over "could not be converted".
        raise next((e for e in errors if e.code.startswith("FILE_NOT_")), errors[0])

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _routes(kind: str, path: Path, display: str) -> list[_Route]:
        if kind in ("odt", "rtf"):
            return [_ODT if kind == "odt" else _RTF]
        if kind == "ods":
            return [_ODS]
        if kind == "html":
            spreadsheet, has_table = _html_layout(path)
            if spreadsheet:
                return [_HTML_SHEET, _HTML_WORD]
            return [_HTML_WORD, _HTML_SHEET] if has_table else [_HTML_WORD]  # a sheet needs a table
        if kind == "ole2":
            flavour = ole2_flavour(path)
            if flavour == "xls":
                return [_XLS]
            if flavour == "doc" or Path(display).suffix.lower() not in _SPREADSHEET_SUFFIXES:
                return [_DOC]
            return [_DOC, _XLS]
        return []

    def _converter(self) -> Converter:
        setting = self.soffice if self.soffice is not None else load_settings().soffice
        with self._lock:
            converter = self._converters.get(setting)
            if converter is None:
                try:
                    converter = Converter(setting, timeout=self.timeout)
                except LibreOfficeMissing as exc:
                    raise InputFileError(LIBREOFFICE_MISSING, field="file", code="FILE_UNSUPPORTED") from exc
                self._converters[setting] = converter
            return converter

    def _via(self, route: _Route, path: Path, display: str) -> Extraction:
        """Convert ``path`` along ``route`` and extract the result with the registered extractors."""
        if self.reader is None:
            raise InputFileError(LIBREOFFICE_MISSING, field="file", code="FILE_UNSUPPORTED")
        converter = self._converter()
        with tempfile.TemporaryDirectory(prefix="shuangsui-legacy-") as tmp:
            try:
                converted = converter.convert(
                    path, route.target, Path(tmp), infilter=route.infilter, suffix=route.suffix
                )
            except LibreOfficeMissing as exc:
                raise InputFileError(LIBREOFFICE_MISSING, field="file", code="FILE_UNSUPPORTED") from exc
            return self.reader.extract_file(converted, display_name=display)
