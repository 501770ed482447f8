"""检查抽查结果: the standard result categories, derived from the free text of the check table.

A conservative keyword reading; text it cannot decide is left for a person (a 待审核 question).
"""

from __future__ import annotations

import re

NO_PROBLEM = "未发现问题"
CORRECTED = "发现问题已责令改正"
FOLLOW_UP = "发现问题待后续处理"

# The categories as national publicity systems word them (several may apply; the form shows one).
RESULT_CATEGORIES: tuple[str, ...] = (
    NO_PROBLEM, CORRECTED, FOLLOW_UP, "未按规定公示应当公示的信息", "公示信息隐瞒真实情况、弄虚作假",
    "通过登记的住所（经营场所）无法联系", "不配合检查情节严重", "未发现开展本次抽查涉及的经营活动",
    "已关闭停业或正在组织清算", "注销", "被吊销", "被撤销", "迁出",
)

# Words that mean a penalty procedure (查处): the case goes to 综合科 (表注1, 第十五条).
PENALTY_WORDS: tuple[str, ...] = ("立案", "行政处罚", "罚款", "没收", "吊销", "责令停产", "责令停业", "查处")

_NEGATED = re.compile(r"(无需|不予|无须|未予|不需|免予)(立案|处罚|行政处罚|罚款|查处)")
_NO_PROBLEM_WORDS = ("未发现问题", "未发现违法", "未发现违规", "无问题", "符合要求", "未发现异常")
_CORRECTED_WORDS = ("责令改正", "责令整改", "限期整改", "已整改", "立即整改", "当场整改")
_FOLLOW_UP_WORDS = ("立案", "处罚", "移交", "移送", "进一步调查", "后续处理")
_SPECIAL = {"无法联系": "通过登记的住所（经营场所）无法联系", "不配合": "不配合检查情节严重",
            "已注销": "注销", "已吊销": "被吊销", "已迁出": "迁出", "停业": "已关闭停业或正在组织清算"}


def derive_result(situation: str | None, handling: str | None) -> str | None:
    """One of ``RESULT_CATEGORIES``, or None when the text does not decide it."""
    text = _NEGATED.sub("", f"{situation or ''}\n{handling or ''}")
    for word, category in _SPECIAL.items():
        if word in text:
            return category
    if any(w in text for w in _FOLLOW_UP_WORDS):
        return FOLLOW_UP
    if any(w in text for w in _CORRECTED_WORDS):
        return CORRECTED
    if any(w in text for w in _NO_PROBLEM_WORDS):
        return NO_PROBLEM
    return None


def mentions_penalty(situation: str | None, handling: str | None) -> bool:
    text = _NEGATED.sub("", f"{situation or ''}\n{handling or ''}")
    return any(w in text for w in PENALTY_WORDS)
