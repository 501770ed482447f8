"""Match a scan without a QR code to its case by what is printed on it (issue 12).

The fields OCR read from the bureau's printed form (``pipeline.scan.formread``): 被抽查单位, the
统一社会信用代码 when printed, the 抽查时间 and the inspectors' names. They are compared with the open
cases: the unit by its normalised name, exactly or nearly (OCR may misread a character), or by its
统一社会信用代码 through the unit directory; then the check date and the inspectors narrow several cases
of one unit down. One case left is the match. Two or more are never guessed between: the scan waits,
and its note names the candidates for a person to decide. A page with no unit printed on it (page 2 of
the form scanned alone) is never matched by its date alone: the cases of that date are candidates.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.core.codes import OPEN_STATES
from pipeline.core.text import company_key

NEAR_NAME = 0.88  # difflib ratio of two normalised unit names read as the same unit (one character off in ~10)


@dataclass(frozen=True)
class TextMatch:
    case_id: str | None  # the one case the printed text names, else None
    candidates: tuple[str, ...]  # the cases it could be when more than one is left (none chosen)


def near(a: str, b: str) -> bool:
    return bool(a) and bool(b) and (a == b or difflib.SequenceMatcher(None, a, b).ratio() >= NEAR_NAME)


def _case_inspectors(case: Any) -> set[str]:
    record = case.record or {}
    names: set[str] = set()
    for key in ("inspectors", "check_table"):
        value = record.get(key)
        if isinstance(value, Mapping):
            value = value.get("inspectors")
        if isinstance(value, Sequence) and not isinstance(value, str):
            for item in value:
                name = item.get("name") if isinstance(item, Mapping) else item
                if isinstance(name, str) and name:
                    names.add(name)
    return names


def match_by_text(hints: Mapping[str, str], cases: Sequence[Any],
                  unit_of_uscc: Any = None) -> TextMatch:
    """The case the printed ``hints`` name among ``cases`` (``CaseRow``s; only open ones count).

    ``unit_of_uscc`` maps a 统一社会信用代码 to its unit name (the unit directory), or is None.
    """
    open_cases = [c for c in cases if c.status in OPEN_STATES]
    day = (hints.get("check_start") or "")[:10]
    if not (hints.get("inspected_unit") or hints.get("uscc")):
        # A page with no unit on it (page 2 of the form alone): its date names candidates, never a case.
        return TextMatch(None, tuple(sorted(c.id for c in open_cases if day and (c.check_date or "")[:10] == day)))
    unit = company_key(hints.get("inspected_unit"))
    by_code = company_key(unit_of_uscc(hints["uscc"])) if unit_of_uscc and hints.get("uscc") else ""
    exact = [c for c in open_cases if c.unit_key and c.unit_key in (unit, by_code)]
    pool = exact or [c for c in open_cases if c.unit_key and near(c.unit_key, unit)]
    if not pool:
        return TextMatch(None, ())
    if len(pool) > 1 and day:
        same_day = [c for c in pool if (c.check_date or "")[:10] == day]
        pool = same_day or pool
    names = {n for n in (hints.get("inspectors") or "").split("、") if n}
    if len(pool) > 1 and names:
        shared = [c for c in pool if names & _case_inspectors(c)]
        pool = shared or pool
    if len(pool) == 1:
        return TextMatch(pool[0].id, ())
    return TextMatch(None, tuple(sorted(c.id for c in pool)))
