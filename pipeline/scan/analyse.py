"""Analyse a scan: split it into forms by their QR codes and measure every box.

Pages are read one at a time (``pages.iter_pages``). A page with a shuangsui QR code starts a new form
when its case, its form or its page number says so (page 1 after page 2, another case); a page without
one joins the form before it as that form's next page, registered from its table. A file with no QR
code at all is matched by layout (the pattern of the table's bottom rows), as a best effort; only such
a form is read with the optional OCR extra (``pipeline.scan.ocr``: several seconds a page), whose
fields (company, dates, printed 编号) help the pipeline find its case.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from pipeline.core.errors import InputFileError
from pipeline.core.settings import Settings
from pipeline.documents.render import CHECK_TABLE_FORM, SITE_RECORD_FORM
from pipeline.scan import ocr

from .evidence import is_grey, measure, png_bytes
from .geometry import PAGES, PageGeometry, load_geometry
from .model import BoxEvidence, ScanAnalysis, ScanDocument
from .pages import Page, iter_pages
from .register import Registration, find_qr, layout_frame, register_by_layout, register_by_qr

log = logging.getLogger(__name__)

FORMS = (CHECK_TABLE_FORM, SITE_RECORD_FORM)


@dataclass
class _Building:
    form: str | None
    case_id: str | None
    matched_by: str
    pages: list[int] = field(default_factory=list)
    form_pages: list[int] = field(default_factory=list)  # 1-based page of the form for each page
    evidence: dict[str, BoxEvidence] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def done(self) -> ScanDocument:
        if self.form is not None:
            missing = [n for n in range(1, PAGES[self.form] + 1) if n not in self.form_pages]
            if missing:
                pages = "、".join(f"第{n}页" for n in missing)
                self.warnings.append(f"扫描件中缺少这份表的{pages}，其中的签字盖章栏未核对。请补扫后放入收件箱。")
        return ScanDocument(self.form, self.case_id, tuple(self.pages), dict(self.evidence), dict(self.fields),
                            self.matched_by, tuple(self.warnings))


def _needed(geometry: PageGeometry) -> int:
    return max((box.row_from_bottom for box in geometry.boxes), default=0) + 1


def _measure_page(image: Image.Image, index: int, registration: Registration, geometry: PageGeometry,
                  doc: _Building) -> None:
    grey = is_grey(image)
    for box in geometry.boxes:
        result = measure(image, registration, box, grey=grey)
        present = result.present
        if present is not None and registration.confidence < 1.0 and result.score < 1.6:
            present = None  # the box's place was only estimated: a near-threshold reading is not trusted
        crop = png_bytes(result.crop) if present is None else None
        doc.evidence[box.spec.box] = BoxEvidence(box.spec.box, present, round(result.score, 3), index,
                                                 result.bbox, crop)


def _ocr_fields(image: Image.Image) -> dict[str, str]:
    """Printed fields through the optional OCR extra (``pipeline.scan.ocr``); {} without it."""
    try:
        if not ocr.available():
            return {}
        return dict(ocr.read_fields(image))
    except Exception as exc:  # OCR is a help, never a reason to lose the scan
        log.warning("OCR failed: %s", exc, exc_info=True)
        return {}


def _by_layout(image: Image.Image, template_dir: Path,
               candidates: Sequence[tuple[str, int]]) -> tuple[str, int, Registration] | None:
    """The candidate (form, 1-based page) whose bottom-row pattern fits ``image`` best, if any fits."""
    best: tuple[str, int, Registration] | None = None
    frame = layout_frame(image)
    if frame is None:
        return None
    for form, page_no in candidates:
        geometry = load_geometry(template_dir, form)[page_no - 1]
        registration = register_by_layout(image, geometry, _needed(geometry), frame)
        if registration is None or registration.confidence < 0.6:
            continue
        # More rows matched is stronger evidence than a slightly closer fit of fewer.
        strength = registration.fit - 2.0 * _needed(geometry)
        if best is None or strength < best[2].fit - 2.0 * _needed(load_geometry(template_dir, best[0])[best[1] - 1]):
            best = (form, page_no, registration)
    return best


def _pages(path: Path, settings: Settings) -> Iterator[Page]:
    return iter_pages(path, max_pixels=settings.scan_max_pixels, max_pages=settings.scan_max_pages)


def analyse_scan(path: Path, settings: Settings) -> ScanAnalysis:
    """Split the scan ``path`` into forms and measure their boxes (see the module docstring).

    Raises ``InputFileError`` (``FILE_TOO_LARGE``, ``FILE_UNREADABLE``, ``FILE_UNSUPPORTED``).
    """
    template_dir = settings.templates_dir
    docs: list[_Building] = []
    text_pages: list[int] = []
    count = 0
    for page in _pages(path, settings):
        count += 1
        if page.image is None:
            text_pages.append(page.index)
            continue
        _analyse_page(page.index, page.image, docs, template_dir)
    if count == 0:
        raise InputFileError("扫描件中没有页面。请重新扫描后放入收件箱。", field="file", code="FILE_UNREADABLE")
    return ScanAnalysis(count, tuple(text_pages), tuple(doc.done() for doc in docs))


def _analyse_page(index: int, image: Image.Image, docs: list[_Building], template_dir: Path) -> None:
    hit = find_qr(image)
    current = docs[-1] if docs else None
    if hit is not None and hit.form in FORMS and 1 <= hit.page <= PAGES[hit.form]:
        if (current is None or current.case_id != hit.case_id or current.form != hit.form
                or hit.page in current.form_pages):
            current = _Building(hit.form, hit.case_id, "qr")  # the QR code says it all: no OCR needed
            docs.append(current)
        geometry = load_geometry(template_dir, hit.form)[hit.page - 1]
        registration = register_by_qr(image, hit, geometry, _needed(geometry))
        if registration.confidence < 1.0:
            current.warnings.append(f"第{index + 1}页表格线不清晰，签字盖章栏的位置是估计的。")
        current.pages.append(index)
        current.form_pages.append(hit.page)
        _measure_page(image, index, registration, geometry, current)
        return
    # No usable QR code: the next page of the form before, else whatever the layout says.
    if current is not None and current.form is not None and max(current.form_pages, default=0) < PAGES[current.form]:
        page_no = max(current.form_pages) + 1
        found = _by_layout(image, template_dir, [(current.form, page_no)])
        current.pages.append(index)
        current.form_pages.append(page_no)
        if found is None:
            current.warnings.append(f"第{index + 1}页没有二维码，也找不到表格，签字盖章栏未核对。请重新扫描这一页。")
            return
        current.warnings.append(f"第{index + 1}页没有可读的二维码，按表格版面核对（可信度较低）。")
        _measure_page(image, index, found[2], load_geometry(template_dir, found[0])[page_no - 1], current)
        return
    candidates = [(form, n) for form in FORMS for n in range(1, PAGES[form] + 1)]
    found = _by_layout(image, template_dir, candidates)
    if found is None:
        doc = _Building(None, None, "none", [index], [])
        doc.fields.update(_ocr_fields(image))
        doc.form = doc.fields.get("form") if doc.fields.get("form") in FORMS else None
        doc.case_id = doc.fields.get("case_ref") or None
        doc.warnings.append(f"第{index + 1}页没有二维码，也认不出是哪种表。请用系统打印的带二维码的表格重新扫描。")
        if doc.form is not None:
            doc.form_pages.extend(range(1, PAGES[doc.form] + 1))  # nothing to measure; no "missing page" note
        docs.append(doc)
        return
    form, page_no, registration = found
    if (current is not None and current.matched_by == "layout" and current.form == form
            and page_no not in current.form_pages):
        doc = current
    else:
        doc = _Building(form, None, "layout")
        doc.fields.update(_ocr_fields(image))
        doc.case_id = doc.fields.get("case_ref") or None
        docs.append(doc)
    doc.warnings.append(f"第{index + 1}页没有二维码，按表格版面认作{_FORM_NAMES[form]}第{page_no}页（可信度较低）。")
    doc.pages.append(index)
    doc.form_pages.append(page_no)
    _measure_page(image, index, registration, load_geometry(template_dir, form)[page_no - 1], doc)


_FORM_NAMES = {CHECK_TABLE_FORM: "随机抽查事项检查表", SITE_RECORD_FORM: "现场检查笔录"}
