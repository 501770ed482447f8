"""The script of each character of a paragraph as LibreOffice's text layout resolves it before shaping.

LibreOffice (vcl's ``TextLayoutCache``) splits a paragraph into script runs with ICU's ``ScriptRun``
sample and shapes each run with HarfBuzz under that script. Characters of no script (digits,
punctuation, spaces) belong to the run they are in: at its start they take the script of the first
letter after them, after a letter they keep its script until a letter of another script starts a new
run. An opening bracket remembers the run's script and its closing bracket gets it back. The script
matters to the glyphs: a font's ``locl`` feature may differ per script (``glyphs.Face.variant``).

Unicode's Script property is not in Python's ``unicodedata``; ``script`` reads it from the
character's name, which is exact for the letters of the forms (Latin, CJK ideographs, kana, Hangul,
Greek, Cyrillic) and takes any other letter's script from the first word of its name.
"""

from __future__ import annotations

import unicodedata

# Paired punctuation of ICU's ScriptRun: an opening character followed by its closing one.
_PAIRS = "()<>[]{}«»‘’“”‹›〈〉《》「」『』【】〔〕〖〗〘〙〚〛"
_OPENING = {c: i for i, c in enumerate(_PAIRS[0::2])}
_CLOSING = {c: i for i, c in enumerate(_PAIRS[1::2])}
# OpenType script tags by the first word of a character name; other names give a tag no font has.
_TAGS = {"LATIN": "latn", "FULLWIDTH": "latn", "ROMAN": "latn", "CJK": "hani", "IDEOGRAPHIC": "hani",
         "KANGXI": "hani", "HANGZHOU": "hani", "HIRAGANA": "kana", "KATAKANA": "kana", "HALFWIDTH": "kana",
         "HANGUL": "hang", "GREEK": "grek", "CYRILLIC": "cyrl"}


def script(char: str) -> str:
    """The OpenType script tag of ``char`` (``"latn"``, ``"hani"``, ...), ``""`` for none (Common, Inherited)."""
    category = unicodedata.category(char)
    name = unicodedata.name(char, "")
    if not (category[0] == "L" or category == "Nl" or name.startswith(("CJK RADICAL", "KANGXI RADICAL"))):
        return ""
    if name.startswith("KATAKANA-HIRAGANA"):  # the prolonged sound mark and its kin are Common
        return ""
    words = name.split()
    if words[:2] == ["HALFWIDTH", "HANGUL"]:
        return "hang"
    if words[0] == "FULLWIDTH" and "LATIN" not in words:
        return ""
    return _TAGS.get(words[0], words[0][:4].lower()) if words else ""


def script_runs(text: str) -> list[str]:
    """The script each character of ``text`` (one paragraph) is shaped under; ``""`` where a run has none."""
    result: list[str] = []
    stack: list[list[int | str]] = []  # open brackets: [pair, script of their run]; kept across runs as ICU does
    pos = 0
    while pos < len(text):
        start, current, first_new = pos, "", len(stack)  # brackets from first_new on were opened in this run
        while pos < len(text):
            char, own = text[pos], script(text[pos])
            if char in _OPENING:
                stack.append([_OPENING[char], current])
            elif char in _CLOSING and stack:
                while stack and stack[-1][0] != _CLOSING[char]:
                    stack.pop()
                first_new = min(first_new, len(stack))
                if stack:
                    own = str(stack[-1][1])
            if own and current and own != current:
                break  # a letter of another script (or a bracket closing one) starts the next run
            if own and not current:
                current = own
                for bracket in stack[first_new:]:
                    bracket[1] = own
                first_new = len(stack)
            if char in _CLOSING and stack:
                stack.pop()
                first_new = min(first_new, len(stack))
            pos += 1
        result += [current] * (pos - start)
    return result
