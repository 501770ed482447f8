"""Small frozen dataclasses passed between the pipeline's stages.

The check-table record is the public extraction contract (see README, "Extraction contract").
Every extracted value keeps where it came from (``Provenance``) and how sure the extractor is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Field keys of the check table, in form order. The README documents them; keep in sync.
CHECK_TABLE_FIELDS: tuple[str, ...] = (
    "inspected_unit",
    "basis",
    "scope",
    "methods",
    "inspectors",
    "situation",
    "check_start",
    "check_end",
    "handling",
    "dept_opinion_date",
    "leader_approval_date",
    "authority_opinion_date",
    "leader_confirmation_date",
    "authority_seal_date",
)

# Chinese labels of the fields, as printed on the seed's form; used in messages to staff.
FIELD_LABELS: dict[str, str] = {
    "inspected_unit": "被抽查单位",
    "basis": "抽查依据",
    "scope": "抽查范围及主要内容",
    "methods": "抽查方式",
    "inspectors": "抽查执法人员",
    "situation": "抽查情况",
    "check_start": "抽查时间（开始）",
    "check_end": "抽查时间（结束）",
    "handling": "处理意见和建议",
    "dept_opinion_date": "执法科室意见日期",
    "leader_approval_date": "分管领导批准签字日期",
    "authority_opinion_date": "抽查执法主体意见日期",
    "leader_confirmation_date": "分管领导确认签字日期",
    "authority_seal_date": "抽查执法主体盖章日期",
    "uscc": "统一社会信用代码",
    "task_name": "抽查任务名称",
    "check_type": "抽查检查类型",
    "file": "文件",
}


# Field keys of the 现场检查笔录 (细则 第十条, ``"form": "site_record"``), in form order.
# ``inspectors`` is a list of ``{name, licence_no}``; ``party_signed`` is True when the party's
# signature box holds a name or 已签字/已盖章 text, False when it is empty (or says the party refused),
# None when the form has no such box; dates are ``YYYY-MM-DD``, check_start/check_end ``YYYY-MM-DDTHH:MM``.
SITE_RECORD_FIELDS: tuple[str, ...] = (
    "check_start",
    "check_end",
    "place",
    "inspected_unit",
    "legal_rep",
    "inspectors",
    "situation",
    "party_signed",
    "party_sign_date",
    "refusal_reason",
    "witness",
    "inspector_sign_date",
)

# Chinese labels of the 现场检查笔录's fields, as printed on the form (keys shared with the check
# table, such as inspected_unit, keep their FIELD_LABELS wording there).
SITE_RECORD_LABELS: dict[str, str] = {
    "check_start": "检查时间（开始）",
    "check_end": "检查时间（结束）",
    "place": "检查地点",
    "inspected_unit": "被检查单位",
    "legal_rep": "法定代表人或负责人",
    "inspectors": "检查人员及执法证号",
    "situation": "检查情况",
    "party_signed": "当事人签字（盖章）",
    "party_sign_date": "当事人签字（盖章）日期",
    "refusal_reason": "未签字（盖章）原因",
    "witness": "见证人签字",
    "inspector_sign_date": "检查人员签字日期",
}


@dataclass(frozen=True)
class Provenance:
    """Where a value was read: the file, and a location such as ``table 1 row 3 col 2``; ``note`` says
    how the value was read when that is not evident (a date run into its time, taken by its one reading)."""

    file: str
    location: str
    confidence: float = 1.0
    note: str | None = None

    @property
    def where(self) -> str:
        """The location, with the note in brackets when there is one (what the database keeps)."""
        return f"{self.location}（{self.note}）" if self.note else self.location

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.file, "location": self.location, "confidence": round(self.confidence, 3)}
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class Inspector:
    name: str | None
    title: str | None
    licence_no: str | None
    phone: str | None

    def as_json(self) -> dict[str, str | None]:
        return {"name": self.name, "title": self.title, "licence_no": self.licence_no, "phone": self.phone}


@dataclass(frozen=True)
class Extraction:
    """What an extractor read from one file.

    ``fields`` maps every key of the form's field list to a JSON-ready value (``None`` when absent):
    strings, lists of strings, lists of inspector dicts, ``YYYY-MM-DD`` dates and ``YYYY-MM-DDTHH:MM``
    times. ``provenance`` holds an entry for every field that was found.
    """

    form: str
    fields: dict[str, Any]
    provenance: dict[str, Provenance] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    case_ref: str | None = None
    # Signed scans only (``pipeline.extract.scan``): box → {"present": bool | None, "score": float},
    # and for a file holding several forms one entry per form. Printed only when non-empty.
    evidence: dict[str, Any] = field(default_factory=dict)
    documents: tuple[dict[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "form": self.form,
            "case_ref": self.case_ref,
            "fields": self.fields,
            "provenance": {k: v.as_json() for k, v in self.provenance.items()},
            "warnings": list(self.warnings),
        }
        if self.evidence:
            out["evidence"] = self.evidence
        if self.documents:
            out["documents"] = list(self.documents)
        return out


@dataclass(frozen=True)
class Finding:
    """One thing the pipeline says about a file or case: a stable code, error or warning, a message."""

    code: str
    severity: str
    field: str | None
    message: str
    article: str | None = None  # the 工作细则 article the rule comes from, e.g. 第十条

    def as_json(self) -> dict[str, str | None]:
        return {"code": self.code, "severity": self.severity, "field": self.field, "message": self.message,
                "article": self.article}
