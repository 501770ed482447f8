"""The extractor of signed scans: images (registered), and PDFs whose pages are scans (``extract_scan``).

It reports, beside the form and the printed fields it could read (the optional OCR extra), the evidence
of every signature/seal/reason box (``pipeline.scan``) and the case number from the QR code. A file
holding several forms also lists them under ``documents``. ``shuangsui extract SCAN.jpg --json`` prints
it. An image-only PDF still raises ``SCAN_PENDING`` from the PDF extractor in ``extract_file`` (the
pipeline relies on it); ``extract_scan`` reads such a PDF. The pipeline itself calls
``pipeline.scan.analyse_scan`` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.core.errors import InputFileError
from pipeline.core.models import Extraction
from pipeline.core.settings import Settings, load_settings
from pipeline.scan import BOX_LABELS, analyse_scan, is_scan

__all__ = ["ScanExtractor", "extract_scan", "extraction_of"]

UNKNOWN_FORM = "unknown"
NOT_CHECK_TABLE_CODE = "FILE_NOT_CHECK_TABLE"
NOT_A_SCAN = "文件不是扫描件（有文字层）。"
NO_FORM = (
    "扫描件中认不出随机抽查事项检查表或现场检查笔录（没有二维码，也找不到表格）。"
    "请用系统打印的带二维码的表格签字盖章后重新扫描，整页平放、不要裁切。"
)


def extraction_of(analysis: Any) -> Extraction:
    """The ``Extraction`` of a ``pipeline.scan.ScanAnalysis``: the first form's evidence and case on
    top, every form under ``documents`` when there are several."""

    docs = analysis.documents
    first = docs[0] if docs else None
    warnings: list[str] = []
    if analysis.text_pages:
        pages = "、".join(f"第{p + 1}页" for p in analysis.text_pages)
        warnings.append(f"{pages}有文字层，不是扫描图片，未作为扫描件核对。")
    for doc in docs:
        warnings.extend(doc.warnings)
        for box, ev in doc.evidence.items():
            if ev.present is None:
                warnings.append(f"第{ev.page + 1}页“{BOX_LABELS[box]}”栏无法确定是否已签字或盖章，需要人工核对。")
    if not docs:
        warnings.append("文件中没有扫描页。")
    return Extraction(
        form=(first.form if first and first.form else UNKNOWN_FORM),
        fields=dict(first.fields) if first else {},
        warnings=tuple(warnings),
        case_ref=first.case_id if first else None,
        evidence=first.evidence_json() if first else {},
        documents=tuple(doc.as_json() for doc in docs) if len(docs) > 1 else (),
    )


class ScanExtractor:
    """Reads signed scans (see the module docstring); tried after the PDF extractors, which refuse an
    image-only PDF with ``SCAN_PENDING``."""

    name = "scan"
    kinds: frozenset[str] = frozenset({"image"})
    reads_scans = True

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        del display_name  # scans carry no provenance per field
        return extract_scan(path, self.settings)


def extract_scan(path: Path, settings: Settings | None = None) -> Extraction:
    """The ``Extraction`` of the scan ``path`` (an image, or a PDF with scanned pages).

    Raises ``InputFileError``: the scan's own errors (``FILE_TOO_LARGE``, ``FILE_UNREADABLE``), and
    ``FILE_NOT_CHECK_TABLE`` for a file that is not a scan or in which no form is recognised at all.
    """

    if not is_scan(path):  # a text PDF: the form extractors' business
        raise InputFileError(NOT_A_SCAN, field="file", code=NOT_CHECK_TABLE_CODE)
    analysis = analyse_scan(path, settings or load_settings())
    if not any(doc.form for doc in analysis.documents):
        raise InputFileError(NO_FORM, field="file", code=NOT_CHECK_TABLE_CODE)
    return extraction_of(analysis)
