"""Where the signature, seal and reason boxes sit on each page of the printed forms.

``scripts/build_templates.py`` renders each template with a case number (so that the QR code is
printed), converts it to PDF with LibreOffice and calls ``derive_geometry`` on that PDF. The result is
written beside the template (``templates/<form>.geometry.json``) and read back by ``load_geometry``.

All coordinates are PDF points of the A4 page (origin top left). For each page the file holds the QR
code's image box (quiet zone included), the horizontal ruling lines of the form's table under the value
column, and for every box: its value cell, the row it is counted from the table's bottom (rows above it
grow with their content, the rows at the bottom do not), and the printed text inside the cell (to be
ignored when looking for handwriting). A scan is registered through the QR code, so the same numbers
hold at any scale, rotation and shift.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.core.errors import TemplateError
from pipeline.documents.render import (
    CHECK_TABLE_FORM,
    CHECK_TABLE_TEMPLATE,
    SITE_RECORD_FORM,
    SITE_RECORD_TEMPLATE,
    render_check_table,
    render_site_record,
)

GEOMETRY_VERSION = 1
# The case number printed when deriving the geometry; its QR code is as wide as any other (22 mm).
PROBE_CASE_ID = "SS-2000-00000"
DATE_WIDTH = 125.0


@dataclass(frozen=True)
class BoxSpec:
    """A box of a form: the label of its row, what it holds, and printed lines that may vary.

    ``kind`` is ``signature``, ``seal`` or ``reason``. ``variable_line`` is the share of the cell's
    width (from the left) taken by a printed line just above the date that the rendered form may fill
    (an opinion, a witness's typed name, 已签字); that strip is ignored when looking for handwriting.
    """

    box: str
    form: str
    page: int  # 1-based page of the form
    label: str  # the label printed in the row's first cell (line breaks removed)
    kind: str
    variable_line: float = 0.0


BOX_SPECS: tuple[BoxSpec, ...] = (
    BoxSpec("dept_opinion_seal", CHECK_TABLE_FORM, 1, "执法科室意见", "seal", 1.0),
    BoxSpec("leader_approval_signature", CHECK_TABLE_FORM, 1, "分管领导批准签字", "signature"),
    BoxSpec("authority_opinion_seal", CHECK_TABLE_FORM, 1, "抽查执法主体意见", "seal", 1.0),
    BoxSpec("leader_confirmation_signature", CHECK_TABLE_FORM, 2, "分管领导确认签字", "signature"),
    BoxSpec("authority_seal", CHECK_TABLE_FORM, 2, "抽查执法主体盖章", "seal"),
    BoxSpec("party_signature", SITE_RECORD_FORM, 1, "当事人签字（盖章）", "signature", 0.25),
    BoxSpec("party_seal", SITE_RECORD_FORM, 1, "当事人签字（盖章）", "seal", 0.25),
    BoxSpec("refusal_reason", SITE_RECORD_FORM, 1, "未签字（盖章）原因", "reason"),
    BoxSpec("witness_signature", SITE_RECORD_FORM, 1, "见证人签字", "signature", 0.4),
    BoxSpec("inspector_signatures", SITE_RECORD_FORM, 1, "检查人员签字", "signature"),
)
SPECS_BY_BOX: dict[str, BoxSpec] = {spec.box: spec for spec in BOX_SPECS}
TEMPLATES: dict[str, str] = {CHECK_TABLE_FORM: CHECK_TABLE_TEMPLATE, SITE_RECORD_FORM: SITE_RECORD_TEMPLATE}
PAGES: dict[str, int] = {CHECK_TABLE_FORM: 2, SITE_RECORD_FORM: 1}

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class BoxGeometry:
    """A box on a template page (points): its cell, its row counted from the table's bottom, masks."""

    spec: BoxSpec
    cell: Rect
    row_from_bottom: int
    printed: tuple[Rect, ...]  # printed text to ignore, in page points of the template


@dataclass(frozen=True)
class PageGeometry:
    form: str
    page: int  # 1-based
    size: tuple[float, float]
    qr: Rect  # the QR image including its quiet zone
    table: Rect
    value_x: tuple[float, float]  # the value column (right of the labels)
    lines: tuple[float, ...]  # y of the horizontal ruling lines across the value column
    boxes: tuple[BoxGeometry, ...]


def geometry_path(template_dir: Path, form: str) -> Path:
    return template_dir / TEMPLATES[form].replace(".docx", ".geometry.json")


def _r(value: float) -> float:
    return round(float(value), 1)


def _rect(values: Any) -> Rect:
    x0, y0, x1, y1 = (_r(v) for v in values)
    return (x0, y0, x1, y1)


def _norm(text: str) -> str:
    return "".join(text.split())


def derive_geometry(pdf_path: Path, form: str) -> dict[str, Any]:
    """The geometry of ``form`` from a LibreOffice PDF of its template rendered with a case number.

    Raises ``TemplateError`` when a page has no QR code or a label cannot be found (the template and
    ``BOX_SPECS`` disagree).
    """
    import pdfplumber

    pages: list[dict[str, Any]] = []
    with pdfplumber.open(pdf_path) as pdf:
        for page_no in range(1, PAGES[form] + 1):
            if page_no > len(pdf.pages):
                raise TemplateError(f"{TEMPLATES[form]} 的 PDF 少于 {PAGES[form]} 页。请检查模板。")
            pages.append(_derive_page(pdf.pages[page_no - 1], form, page_no))
    return {"version": GEOMETRY_VERSION, "form": form, "template": TEMPLATES[form], "pages": pages}


def _derive_page(page: Any, form: str, page_no: int) -> dict[str, Any]:
    if not page.images:
        raise TemplateError(f"{TEMPLATES[form]} 第 {page_no} 页没有二维码。请运行 make templates。")
    qr = min(page.images, key=lambda im: im["top"])
    tables = page.find_tables()
    if not tables:
        raise TemplateError(f"{TEMPLATES[form]} 第 {page_no} 页没有表格。")
    table = max(tables, key=lambda t: (t.bbox[3] - t.bbox[1]) * (t.bbox[2] - t.bbox[0]))
    rows = [row for row in table.rows if row.cells and row.cells[0] is not None]
    words = page.extract_words(keep_blank_chars=False)
    label_right = min(cell[2] for row in rows for cell in row.cells[:1] if cell is not None)
    value_x = (label_right, table.bbox[2])
    # Horizontal ruling lines crossing the value column (the inspector rows have their own lines there).
    ys = sorted({_r(e["top"]) for e in page.edges if e["orientation"] == "h"
                 and e["x0"] <= value_x[0] + 2 and e["x1"] >= value_x[1] - 2
                 and table.bbox[1] - 1 <= e["top"] <= table.bbox[3] + 1})
    lines: list[float] = []
    for y in ys:
        if not lines or y - lines[-1] > 2:
            lines.append(y)
    boxes: dict[str, Any] = {}
    for spec in (s for s in BOX_SPECS if s.form == form and s.page == page_no):
        row_index = _find_row(rows, words, spec)
        cell = rows[row_index].cells[-1] or rows[row_index].cells[1]
        x0, top, x1, bottom = cell
        inside = [w for w in words if w["x0"] >= x0 - 1 and w["x1"] <= x1 + 1
                  and w["top"] >= top - 1 and w["bottom"] <= bottom + 1]
        printed: list[Rect] = []
        if inside:
            # The date line is right-aligned; a filled date (with LibreOffice's spacing between Latin
            # digits and CJK) runs up to DATE_WIDTH points, further left than the blank one.
            printed.append((min(min(w["x0"] for w in inside), x1 - DATE_WIDTH) - 3, min(w["top"] for w in inside) - 3,
                            max(w["x1"] for w in inside) + 3, max(w["bottom"] for w in inside) + 3))
            if spec.variable_line:
                line_top = min(w["top"] for w in inside)
                height = max(w["bottom"] for w in inside) - line_top
                pitch = height * 1.45
                printed.append((x0, line_top - pitch - 3, x0 + (x1 - x0) * spec.variable_line, line_top - 1))
        boxes[spec.box] = {
            "label": spec.label,
            "kind": spec.kind,
            "cell": _rect(cell),
            "row_from_bottom": len(rows) - 1 - row_index,
            "printed": [_rect(r) for r in printed],
        }
    return {
        "page": page_no,
        "size": [_r(page.width), _r(page.height)],
        "qr": _rect((qr["x0"], qr["top"], qr["x1"], qr["bottom"])),
        "table": _rect(table.bbox),
        "value_x": [_r(value_x[0]), _r(value_x[1])],
        "lines": lines,
        "boxes": boxes,
    }


def _find_row(rows: list[Any], words: list[dict[str, Any]], spec: BoxSpec) -> int:
    """The index of the row whose label cell reads ``spec.label`` (words joined, spaces dropped)."""
    for index, row in enumerate(rows):
        x0, top, x1, bottom = row.cells[0]
        text = _norm("".join(w["text"] for w in words if w["x0"] >= x0 - 1 and w["x1"] <= x1 + 1
                             and w["top"] >= top - 1 and w["bottom"] <= bottom + 1))
        if text == _norm(spec.label):
            return index
    raise TemplateError(f"模板 {TEMPLATES[spec.form]} 中找不到栏目“{spec.label}”。请运行 make templates。")


def build_geometry_files(template_dir: Path, converter: Any, work_dir: Path) -> list[Path]:
    """Render both forms with ``PROBE_CASE_ID``, convert them with ``converter`` and write the geometry
    files beside the templates; return their paths."""

    written = []
    for form, render in ((CHECK_TABLE_FORM, render_check_table), (SITE_RECORD_FORM, render_site_record)):
        docx = work_dir / f"{form}.docx"
        render({}, docx, template_dir=template_dir, bureau="烟台市工业和信息化局", case_id=PROBE_CASE_ID)
        pdf = converter.convert(docx, "pdf", work_dir)
        data = derive_geometry(pdf, form)
        path = geometry_path(template_dir, form)
        path.write_text(dump_geometry(data), encoding="utf-8")
        written.append(path)
    return written


def dump_geometry(data: Mapping[str, Any]) -> str:
    """The geometry as JSON text, one number list per line (diff-friendly, reproducible)."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return re.sub(r"\[\s*([-\d.,\s]*?)\s*\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"


def parse_geometry(data: Mapping[str, Any]) -> tuple[PageGeometry, ...]:
    form = str(data["form"])
    pages = []
    for page in data["pages"]:
        boxes = tuple(
            BoxGeometry(SPECS_BY_BOX[name], _rect(box["cell"]), int(box["row_from_bottom"]),
                        tuple(_rect(r) for r in box["printed"]))
            for name, box in page["boxes"].items()
        )
        pages.append(PageGeometry(form, int(page["page"]), (float(page["size"][0]), float(page["size"][1])),
                                  _rect(page["qr"]), _rect(page["table"]),
                                  (float(page["value_x"][0]), float(page["value_x"][1])),
                                  tuple(float(y) for y in page["lines"]), boxes))
    return tuple(pages)


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> tuple[PageGeometry, ...]:
    del mtime_ns  # cache key only
    return parse_geometry(json.loads(path.read_text(encoding="utf-8")))


def load_geometry(template_dir: Path, form: str) -> tuple[PageGeometry, ...]:
    """The pages of ``form`` as written by ``build_geometry_files``; ``TemplateError`` when missing."""
    path = geometry_path(template_dir, form)
    try:
        return _load(path.resolve(), path.stat().st_mtime_ns)
    except (OSError, ValueError, KeyError) as exc:
        raise TemplateError(f"找不到或无法读取版面文件 {path.name}。请运行 make templates 重新生成。") from exc
