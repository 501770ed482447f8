"""Which extractor reads which kind of file; sniff a file and hand it to the right one.

Adding a format is one line in ``_BUILTIN`` (an object satisfying ``Extractor`` whose ``kinds``
names the sniffed kinds it reads). Kinds without an extractor are refused with a Chinese message
from ``pipeline.extract.base.error_for_kind``.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.models import Extraction

from .base import Extractor, error_for_kind
from .docx_check_table import DocxCheckTableExtractor
from .sniff import detect_kind

__all__ = ["extract_file", "get_extractor", "register", "supported_kinds"]

_BUILTIN: tuple[Extractor, ...] = (DocxCheckTableExtractor(),)

_REGISTRY: dict[str, Extractor] = {}


def register(extractor: Extractor) -> None:
    """Make ``extractor`` the one used for each of its ``kinds`` (replacing any earlier one)."""
    for kind in extractor.kinds:
        _REGISTRY[kind] = extractor


for _extractor in _BUILTIN:
    register(_extractor)


def get_extractor(kind: str) -> Extractor | None:
    """The extractor registered for a sniffed ``kind``, or None."""
    return _REGISTRY.get(kind)


def supported_kinds() -> frozenset[str]:
    """The sniffed kinds some extractor can read."""
    return frozenset(_REGISTRY)


def extract_file(path: Path, display_name: str | None = None) -> Extraction:
    """Sniff ``path`` by content and extract it with the registered extractor.

    Raises ``InputFileError`` (Chinese message, ``code`` a ``FindingCode`` value) when the file
    cannot be read, is of a kind no extractor handles, or holds no check table.
    """
    try:
        kind = detect_kind(path)
    except OSError as exc:
        raise error_for_kind("unreadable") from exc
    extractor = get_extractor(kind)
    if extractor is None:
        raise error_for_kind(kind)
    return extractor.extract(path, display_name=display_name)
