"""Reading forms out of dropped files: content sniffing, the extractor registry, the extractors.

``extract_file(path)`` sniffs a file by content and returns an ``Extraction``, or raises
``InputFileError`` with a Chinese message that tells staff how to fix the file.
"""

from __future__ import annotations

from pipeline.core.sniff import KIND_LABELS, detect_kind

from .base import Extractor
from .registry import extract_file, get_extractor

__all__ = ["KIND_LABELS", "Extractor", "detect_kind", "extract_file", "get_extractor"]
