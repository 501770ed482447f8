"""Which extractor reads which kind of file; sniff a file and hand it to the right one.

Adding a format or a form is one line in ``default_registry`` (an object satisfying ``Extractor`` whose
``kinds`` names the sniffed kinds it reads; for the formats read as grids, a format's
``GridExtractor`` subclass given a ``Form``). Each kind holds a list of extractors, tried in order: an
extractor that raises ``InputFileError`` with a "not my form" code (``NOT_MY_FORM``, such as
``FILE_NOT_CHECK_TABLE``) passes the file to the next one; when every one says so, the first one's
error is raised. Kinds without an extractor are refused with a Chinese message from
``pipeline.extract.base.error_for_kind``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pipeline.core.errors import InputFileError
from pipeline.core.limits import check_input
from pipeline.core.models import Extraction
from pipeline.core.settings import load_settings
from pipeline.core.sniff import detect_kind
from pipeline.documents.grid import CHECK_TABLE, NOT_CHECK_TABLE_CODE

from .base import Extractor, error_for_kind
from .docx_check_table import DocxExtractor
from .legacy import LegacyExtractor
from .pdf_check_table import PdfExtractor
from .penalty_decision import NOT_PENALTY_DECISION_CODE, DocxPenaltyExtractor, PdfPenaltyExtractor
from .scan import ScanExtractor
from .site_record import NOT_SITE_RECORD_CODE, SITE_RECORD
from .xlsx_check_table import XlsxExtractor

__all__ = ["NOT_MY_FORM", "Registry", "default_registry", "extract_file", "get_extractor", "get_extractors",
           "supported_kinds"]

# Error codes with which an extractor says "this readable file is not my form".
NOT_MY_FORM: frozenset[str] = frozenset({NOT_CHECK_TABLE_CODE, NOT_SITE_RECORD_CODE, NOT_PENALTY_DECISION_CODE})


class Registry:
    """Extractors by sniffed kind, tried in the order they were added."""

    def __init__(self) -> None:
        self._by_kind: dict[str, list[Extractor]] = {}

    def register(self, extractor: Extractor) -> None:
        """Append ``extractor`` to the extractors tried for each of its ``kinds`` (once)."""
        for kind in extractor.kinds:
            extractors = self._by_kind.setdefault(kind, [])
            if extractor not in extractors:
                extractors.append(extractor)

    def get_extractor(self, kind: str) -> Extractor | None:
        """The first extractor registered for a sniffed ``kind``, or None."""
        extractors = self._by_kind.get(kind)
        return extractors[0] if extractors else None

    def get_extractors(self, kind: str) -> tuple[Extractor, ...]:
        """The extractors registered for a sniffed ``kind``, in the order they are tried."""
        return tuple(self._by_kind.get(kind, ()))

    def supported_kinds(self) -> frozenset[str]:
        """The sniffed kinds some extractor can read."""
        return frozenset(self._by_kind)

    def extract_file(self, path: Path, display_name: str | None = None, *, limits_checked: bool = False) -> Extraction:
        """Sniff ``path`` by content and extract it with the first registered extractor that reads it.
        ``limits_checked``: the caller ran ``check_input`` on it already (a third of the work on a small file).

        Raises ``InputFileError`` (Chinese message, ``code`` a ``FindingCode`` value) when the file
        cannot be read, is of a kind no extractor handles, or holds none of the forms (then the first
        extractor's error, e.g. ``FILE_NOT_CHECK_TABLE``).
        """
        try:
            kind = detect_kind(path)
        except OSError as exc:
            raise error_for_kind("unreadable") from exc
        # Before any parser sees the file (pipeline.core.limits).
        if not limits_checked:
            check_input(path, kind, max_image_pixels=load_settings().scan_max_pixels if kind == "image" else None)
        extractors = self.get_extractors(kind)
        if not extractors:
            raise error_for_kind(kind)
        first: InputFileError | None = None
        for extractor in extractors:
            try:
                return extractor.extract(path, display_name=display_name)
            except InputFileError as exc:
                if exc.code not in NOT_MY_FORM:
                    raise
                if first is None or first.code == NOT_PENALTY_DECISION_CODE:  # the check table's refusal says more
                    first = exc
        assert first is not None
        raise first


@functools.cache
def default_registry() -> Registry:
    """The built-in extractors. Per kind, the check table is tried before the site record; a
    行政处罚决定书 (recognised by its title) comes first, so that it is never read as a check table."""
    registry = Registry()
    for extractor in (
        DocxPenaltyExtractor(),
        PdfPenaltyExtractor(),
        DocxExtractor(CHECK_TABLE),
        DocxExtractor(SITE_RECORD),
        XlsxExtractor(CHECK_TABLE),
        XlsxExtractor(SITE_RECORD),
        LegacyExtractor(reader=registry),
        PdfExtractor(CHECK_TABLE),
        PdfExtractor(SITE_RECORD),
        ScanExtractor(),  # images (image-only PDFs stay SCAN_PENDING here: see pipeline.extract.scan)
    ):
        registry.register(extractor)
    return registry


def get_extractor(kind: str) -> Extractor | None:
    """The first built-in extractor for a sniffed ``kind``, or None."""
    return default_registry().get_extractor(kind)


def get_extractors(kind: str) -> tuple[Extractor, ...]:
    """The built-in extractors for a sniffed ``kind``, in the order they are tried."""
    return default_registry().get_extractors(kind)


def supported_kinds() -> frozenset[str]:
    """The sniffed kinds some built-in extractor can read."""
    return default_registry().supported_kinds()


def extract_file(path: Path, display_name: str | None = None, *, limits_checked: bool = False) -> Extraction:
    """``Registry.extract_file`` with the built-in extractors."""
    return default_registry().extract_file(path, display_name, limits_checked=limits_checked)
