"""The results of analysing a scan (the contract ``pipeline.scan`` exports)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHECK_TABLE_BOXES = (
    "dept_opinion_seal",
    "leader_approval_signature",
    "authority_opinion_seal",
    "leader_confirmation_signature",
    "authority_seal",
)
SITE_RECORD_BOXES = ("party_signature", "party_seal", "refusal_reason", "witness_signature", "inspector_signatures")

# What staff see for each box (the form's own wording).
BOX_LABELS: dict[str, str] = {
    "dept_opinion_seal": "执法科室意见（盖章）",
    "leader_approval_signature": "分管领导批准签字",
    "authority_opinion_seal": "抽查执法主体意见（盖章）",
    "leader_confirmation_signature": "分管领导确认签字",
    "authority_seal": "抽查执法主体盖章",
    "party_signature": "当事人签字",
    "party_seal": "当事人盖章",
    "refusal_reason": "未签字（盖章）原因",
    "witness_signature": "见证人签字",
    "inspector_signatures": "检查人员签字",
}


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
