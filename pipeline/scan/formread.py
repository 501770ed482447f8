"""Scans without a QR code: find the form's table, rectify it, tell the form by its printed labels.

The bureau's own Word form, printed by any printer at any scale and scanned or photographed, carries no
QR code. Such a page is read from what is printed on it, never from a guess about its layout:

1. **Table.** The ruling lines are found (``find_tables``): the page is deskewed coarsely from its line
   profile, long horizontal and vertical runs of dark pixels are kept, and the outline of each grid of
   them that has rows and columns is a table. Its four outer corners give a homography (rotation,
   skew, scale and the perspective of a phone photo) onto an upright table ``TABLE_WIDTH_PT`` points
   wide (the width of both forms' tables), with a margin for the title above and seals that overflow.
2. **Rows.** On the rectified table the label column's divider is the first long vertical line, and
   the rows of the label column are cut by its horizontal lines. The value cell of a row runs from the
   divider to the table's right border.
3. **Labels.** The rectified page is read by OCR (``pipeline.scan.ocr``). The text inside each label
   cell is compared with the labels of both forms (``FORM_LABELS``); the form with clearly more labels
   found (or its printed title) is the page's form, otherwise the page is ``unknown`` and gets no box
   evidence at all. One page may hold both halves of the check table (printed to fit on one sheet).
4. **Boxes.** Each box of ``pipeline.scan.geometry.BOX_SPECS`` whose label row was found is measured in
   its value cell (``pipeline.scan.evidence.measure``), with the printed date line and the text OCR
   read in the cell masked out.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from pipeline.core.text import label_key
from pipeline.documents.render import CHECK_TABLE_FORM, SITE_RECORD_FORM

from .evidence import Measurement, is_grey, measure
from .geometry import BOX_SPECS, BoxGeometry, PageGeometry
from .ocr import OcrLine, find_fields
from .register import WIDE_ANGLES, Registration, _best_angle, line_mask

MAX_TABLES_PER_PAGE = 4  # more grids than this on one page is not one of our forms
RECT_SCALE = 200 / 72  # pixels per point of the rectified table (≈ 200 dpi)
TABLE_WIDTH_PT = 453.6  # both forms' tables are this wide (templates/*.geometry.json)
MARGIN_PT = (40.0, 130.0, 40.0, 160.0)  # left, top, right, bottom kept around the table
MIN_LABEL_RATIO = 0.7  # similarity (difflib) of OCR'd label text to a printed label
MIN_FORM_LABELS = 3  # labels of one form that must be found to name the form of a page

# The first cell of every row of each form, as printed (line breaks removed), by page of the form.
FORM_LABELS: dict[str, dict[int, tuple[str, ...]]] = {
    CHECK_TABLE_FORM: {
        1: ("被抽查单位", "抽查依据", "抽查范围及主要内容", "抽查方式", "抽查执法人员", "执法科室意见",
            "分管领导批准签字", "抽查执法主体意见"),
        2: ("抽查情况（包括发现问题、整改措施等）", "抽查时间", "处理意见和建议", "分管领导确认签字",
            "抽查执法主体盖章"),
    },
    SITE_RECORD_FORM: {
        1: ("检查时间", "检查地点", "被检查单位", "法定代表人或负责人", "检查人员及执法证号", "检查情况",
            "当事人签字（盖章）", "未签字（盖章）原因", "见证人签字", "检查人员签字"),
    },
}
TITLES = {CHECK_TABLE_FORM: "随机抽查事项检查表", SITE_RECORD_FORM: "现场检查笔录"}
# Printed text in a box's cell that is never a signature: dates and the form's own words. Not digits
# alone: OCR reads a looped scrawl as "0000", and masking it would hide the signature.
_PRINTED_IN_BOX = re.compile(r"[年月日]|盖章|签字")
_INSPECTOR_NAME = re.compile(r"^\s*\d\s*[.．、]\s*([\u4e00-\u9fff]{2,4})")
_USCC = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")

Point = tuple[float, float]


@dataclass(frozen=True)
class Row:
    """A row of the label column on the rectified table (points)."""

    top: float
    bottom: float
    text: str  # the OCR'd label, key form (no spaces or punctuation)
    label: str | None  # the printed label it reads as, None when none is close
    form: str | None
    page: int | None


@dataclass(frozen=True)
class FoundBox:
    box: str
    measurement: Measurement
    bbox: tuple[int, int, int, int]  # in the page image's pixels


@dataclass
class FoundForm:
    """What one table on a page turned out to be."""

    form: str | None  # None = unknown: no box evidence
    form_pages: tuple[int, ...]  # 1-based pages of the form the table holds
    rows: tuple[Row, ...]
    boxes: list[FoundBox] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    corners: tuple[Point, ...] = ()


# --- the table ---------------------------------------------------------------------------------
def _ink_grey(image: Image.Image) -> np.ndarray:
    """The red channel (a seal is almost paper there, black print and blue ink stay dark)."""
    return np.asarray(image.getchannel("R") if image.mode == "RGB" else image.convert("L"))


def find_tables(image: Image.Image) -> list[tuple[Point, Point, Point, Point]]:
    """The outer corners (TL, TR, BR, BL, image pixels) of each ruled table on ``image``, largest first."""
    import cv2

    grey = _ink_grey(image)
    height, width = grey.shape
    small_scale = 1000 / max(width, height)
    small = np.asarray(Image.fromarray(grey).resize((max(1, round(width * small_scale)),
                                                      max(1, round(height * small_scale))), Image.Resampling.BOX))
    angle = float(np.rad2deg(_best_angle(line_mask(small), blocks=24, angles=WIDE_ANGLES)[0]))
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    upright = cv2.warpAffine(grey, turn, (width, height), flags=cv2.INTER_LINEAR, borderValue=255)
    binary = cv2.adaptiveThreshold(upright, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 12)
    # A little vertical (horizontal) growth first lets a line that still slopes (perspective) pass.
    horizontal = cv2.morphologyEx(cv2.dilate(binary, np.ones((5, 1), np.uint8)), cv2.MORPH_OPEN,
                                  np.ones((1, max(20, width // 25)), np.uint8))
    vertical = cv2.morphologyEx(cv2.dilate(binary, np.ones((1, 5), np.uint8)), cv2.MORPH_OPEN,
                                np.ones((max(20, height // 40), 1), np.uint8))
    grid = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(grid, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    back = cv2.invertAffineTransform(turn)
    found: list[tuple[tuple[int, int, int, int], tuple[Point, Point, Point, Point]]] = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True):
        x, y, w, h = cv2.boundingRect(contour)
        if w < 0.3 * width or h < 0.08 * height:
            continue
        if any(x >= fx - 2 and y >= fy - 2 and x + w <= fx + fw + 2 and y + h <= fy + fh + 2
               for (fx, fy, fw, fh), _ in found):
            continue  # a cell of a table already found
        if not _is_table(horizontal[y:y + h, x:x + w], vertical[y:y + h, x:x + w]):
            continue
        points = contour.reshape(-1, 2).astype(np.float64)
        total, diff = points.sum(axis=1), points[:, 0] - points[:, 1]
        corners = [points[int(total.argmin())], points[int(diff.argmax())], points[int(total.argmax())],
                   points[int(diff.argmin())]]
        mapped = tuple((float(back[0, 0] * px + back[0, 1] * py + back[0, 2]),
                        float(back[1, 0] * px + back[1, 1] * py + back[1, 2])) for px, py in corners)
        found.append(((x, y, w, h), (mapped[0], mapped[1], mapped[2], mapped[3])))
        if len(found) >= MAX_TABLES_PER_PAGE:
            break
    return [corners for _, corners in found]


def _is_table(horizontal: np.ndarray, vertical: np.ndarray) -> bool:
    """A grid has at least three ruling lines across most of its width and lines down both sides (a
    page's edge or a text underline has not). Lines are counted as connected pieces, so that lines
    still sloping (a photo's perspective) count as well."""
    import cv2

    h, w = horizontal.shape
    _, _, across, _ = cv2.connectedComponentsWithStats(horizontal, connectivity=8)
    _, _, down, _ = cv2.connectedComponentsWithStats(vertical, connectivity=8)
    rows = [s for s in across[1:] if s[cv2.CC_STAT_WIDTH] > 0.9 * w]
    sides = [s for s in down[1:] if s[cv2.CC_STAT_HEIGHT] > 0.5 * h]
    left = any(s[cv2.CC_STAT_LEFT] < 0.1 * w for s in sides)
    right = any(s[cv2.CC_STAT_LEFT] + s[cv2.CC_STAT_WIDTH] > 0.9 * w for s in sides)
    return len(rows) >= 3 and left and right


def _runs(hot: np.ndarray) -> list[float]:
    """Centres of the runs of True in ``hot``."""
    out: list[float] = []
    start = None
    for i, on in enumerate([*hot.tolist(), False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            out.append((start + i - 1) / 2)
            start = None
    return out


@dataclass(frozen=True)
class Rectified:
    """A table mapped upright: ``image`` at ``RECT_SCALE`` pixels a point; the table's border at
    (``MARGIN_PT[0]``, ``MARGIN_PT[1]``) – (``+TABLE_WIDTH_PT``, ``+height``) points."""

    image: Image.Image
    homography: np.ndarray  # page pixels → rectified pixels
    height: float  # of the table, points

    def to_page(self, x: float, y: float) -> Point:
        """Rectified points → page image pixels."""
        inverse = np.linalg.inv(self.homography)
        u, v, w = inverse @ np.array([x * RECT_SCALE, y * RECT_SCALE, 1.0])
        return float(u / w), float(v / w)


def rectify(image: Image.Image, corners: Sequence[Point]) -> Rectified:
    """The table with outer ``corners`` (TL, TR, BR, BL) mapped upright (see ``Rectified``)."""
    import cv2

    tl, tr, br, bl = (np.array(c, dtype=np.float64) for c in corners)
    across = float(np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    down = float(np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    height = TABLE_WIDTH_PT * down / max(across, 1.0)
    left, top, right, bottom = MARGIN_PT
    s = RECT_SCALE
    dst = np.array([(left, top), (left + TABLE_WIDTH_PT, top), (left + TABLE_WIDTH_PT, top + height),
                    (left, top + height)], dtype=np.float32) * s
    matrix = cv2.getPerspectiveTransform(np.array([tl, tr, br, bl], dtype=np.float32), dst)
    size = (round((left + TABLE_WIDTH_PT + right) * s), round((top + height + bottom) * s))
    rgb = np.asarray(image.convert("RGB"))
    out = cv2.warpPerspective(rgb, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=(255, 255, 255))
    return Rectified(Image.fromarray(out), matrix.astype(np.float64), height)


# --- rows and labels ---------------------------------------------------------------------------
def label_rows(rect: Rectified) -> tuple[float, list[tuple[float, float]]]:
    """The label column's divider (points) and its rows (top, bottom in points), top to bottom."""
    import cv2

    s = RECT_SCALE
    left, top = MARGIN_PT[0], MARGIN_PT[1]
    mask = line_mask(_ink_grey(rect.image))
    y0, y1 = round(top * s), round((top + rect.height) * s)
    x0, x1 = round(left * s), round((left + TABLE_WIDTH_PT) * s)
    columns = mask[y0:y1, x0:x1].sum(axis=0)
    # The divider runs the table's full height: the longest vertical line in the left half.
    lo, hi = round(0.08 * (x1 - x0)), round(0.5 * (x1 - x0))
    candidates = [x for x in _runs(columns > 0.85 * (y1 - y0)) if lo <= x <= hi]
    divider = left + (candidates[0] / s if candidates else TABLE_WIDTH_PT * 0.19)
    lx0, lx1 = x0 + round(6 * s), round(divider * s) - round(6 * s)
    # Only unbroken runs: a row of dense characters can darken most of a pixel row, never all of it.
    solid = cv2.morphologyEx(mask[:, lx0:lx1].astype(np.uint8), cv2.MORPH_OPEN,
                             np.ones((1, max(10, (lx1 - lx0) // 2)), np.uint8))
    rows_profile = solid.sum(axis=1)
    ys = [y / s for y in _runs(rows_profile > 0.7 * max(1, lx1 - lx0))]
    ys = [y for y in ys if top - 8 <= y <= top + rect.height + 8]
    if not ys or ys[0] > top + 8:
        ys.insert(0, top)
    if ys[-1] < top + rect.height - 8:
        ys.append(top + rect.height)
    rows = [(a, b) for a, b in itertools.pairwise(ys) if b - a >= 8]
    return divider, rows


def _best_label(text: str) -> tuple[str | None, str | None, int | None]:
    """The printed label (form, page) ``text`` reads as: clearly the closest and close enough."""
    if len(text) < 2:
        return None, None, None
    scored = sorted(((difflib.SequenceMatcher(None, text, label_key(label)).ratio(), label, form, page)
                     for form, pages in FORM_LABELS.items() for page, labels in pages.items()
                     for label in labels), reverse=True)
    best, second = scored[0], scored[1]
    if best[0] >= MIN_LABEL_RATIO and best[0] - second[0] >= 0.05:
        return best[1], best[2], best[3]
    return None, None, None


def _inside(line: OcrLine, box: tuple[float, float, float, float]) -> bool:
    cx, cy = (line.bbox[0] + line.bbox[2]) / 2, line.middle
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def read_rows(lines: Sequence[OcrLine], divider: float, rows: Sequence[tuple[float, float]]) -> list[Row]:
    """Each row with the label its label cell reads as (``lines`` in rectified pixels)."""
    s = RECT_SCALE
    out = []
    for top, bottom in rows:
        cell = (MARGIN_PT[0] * s, top * s, divider * s, bottom * s)
        text = label_key("".join(line.text for line in lines if _inside(line, cell)))
        label, form, page = _best_label(text)
        out.append(Row(top, bottom, text, label, form, page))
    return out


def decide_form(rows: Sequence[Row], lines: Sequence[OcrLine]) -> tuple[str | None, tuple[int, ...]]:
    """The form the table is (None when it cannot be told) and the pages of it the rows come from."""
    found: dict[str, set[str]] = {form: set() for form in FORM_LABELS}
    for row in rows:
        if row.form is not None and row.label is not None:
            found[row.form].add(row.label)
    titled = {form for form, title in TITLES.items() for line in lines if title in label_key(line.text)}
    ranked = sorted(FORM_LABELS, key=lambda form: (len(found[form]), form in titled), reverse=True)
    best, other = ranked[0], ranked[1]
    enough = len(found[best]) >= MIN_FORM_LABELS or (best in titled and len(found[best]) >= 1)
    if not enough or len(found[other]) * 2 >= len(found[best]) or (other in titled and best not in titled):
        return None, ()
    pages = tuple(sorted({row.page for row in rows if row.form == best and row.page is not None}))
    return best, pages


# --- boxes -------------------------------------------------------------------------------------
def _printed_masks(spec_box: str, template: Sequence[PageGeometry], cell: tuple[float, float, float, float],
                   lines: Sequence[OcrLine]) -> tuple[tuple[float, float, float, float], ...]:
    """Printed text to ignore in the box: the template's date line and variable line moved with the
    cell's bottom-right corner, and the printed-looking text OCR read inside the cell."""
    s = RECT_SCALE
    masks: list[tuple[float, float, float, float]] = []
    for page in template:
        for box in page.boxes:
            if box.spec.box != spec_box:
                continue
            dx, dy = cell[2] - box.cell[2], cell[3] - box.cell[3]
            masks += [(x0 + dx, y0 + dy, x1 + dx, y1 + dy) for x0, y0, x1, y1 in box.printed]
    cell_px = tuple(v * s for v in cell)
    for line in lines:
        if _inside(line, (cell_px[0], cell_px[1], cell_px[2], cell_px[3])) and _PRINTED_IN_BOX.search(line.text):
            x0, y0, x1, y1 = line.bbox
            masks.append((x0 / s - 3, y0 / s - 3, x1 / s + 3, y1 / s + 3))
    return tuple(masks)


def measure_boxes(page_image: Image.Image, rect: Rectified, form: str, divider: float, rows: Sequence[Row],
                  lines: Sequence[OcrLine], template: Sequence[PageGeometry]) -> list[FoundBox]:
    """Measure every box of ``form`` whose label row was found (see the module docstring)."""
    s = RECT_SCALE
    registration = Registration(np.array([[s, 0.0, 0.0], [0.0, s, 0.0]]), {}, 1.0, "table")
    grey = is_grey(page_image)
    right = MARGIN_PT[0] + TABLE_WIDTH_PT
    out = []
    for spec in (spec for spec in BOX_SPECS if spec.form == form):
        row = next((row for row in rows if row.label == spec.label and row.form == form), None)
        if row is None:
            continue
        cell = (divider, row.top, right, row.bottom)
        geometry = BoxGeometry(spec, cell, -1, _printed_masks(spec.box, template, cell, lines))
        result = measure(rect.image, registration, geometry, grey=grey)
        corners = [rect.to_page(x, y) for x, y in ((cell[0], cell[1]), (cell[2], cell[1]), (cell[2], cell[3]),
                                                   (cell[0], cell[3]))]
        bbox = (round(min(c[0] for c in corners)), round(min(c[1] for c in corners)),
                round(max(c[0] for c in corners)), round(max(c[1] for c in corners)))
        out.append(FoundBox(spec.box, result, bbox))
    return out


def read_extra_fields(lines: Sequence[OcrLine], rows: Sequence[Row], divider: float) -> dict[str, str]:
    """Fields beyond ``ocr.find_fields``: the 统一社会信用代码 if printed, the inspectors' names."""
    s = RECT_SCALE
    out: dict[str, str] = {}
    for line in lines:
        code = _USCC.search(line.text.upper().replace(" ", ""))
        if code:
            out["uscc"] = code.group(0)
            break
    names: list[str] = []
    for row in rows:
        if row.label not in ("抽查执法人员", "检查人员及执法证号"):
            continue
        cell = (divider * s, row.top * s, (MARGIN_PT[0] + TABLE_WIDTH_PT) * s, row.bottom * s)
        for line in lines:
            if _inside(line, cell) and (m := _INSPECTOR_NAME.match(line.text) or re.match(
                    r"^\s*([\u4e00-\u9fff]{2,4})\s*[（(]\s*执法证号", line.text)):
                names.append(m.group(1))
    if names:
        out["inspectors"] = "、".join(dict.fromkeys(names))
    return out


def read_page(image: Image.Image, template_for: Callable[[str], Sequence[PageGeometry]],
              ocr_lines: Callable[[Image.Image], list[OcrLine]]) -> list[FoundForm]:
    """Every table on the page ``image``: its form (or None), box measurements and printed fields.

    ``ocr_lines`` reads an image (``pipeline.scan.ocr.read_lines``); ``template_for`` gives a form's
    template geometry (for the printed date lines to mask).
    """
    out = []
    for corners in find_tables(image):
        rect = rectify(image, corners)
        divider, spans = label_rows(rect)
        lines = ocr_lines(rect.image)
        rows = read_rows(lines, divider, spans)
        form, pages = decide_form(rows, lines)
        found = FoundForm(form, pages, tuple(rows), corners=tuple(corners))
        if form is not None:
            found.boxes = measure_boxes(image, rect, form, divider, rows, lines, template_for(form))
            found.fields = {key: value.value for key, value in find_fields(lines).items()}
            found.fields.update(read_extra_fields(lines, rows, divider))
            found.fields["form"] = form
        out.append(found)
    return out


def describe_rows(rows: Iterable[Row]) -> str:
    """The rows as read, for logs and test failure messages."""
    return " | ".join(f"{row.text}→{row.label or '?'}" for row in rows)
