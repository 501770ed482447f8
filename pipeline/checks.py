"""Checks of an extracted check table that decide whether it can be accepted.

The foundation set: required fields and the two-inspector rule (第十条). The bureau's full rule set
(lists, 执法证号, 回避, deadlines) builds on the same ``Finding`` shape.
"""

from __future__ import annotations

from pipeline.codes import FindingCode, Severity
from pipeline.models import FIELD_LABELS, Extraction, Finding

REQUIRED: tuple[tuple[str, str], ...] = (
    ("inspected_unit", "请在“被抽查单位”栏填写被检查企业的全称。"),
    ("check_start", "请在“抽查时间”栏按“2026年3月5日9时30分至11时00分”的格式填写。"),
)


def error(code: FindingCode, field: str | None, message: str) -> Finding:
    return Finding(code.value, Severity.error.value, field, message)


def warning(code: FindingCode, field: str | None, message: str) -> Finding:
    return Finding(code.value, Severity.warning.value, field, message)


def check_record(extraction: Extraction) -> list[Finding]:
    fields = extraction.fields
    findings: list[Finding] = []
    for key, how in REQUIRED:
        if not fields.get(key):
            findings.append(error(FindingCode.field_missing, key, f"“{FIELD_LABELS[key]}”未填写。{how}"))
    inspectors = [i for i in fields.get("inspectors") or [] if i.get("name")]
    if len(inspectors) < 2:
        findings.append(error(
            FindingCode.inspectors_too_few, "inspectors",
            f"抽查执法人员只有 {len(inspectors)} 人，现场检查的执法检查人员不得少于两人（第十条）。"
            "请补填第二名执法人员的姓名、职务、执法证号和联系电话。"))
    for i, person in enumerate(inspectors, start=1):
        absent = [label for key, label in (("title", "职务"), ("licence_no", "执法证号"), ("phone", "联系电话"))
                  if not person.get(key)]
        if absent:
            findings.append(error(
                FindingCode.inspector_incomplete, "inspectors",
                f"第 {i} 名执法人员（{person['name']}）缺少{'、'.join(absent)}。请补填后重新放入。"))
    start, end = fields.get("check_start"), fields.get("check_end")
    if start and end and end < start:
        findings.append(error(FindingCode.dates_incoherent, "check_end",
                              f"抽查时间的结束（{end}）早于开始（{start}）。请核对抽查时间。"))
    findings.extend(warning(FindingCode.extraction_warning, None, w) for w in extraction.warnings)
    return findings


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == Severity.error.value for f in findings)
