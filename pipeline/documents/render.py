"""Render the bureau's forms from the docxtpl templates in ``templates/``.

``PreparedTemplate`` reads a template once and renders any number of contexts from memory. The
Jinja environment is strict (an undefined variable is an error, never an empty cell), autoescaped (a
company name such as ``A&B<科技>`` cannot break the document's XML) and carries two filters for the
forms' Chinese dates: ``cn_date`` and ``cn_period``. Every Jinja error becomes
``pipeline.core.errors.TemplateError`` with a Chinese message naming the template and the variable.

The check table and the 现场检查笔录 carry a QR code on each page (``qr_payload``) so that a scanned,
hand-signed copy can be matched back to its case.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import io
import os
import re
import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import segno
from docx.image.image import Image
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.exceptions import PackageNotFoundError
from docx.opc.oxml import CT_Relationships
from docx.opc.packuri import PackURI
from docx.opc.pkgwriter import _ContentTypesItem
from docx.oxml.ns import nsmap as docx_nsmap
from docx.oxml.ns import qn
from docx.oxml.shape import CT_Inline
from docx.parts.image import ImagePart
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from lxml import etree

from pipeline.core.errors import OutputError, TemplateError

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
# An empty CASE is a blank form (printed before its case exists): matched by its file name.
_QR_RE = re.compile(r"SHUANGSUI:1;CASE=([^;]*);FORM=([^;]+);PAGE=(\d+)")

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


@contextlib.contextmanager
def _template_errors(name: str) -> Iterator[None]:
    """Jinja errors as ``TemplateError`` with a Chinese message naming the template."""
    try:
        yield
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


def _bind(value: Any, tpl: Any) -> Any:
    """Turn ``QrImage`` values (also inside lists and dicts) into images of ``tpl``."""
    if isinstance(value, QrImage):
        return InlineImage(tpl, io.BytesIO(qr_png(value.payload)), width=Mm(value.width_mm))
    if isinstance(value, Mapping):
        return {k: _bind(v, tpl) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_bind(v, tpl) for v in value]
    return value


def render_plain(data: bytes, context: Mapping[str, Any]) -> bytes:
    """The plain docxtpl way: a new ``DocxTemplate`` for this one document (``data`` is the template)."""
    tpl = DocxTemplate(io.BytesIO(data))
    tpl.render({key: _bind(value, tpl) for key, value in context.items()}, jinja_env=make_jinja_env(),
               autoescape=True)
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


class PreparedTemplate:
    """A docxtpl template prepared once and rendered many times.

    ``DocxTemplate.render`` opens the package with python-docx, patches the body XML for Jinja,
    compiles it, renders it, and serialises and compresses every part again, for every document. A
    prepared template does all of that once (``_FastDocx``); a render only runs the compiled Jinja
    template over the body, applies docxtpl's own post-processing and writes the zip from members
    compressed in advance. Every member of the result holds the same bytes a new ``DocxTemplate``
    gives for the same context. A template with tags outside the body (headers, footers, footnotes,
    document properties) is rendered the plain way.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._data = path.read_bytes()
        except OSError as exc:
            raise TemplateError(f"找不到或无法读取模板 {path}。请运行 make templates 重新生成模板。") from exc
        self._fast: _FastDocx | None = None
        self._plain_only = False
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Do the once-per-template work now (a worker's initializer calls this)."""
        with _template_errors(self.path.name), self._lock:
            if self._fast is None and not self._plain_only:
                try:
                    self._fast = _FastDocx(self._data)
                except _NotFast:
                    self._plain_only = True
                except (zipfile.BadZipFile, PackageNotFoundError, KeyError, etree.XMLSyntaxError) as exc:
                    raise TemplateError(f"模板 {self.path.name} 不是有效的 Word 文档（{exc}）。"
                                        "请运行 make templates 重新生成模板。") from exc

    def render_bytes(self, context: Mapping[str, Any]) -> bytes:
        """The .docx of ``context`` as bytes."""
        self.prepare()
        with _template_errors(self.path.name):
            if self._fast is not None:
                try:
                    return self._fast.render(context)
                except _NotFast:
                    pass
            return render_plain(self._data, context)

    def render(self, context: Mapping[str, Any], out_path: Path) -> None:
        """Render ``context`` into a new document at ``out_path`` (written atomically)."""
        data = self.render_bytes(context)
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".part", dir=out_path.parent)
            tmp_path = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                tmp_path.replace(out_path)
            except BaseException:
                tmp_path.unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise OutputError(
                f"无法写出 {out_path}：{exc.strerror or exc}。请检查目录权限和磁盘空间。"
            ) from exc


# --------------------------------------------------------------------------------------------------
# The prepared rendering (what DocxTemplate does per document, split into once and per render)


class _NotFast(Exception):
    """This template (or this render) needs the plain docxtpl way."""


_TAG_MARKS = ("{{", "{%", "{#")
_CORE_PROPS = ("author", "comments", "identifier", "language", "subject", "title")
_FOOTNOTES_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
# 1980-01-01 00:00 in MS-DOS form, as ``pipeline.core.ziputil`` stamps members: equal documents, equal bytes.
_DOS_TIME, _DOS_DATE = 0, (1 << 5) | 1


@dataclass(frozen=True)
class _Member:
    """One zip member, already deflated."""

    name: str
    deflated: bytes
    crc: int
    size: int


def _member(name: str, data: bytes) -> _Member:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return _Member(name, packer.compress(data) + packer.flush(), zlib.crc32(data), len(data))


def _zip_bytes(members: Sequence[_Member]) -> bytes:
    """A zip of ``members`` (deflated, no zip64: documents are far below 4 GB)."""
    out = bytearray()
    central = bytearray()
    for m in members:
        name = m.name.encode("utf-8")
        flags = 0 if m.name.isascii() else 0x800
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 8, _DOS_TIME, _DOS_DATE, m.crc,
                           len(m.deflated), m.size, len(name), 0)
        out += name
        out += m.deflated
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 20, flags, 8, _DOS_TIME,
                               _DOS_DATE, m.crc, len(m.deflated), m.size, len(name), 0, 0, 0, 0,
                               0o100644 << 16, offset)
        central += name
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0)
    return bytes(out)


def _has_tags(text: str | None) -> bool:
    return bool(text) and any(mark in text for mark in _TAG_MARKS)  # type: ignore[operator]


class _Images:
    """Stands in for docxtpl's ``tpl.current_rendering_part`` while a body renders: records each
    picture the way python-docx's ``StoryPart.new_pic_inline`` adds it to a fresh package."""

    def __init__(self, fast: _FastDocx) -> None:
        self.current_rendering_part = self
        self._fast = fast
        self.added: list[tuple[str, str, Image]] = []  # (rId, partname, image)

    def new_pic_inline(self, descriptor: Any, width: Any = None, height: Any = None) -> CT_Inline:
        image = Image.from_file(descriptor)
        if image.sha1 in self._fast.image_sha1s:
            raise _NotFast  # a picture the template already holds: python-docx would reuse that part
        rid = next((r for r, _, known in self.added if known.sha1 == image.sha1), "")
        if not rid:
            numbers = [*self._fast.image_numbers, *(int(p.rsplit("image", 1)[1].split(".")[0])
                                                    for _, p, _ in self.added)]
            number = next((n for n in range(1, len(numbers) + 1) if n not in numbers), len(numbers) + 1)
            rids = {*self._fast.rids, *(r for r, _, _ in self.added)}
            rid = next(f"rId{n}" for n in range(1, len(rids) + 2) if f"rId{n}" not in rids)
            partname = f"/word/media/image{number}.{image.ext}"
            self.added.append((rid, partname, image))
        cx, cy = image.scaled_dimensions(width, height)
        return CT_Inline.new_pic_inline(self._fast.next_id, rid, image.filename, cx, cy)


class _FastDocx:
    """A template split into what is fixed (done once) and what a context changes (the body)."""

    def __init__(self, data: bytes) -> None:
        env = make_jinja_env()
        tpl = DocxTemplate(io.BytesIO(data))
        tpl.render_init()
        document = tpl.docx
        assert document is not None
        part = document.part
        properties = document.core_properties
        if any(_has_tags(getattr(properties, prop)) for prop in (*_CORE_PROPS, "category", "keywords")):
            raise _NotFast
        for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
            for _key, story in tpl.get_headers_footers(uri):
                if _has_tags(tpl.patch_xml(tpl.get_part_xml(story))):
                    raise _NotFast
        package_parts = list(part.package.iter_parts())
        for other in package_parts:
            if other.content_type == _FOOTNOTES_TYPE and _has_tags(other.blob.decode("utf-8")):
                raise _NotFast
        # The parts without tags, rendered once exactly as DocxTemplate.render renders them.
        for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
            for key, xml in list(tpl.build_headers_footers_xml({}, uri, env)):
                tpl.map_headers_footers_xml(key, xml)
        tpl.render_properties({}, env)
        tpl.render_footnotes({}, env)

        source = re.sub(r"<w:p([ >])", r"\n<w:p\1", tpl.patch_xml(tpl.get_xml()))
        self.template = env.from_string(source)
        self.tpl = tpl
        self.shell = copy.deepcopy(document.element)
        self.next_id = part.next_id
        self.rels = [(r.rId, r.reltype, r.target_ref, r.is_external) for r in part.rels.values()]
        self.rids = frozenset(part.rels)
        package_parts = list(part.package.iter_parts())  # headers and footers may be new parts now
        images = [p for p in package_parts if isinstance(p, ImagePart)]
        self.image_sha1s = frozenset(p.sha1 for p in images)
        self.image_numbers = tuple(p.partname.idx for p in images)
        self.types = [(p.partname, p.content_type) for p in package_parts]
        self.doc_name = part.partname.membername
        self.rels_name = part.partname.rels_uri.membername
        self.types_name = "[Content_Types].xml"

        buf = io.BytesIO()
        document.save(buf)
        with zipfile.ZipFile(buf) as baseline:
            self.members = [_member(info.filename, baseline.read(info)) for info in baseline.infolist()]
        self.after_document = self._end_of_document_parts(part, len(self.members))

    def _end_of_document_parts(self, part: Any, count: int) -> int:
        """Where python-docx writes a new picture: after the last member of the document part's
        subtree in its depth-first walk (a picture is the document part's newest relationship)."""
        names = [self.types_name, "_rels/.rels"]
        visited: list[Any] = []
        end = count

        def walk(source: Any) -> None:
            nonlocal end
            for rel in source.rels.values():
                if rel.is_external or rel.target_part in visited:
                    continue
                child = rel.target_part
                visited.append(child)
                names.append(child.partname.membername)
                if len(child.rels):
                    names.append(child.partname.rels_uri.membername)
                walk(child)
                if child is part:
                    end = len(names)

        walk(part.package)
        return end

    def render(self, context: Mapping[str, Any]) -> bytes:
        images = _Images(self)
        xml = self.template.render({key: _bind(value, images) for key, value in context.items()})
        # docxtpl's render_xml_part and render steps after Jinja, in its order.
        xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
        xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        xml = self.tpl.resolve_listing(xml)
        body = self.tpl.fix_tables(xml)
        for number, drawing in enumerate(body.xpath("//wp:docPr", namespaces=docx_nsmap), start=1001):
            drawing.attrib["id"] = str(number)
        root = copy.deepcopy(self.shell)
        root.replace(root.find(qn("w:body")), body)
        members = list(self.members)
        index = {m.name: n for n, m in enumerate(members)}
        members[index[self.doc_name]] = _member(self.doc_name, etree.tostring(root, encoding="UTF-8",
                                                                               standalone=True))
        if images.added:
            rels = CT_Relationships.new()
            for rel in self.rels:
                rels.add_rel(*rel)
            types = _ContentTypesItem.from_parts(
                [_PartType(name, ctype) for name, ctype in self.types]
                + [_PartType(PackURI(p), image.content_type) for _, p, image in images.added])
            for rid, partname, _image in images.added:
                rels.add_rel(rid, RT.IMAGE, partname.removeprefix("/word/"), False)
            members[index[self.rels_name]] = _member(self.rels_name, rels.xml)
            members[index[self.types_name]] = _member(self.types_name, types.blob)
            media = [_member(p.lstrip("/"), image.blob) for _, p, image in images.added]
            members[self.after_document:self.after_document] = media
        return _zip_bytes(members)


@dataclass(frozen=True)
class _PartType:
    """What python-docx's content-types writer reads of a part."""

    partname: PackURI
    content_type: str



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

    ``fields`` uses the keys of ``pipeline.core.models.CHECK_TABLE_FIELDS`` (missing keys count as None).
    Dates and times are passed through for the template's ``cn_date``/``cn_period`` filters.
    """
    inspectors = [_inspector(i) for i in fields.get("inspectors") or ()]
    inspectors += [_inspector({}) for _ in range(MIN_INSPECTOR_ROWS - len(inspectors))]
    context: dict[str, Any] = {
        "bureau": _text(bureau),
        "case_id": _text(case_id),
        "qr_p1": QrImage(qr_payload(case_id, CHECK_TABLE_FORM, 1)) if case_id is not None else "",
        "qr_p2": QrImage(qr_payload(case_id, CHECK_TABLE_FORM, 2)) if case_id is not None else "",
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

    ``fields`` uses the keys of ``pipeline.core.models.SITE_RECORD_FIELDS`` (missing keys count as None).
    ``party_signed`` prints 已签字 in the party's signature box; dates and times are passed through for
    the template's ``cn_date``/``cn_period`` filters (None prints a blank date for hand filling).
    """
    context: dict[str, Any] = {
        "bureau": _text(bureau),
        "case_id": _text(case_id),
        "qr_p1": QrImage(qr_payload(case_id, SITE_RECORD_FORM, 1)) if case_id is not None else "",
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
