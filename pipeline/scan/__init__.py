"""Signed scans: which case a scan belongs to and whether its signatures and seals are there.

The contract the pipeline codes against (see README, "Signed scans"): ``is_scan``, ``analyse_scan``,
``write_normalised_pdf``, the box names (``CHECK_TABLE_BOXES``, ``SITE_RECORD_BOXES``, ``BOX_LABELS``)
and the result dataclasses ``BoxEvidence``, ``ScanDocument``, ``ScanAnalysis``.
"""

from __future__ import annotations

from pipeline.core.evidence import BOX_LABELS

from .analyse import analyse_scan
from .model import CHECK_TABLE_BOXES, SITE_RECORD_BOXES, BoxEvidence, ScanAnalysis, ScanDocument
from .normalise import write_normalised_pdf
from .pages import is_scan

__all__ = [
    "BOX_LABELS",
    "CHECK_TABLE_BOXES",
    "SITE_RECORD_BOXES",
    "BoxEvidence",
    "ScanAnalysis",
    "ScanDocument",
    "analyse_scan",
    "is_scan",
    "write_normalised_pdf",
]
