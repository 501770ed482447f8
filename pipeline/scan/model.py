"""The results of analysing a scan (the contract ``pipeline.scan`` exports)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.core.evidence import (
    CHECK_TABLE_LOWER,
    CHECK_TABLE_UPPER,
    SITE_RECORD_OTHER,
    SITE_RECORD_PARTY,
)

# The box names and labels are the evidence model's (``pipeline.core.evidence``): one list for both.
CHECK_TABLE_BOXES = CHECK_TABLE_UPPER + CHECK_TABLE_LOWER
SITE_RECORD_BOXES = SITE_RECORD_PARTY + SITE_RECORD_OTHER


@dataclass(frozen=True)
class BoxEvidence:
    box: str
    present: bool | None  # None = uncertain, a person must look
    score: float
    page: int  # 0-based page index in the file
    bbox: tuple[int, int, int, int]  # pixels in that page image (as analysed, long side ≤ 2400 px)
    crop_png: bytes | None = None  # set when present is None (for the 待审核 material)

    def as_json(self) -> dict[str, Any]:
        return {"present": self.present, "score": round(self.score, 3)}


@dataclass(frozen=True)
class ScanDocument:
    form: str | None  # "check_table" | "site_record" | None (unknown)
    case_id: str | None  # from the QR code
    pages: tuple[int, ...]  # 0-based page indices of this form in the file
    evidence: Mapping[str, BoxEvidence]
    fields: Mapping[str, str]  # printed text read from the scan (only with the OCR extra), may be empty
    matched_by: str  # "qr" | "layout" | "none"
    warnings: tuple[str, ...]  # Chinese

    def evidence_json(self) -> dict[str, dict[str, Any]]:
        return {box: ev.as_json() for box, ev in self.evidence.items()}

    def as_json(self) -> dict[str, Any]:
        return {"form": self.form, "case_ref": self.case_id, "pages": list(self.pages),
                "matched_by": self.matched_by, "evidence": self.evidence_json(), "warnings": list(self.warnings)}


@dataclass(frozen=True)
class ScanAnalysis:
    page_count: int
    text_pages: tuple[int, ...]  # PDF pages with a real text layer (not scans)
    documents: tuple[ScanDocument, ...]
