"""A scan whose printed text names several open cases: a 待审核 question, never a guess (issue 12).

A scan without a QR code is matched by what OCR read on it (``pipeline.cases.scanmatch``). When two
or more open cases fit (one unit checked twice, the date not readable), or the page shows only a date
(page 2 of the form alone: even one case of that date is only a candidate), the scan waits in 待匹配 and
one question lists the candidates: it is asked on the first candidate case (questions live on a
case), keyed by the scan, with the candidates' case numbers and 都不是 as the answers. The answer
chosen attaches the scan when waiting scans are tried again (``scanwork.rematch_unmatched``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.cases.context import Context
from pipeline.cases.lists import unit_directory
from pipeline.cases.scanmatch import TextMatch, match_by_text, near
from pipeline.core.codes import FindingCode
from pipeline.core.evidence import FORM_LABELS
from pipeline.core.text import company_key
from pipeline.store import Ask, CaseRow

KEY_PREFIX = "SCAN_MATCH:"  # + the scan document's id
NONE_OF_THEM = "都不是"


def text_match(ctx: Context, hints: Mapping[str, str]) -> TextMatch:
    """The open case(s) the printed ``hints`` of a scan name."""
    if not (hints.get("inspected_unit") or hints.get("uscc") or hints.get("check_start")):
        return TextMatch(None, ())
    return match_by_text(hints, ctx.store.list_cases(), lambda code: unit_of_uscc(ctx, code))


def unit_of_uscc(ctx: Context, code: str) -> str | None:
    for entry in unit_directory(ctx.store, None):
        if str(entry.get("统一社会信用代码") or "").strip().upper() == code:
            return str(entry.get("企业名称") or "") or None
    return None


def question_key(scan_id: int) -> str:
    return f"{KEY_PREFIX}{scan_id}"


def is_choice(key: str) -> bool:
    return key.startswith(KEY_PREFIX)


def chosen_case(ctx: Context, scan_id: int) -> str | None:
    """The case a person chose for a waiting scan (None: not answered, or 都不是)."""
    key = question_key(scan_id)
    for q in ctx.store.questions(status="answered"):
        if q.key == key and q.answer and q.answer != NONE_OF_THEM and ctx.store.get_case(q.answer) is not None:
            return q.answer
    return None


def choice_asks(ctx: Context, case_id: str) -> list[Ask]:
    """The questions ``case_id`` carries: waiting scans whose first candidate it is."""
    asks: list[Ask] = []
    case = ctx.store.get_case(case_id)
    if case is None:
        return asks
    for scan, file in ctx.store.unmatched_scans():
        if not _may_name(scan.hints, case):
            continue  # the full match reads every case: only for a scan that may name this one
        found = text_match(ctx, scan.hints)
        if not found.candidates or found.candidates[0] != case_id:
            continue
        label = FORM_LABELS.get(scan.form or "", "表单")
        pages = "、".join(str(i + 1) for i in scan.pages)
        prompt = (f"扫描件“{file.original_name}”第 {pages} 页（{label}）上{_read(scan.hints)}，"
                  f"请选择它属于哪个案卷；都不对请选“{NONE_OF_THEM}”（扫描件改名后重新放入）。")
        asks.append(Ask(question_key(scan.id), FindingCode.scan_ambiguous.value, None, prompt,
                        "；".join(_describe(ctx, c) for c in found.candidates),
                        (*found.candidates, NONE_OF_THEM)))
    return asks


def _may_name(hints: Mapping[str, str], case: CaseRow) -> bool:
    if hints.get("uscc"):
        return True
    if hints.get("inspected_unit"):
        return near(company_key(hints["inspected_unit"]), case.unit_key or "")
    return bool(hints.get("check_start")) and (case.check_date or "")[:10] == hints["check_start"][:10]


def _read(hints: Mapping[str, str]) -> str:
    unit = hints.get("inspected_unit") or hints.get("uscc")
    if unit:
        return f"的“{unit}”同时符合几个案卷"
    return f"没有企业名称，只读出抽查时间 {(hints.get('check_start') or '')[:10]}，符合下列案卷"


def _describe(ctx: Context, case_id: str) -> str:
    case = ctx.store.get_case(case_id)
    if case is None:
        return case_id
    record = case.record or {}
    names = "、".join(str(p.get("name")) for p in record.get("inspectors") or () if isinstance(p, Mapping))
    people = f"，检查人员 {names}" if names else ""
    return f"{case_id}：{case.unit_name or ''}，抽查日期 {case.check_date or '不详'}{people}"
