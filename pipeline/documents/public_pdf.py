"""The 公示表 as PDF/A-2b without LibreOffice: the template's layout drawn from the same context.

``templates/公示表.docx`` (built by ``scripts/build_templates.py``) is a title and one bordered table
of fixed column widths and minimum row heights. ``render_public_form_pdf`` lays that out as Writer
does (measured against LibreOffice 7.4's PDF of the same .docx, see ``tests/test_public_pdf.py``):
the same fonts (what fontconfig gives LibreOffice for 宋体/黑体 and Times New Roman), Writer's script
rules (CJK text in the CJK face, Latin letters and digits in the Latin one, punctuation of the
U+2000 block following the text before it, a fifth of an em between a CJK character and a Latin
letter or digit, not at punctuation), the glyphs HarfBuzz picks for each script run in the text's
language (``scripts.script_runs``, ``Face.variant``: Noto Serif CJK's digits in a Latin run such as
a credit code are all 0.549 em wide, proportional in a Chinese run such as a date),
its line breaking (between any two CJK characters, at spaces, inside a word only when the word is
longer than the line; closing punctuation never starts a line), its line heights (ascent + descent
of the fonts on the line) and its cell insets.

That layout is only right for that template: ``supports`` compares the template's document and
styles with the stock ones, and anything else (a template edited in Word, a text with a tab, a
Latin word the font sets with a ligature such as "fi", a form too long for one page) raises ``LayoutUnsupported``, for which the caller converts the .docx
with LibreOffice as before.
"""

from __future__ import annotations

import functools
import hashlib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import OutputError
from pipeline.documents.glyphs import Face, face, find_face
from pipeline.documents.pdfa import Page, Rule, TextRun, write_pdfa
from pipeline.documents.scripts import script_runs

# sha256 of word/document.xml + word/styles.xml of the stock templates/公示表.docx: the layout below
# is that document's. tests/test_public_pdf.py fails when the template is rebuilt differently.
STOCK_TEMPLATE_SHA256 = "d948b41bfdd8fad9f6a483658736f4ae8c53bbf6478358b481e1ce27ddd21199"

_PT_PER_CM = 72 / 2.54
PAGE_WIDTH, PAGE_HEIGHT = 21.0 * _PT_PER_CM, 29.7 * _PT_PER_CM
_LEFT = 2.5 * _PT_PER_CM
_TOP = 2.0 * _PT_PER_CM
_BOTTOM = PAGE_HEIGHT - 1.8 * _PT_PER_CM
_TEXT_WIDTH = PAGE_WIDTH - 2 * _LEFT
_TITLE = "“双随机、一公开”检查结果公示表"
_TITLE_SIZE, _BODY_SIZE = 18.0, 12.0
_TITLE_SPACE_BEFORE = 6.0
_TABLE_TOP = 101.05  # where Writer puts the table's top border (title, its spacing, rounding)
_COLUMNS = tuple(w * _PT_PER_CM for w in (3.1, 4.9, 2.4, 5.6))
_ROW_MIN = tuple(h * _PT_PER_CM for h in (1.6, 1.6, 1.6, 12.0))
_INSET = 5.45  # text inset from a cell's border line (Word's 0.19 cm cell margin plus half the rule)
_RULE = 0.5
_AUTOSPACE = 0.2  # em between CJK and Latin letters or digits (Writer's "Asian/non-Asian spacing")

# As the template names them (宋体 text, a 黑体 bold title, Times New Roman Latin), resolved with soffice's aliases.
FACE_PATTERNS = {"cjk": "宋体:lang=zh-cn:style=Regular", "cjk-b": "黑体:lang=zh-cn:style=Bold",
          "lat": "Times New Roman:style=Regular", "lat-b": "Times New Roman:style=Bold"}
# The template's languages (w:lang en-US, eastAsia zh-CN) as OpenType language systems: what HarfBuzz
# selects the fonts' locl substitutions by. Noto CJK has no ENG system, so Latin runs get the default.
_LANGUAGES = {"cjk": "ZHS ", "cjk-b": "ZHS ", "lat": "ENG ", "lat-b": "ENG "}
# Characters that never start a line (closing punctuation) or end one (opening punctuation).
_NO_START = set("，。、；：？！）」』》〉】〕…’”,.;:?!)]}%")
_NO_END = set("（「『《〈【〔‘“([{")


class LayoutUnsupported(OutputError):
    """This 公示表 cannot be drawn directly (edited template, tab, too long): convert it with LibreOffice."""


@dataclass(frozen=True)
class _Glyph:
    char: str
    font: str  # a key of FACE_PATTERNS
    x: float  # from the start of the line
    advance: float


@dataclass(frozen=True)
class _Line:
    glyphs: tuple[_Glyph, ...]
    width: float
    ascent: float
    height: float


def _asian(char: str) -> bool:
    code = ord(char)
    return (0x2E80 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF
            or 0xFE30 <= code <= 0xFE4F or 0xFF00 <= code <= 0xFFEF or code >= 0x20000)


def _weak(char: str) -> bool:
    return 0x2000 <= ord(char) <= 0x206F or char == " "


@functools.lru_cache(maxsize=4)
def _faces() -> dict[str, Face]:
    return {key: face(*find_face(pattern)) for key, pattern in FACE_PATTERNS.items()}


def warm_up() -> None:
    """Open the fonts now (about a second, once per process) rather than at the first 公示表."""
    _faces()


def _face(key: str) -> Face:
    """The face of a font key: one of ``FACE_PATTERNS``, or ``"lat:latn"``, that face for a run of that script."""
    base, _, script = key.partition(":")
    found = _faces()[base]
    return found.variant(script, _LANGUAGES[base]) if script else found


def _font_key(base: str, script: str, char: str) -> str:
    """``base``, or its variant for ``script`` when that draws ``char`` with another glyph."""
    plain = _faces()[base]
    return f"{base}:{script}" if plain.variant(script, _LANGUAGES[base]).glyph(char) != plain.glyph(char) else base


def _shape(text: str, scripts: list[str], bold: bool, size: float) -> list[_Glyph]:
    """Each character with its face and advance; the autospace folded into the advance before it.
    ``scripts`` are the characters' script runs (``script_runs`` of the whole paragraph)."""
    faces = _faces()
    cjk, lat = ("cjk-b", "lat-b") if bold else ("cjk", "lat")
    glyphs: list[_Glyph] = []
    runs: list[tuple[str, str]] = []  # each character's face (a key of FACE_PATTERNS) and script
    x, previous_asian = 0.0, False
    for char, script in zip(text, scripts, strict=True):
        asian = previous_asian if _weak(char) else _asian(char)
        key = cjk if asian else lat
        if not faces[key].has(char):
            key = lat if asian else cjk
            if not faces[key].has(char):
                raise LayoutUnsupported(f"字体中没有字符 {char!r}")
        if glyphs and asian != previous_asian and char.isalnum() and glyphs[-1].char.isalnum():
            x += _AUTOSPACE * size
        runs.append((key, script))
        key = _font_key(key, script, char)
        glyphs.append(_Glyph(char, key, x, _face(key).advance(char) * size))
        x += glyphs[-1].advance
        previous_asian = asian
    _refuse_ligatures(text, runs)
    return glyphs


def _refuse_ligatures(text: str, runs: list[tuple[str, str]]) -> None:
    """``LayoutUnsupported`` where LibreOffice would join characters of one font and script run into a
    ligature (Noto CJK's Latin "fi", "ffl"): glyphs this layout does not draw."""
    for start, (key, script) in enumerate(runs):
        face_ = _faces()[key].variant(script, _LANGUAGES[key])
        for ligature in face_.ligatures_from.get(face_.glyph(text[start]) or "", ()):
            end = start + len(ligature)
            if (end <= len(text) and all(r == (key, script) for r in runs[start:end])
                    and tuple(face_.glyph(c) for c in text[start:end]) == ligature):
                raise LayoutUnsupported(f"公示表内容含连字 {text[start:end]!r}")


def _may_break(before: str, after: str) -> bool:
    if after in _NO_START or before in _NO_END:
        return False
    return before == " " or _asian(before) or _asian(after)


def _lines(text: str, width: float, *, bold: bool = False, size: float = _BODY_SIZE) -> list[_Line]:
    """``text`` (one paragraph, ``\\n`` a line break) broken into lines of at most ``width`` pt."""
    lines: list[_Line] = []
    scripts, offset = script_runs(text), 0  # a line break does not end the paragraph's script run
    for part in text.split("\n"):
        glyphs = _shape(part, scripts[offset:offset + len(part)], bold, size)
        offset += len(part) + 1
        start = 0
        while True:
            end = _fit(glyphs, start, width)
            lines.append(_line(glyphs[start:end], size))
            if end >= len(glyphs):
                break
            start = end
            while start < len(glyphs) and glyphs[start].char == " ":
                start += 1  # spaces at a break hang at the end of the line
    return lines


def _fit(glyphs: list[_Glyph], start: int, width: float) -> int:
    """Index after the last glyph of the line starting at ``start``."""
    origin = glyphs[start].x if start < len(glyphs) else 0.0
    end = start
    while end < len(glyphs) and (glyphs[end].x + glyphs[end].advance - origin <= width + 1e-6
                                 or glyphs[end].char == " "):
        end += 1
    if end >= len(glyphs):
        return len(glyphs)
    for cut in range(end, start, -1):
        if _may_break(glyphs[cut - 1].char, glyphs[cut].char):
            return cut
    return max(end, start + 1)  # a word longer than the line is cut where the line ends


def _line(glyphs: list[_Glyph], size: float) -> _Line:
    used = {g.font for g in glyphs} or {"cjk", "lat"}
    ascent = max(_face(k).ascent for k in used) * size
    descent = max(_face(k).descent for k in used) * size
    if not glyphs:
        return _Line((), 0.0, ascent, ascent + descent)
    origin = glyphs[0].x
    shifted = tuple(_Glyph(g.char, g.font, g.x - origin, g.advance) for g in glyphs)
    width = max((g.x + g.advance for g in shifted if g.char != " "), default=0.0)
    return _Line(shifted, width, ascent, ascent + descent)


def _draw(page: Page, lines: list[_Line], left: float, width: float, top: float, *, center: bool,
          size: float) -> None:
    y = top
    for line in lines:
        x0 = left + ((width - line.width) / 2 if center else 0.0)
        run: list[_Glyph] = []
        for glyph in (*line.glyphs, None):
            if run and (glyph is None or glyph.font != run[0].font
                        or abs(glyph.x - (run[-1].x + run[-1].advance)) > 1e-6):
                page.runs.append(TextRun(run[0].font, size, x0 + run[0].x, y + line.ascent,
                                         "".join(g.char for g in run)))
                run = []
            if glyph is not None and glyph.char != " ":
                run.append(glyph)
        y += line.height


@functools.lru_cache(maxsize=16)
def _template_digest(path: Path, mtime_ns: int) -> str:
    del mtime_ns  # part of the cache key only: an edited template is read again
    with zipfile.ZipFile(path) as package:
        return hashlib.sha256(package.read("word/document.xml") + package.read("word/styles.xml")).hexdigest()


def supports(template: Path) -> bool:
    """Whether ``template`` is the stock 公示表 whose layout this module draws."""
    try:
        return _template_digest(template.resolve(), template.stat().st_mtime_ns) == STOCK_TEMPLATE_SHA256
    except (OSError, KeyError, zipfile.BadZipFile):
        return False


def layout_public_form(context: Mapping[str, str]) -> Page:
    """The page of the 公示表 for ``public_form_context(...)``; ``LayoutUnsupported`` if it cannot be."""
    if any("\t" in str(v) for v in context.values()):
        raise LayoutUnsupported("公示表内容含制表符")
    page = Page(PAGE_WIDTH, PAGE_HEIGHT, {})
    _draw(page, _lines(_TITLE, _TEXT_WIDTH, bold=True, size=_TITLE_SIZE), _LEFT, _TEXT_WIDTH,
          _TOP + _TITLE_SPACE_BEFORE, center=True, size=_TITLE_SIZE)
    rows = (
        ("企业名称", context["unit_name"], "统一社会信用代码", context["uscc"]),
        ("检查实施机关", context["authority"], "抽查任务名称", context["task_name"]),
        ("检查抽查日期", context["check_date"], "抽查检查类型", context["check_type"]),
    )
    lefts = [_LEFT + sum(_COLUMNS[:n]) for n in range(len(_COLUMNS) + 1)]
    tops = [_TABLE_TOP]
    for r, cells in enumerate(rows):
        laid = [_lines(text, _COLUMNS[c] - 2 * _INSET) for c, text in enumerate(cells)]
        height = max(_ROW_MIN[r], *(sum(li.height for li in lines) + _RULE for lines in laid))
        for c, lines in enumerate(laid):
            content = sum(li.height for li in lines)
            _draw(page, lines, lefts[c] + _INSET, _COLUMNS[c] - 2 * _INSET, tops[-1] + (height - content) / 2,
                  center=c % 2 == 0, size=_BODY_SIZE)
        tops.append(tops[-1] + height)
    result = _lines("检查抽查结果：", _TEXT_WIDTH - 2 * _INSET) + _lines(context["result"], _TEXT_WIDTH - 2 * _INSET)
    height = max(_ROW_MIN[3], sum(li.height for li in result) + _RULE)
    _draw(page, result, _LEFT + _INSET, _TEXT_WIDTH, tops[-1] + _RULE / 2, center=False, size=_BODY_SIZE)
    tops.append(tops[-1] + height)
    if tops[-1] > _BOTTOM:
        raise LayoutUnsupported("公示表内容超过一页")
    right, half = lefts[-1], _RULE / 2
    page.rules += [Rule(_LEFT - half, y, right + half, y) for y in tops]
    page.rules += [Rule(x, tops[0] - half, x, tops[-1] + half) for x in (lefts[0], right)]
    page.rules += [Rule(x, tops[0] + half, x, tops[3] + half) for x in lefts[1:-1]]
    page.faces.update((run.font, _face(run.font)) for run in page.runs)
    return page


def render_public_form_pdf(context: Mapping[str, str], out_path: Path) -> Path:
    """Write the 公示表 for ``context`` as PDF/A-2b to ``out_path``; ``LayoutUnsupported`` if it cannot."""
    data = write_pdfa(layout_public_form(context), title="“双随机、一公开”检查结果公示表")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(data)
    return out_path
