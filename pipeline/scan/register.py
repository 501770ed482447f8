"""Find the QR code on a page and map the template's points onto the page image.

The QR code's four corners (zxing-cpp, in the symbol's own orientation, so a page scanned upside down
is handled too) give an affine map from template points to image pixels: rotation, scale and shift.
The form's ruling lines then refine it: a small residual rotation is found from the sharpness of the
table's horizontal-line profile, and the bottom rows of the table are located by their lines (rows
higher up grow with their content and push the bottom rows down).

A page without a QR code is registered from its table alone (``register_by_layout``): the skew from the
line profile, the scale from the table's width, the rows from the line pattern of the form's bottom rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import segno
import zxingcpp
from PIL import Image

from pipeline.documents.render import parse_qr_payload

from .geometry import PageGeometry

QR_BORDER_MODULES = 4  # ``pipeline.documents.render.qr_png`` prints a 4-module quiet zone
STRIP_SCALE = 1.5  # pixels per point of the upright strips used to find ruling lines
LINE_SHARE = 0.45  # a pixel row is a ruling line when this share of the strip's width is dark
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
ANGLES = np.deg2rad(np.arange(-1.2, 1.21, 0.1))


@dataclass(frozen=True)
class QrHit:
    case_id: str
    form: str
    page: int  # 1-based page of the form
    corners: tuple[tuple[float, float], ...]  # TL, TR, BR, BL of the symbol in image pixels
    payload: str


@dataclass(frozen=True)
class Registration:
    """``matrix`` maps template points (x, y, 1) to image pixels; ``rows`` the located bottom rows."""

    matrix: np.ndarray  # 2×3
    rows: dict[int, tuple[float, float]]  # row_from_bottom → (top, bottom) in template points
    confidence: float
    method: str  # "qr" | "layout"
    fit: float = 0.0  # mean distance (points) of the found bottom-row lines from the template's

    def apply(self, x: float, y: float) -> tuple[float, float]:
        u, v = self.matrix @ np.array([x, y, 1.0])
        return float(u), float(v)

    @property
    def scale(self) -> float:
        """Image pixels per template point."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))


def grey_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L") if image.mode != "L" else image)


def find_qr(image: Image.Image) -> QrHit | None:
    """The shuangsui QR code on ``image``, or None. Looks at the top right first (where the forms
    print it), then at the whole page."""
    grey = image.convert("L") if image.mode != "L" else image
    width, height = grey.size
    regions = [(width // 2, 0, width, height // 3), (0, 0, width, height)]
    for left, top, right, bottom in regions:
        part = grey.crop((left, top, right, bottom))
        for hit in zxingcpp.read_barcodes(part, formats=_QR_ONLY):
            parsed = parse_qr_payload(hit.text)
            if parsed is None:
                continue
            pos = hit.position
            corners = tuple((float(p.x + left), float(p.y + top))
                            for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left))
            return QrHit(parsed[0], parsed[1], parsed[2], corners, hit.text)
    return None


@functools.lru_cache(maxsize=256)
def _modules(payload: str) -> int:
    return int(segno.make_qr(payload, error="m", boost_error=False).symbol_size(border=0)[0])


def _fit_affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2×3 least-squares affine map taking ``src`` points onto ``dst`` points."""
    ones = np.ones((len(src), 1))
    solution, *_ = np.linalg.lstsq(np.hstack([src, ones]), dst, rcond=None)
    return np.asarray(solution.T)


def qr_matrix(hit: QrHit, geometry: PageGeometry) -> np.ndarray:
    x0, y0, x1, y1 = geometry.qr
    modules = _modules(hit.payload)
    inset_x = (x1 - x0) * QR_BORDER_MODULES / (modules + 2 * QR_BORDER_MODULES)
    inset_y = (y1 - y0) * QR_BORDER_MODULES / (modules + 2 * QR_BORDER_MODULES)
    src = np.array([(x0 + inset_x, y0 + inset_y), (x1 - inset_x, y0 + inset_y),
                    (x1 - inset_x, y1 - inset_y), (x0 + inset_x, y1 - inset_y)])
    return _fit_affine(src, np.array(hit.corners))


def warp(image: Image.Image, matrix: np.ndarray, box: tuple[float, float, float, float], scale: float,
         *, fill: int | tuple[int, int, int] = 255) -> Image.Image:
    """The template rectangle ``box`` (points) cut upright out of ``image`` at ``scale`` pixels a point."""
    x0, y0, x1, y1 = box
    width, height = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
    # output pixel (i, j) ↦ template (x0 + i/scale, y0 + j/scale) ↦ image pixel
    a, b, c = matrix[0]
    d, e, f = matrix[1]
    coeffs = (a / scale, b / scale, a * x0 + b * y0 + c, d / scale, e / scale, d * x0 + e * y0 + f)
    if image.mode == "RGB" and isinstance(fill, int):
        fill = (fill, fill, fill)
    return image.transform((width, height), Image.Transform.AFFINE, coeffs,
                           resample=Image.Resampling.BILINEAR, fillcolor=fill)


def dark_mask(grey: np.ndarray) -> np.ndarray:
    paper = float(np.percentile(grey, 90)) if grey.size else 255.0
    return grey < min(150.0, paper * 0.62)


def _best_angle(mask: np.ndarray, blocks: int = 16, angles: np.ndarray = ANGLES) -> tuple[float, np.ndarray]:
    """The residual skew (radians) making the rows of ``mask`` sharpest, and the profile at it.

    The strip is cut into vertical blocks; a skew shifts each block's row profile by a number of rows
    proportional to its distance from the centre, so each angle costs a few additions.
    """
    height, width = mask.shape
    edges = np.linspace(0, width, blocks + 1).astype(int)
    profiles = np.stack([mask[:, edges[i]:edges[i + 1]].sum(axis=1) for i in range(blocks)]).astype(np.float64)
    centres = (edges[:-1] + edges[1:]) / 2 - width / 2
    best = (-1.0, 0.0, profiles.sum(axis=0))
    for angle in angles:
        shifts = np.round(np.tan(angle) * centres).astype(int)
        total = np.zeros(height)
        for profile, shift in zip(profiles, shifts, strict=True):
            total += np.roll(profile, -shift)
        sharpness = float((total ** 2).sum())
        if sharpness > best[0]:
            best = (sharpness, float(angle), total)
    return best[1], best[2]


def line_mask(grey: np.ndarray) -> np.ndarray:
    """Pixels dark enough to belong to a thin ruling line (which scanning and resampling make grey)."""
    paper = float(np.percentile(grey, 90)) if grey.size else 255.0
    return grey < paper * 0.8


def _lines(profile: np.ndarray, width: int) -> list[float]:
    """Centres of the runs of rows where more than ``LINE_SHARE`` of the width is dark (a line drawn
    over two pixel rows counts with its darker neighbour row)."""
    neighbour = np.maximum(np.roll(profile, 1), np.roll(profile, -1))
    hot = (profile + 0.5 * neighbour) > LINE_SHARE * width
    lines: list[float] = []
    start = None
    for row, on in enumerate([*hot.tolist(), False]):
        if on and start is None:
            start = row
        elif not on and start is not None:
            lines.append((start + row - 1) / 2)
            start = None
    return lines


def _skewed(matrix: np.ndarray, angle: float, centre: tuple[float, float]) -> np.ndarray:
    """``matrix`` after rotating template points by ``angle`` about ``centre`` (small-angle shear)."""
    t = np.tan(angle)
    cx, cy = centre
    # (x, y) ↦ (x - t (y - cy), y + t (x - cx))
    pre = np.array([[1.0, -t, t * cy], [t, 1.0, -t * cx], [0.0, 0.0, 1.0]])
    return matrix @ pre


def match_rows(found: list[float], geometry: PageGeometry,
               needed: int) -> tuple[dict[int, tuple[float, float]], float] | None:
    """Row k (from the bottom, k < ``needed``) → (top, bottom) in template points, by finding the
    bottom lines of ``geometry`` among the ``found`` lines (template points), and the mean distance
    of those lines from where the template's row heights put them; None when no sequence of found
    lines has the template's row heights."""
    template = list(geometry.lines)
    if len(template) < needed + 1 or not found:
        return None
    bottom = template[-1]
    offsets = [bottom - template[-1 - j] for j in range(needed + 1)]
    best: tuple[float, dict[int, tuple[float, float]], float] | None = None
    for candidate in found:
        picked = []
        error = 0.0
        for offset in offsets:
            target = candidate - offset
            nearest = found[int(np.argmin([abs(y - target) for y in found]))]
            tolerance = 4.0 + 0.06 * offset
            if abs(nearest - target) > tolerance:
                break
            picked.append(nearest)
            error += abs(nearest - target)
        else:
            rows = {k: (picked[k + 1], picked[k]) for k in range(needed)}
            # On equal-height rows a missed line fits one row off: prefer the place the QR code predicts.
            score = error + 0.05 * abs(candidate - bottom)
            if best is None or score < best[0]:
                best = (score, rows, error / len(offsets))
    return None if best is None else (best[1], best[2])


def refine(image: Image.Image, matrix: np.ndarray, geometry: PageGeometry, needed: int,
           method: str) -> Registration:
    """Correct the residual skew of ``matrix`` and locate the bottom ``needed`` rows of the table."""
    x0, x1 = geometry.value_x
    top = geometry.table[1] - 30
    bottom = geometry.size[1]
    box = (x0 + 4, top, x1 - 4, bottom)
    strip = grey_array(warp(image, matrix, box, STRIP_SCALE))
    mask = line_mask(strip)
    angle, profile = _best_angle(mask)
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    corrected = _skewed(matrix, angle, centre)
    found = [top + y / STRIP_SCALE for y in _lines(profile, mask.shape[1])]
    matched = match_rows(found, geometry, needed)
    if matched is None:
        template = geometry.lines
        rows = {k: (template[-2 - k], template[-1 - k]) for k in range(needed)}
        return Registration(corrected, rows, 0.5, method, fit=float("inf"))
    return Registration(corrected, matched[0], 1.0, method, fit=matched[1])


def register_by_qr(image: Image.Image, hit: QrHit, geometry: PageGeometry, needed: int) -> Registration:
    return refine(image, qr_matrix(hit, geometry), geometry, needed, "qr")


@dataclass(frozen=True)
class LayoutFrame:
    """A page without a QR code, deskewed and reduced once for every candidate form page."""

    small_scale: float  # reduced pixels per image pixel
    size: tuple[int, int]  # of the reduced image
    angle: float  # radians, as given to PIL's rotate (counter-clockwise)
    left: float
    right: float
    lines: tuple[float, ...]  # ruling lines between left and right, reduced pixels


WIDE_ANGLES = np.deg2rad(np.arange(-6.0, 6.01, 0.25))


def layout_frame(image: Image.Image) -> LayoutFrame | None:
    """Deskew a page without a QR code from its ruling lines and find its table's outer columns."""
    small_scale = 1000 / max(image.size)
    small = image.convert("L").resize((max(1, round(image.width * small_scale)),
                                       max(1, round(image.height * small_scale))), Image.Resampling.BOX)
    angle = _best_angle(line_mask(np.asarray(small)), blocks=24, angles=WIDE_ANGLES)[0]
    rotated = small.rotate(float(np.rad2deg(angle)), resample=Image.Resampling.BILINEAR, fillcolor=255)
    mask = line_mask(np.asarray(rotated))
    columns = mask.sum(axis=0)
    tall = np.flatnonzero(columns > 0.3 * mask.shape[0])
    if len(tall) < 2:
        return None
    left, right = float(tall[0]), float(tall[-1])
    rows = mask[:, int(left):int(right) + 1].sum(axis=1)
    lines = _lines(rows.astype(np.float64), int(right - left + 1))
    if not lines or right - left < 0.3 * small.width:
        return None
    return LayoutFrame(small_scale, small.size, angle, left, right, tuple(lines))


def register_by_layout(image: Image.Image, geometry: PageGeometry, needed: int,
                       frame: LayoutFrame | None = None) -> Registration | None:
    """Register a page without a QR code from its table: skew, the table's outer vertical lines, the
    rows. None when no table like the form's is found. ``frame`` (from ``layout_frame``) may be
    shared between candidate forms."""
    frame = frame or layout_frame(image)
    if frame is None:
        return None
    table_x0, _, table_x1, _ = geometry.table
    scale = (frame.right - frame.left) / (table_x1 - table_x0)  # reduced pixels per point
    # reduced-rotated pixel = scale * template + offset, the table's left line and bottom line first
    to_rotated = np.array([[scale, 0.0, frame.left - scale * table_x0],
                           [0.0, scale, frame.lines[-1] - scale * geometry.lines[-1]],
                           [0.0, 0.0, 1.0]])
    # PIL rotates counter-clockwise about the centre: undo it, then undo the reduction.
    cx, cy = frame.size[0] / 2, frame.size[1] / 2
    cos, sin = np.cos(frame.angle), np.sin(frame.angle)
    unrotate = np.array([[cos, -sin, cx - cos * cx + sin * cy], [sin, cos, cy - sin * cx - cos * cy], [0, 0, 1]])
    unreduce = np.diag([1 / frame.small_scale, 1 / frame.small_scale, 1.0])
    matrix = (unreduce @ unrotate @ to_rotated)[:2]
    registration = refine(image, matrix, geometry, needed, "layout")
    return Registration(registration.matrix, registration.rows, min(registration.confidence, 0.6), "layout",
                        registration.fit)
