"""Is the signature, the seal, the written reason really in its box?

Each box is cut upright out of the page (``register.warp``) and measured:

* **ink** (signatures, the refusal reason): the share of dark pixels in the cell, with red removed (a
  seal over a signature does not count as one), the ruling lines left out (the cell is cut a little
  inside its lines) and the text the form prints there masked (the date line, a typed name);
  isolated specks of scanner noise are dropped;
* **seal**: the share of red pixels in the cell, and a seal-like extent (red spread over a round area
  rather than a thin stroke). On a grey scan red is not visible: there the ink must form a ring (a
  seal's rim) to count as a seal.

``score`` is the measured share divided by the share needed to say "present": ≥ 1 present,
≤ ``ABSENT_RATIO`` absent, in between uncertain (``present=None``, a person looks at the PNG crop).
The thresholds are calibrated on generated scans (``benchmarks/scans.py``; results in the README).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .geometry import BoxGeometry
from .register import Registration, dark_mask, warp

CROP_SCALE = 2.0  # pixels per point of the measured crops (144 dpi)
INSET = 4.0  # points kept away from the ruling lines
INK_PRESENT = 0.0060  # share of dark pixels (signature, reason)
SEAL_PRESENT = 0.0080  # share of red pixels
ABSENT_RATIO = 0.25
SEAL_MIN_EXTENT = 18.0  # points: a seal's red spreads at least this far both ways
SEAL_RADII_MM = (16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0)  # seals are 32-45 mm across
MM = 72 / 25.4  # points per millimetre
INSIDE_POINTS = 24
RING_PRESENT = 0.65
SEAL_MARGIN = 12.0  # points above and below the cell searched for a seal's red


@dataclass(frozen=True)
class Measurement:
    present: bool | None
    score: float
    crop: Image.Image
    bbox: tuple[int, int, int, int]


def _neighbours(mask: np.ndarray) -> np.ndarray:
    """How many of the 8 neighbours of each pixel are set."""
    padded = np.pad(mask.astype(np.uint8), 1)
    total = np.zeros(mask.shape, dtype=np.uint8)
    height, width = mask.shape
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == 1 and dx == 1:
                continue
            total += padded[dy:dy + height, dx:dx + width]
    return total


def _grow(mask: np.ndarray, steps: int = 1) -> np.ndarray:
    for _ in range(steps):
        mask = mask | (_neighbours(mask) > 0)
    return mask


def red_mask(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    return (r - np.maximum(g, b) > 45) & (r > 100)


def is_grey(image: Image.Image) -> bool:
    """True for a scan without colour (mode L, or R≈G≈B everywhere)."""
    if image.mode != "RGB":
        return True
    small = np.asarray(image.reduce(8)).astype(np.int16)
    chroma = small.max(axis=2) - small.min(axis=2)
    return float(np.percentile(chroma, 99.9)) < 14


def _decide(share: float, threshold: float) -> tuple[bool | None, float]:
    score = share / threshold
    if score >= 1.0:
        return True, score
    if score <= ABSENT_RATIO:
        return False, score
    return None, score


def find_ring(mask: np.ndarray, edge_points: int = 36) -> tuple[float, float, float, float]:
    """The circle (seal sizes) whose rim is best covered by ink in ``mask``: (share of the rim covered,
    centre x, centre y, radius) in crop pixels. A seal's rim gives 0.7-1, handwriting and print rarely
    0.4. Points of the circle outside the crop are not counted (a seal often runs over its cell's lines,
    and one stamped in the next row reaches in from the edge). ``INSIDE_POINTS`` of a circle's 72 rim
    points must fall inside the crop (a seal is taller than its row), or, for a circle centred outside
    it, ``edge_points`` (an arc reaching in)."""
    height, width = mask.shape
    ink = _grow(mask, 2)
    step = 6
    angles = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    best = (0.0, 0.0, 0.0, 0.0)
    reach = round(max(SEAL_RADII_MM) * MM * CROP_SCALE)
    for radius_mm in SEAL_RADII_MM:
        radius = radius_mm * MM * CROP_SCALE
        cys, cxs = np.mgrid[-reach:height + reach:step, 0:width:step]
        cx = cxs.reshape(-1, 1) + radius * np.cos(angles)
        cy = cys.reshape(-1, 1) + radius * np.sin(angles)
        inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        hits = np.zeros(cx.shape, dtype=bool)
        hits[inside] = ink[cy[inside].astype(int), cx[inside].astype(int)]
        counted = inside.sum(axis=1)
        outside = ((cys < 0) | (cys >= height)).reshape(-1)
        need = np.where(outside, edge_points, INSIDE_POINTS)
        share = np.where(counted >= need, hits.sum(axis=1) / np.maximum(counted, 1), 0.0)
        index = int(share.argmax())
        if share[index] > best[0]:
            best = (float(share[index]), float(cxs.flat[index]), float(cys.flat[index]), radius)
    return best


def measure(image: Image.Image, registration: Registration, box: BoxGeometry, *, grey: bool) -> Measurement:
    """Measure ``box`` on the page ``image`` (see the module docstring)."""
    x0, top, x1, bottom = box.cell
    row_top, row_bottom = registration.rows.get(box.row_from_bottom, (top, bottom))
    dy = row_bottom - bottom  # the row moved down this far (rows above grew)
    cell = (x0 + INSET, row_top + INSET, x1 - INSET, row_bottom - INSET)
    kind = box.spec.kind
    if kind == "seal":  # a seal is usually larger than its row: look a little above and below too
        cell = (cell[0], cell[1] - SEAL_MARGIN, cell[2], cell[3] + SEAL_MARGIN)
    crop = warp(image, registration.matrix, cell, CROP_SCALE)
    rgb = np.asarray(crop.convert("RGB"))
    grey_px = np.asarray(crop.convert("L"))
    corners = [registration.apply(x, y) for x, y in ((cell[0], cell[1]), (cell[2], cell[3]),
                                                       (cell[0], cell[3]), (cell[2], cell[1]))]
    bbox = (round(min(c[0] for c in corners)), round(min(c[1] for c in corners)),
            round(max(c[0] for c in corners)), round(max(c[1] for c in corners)))
    red = np.zeros(grey_px.shape, dtype=bool) if grey else red_mask(rgb)
    if kind == "seal":
        if grey:
            ink = _speckless(_unprinted(dark_mask(grey_px), box, cell, dy))
            margin = round(SEAL_MARGIN * CROP_SCALE)  # the next rows' print there is not this box's ink
            share = float(ink[margin:-margin].mean())
            if share <= INK_PRESENT * ABSENT_RATIO:
                return Measurement(False, share / SEAL_PRESENT, crop, bbox)
            ring = find_ring(ink)[0] / RING_PRESENT
            return Measurement(True if ring >= 1.0 else None, min(ring, 0.99) if ring < 1.0 else ring, crop, bbox)
        red = _speckless(red)
        share = float(red.mean())
        present, score = _decide(share, SEAL_PRESENT)
        if present:
            ys, xs = np.nonzero(red)
            extent = min(np.ptp(xs), np.ptp(ys)) / CROP_SCALE
            if extent < SEAL_MIN_EXTENT:
                present, score = None, min(score, 0.99)
        return Measurement(present, score, crop, bbox)
    ink = _speckless(_unprinted(dark_mask(grey_px) & ~_grow(red, 2), box, cell, dy))
    share = float(ink.mean())
    present, score = _decide(share, INK_PRESENT)
    if grey and present:
        # On a grey scan a seal (in this box or reaching in from the next row) looks like ink: take
        # away the ink inside a seal's rim (an arc suffices for one centred outside the box); what is
        # left decides.
        rim, cx, cy, radius = find_ring(ink, edge_points=12)
        if rim >= RING_PRESENT:
            ys, xs = np.mgrid[0:ink.shape[0], 0:ink.shape[1]]
            rest = ink & (np.hypot(xs - cx, ys - cy) > radius + 3 * MM * CROP_SCALE)
            present, score = _decide(float(rest.mean()), INK_PRESENT)
            if not present and 0 <= cy < ink.shape[0]:
                # A seal stamped in this very box may hide a signature under it: a person looks.
                present, score = None, min(max(score, ABSENT_RATIO + 0.01), 0.99)
    return Measurement(present, score, crop, bbox)


def _unruled(ink: np.ndarray) -> np.ndarray:
    """``ink`` without ruling lines that reach into the crop (columns or rows mostly dark), and their
    neighbours (a line over two pixels)."""
    ink = ink.copy()
    height, width = ink.shape
    for axis, length in ((0, height), (1, width)):
        full = ink.sum(axis=axis) > 0.6 * length
        full = full | np.roll(full, 1) | np.roll(full, -1)
        if axis == 0:
            ink[:, full] = False
        else:
            ink[full, :] = False
    return ink


def _unprinted(ink: np.ndarray, box: BoxGeometry, cell: tuple[float, float, float, float],
               dy: float) -> np.ndarray:
    """``ink`` without ruling lines and the text the form prints in the box (moved down with its row
    by ``dy``)."""
    ink = _unruled(ink)
    for mx0, my0, mx1, my1 in box.printed:
        left = round((mx0 - cell[0]) * CROP_SCALE)
        right = round((mx1 - cell[0]) * CROP_SCALE)
        upper = round((my0 + dy - cell[1]) * CROP_SCALE)
        lower = round((my1 + dy - cell[1]) * CROP_SCALE)
        ink[max(0, upper):max(0, lower), max(0, left):max(0, right)] = False
    return ink


def _speckless(mask: np.ndarray) -> np.ndarray:
    """``mask`` without isolated pixels (scanner noise, JPEG specks): keep pixels with 2+ neighbours."""
    return mask & (_neighbours(mask) >= 2)


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
