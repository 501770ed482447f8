"""Render the bureau's forms from the docxtpl templates in ``templates/``.

``PreparedTemplate`` reads a template once and renders any number of contexts from memory. The
Jinja environment is strict (an undefined variable is an error, never an empty cell), autoescaped (a
company name such as ``A&B<科技>`` cannot break the document's XML) and carries two filters for the
forms' Chinese dates: ``cn_date`` and ``cn_period``. Every Jinja error becomes
``pipeline.errors.TemplateError`` with a Chinese message naming the template and the variable.

The check table and the 现场检查笔录 carry a QR code on each page (``qr_payload``) so that a scanned,
hand-signed copy can be matched back to its case.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import segno
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from pipeline.errors import OutputError, TemplateError

CHECK_TABLE_TEMPLATE = "随机抽查事项检查表.docx"
PUBLIC_FORM_TEMPLATE = "公示表.docx"
SITE_RECORD_TEMPLATE = "现场检查笔录.docx"
CHECK_TABLE_FORM = "check_table"
SITE_RECORD_FORM = "site_record"

# The four ways of checking of 第九条, in the order they are printed on the form.
CHECK_METHODS: tuple[str, ...] = ("书面检查", "现场检查", "网络监测", "检验检测")
CHECKED = "☑"
UNCHECKED = "☐"
# The seed's form prints three numbered inspector rows (1. 2. ……); never print fewer.
MIN_INSPECTOR_ROWS = 3
# The 现场检查笔录 prints a line for each of the two inspectors 第十条 requires at least.
MIN_SITE_INSPECTOR_LINES = 2

_BLANK = "　　"  # two ideographic spaces: room to write a number by hand
BLANK_DATE = f"{_BLANK}年{_BLANK}月{_BLANK}日"
BLANK_TIME = f"{_BLANK}时{_BLANK}分"

QR_PREFIX = "SHUANGSUI:1"
_QR_RE = re.compile(r"SHUANGSUI:1;CASE=([^;]+);FORM=([^;]+);PAGE=(\d+)")

# Characters that XML 1.0 forbids (and form feeds / bells, which docxtpl would turn into breaks).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UNDEFINED_RE = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")


# --------------------------------------------------------------------------------------------------
# Dates


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):  # also datetime
        return value
    return dt.date.fromisoformat(value.strip()[:10])


def _as_datetime(value: dt.date | str) -> tuple[dt.date, dt.time | None]:
    """``(date, time)`` of a datetime, a date or an ISO string; ``time`` is None for a bare date."""
    if isinstance(value, dt.datetime):
        return value.date(), value.time()
    if isinstance(value, dt.date):
        return value, None
    text = value.strip()
    if len(text) <= 10:
        return dt.date.fromisoformat(text), None
    moment = dt.datetime.fromisoformat(text)
    return moment.date(), moment.time()


def _fmt_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _fmt_time(moment: dt.time | None) -> str:
    return BLANK_TIME if moment is None else f"{moment.hour}时{moment.minute:02d}分"


def cn_date(value: dt.date | str | None) -> str:
    """``2026-03-05`` → ``2026年3月5日``; None or "" → ``　　年　　月　　日`` (left for hand filling)."""
    if value is None or value == "":
        return BLANK_DATE
    try:
        return _fmt_date(_as_date(value))
    except (ValueError, TypeError, AttributeError) as exc:
        raise jinja2.exceptions.FilterArgumentError(f"无法识别的日期：{value!r}") from exc


def cn_period(start: dt.date | str | None, end: dt.date | str | None) -> str:
    """The form's 抽查时间: ``2026年3月5日9时30分至11时00分`` (same day) or with both dates.

    A missing start or end is printed blank (``　　年　　月　　日　　时　　分``) for hand filling.
    """
    try:
        start_day, start_time = _as_datetime(start) if start else (None, None)
        end_day, end_time = _as_datetime(end) if end else (None, None)
    except (ValueError, TypeError, AttributeError) as exc:
        raise jinja2.exceptions.FilterArgumentError(f"无法识别的抽查时间：{start!r} 至 {end!r}") from exc
    head = BLANK_DATE + BLANK_TIME if start_day is None else _fmt_date(start_day) + _fmt_time(start_time)
    if end_day is None:
        tail = BLANK_TIME
    elif end_day == start_day:
        tail = _fmt_time(end_time)
    else:
        tail = _fmt_date(end_day) + _fmt_time(end_time)
    return f"{head}至{tail}"


def make_jinja_env() -> jinja2.Environment:
    """The strict, autoescaping environment every template is rendered with."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["cn_date"] = cn_date
    env.filters["cn_period"] = cn_period
    return env


# --------------------------------------------------------------------------------------------------
# QR codes


def qr_payload(case_id: str, form: str, page: int) -> str:
    """The text of a page's QR code, e.g. ``SHUANGSUI:1;CASE=C-1;FORM=check_table;PAGE=1``."""
    return f"{QR_PREFIX};CASE={case_id};FORM={form};PAGE={page}"


def parse_qr_payload(text: str) -> tuple[str, str, int] | None:
    """``(case_id, form, page)`` of a payload made by ``qr_payload``; None for any other text."""
    match = _QR_RE.fullmatch(text.strip())
    if match is None:
        return None
    return match.group(1), match.group(2), int(match.group(3))


def qr_png(payload: str) -> bytes:
    """A PNG of ``payload`` as a QR code (error correction M, 4-module quiet zone)."""
    code = segno.make_qr(payload, error="m", boost_error=False)
    buf = io.BytesIO()
    code.save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


@dataclass(frozen=True)
class QrImage:
    """A context value printed as a QR code image ``width_mm`` wide."""

    payload: str
    width_mm: float = 22


# --------------------------------------------------------------------------------------------------
# Templates


def _undefined_name(exc: jinja2.TemplateError) -> str | None:
    match = _UNDEFINED_RE.search(str(exc))
    if match is None:
        return None
    return match.group(1) or match.group(2)


class PreparedTemplate:
    """A docxtpl template read once and rendered many times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._data = path.read_bytes()
        except OSError as exc:
            raise TemplateError(f"找不到或无法读取模板 {path}。请运行 make templates 重新生成模板。") from exc

    def _bind(self, value: Any, tpl: DocxTemplate) -> Any:
        """Turn ``QrImage`` values (also inside lists and dicts) into images of ``tpl``."""
        if isinstance(value, QrImage):
            return InlineImage(tpl, io.BytesIO(qr_png(value.payload)), width=Mm(value.width_mm))
        if isinstance(value, Mapping):
            return {k: self._bind(v, tpl) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._bind(v, tpl) for v in value]
        return value

    def render(self, context: dict[str, Any], out_path: Path) -> None:
        """Render ``context`` into a new document at ``out_path`` (written atomically)."""
        tpl = DocxTemplate(io.BytesIO(self._data))
        bound = {key: self._bind(value, tpl) for key, value in context.items()}
        name = self.path.name
        try:
            tpl.render(bound, jinja_env=make_jinja_env(), autoescape=True)
        except jinja2.UndefinedError as exc:
            variable = _undefined_name(exc) or str(exc)
            raise TemplateError(
                f"模板 {name} 需要的变量 {variable} 没有提供。请检查模板中的变量名，"
                "或运行 make templates 重新生成模板。"
            ) from exc
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"模板 {name} 第 {exc.lineno} 行有语法错误：{exc.message}。"
                "请运行 make templates 重新生成模板。"
            ) from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(
                f"模板 {name} 渲染失败：{exc}。请检查填入的内容，或运行 make templates 重新生成模板。"
            ) from exc

        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".part", dir=out_path.parent)
            tmp_path = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as fh:
                    tpl.save(fh)
                tmp_path.replace(out_path)
            except BaseException:
                tmp_path.unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise OutputError(
                f"无法写出 {out_path}：{exc.strerror or exc}。请检查目录权限和磁盘空间。"
            ) from exc


@functools.lru_cache(maxsize=16)
def _prepared(path: Path, mtime_ns: int) -> PreparedTemplate:
    del mtime_ns  # part of the cache key only: an edited template is read again
    return PreparedTemplate(path)


def prepared_template(path: Path) -> PreparedTemplate:
    """The cached ``PreparedTemplate`` of ``path``, re-read when the file changes."""
    resolved = path.resolve()
    try:
        mtime_ns = resolved.stat().st_mtime_ns
    except OSError as exc:
        raise TemplateError(f"找不到模板 {path}。请运行 make templates 重新生成模板。") from exc
    return _prepared(resolved, mtime_ns)


# --------------------------------------------------------------------------------------------------
# Contexts


def _text(value: Any) -> str:
    """A value as printable text: None → "", control characters removed, line ends unified."""
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_RE.sub("", text).strip()


def methods_text(methods: Sequence[str] | str | None) -> str:
    """The 抽查方式 check boxes: ``☐书面检查　☑现场检查　☐网络监测　☐检验检测``.

    The four methods of 第九条 are always printed, in that order; any other chosen method follows.
    """
    if isinstance(methods, str):
        chosen = [m for m in re.split(r"[、，,；;/\s]+", methods) if m]
    else:
        chosen = [_text(m) for m in methods or () if _text(m)]
    boxes = [f"{CHECKED if m in chosen else UNCHECKED}{m}" for m in CHECK_METHODS]
    boxes += [f"{CHECKED}{m}" for m in dict.fromkeys(chosen) if m not in CHECK_METHODS]
    return "　".join(boxes)


def _inspector(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        value = value.as_json() if hasattr(value, "as_json") else {}
    return {key: _text(value.get(key)) for key in ("name", "title", "licence_no", "phone")}


def check_table_context(
    fields: Mapping[str, Any],
    *,
    bureau: str,
    case_id: str | None,
    dept_opinion: str = "",
    authority_opinion: str = "",
) -> dict[str, Any]:
    """The context of the check table template from extraction-style ``fields``.

    ``fields`` uses the keys of ``pipeline.models.CHECK_TABLE_FIELDS`` (missing keys count as None).
    Dates and times are passed through for the template's ``cn_date``/``cn_period`` filters.
    """
    inspectors = [_inspector(i) for i in fields.get("inspectors") or ()]
    inspectors += [_inspector({}) for _ in range(MIN_INSPECTOR_ROWS - len(inspectors))]
    context: dict[str, Any] = {
        "bureau": _text(bureau),
        "case_id": _text(case_id),
        "qr_p1": QrImage(qr_payload(case_id, CHECK_TABLE_FORM, 1)) if case_id else "",
        "qr_p2": QrImage(qr_payload(case_id, CHECK_TABLE_FORM, 2)) if case_id else "",
        "methods_text": methods_text(fields.get("methods")),
        "inspectors": inspectors,
        "dept_opinion": _text(dept_opinion),
        "authority_opinion": _text(authority_opinion),
    }
    for key in ("inspected_unit", "basis", "scope", "situation", "handling"):
        context[key] = _text(fields.get(key))
    for key in (
        "check_start",
        "check_end",
        "dept_opinion_date",
        "leader_approval_date",
        "authority_opinion_date",
        "leader_confirmation_date",
        "authority_seal_date",
    ):
        context[key] = fields.get(key) or None
    return context


def inspectors_text(inspectors: Sequence[Any] | None) -> str:
    """The 现场检查笔录's inspector lines: ``张三（执法证号：37060120190001）``, one per inspector.

    Fewer than two inspectors are padded with blank lines (``　　　　（执法证号：　　　　　　　　）``)
    for hand filling.
    """
    lines = []
    for value in inspectors or ():
        inspector = _inspector(value)
        name = inspector["name"] or _BLANK * 2
        licence = inspector["licence_no"] or _BLANK * 4
        lines.append(f"{name}（执法证号：{licence}）")
    lines += [f"{_BLANK * 2}（执法证号：{_BLANK * 4}）"] * (MIN_SITE_INSPECTOR_LINES - len(lines))
    return "\n".join(lines)


def site_record_context(fields: Mapping[str, Any], *, bureau: str, case_id: str | None) -> dict[str, Any]:
    """The context of the 现场检查笔录 template from extraction-style ``fields``.

    ``fields`` uses the keys of ``pipeline.models.SITE_RECORD_FIELDS`` (missing keys count as None).
    ``party_signed`` prints 已签字 in the party's signature box; dates and times are passed through for
    the template's ``cn_date``/``cn_period`` filters (None prints a blank date for hand filling).
    """
    context: dict[str, Any] = {
        "bureau": _text(bureau),
        "case_id": _text(case_id),
        "qr_p1": QrImage(qr_payload(case_id, SITE_RECORD_FORM, 1)) if case_id else "",
        "inspectors_text": inspectors_text(fields.get("inspectors")),
        "party_signed": bool(fields.get("party_signed")),
    }
    for key in ("place", "inspected_unit", "legal_rep", "situation", "refusal_reason", "witness"):
        context[key] = _text(fields.get(key))
    for key in ("check_start", "check_end", "party_sign_date", "inspector_sign_date"):
        context[key] = fields.get(key) or None
    return context


def public_form_context(
    *,
    unit_name: str | None,
    uscc: str | None,
    authority: str | None,
    task_name: str | None,
    check_date: str | None,
    check_type: str | None,
    result: str | None,
) -> dict[str, str]:
    """The context of the 公示表 template; None becomes ""."""
    return {
        "unit_name": _text(unit_name),
        "uscc": _text(uscc),
        "authority": _text(authority),
        "task_name": _text(task_name),
        "check_date": _text(check_date),
        "check_type": _text(check_type),
        "result": _text(result),
    }


def render_check_table(
    fields: Mapping[str, Any],
    out_path: Path,
    *,
    template_dir: Path,
    bureau: str,
    case_id: str | None,
    dept_opinion: str = "",
    authority_opinion: str = "",
) -> None:
    """Render a 随机抽查事项检查表 for ``fields`` into ``out_path``."""
    context = check_table_context(
        fields, bureau=bureau, case_id=case_id, dept_opinion=dept_opinion, authority_opinion=authority_opinion
    )
    prepared_template(template_dir / CHECK_TABLE_TEMPLATE).render(context, out_path)


def render_public_form(context: dict[str, Any], out_path: Path, *, template_dir: Path) -> None:
    """Render a “双随机、一公开”检查结果公示表 from ``public_form_context(...)`` into ``out_path``."""
    prepared_template(template_dir / PUBLIC_FORM_TEMPLATE).render(context, out_path)


def render_site_record(
    fields: Mapping[str, Any], out_path: Path, *, template_dir: Path, bureau: str, case_id: str | None
) -> None:
    """Render a 现场检查笔录 for ``fields`` into ``out_path``."""
    context = site_record_context(fields, bureau=bureau, case_id=case_id)
    prepared_template(template_dir / SITE_RECORD_TEMPLATE).render(context, out_path)
