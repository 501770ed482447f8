"""Read a 行政处罚决定书 (``"form": "penalty_decision"``) out of a Word file or a text PDF.

A decision is prose, not a form: it is recognised by its TITLE (a short paragraph near the top that
ends with 行政处罚决定书; 不予行政处罚决定书 is not a penalty) and read by labelled paragraphs
(``当事人：…``, ``统一社会信用代码：…``, ``案由：…``; a two-column table row counts as ``label：value``)
and by the fixed phrasing decisions use (``经查，…``, ``违反了《…》第…条的规定``,
``依据《…》第…条的规定，…决定…如下行政处罚：…``, the date after the signature). Legacy formats
(.doc/.wps/.rtf/.odt) reach this extractor through ``pipeline.extract.legacy`` as .docx.

The probe is cheap on purpose: it runs before the check-table extractors on every .docx and PDF
(lxml on ``word/document.xml``; pdfium's text of the first page), and a file without the title is
passed on with ``NOT_PENALTY_DECISION_CODE``.

Field contract (``PENALTY_DECISION_FIELDS``): text values as written (whitespace folded);
``categories`` a list from the 行政处罚法 (2021) 第九条 list (``其他`` when none is named);
``fine_wan``/``confiscation_wan`` decimal strings in 万元 (``"5"``, ``"0.3"``) read from Chinese
upper-case numerals (``伍万元整``, preferred when both are written) or digits (``50,000元``,
``5万元``); ``decision_date`` ``YYYY-MM-DD``. Unsure values carry a warning and a lower confidence.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree
from stdnum.cn import uscc as stdnum_uscc

from pipeline.core.errors import InputFileError
from pipeline.core.models import Extraction, Provenance
from pipeline.core.text import clean_text, find_dates

__all__ = [
    "CATEGORIES",
    "FORM",
    "NOT_PENALTY_DECISION_CODE",
    "PENALTY_DECISION_FIELDS",
    "PENALTY_DECISION_LABELS",
    "DocxPenaltyExtractor",
    "PdfPenaltyExtractor",
    "parse_decision",
    "parse_upper_amount",
]

FORM = "penalty_decision"
NOT_PENALTY_DECISION_CODE = "FILE_NOT_PENALTY_DECISION"
_NOT_DECISION = "文件不是行政处罚决定书（未找到“行政处罚决定书”标题）。"

PENALTY_DECISION_FIELDS: tuple[str, ...] = (
    "decision_no", "party_name", "uscc", "legal_rep", "address", "violation_type", "violation_facts",
    "basis", "categories", "content", "fine_wan", "confiscation_wan", "licence_info", "decision_date",
)
PENALTY_DECISION_LABELS: dict[str, str] = {
    "decision_no": "行政处罚决定书文号", "party_name": "当事人", "uscc": "统一社会信用代码",
    "legal_rep": "法定代表人", "address": "住所", "violation_type": "违法行为类型", "violation_facts": "违法事实",
    "basis": "处罚依据", "categories": "处罚类别", "content": "处罚内容", "fine_wan": "罚款金额（万元）",
    "confiscation_wan": "没收金额（万元）", "licence_info": "暂扣或吊销证照名称及编号", "decision_date": "处罚决定日期",
}

# 行政处罚法 (2021) 第九条, in the law's order, with the wordings that name each kind.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("警告", r"警告"),
    ("通报批评", r"通报批评"),
    ("罚款", r"(?<!加处)罚款"),
    ("没收违法所得", r"没收违法所得"),
    ("没收非法财物", r"没收非法财物|没收.{0,8}(?:工具|设备|物品|产品)"),
    ("暂扣许可证件", r"暂扣.{0,15}(?:许可证|执照|证件|证书)"),
    ("降低资质等级", r"降低资质等级"),
    ("吊销许可证件", r"吊销.{0,15}(?:许可证|执照|证件|证书)"),
    ("限制开展生产经营活动", r"限制开展生产经营活动"),
    ("责令停产停业", r"责令停产停业|责令停业|责令停产"),
    ("责令关闭", r"责令关闭"),
    ("限制从业", r"限制从业"),
    ("行政拘留", r"行政拘留"),
)

_LABELS: dict[str, tuple[str, ...]] = {
    "party_name": ("当事人名称", "当事人", "被处罚单位名称", "被处罚单位", "被处罚人", "单位名称", "名称"),
    "uscc": ("统一社会信用代码", "社会信用代码"),
    "legal_rep": ("法定代表人（负责人）", "法定代表人(负责人)", "法定代表人", "负责人", "经营者"),
    "address": ("住所", "地址", "住址", "经营场所"),
    "violation_type": ("违法行为类型", "案由"),
    "decision_no": ("决定书文号", "文号"),
    "basis": ("处罚依据",),
    "categories": ("处罚类别", "处罚种类"),
    "content": ("处罚内容",),
    "violation_facts": ("违法事实",),
    "decision_date": ("处罚决定日期", "决定日期"),
}
_LABEL_OF = {label: key for key, labels in _LABELS.items() for label in labels}
_LABEL_RE = re.compile(
    r"(?:^|(?<=\s))(" + "|".join(re.escape(x) for x in sorted(_LABEL_OF, key=len, reverse=True)) + r")\s*[：:]")

_TITLE = re.compile(r"^[\u4e00-\u9fff（）()]{0,24}行政处罚决定书(?:[（(][^）)]{0,12}[）)])?$")
_DECISION_NO = re.compile(
    r"[\u4e00-\u9fff]{1,14}[〔\[［【(（]\s*\d{4}\s*[〕\]］】)）]\s*(?:第\s*)?\d+\s*号")
_USCC = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")
_FACTS_START = re.compile(r"^(?:经查明?|经调查|经本机关调查)[，,：:]?\s*")
_STOPS = re.compile(
    r"^(?:以上事实|上述事实|以上违法事实|上述违法事实|以上证据|证据|本机关认为|本局认为|你单位的上述|当事人的上述|"
    r"依据|根据|依照|当事人应当|当事人如|如不服|当事人必须|逾期|你单位应|你单位如)")
_VIOLATED = re.compile(r"违反了?\s*(《[^》]+》[^，。；,;]*?)(?:之|的)?规定")
_BASIS = re.compile(r"(?:依据|根据|依照)\s*(《[^》]+》[^。；;]*?)(?:之|的)规定")
_DECIDED = re.compile(r"(?:如下(?:行政)?处罚|决定如下|处罚如下|处罚决定如下|作出如下决定)\s*[：:]\s*")
_NUMBERING = re.compile(r"^\s*(?:\d+\s*[.、．)）]|[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+、)\s*")
_UPPER = "零壹贰叁肆伍陆柒捌玖"
_UPPER_UNITS = {"拾": 10, "佰": 100, "仟": 1000}
_AMOUNT_UPPER = re.compile(r"[零壹贰叁肆伍陆柒捌玖拾佰仟万亿]+元(?:[零壹贰叁肆伍陆柒捌玖]角)?(?:[零壹贰叁肆伍陆柒捌玖]分)?整?")
_AMOUNT_DIGITS = re.compile(r"[¥￥]?\s*(\d{1,3}(?:[,，]\d{3})+|\d+)(\.\d+)?\s*(万)?\s*元")
_AMOUNT_BRACKET = re.compile(r"[（(]\s*[¥￥]\s*(\d{1,3}(?:[,，]\d{3})+|\d+)(\.\d+)?\s*(万)?\s*元?\s*[）)]")
_WAN = Decimal(10000)
# pdfium puts a space where the font changes (港城东路 108 号): none belongs next to Chinese text.
_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[0-9A-Za-z¥{_CJK}])|(?<=[0-9A-Za-z.,])\s+(?=[{_CJK}])")


@dataclass(frozen=True)
class Para:
    """One paragraph (or one table row, ``label：value``) and where it is."""

    text: str
    location: str


# --- numbers ---------------------------------------------------------------------------------

def parse_upper_amount(text: str) -> Decimal | None:
    """``伍万元整`` → 50000, ``壹万贰仟伍佰元`` → 12500, ``叁佰元伍角`` → 300.5; None when not an amount."""
    m = _AMOUNT_UPPER.search(text)
    if not m:
        return None
    raw = m.group(0).removesuffix("整")
    yuan_part, _, cents = raw.partition("元")
    total, section, digit = 0, 0, 0
    for ch in yuan_part:
        if ch in _UPPER:
            digit = _UPPER.index(ch)
        elif ch in _UPPER_UNITS:
            section += (digit or 1) * _UPPER_UNITS[ch]
            digit = 0
        elif ch == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
        elif ch == "亿":
            total = (total + section + digit) * 100000000
            section, digit = 0, 0
    amount = Decimal(total + section + digit)
    for ch, unit in ((m2.group(1), m2.group(2)) for m2 in re.finditer(r"([零壹贰叁肆伍陆柒捌玖])([角分])", cents)):
        amount += Decimal(_UPPER.index(ch)) * (Decimal("0.1") if unit == "角" else Decimal("0.01"))
    return amount


def _digits_amount(m: re.Match[str]) -> Decimal | None:
    try:
        value = Decimal(m.group(1).replace(",", "").replace("，", "") + (m.group(2) or ""))
    except InvalidOperation:
        return None
    return value * _WAN if m.group(3) else value


def _wan(yuan: Decimal) -> str:
    """Yuan → 万元 as a plain decimal string without trailing zeros (50000 → ``"5"``)."""
    value = (yuan / _WAN).normalize()
    return format(value, "f")


# --- reading the files -------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_SKIP_ANCESTORS = (f"{_W}del", f"{_W}moveFrom",
                   "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback")


def _p_text(p: Any) -> str:
    parts: list[str] = []
    for el in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br"):
        if any(a.tag in _SKIP_ANCESTORS for a in el.iterancestors()):
            continue
        parts.append(el.text or "" if el.tag == f"{_W}t" else (" " if el.tag == f"{_W}tab" else "\n"))
    return "".join(parts)


def docx_paragraphs(path: Path, *, probe: bool = False) -> list[Para]:
    """Paragraphs of the document body in order; a table row is one ``cell：cell`` paragraph.

    With ``probe``, a document whose XML lacks the characters of the title gives no paragraphs."""
    try:
        with zipfile.ZipFile(path) as zf:
            data = zf.read("word/document.xml")
        if probe and not all(ch.encode() in data for ch in "罚决"):
            return []  # no title can be there; spares the XML parse of every check table
        # pipeline.core.limits refused any DTD already; the parser would not expand one either.
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except (zipfile.BadZipFile, KeyError, OSError, etree.XMLSyntaxError) as exc:
        raise InputFileError(_NOT_DECISION, field="file", code=NOT_PENALTY_DECISION_CODE) from exc
    body = root.find(f"{_W}body")
    out: list[Para] = []
    if body is None:
        return out
    n_para, n_table = 0, 0
    for child in body:
        if child.tag == f"{_W}p":
            n_para += 1
            out.append(Para(_p_text(child), f"第{n_para}段"))
        elif child.tag == f"{_W}tbl":
            n_table += 1
            for r, row in enumerate(child.iter(f"{_W}tr"), start=1):
                cells = [clean_text("\n".join(_p_text(p) for p in tc.iter(f"{_W}p")))
                         for tc in row.iter(f"{_W}tc")]
                cells = [c for c in cells if c]
                joined = cells[0] + "：" + " ".join(cells[1:]) if len(cells) > 1 and not re.search(
                    r"[：:]$", cells[0]) else " ".join(cells)
                out.append(Para(joined, f"表{n_table} 第{r}行"))
    return out


def pdf_paragraphs(path: Path, *, first_page_only: bool = False) -> list[Para]:
    """Lines of a text PDF (pdfium), joined into paragraphs where a line continues the one before."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(str(path))
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception as exc:  # damaged, encrypted: the check-table extractor says why
        raise InputFileError(_NOT_DECISION, field="file", code=NOT_PENALTY_DECISION_CODE) from exc
    out: list[Para] = []
    try:
        for number in range(1 if first_page_only else len(pdf)):
            if number >= len(pdf):
                break
            page = pdf[number]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            page.close()
            for n, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
                line = _CJK_GAP.sub("", clean_text(line))
                if not line:
                    continue
                location = f"第{number + 1}页 第{n}行"
                previous = out[-1].text if out else ""
                starts = bool(_LABEL_RE.match(line) or _STOPS.match(line) or _FACTS_START.match(line)
                              or _NUMBERING.match(line) or _TITLE.match(line) or _DECISION_NO.fullmatch(line))
                if out and previous and not starts and not re.search(r"[。：:；;]$", previous) and len(previous) > 24:
                    out[-1] = Para(previous + line, out[-1].location)
                else:
                    out.append(Para(line, location))
    finally:
        pdf.close()
    return out


def is_decision(paras: list[Para]) -> bool:
    """Whether a short paragraph near the top is the title 行政处罚决定书 (not 不予行政处罚决定书)."""
    for para in [p for p in paras if p.text.strip()][:10]:
        title = re.sub(r"\s+", "", para.text)
        if _TITLE.match(title) and "不予" not in title:
            return True
    return False


# --- parsing ------------------------------------------------------------------------------------

class _Reader:
    def __init__(self, paras: list[Para], file: str) -> None:
        self.paras = [Para(clean_text(p.text), p.location) for p in paras if clean_text(p.text)]
        self.file = file
        self.fields: dict[str, Any] = dict.fromkeys(PENALTY_DECISION_FIELDS)
        self.provenance: dict[str, Provenance] = {}
        self.warnings: list[str] = []
        self.labelled: dict[str, tuple[str, Para]] = {}
        for para in self.paras:
            for key, value in self._labelled_values(para.text):
                self.labelled.setdefault(key, (value, para))

    @staticmethod
    def _labelled_values(text: str) -> Iterator[tuple[str, str]]:
        matches = list(_LABEL_RE.finditer(text))
        if not matches or matches[0].start() != 0:
            return
        for m, nxt in zip(matches, [*matches[1:], None], strict=True):
            value = text[m.end(): nxt.start() if nxt else len(text)].strip(" ；;，,")
            if value:
                yield _LABEL_OF[m.group(1)], value

    def put(self, key: str, value: Any, para: Para | None, confidence: float = 1.0) -> None:
        if value in (None, "", []):
            return
        self.fields[key] = value
        if para is not None:
            self.provenance[key] = Provenance(self.file, para.location, confidence)

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{PENALTY_DECISION_LABELS[key]}：{message}")

    def find(self, pattern: re.Pattern[str], paras: list[Para] | None = None) -> tuple[re.Match[str], Para] | None:
        for para in paras if paras is not None else self.paras:
            m = pattern.search(para.text)
            if m:
                return m, para
        return None


def _strip_end(text: str) -> str:
    return text.strip().rstrip("。；;，,").strip()


def _collect(paras: list[Para], start: int, first: str) -> tuple[str, int]:
    """``first`` plus the following paragraphs up to a stop phrase or a label; (text, end index)."""
    parts = [first] if first else []
    i = start + 1
    while i < len(paras) and not _STOPS.match(paras[i].text) and not _LABEL_RE.match(paras[i].text):
        parts.append(paras[i].text)
        i += 1
    return "\n".join(parts), i


def _read_facts(r: _Reader) -> None:
    if "violation_facts" in r.labelled:
        value, para = r.labelled["violation_facts"]
        index = r.paras.index(para)
        text, _ = _collect(r.paras, index, value)
        r.put("violation_facts", text, para)
        return
    for i, para in enumerate(r.paras):
        m = _FACTS_START.match(para.text)
        if m:
            text, _ = _collect(r.paras, i, para.text[m.end():])
            r.put("violation_facts", text.strip(), para, 0.9)
            return
    r.warn("violation_facts", "未找到违法事实（以“经查”开头的段落或“违法事实：”），请核对决定书。")


def _read_content(r: _Reader) -> tuple[str | None, Para | None]:
    if "content" in r.labelled:
        value, para = r.labelled["content"]
        r.put("content", _strip_end(value), para)
        return value, para
    for i, para in enumerate(r.paras):
        m = _DECIDED.search(para.text)
        if not m:
            continue
        items = [para.text[m.end():]] if para.text[m.end():].strip() else []
        j = i + 1
        while j < len(r.paras) and not _STOPS.match(r.paras[j].text) and not _LABEL_RE.match(r.paras[j].text):
            items.append(r.paras[j].text)
            j += 1
        cleaned = [_strip_end(_NUMBERING.sub("", item)) for item in items]
        content = "；".join(c for c in cleaned if c)
        if content:
            where = para if para.text[m.end():].strip() or j == i + 1 else r.paras[i + 1]
            r.put("content", content, where, 0.9)
            return content, where
    r.warn("content", "未找到处罚内容（“作出如下行政处罚：”之后的内容），请核对决定书。")
    return None, None


def _amount_after(text: str, word: str) -> tuple[Decimal | None, str | None]:
    """The amount written after ``word`` (罚款, 没收违法所得 …): upper-case numerals preferred."""
    for m in re.finditer(rf"(?<!加处){word}(?!数额)", text):
        segment = text[m.end(): m.end() + 48]
        segment = re.split(r"[；;。]|，(?:并|没收|吊销|暂扣|责令)", segment)[0]
        upper = parse_upper_amount(segment)
        digits_match = _AMOUNT_BRACKET.search(segment) or _AMOUNT_DIGITS.search(segment)
        digits = _digits_amount(digits_match) if digits_match else None
        if upper is not None and digits is not None and upper != digits:
            return upper, f"大写金额（{upper}元）与小写金额（{digits}元）不一致，已按大写金额填写，请核对。"
        if upper is not None or digits is not None:
            return upper if upper is not None else digits, None
    return None, None


def _read_amounts(r: _Reader, content: str, para: Para | None) -> None:
    fine, problem = _amount_after(content, "罚款")
    if fine is not None:
        r.put("fine_wan", _wan(fine), para, 0.7 if problem else 0.95)
        if problem:
            r.warn("fine_wan", problem)
    elif "罚款" in (r.fields["categories"] or []):
        r.warn("fine_wan", "处罚内容有罚款，但未能读出金额，请核对。")
    total = Decimal(0)
    found = False
    for word in ("没收违法所得", "没收非法财物"):
        amount, problem = _amount_after(content, word)
        if amount is not None:
            total += amount
            found = True
            if problem:
                r.warn("confiscation_wan", problem)
    if found:
        r.put("confiscation_wan", _wan(total), para, 0.9)


def _read_categories(r: _Reader, content: str, para: Para | None) -> None:
    if "categories" in r.labelled:
        value, lpara = r.labelled["categories"]
        named = [name for name, _ in CATEGORIES if name in value] or [
            name for name, pattern in CATEGORIES if re.search(pattern, value)]
        r.put("categories", named or ["其他"], lpara)
        return
    named = [name for name, pattern in CATEGORIES if re.search(pattern, content)]
    if not named and content:
        r.warn("categories", "处罚内容不属于行政处罚法第九条所列种类，已填“其他”，请核对。")
    r.put("categories", named or (["其他"] if content else []), para, 0.9 if named else 0.5)
    m = re.search(r"(?:吊销|暂扣)([^，。；,;]*?(?:许可证|执照|证书|证件)[^，。；,;]*)", content)
    if m:
        r.put("licence_info", _strip_end(m.group(1)), para, 0.8)


def _read_date(r: _Reader) -> None:
    if "decision_date" in r.labelled:
        value, para = r.labelled["decision_date"]
        dates = find_dates(value)
        if dates:
            r.put("decision_date", dates[0].isoformat(), para)
            return
    # The date under the signature: the last short paragraph holding a date.
    for para in reversed(r.paras):
        dates = find_dates(para.text)
        if dates and len(para.text) <= 40:
            r.put("decision_date", dates[-1].isoformat(), para, 0.95)
            return
    r.warn("decision_date", "未找到决定书末尾的作出日期，请核对。")


def parse_decision(paras: list[Para], *, file: str) -> Extraction:
    """The fields of a decision whose paragraphs are ``paras`` (see the module docstring)."""
    r = _Reader(paras, file)
    for key in ("party_name", "legal_rep", "address"):
        if key in r.labelled:
            value, para = r.labelled[key]
            r.put(key, value, para)
    if not r.fields["party_name"]:
        r.warn("party_name", "未找到当事人名称（“当事人：”），请核对。")

    if "decision_no" in r.labelled and _DECISION_NO.search(r.labelled["decision_no"][0]):
        value, para = r.labelled["decision_no"]
        m0 = _DECISION_NO.search(value)
        assert m0 is not None
        r.put("decision_no", re.sub(r"\s+", "", m0.group(0)), para)
    else:
        found = r.find(_DECISION_NO, r.paras[:12])
        if found:
            r.put("decision_no", re.sub(r"\s+", "", found[0].group(0)), found[1], 0.95)
        else:
            r.warn("decision_no", "未找到决定书文号（如 烟工信罚〔2026〕3号），请核对。")

    if "uscc" in r.labelled:
        value, para = r.labelled["uscc"]
        code = re.sub(r"\s+", "", value).upper()
        valid = stdnum_uscc.is_valid(code)
        r.put("uscc", code, para, 1.0 if valid else 0.5)
        if not valid:
            r.warn("uscc", f"“{code}”未通过统一社会信用代码校验，请核对。")
    else:
        found = r.find(_USCC, r.paras[:15])
        if found:
            r.put("uscc", found[0].group(0), found[1], 0.8)

    _read_facts(r)
    violated = r.find(_VIOLATED)
    if "violation_type" in r.labelled:
        value, para = r.labelled["violation_type"]
        r.put("violation_type", value, para)
    elif violated:
        r.put("violation_type", f"违反{violated[0].group(1)}", violated[1], 0.6)
        r.warn("violation_type", f"决定书未写明案由，已按“违反{violated[0].group(1)}”填写，请核对。")
    else:
        r.warn("violation_type", "决定书未写明案由或违法行为类型，请核对并补充。")

    if "basis" in r.labelled:
        value, para = r.labelled["basis"]
        r.put("basis", _strip_end(value), para)
    else:
        decided = [p for p in r.paras if _DECIDED.search(p.text) or "决定" in p.text]
        found = r.find(_BASIS, decided) or r.find(_BASIS)
        if found:
            r.put("basis", found[0].group(1).strip(), found[1], 0.9)
        else:
            r.warn("basis", "未找到处罚依据（“依据《…》第…条的规定”），请核对。")

    content, content_para = _read_content(r)
    _read_categories(r, content or "", content_para)
    _read_amounts(r, content or "", content_para)
    _read_date(r)
    return Extraction(form=FORM, fields=r.fields, provenance=r.provenance, warnings=tuple(r.warnings))


# --- extractors ---------------------------------------------------------------------------------

def _not_decision() -> InputFileError:
    return InputFileError(_NOT_DECISION, field="file", code=NOT_PENALTY_DECISION_CODE)


class DocxPenaltyExtractor:
    """The decision in a Word file (tried before the check table: a decision is never read as one)."""

    name = "docx_penalty_decision"
    kinds: frozenset[str] = frozenset({"docx"})

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        paras = docx_paragraphs(path, probe=True)
        if not is_decision(paras):
            raise _not_decision()
        return parse_decision(paras, file=display_name or path.name)


class PdfPenaltyExtractor:
    """The decision in a text PDF; a scan or a PDF without the title goes on to the check table."""

    name = "pdf_penalty_decision"
    kinds: frozenset[str] = frozenset({"pdf"})

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        if not is_decision(pdf_paragraphs(path, first_page_only=True)):
            raise _not_decision()
        return parse_decision(pdf_paragraphs(path), file=display_name or path.name)
