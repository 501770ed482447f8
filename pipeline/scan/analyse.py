"""Analyse a scan: split it into forms by their QR codes and measure every box.

Pages are read one at a time (``pages.iter_pages``). A page with a shuangsui QR code starts a new form
when its case, its form or its page number says so (page 1 after page 2, another case); a page without
one joins the form before it as that form's next page: its boxes are found from its printed labels
(OCR), or without OCR from the table's layout (less sure). A page without a QR
code that follows no such form (the bureau's own printed Word form) is read from what is printed on it
(``pipeline.scan.formread``): its table is found and rectified, its row labels are read by OCR and name
the form; an unrecognised page is ``unknown`` and gets no box evidence. Without OCR (a slim install)
such a page stays unknown with a note saying that OCR is needed. The printed fields read there
(company, 统一社会信用代码, dates, inspectors, printed 编号) help the pipeline find its case.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from pipeline.core.errors import InputFileError
from pipeline.core.settings import Settings
from pipeline.documents.render import CHECK_TABLE_FORM, SITE_RECORD_FORM
from pipeline.scan import ocr

from .evidence import is_grey, measure, png_bytes
from .formread import FoundForm, read_page
from .geometry import BOX_SPECS, PAGES, PageGeometry, load_geometry
from .model import BoxEvidence, ScanAnalysis, ScanDocument
from .ocr import INSTALL_HINT
from .pages import Page, iter_pages
from .register import Registration, find_qr, layout_frame, register_by_layout, register_by_qr

OCR_NEEDED = ("第{page}页没有二维码。认出没有二维码的表格需要文字识别组件（{hint}），"
              "这份扫描件先放在待匹配；安装后重新放入收件箱即可。")

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
    if (current is not None and current.form is not None and current.matched_by != "ocr"
            and max(current.form_pages, default=0) < PAGES[current.form]):
        page_no = max(current.form_pages) + 1
        current.pages.append(index)
        current.form_pages.append(page_no)
        # Its printed labels first (the cells found on the page); the layout guess only without OCR.
        table = _printed_page(index, image, template_dir, current.form, page_no)
        if table is not None:
            _add_table(current, table, index, image, f"第{index + 1}页没有可读的二维码，按印制的栏目名认作第{page_no}页。")
            return
        found = _by_layout(image, template_dir, [(current.form, page_no)])
        if found is None:
            current.warnings.append(f"第{index + 1}页没有二维码，也找不到表格，签字盖章栏未核对。请重新扫描这一页。")
            return
        current.warnings.append(f"第{index + 1}页没有可读的二维码，按表格版面核对（可信度较低）。")
        _measure_page(image, index, found[2], load_geometry(template_dir, found[0])[page_no - 1], current)
        return
    _by_printed_text(index, image, docs, template_dir)


def _page_reader(template_dir: Path) -> Callable[[Image.Image], list[FoundForm]] | None:
    """Reads a page without a QR code by its printed text; None without the OCR component."""
    if not ocr.available():
        return None
    return lambda image: read_page(image, lambda form: load_geometry(template_dir, form), ocr.read_lines)


def _read_printed(index: int, image: Image.Image, template_dir: Path) -> list[FoundForm] | None:
    """The forms the page's printed labels name (None: no OCR component)."""
    reader = _page_reader(template_dir)
    if reader is None:
        return None
    try:
        return [f for f in reader(image) if f.form is not None]
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception as exc:  # a page that breaks the reader is unknown, never a lost scan
        log.warning("reading page %d by its printed text failed: %s", index + 1, exc, exc_info=True)
        return []


def _printed_page(index: int, image: Image.Image, template_dir: Path, form: str, page_no: int) -> FoundForm | None:
    """Page ``page_no`` of ``form`` read from its printed labels, if that is what the page shows."""
    found = _read_printed(index, image, template_dir) or []
    return next((t for t in found if t.form == form and page_no in t.form_pages), None)


def _by_printed_text(index: int, image: Image.Image, docs: list[_Building], template_dir: Path) -> None:
    found = _read_printed(index, image, template_dir)
    if found is None:
        doc = _Building(None, None, "none", [index], [])
        doc.warnings.append(OCR_NEEDED.format(page=index + 1, hint=INSTALL_HINT))
        docs.append(doc)
        return
    if not found:
        doc = _Building(None, None, "none", [index], [])
        doc.warnings.append(f"第{index + 1}页没有二维码，也认不出是哪种表（找不到表格或栏目名）。"
                            "请整页平放重新扫描，或用系统打印的带二维码的表格。")
        docs.append(doc)
        return
    for table in found:
        assert table.form is not None
        current = docs[-1] if docs else None
        unit = table.fields.get("inspected_unit")
        if (current is not None and current.matched_by == "ocr" and current.form == table.form
                and not set(table.form_pages) & set(current.form_pages)
                and (unit is None or current.fields.get("inspected_unit") in (None, unit))):
            doc = current  # the next page of the same printed form
        else:
            doc = _Building(table.form, None, "ocr")
            docs.append(doc)
        if index not in doc.pages:
            doc.pages.append(index)
        doc.form_pages.extend(table.form_pages)
        for key, value in table.fields.items():
            doc.fields.setdefault(key, value)
        doc.case_id = doc.case_id or doc.fields.get("case_ref") or None
        pages = "、".join(f"第{n}页" for n in table.form_pages)
        _add_table(doc, table, index, image, f"第{index + 1}页没有二维码，按印制的栏目名认作{_FORM_NAMES[table.form]}{pages}。")


def _add_table(doc: _Building, table: FoundForm, index: int, image: Image.Image, note: str) -> None:
    """The boxes of a table read from its printed labels; a row whose label was not read goes to a person."""
    doc.warnings.append(note)
    measured = {b.box for b in table.boxes}
    for b in table.boxes:
        m = b.measurement
        crop = png_bytes(m.crop) if m.present is None else None
        doc.evidence[b.box] = BoxEvidence(b.box, m.present, round(m.score, 3), index, b.bbox, crop)
    for spec in (s for s in BOX_SPECS if s.form == table.form and s.page in table.form_pages):
        if spec.box not in measured:
            # The row's label was not read: a person looks at the page rather than trust a guess.
            doc.warnings.append(f"第{index + 1}页找不到“{spec.label}”一栏，该栏需要人工核对。")
            thumb = image.copy()
            thumb.thumbnail((800, 800))
            doc.evidence[spec.box] = BoxEvidence(spec.box, None, 0.0, index, (0, 0, *image.size), png_bytes(thumb))


_FORM_NAMES = {CHECK_TABLE_FORM: "随机抽查事项检查表", SITE_RECORD_FORM: "现场检查笔录"}
