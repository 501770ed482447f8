"""检查抽查结果: the standard result category derived from the free text of the check table.

A first, conservative keyword reading; text that matches nothing is left for a person to decide.
"""

from __future__ import annotations

NO_PROBLEM = "未发现问题"
CORRECTED = "发现问题已责令改正"
FOLLOW_UP = "发现问题待后续处理"

_NO_PROBLEM_WORDS = ("未发现问题", "未发现违法", "未发现违规", "无问题", "符合要求", "未发现异常")
_CORRECTED_WORDS = ("责令改正", "责令整改", "限期整改", "已整改", "立即整改", "当场整改")
_FOLLOW_UP_WORDS = ("立案", "处罚", "移交", "移送", "进一步调查", "后续处理")


def derive_result(situation: str | None, handling: str | None) -> str | None:
    """One of the standard categories, or None when the text does not decide it."""
    text = f"{situation or ''}\n{handling or ''}"
    if any(w in text for w in _FOLLOW_UP_WORDS):
        return FOLLOW_UP
    if any(w in text for w in _CORRECTED_WORDS):
        return CORRECTED
    if any(w in text for w in _NO_PROBLEM_WORDS):
        return NO_PROBLEM
    return None
