"""The case's signature and seal evidence: what the signed scans show, box by box.

One model for every source: a scan document (one printed form inside a scan file) gives, for each
box of its form, ``present`` = seen / not seen / uncertain. The newest scan of a form replaces
older ones (a re-scan is the whole form again). A person's answer to an uncertain box is a
review answer keyed by the scan, so a new scan asks again. The rules (``rules.rule_evidence``)
decide what is required; this module only folds the rows the store gives (``Store.scan_boxes``)
into that model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CHECK_TABLE = "check_table"
ELECTRONIC = "electronic"  # a scan document's matched_by (and a box's source) for 电子签章 in a typed file
SITE_RECORD = "site_record"

# Boxes of the printed forms (the names are the public ``extract --json`` contract of issue 5).
CHECK_TABLE_UPPER = ("dept_opinion_seal", "leader_approval_signature", "authority_opinion_seal")
CHECK_TABLE_LOWER = ("leader_confirmation_signature", "authority_seal")
SITE_RECORD_PARTY = ("party_signature", "party_seal", "refusal_reason")
SITE_RECORD_OTHER = ("witness_signature", "inspector_signatures")

BOX_LABELS = {
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
CROP_PREFIX = "截图："  # a question's "found" text naming a box crop; the 待审核 sheet shows the image
FORM_LABELS = {CHECK_TABLE: "检查表", SITE_RECORD: "现场检查笔录"}


@dataclass(frozen=True)
class BoxState:
    box: str
    present: bool | None
    score: float | None
    page: int | None
    crop: str | None
    scan_id: int = 0          # the scan document that showed it (answers are keyed by it)
    file_name: str = ""
    source: str = "scan"      # or ELECTRONIC: a seal or signature image in the typed file's cell


@dataclass(frozen=True)
class ScanSeen:
    """What the scans of one form of a case show, box by box (the newest scan of each box wins:
    a two-page check table may come as two files, and a re-scan replaces what it shows)."""

    form: str
    boxes: Mapping[str, BoxState]

    def where(self, box: str) -> str:
        state = self.boxes.get(box)
        if state is None:
            return "扫描件"
        if state.source == ELECTRONIC:
            return f"电子版“{state.file_name}”"
        page = f"第 {state.page + 1} 页" if state.page is not None else ""
        return f"扫描件“{state.file_name}”{page}"


@dataclass(frozen=True)
class CaseEvidence:
    scans: Mapping[str, ScanSeen] = field(default_factory=dict)  # form → what its scans show

    def of(self, form: str) -> ScanSeen | None:
        return self.scans.get(form)


@dataclass(frozen=True)
class ScanBoxRow:
    """One box of one matched scan document as the store holds it; ``box`` is ``None`` for a scan
    document without boxes (it still names its form)."""

    scan_id: int
    form: str
    original_name: str
    box: str | None
    present: bool | None
    score: float | None
    page: int | None
    crop: str | None
    source: str = "scan"


def case_evidence(rows: Iterable[ScanBoxRow], *, electronic: bool = True) -> CaseEvidence:
    """Per form, the newest evidence of each box; ``rows`` in scan document order. ``electronic``:
    whether 电子签章 in typed files counts (the setting ``accept_electronic_seal``)."""
    forms: dict[str, dict[str, BoxState]] = {}
    for r in rows:
        if r.source == ELECTRONIC and not electronic:
            continue
        boxes = forms.setdefault(r.form, {})
        if r.box is not None:  # later scan documents overwrite earlier ones
            boxes[r.box] = BoxState(r.box, r.present, r.score, r.page, r.crop, r.scan_id, r.original_name,
                                    r.source)
    return CaseEvidence({form: ScanSeen(form, boxes) for form, boxes in forms.items()})


def evidence_json(seen: CaseEvidence) -> dict[str, Any]:
    """For ``shuangsui case`` / status views: form → box → present."""
    return {form: {box: s.present for box, s in scan.boxes.items()} for form, scan in seen.scans.items()}


def dumps_bbox(bbox: tuple[int, int, int, int] | None) -> str | None:
    return json.dumps(list(bbox)) if bbox else None
