"""Scans of the bureau's own printed check table, forged independently of the code that reads them.

Nothing here uses ``pipeline.scan``: the form is the typed .docx staff print (rendered from the
template without a case number, so without a QR code), converted to PDF by LibreOffice. Where a
signature or seal goes is taken from that PDF itself: the label's text is searched with pdfplumber and
the cell is the space between the ruling lines around it, right of the label. The page is rasterised
with pypdfium2, signed and sealed with this module's own pens, and then "scanned": rotated, put in
perspective like a phone photo, blurred, noised and saved as JPEG (or a TIFF, or an image-only PDF)
under a scanner's file name. The truth of every box is returned beside the file.
"""

from __future__ import annotations

import io
import math
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdfplumber
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# box → (label as printed, kind). LibreOffice wraps the long labels in the narrow label column.
BOXES = {
    "dept_opinion_seal": ("执法科室意见", "seal"),
    "leader_approval_signature": ("分管领导批准签字", "signature"),
    "authority_opinion_seal": ("抽查执法主体意见", "seal"),
    "leader_confirmation_signature": ("分管领导确认签字", "signature"),
    "authority_seal": ("抽查执法主体盖章", "seal"),
}
SEAL_RED = (205, 35, 45)
A4 = (595.0, 842.0)


@dataclass(frozen=True)
class Cell:
    page: int  # 0-based page of the PDF
    rect: tuple[float, float, float, float]  # x0, top, x1, bottom in PDF points


@dataclass(frozen=True)
class Forged:
    path: Path
    truth: dict[str, bool]  # box → signed/sealed
    description: str


def _search(page: object, label: str) -> list[dict[str, float]]:
    """Places of ``label`` on ``page``; a label wrapped over two lines is found by its first line."""
    hits = page.search(label)  # type: ignore[attr-defined]
    if hits:
        return list(hits)
    for cut in range(len(label) - 1, 2, -1):
        hits = page.search(label[:cut])  # type: ignore[attr-defined]
        if hits:
            return list(hits)
    return []


def locate_cells(pdf: Path) -> dict[str, Cell]:
    """Each box's value cell, from the label's text and the ruling lines around it in ``pdf``."""
    cells: dict[str, Cell] = {}
    with pdfplumber.open(pdf) as doc:
        for index, page in enumerate(doc.pages):
            horizontal = [e for e in page.edges if e["orientation"] == "h" and e["x1"] - e["x0"] > 20]
            vertical = [e for e in page.edges if e["orientation"] == "v" and e["bottom"] - e["top"] > 5]
            if not horizontal or not vertical:
                continue
            for box, (label, _) in BOXES.items():
                for hit in _search(page, label):
                    cx, mid = (hit["x0"] + hit["x1"]) / 2, (hit["top"] + hit["bottom"]) / 2
                    above = [e["top"] for e in horizontal if e["x0"] <= cx <= e["x1"] and e["top"] <= hit["top"]]
                    below = [e["top"] for e in horizontal if e["x0"] <= cx <= e["x1"] and e["top"] >= hit["bottom"]]
                    right = [e["x0"] for e in vertical if e["x0"] >= hit["x1"] and e["top"] <= mid <= e["bottom"]]
                    if not above or not below or not right:
                        continue  # text outside the table (the footnote names 抽查执法主体 too)
                    top, bottom = max(above), min(below)
                    ends = [e["x0"] for e in vertical if e["top"] <= (top + bottom) / 2 <= e["bottom"]]
                    written = page.crop((min(ends), top, min(right), bottom)).extract_text() or ""
                    if "".join(written.split()) != label:
                        continue  # the same first line, another label (抽查执法主体意见 / 盖章)
                    cells.setdefault(box, Cell(index, (min(right), top, max(ends), bottom)))
                    break
    missing = set(BOXES) - set(cells)
    assert not missing, f"labels not found in {pdf.name}: {missing}"
    return cells


def _font(size: int) -> ImageFont.FreeTypeFont:
    listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=True).stdout
    files = sorted(line.split(":")[0].strip() for line in listed.splitlines() if line.strip())
    assert files, "no Chinese font installed (fonts-noto-cjk)"
    return ImageFont.truetype(files[0], size)


def sign(draw: ImageDraw.ImageDraw, cell: tuple[float, float, float, float], rng: random.Random) -> None:
    """A scrawled name (three to five joined loops) in the upper left of the cell (pixels)."""
    x0, y0, x1, y1 = cell
    height = (y1 - y0) * rng.uniform(0.3, 0.45)
    width = (x1 - x0) * rng.uniform(0.18, 0.3)
    left = x0 + (x1 - x0) * rng.uniform(0.08, 0.4)
    base = y0 + (y1 - y0) * rng.uniform(0.3, 0.45)
    colour = rng.choice([(20, 30, 120), (25, 25, 30), (10, 40, 90)])
    pen = max(2, round(height / 18))
    points = []
    loops = rng.randint(3, 5)
    for k in range(80):
        t = k / 79
        angle = t * loops * 2 * math.pi
        points.append((left + t * width + 0.12 * width * math.cos(angle),
                       base + 0.5 * height * math.sin(angle) * (0.6 + 0.4 * math.sin(3 * t))))
    draw.line(points, fill=colour, width=pen, joint="curve")


def stamp(page: Image.Image, centre: tuple[float, float], diameter: float, text: str) -> None:
    """A round red seal multiplied onto ``page`` (in place), like ink."""
    size = round(diameter) + 10
    layer = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(layer)
    c, r = size / 2, diameter / 2
    draw.ellipse((c - r, c - r, c + r, c + r), outline=SEAL_RED, width=max(3, round(diameter / 40)))
    star = [(c + r * (0.3 if k % 2 == 0 else 0.12) * math.cos(math.radians(-90 + 36 * k)),
             c + r * (0.3 if k % 2 == 0 else 0.12) * math.sin(math.radians(-90 + 36 * k))) for k in range(10)]
    draw.polygon(star, fill=SEAL_RED)
    font = _font(max(8, round(r * 0.27)))
    for i, ch in enumerate(text):
        angle = math.radians(-215 + 250 * (i + 0.5) / len(text))
        glyph = Image.new("L", (round(r * 0.4),) * 2, 0)
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        layer.paste(SEAL_RED, (round(c + r * 0.7 * math.cos(angle) - glyph.width / 2),
                               round(c + r * 0.7 * math.sin(angle) - glyph.height / 2)), glyph)
    x, y = round(centre[0] - size / 2), round(centre[1] - size / 2)
    region = (max(0, x), max(0, y), min(page.width, x + size), min(page.height, y + size))
    under = np.asarray(page.crop(region)).astype(np.float32)
    ink = np.asarray(layer.crop((region[0] - x, region[1] - y, region[2] - x, region[3] - y))).astype(np.float32)
    page.paste(Image.fromarray((under * ink / 255).astype(np.uint8)), region[:2])


def marked_pages(pdf: Path, cells: dict[str, Cell], truth: dict[str, bool], dpi: int,
                 rng: random.Random) -> list[Image.Image]:
    """The PDF's pages at ``dpi`` with the true boxes signed or sealed."""
    k = dpi / 72
    document = pdfium.PdfDocument(pdf)
    pages = []
    try:
        for index in range(len(document)):
            bitmap = document[index].render(scale=k)
            image = bitmap.to_pil().convert("RGB")
            draw = ImageDraw.Draw(image)
            for box, cell in cells.items():
                if cell.page != index or not truth[box]:
                    continue
                x0, y0, x1, y1 = (v * k for v in cell.rect)
                if BOXES[box][1] == "signature":
                    sign(draw, (x0, y0, x1, y1), rng)
                else:  # staff stamp over the printed （盖章） near the right
                    stamp(image, (x0 + (x1 - x0) * rng.uniform(0.55, 0.75), (y0 + y1) / 2 + rng.uniform(-8, 8) * k),
                          rng.uniform(38, 42) / 25.4 * dpi, "烟台市工业和信息化局")
            pages.append(image)
    finally:
        document.close()
    return pages


def one_sheet(pages: list[Image.Image], dpi: int) -> Image.Image:
    """Both pages' printed parts reduced onto one A4 sheet, one above the other (printed to fit)."""
    k = dpi / 72
    first = pages[0].crop((0, round(100 * k), pages[0].width, round(735 * k)))
    second = pages[1].crop((0, round(125 * k), pages[1].width, round(770 * k)))
    sheet = Image.new("RGB", (round(A4[0] * k), round(A4[1] * k)), "white")
    scale = (sheet.height - 40 * k) / (first.height + second.height)
    first = first.resize((round(first.width * scale), round(first.height * scale)), Image.Resampling.LANCZOS)
    second = second.resize((round(second.width * scale), round(second.height * scale)), Image.Resampling.LANCZOS)
    x = (sheet.width - first.width) // 2
    sheet.paste(first, (x, round(20 * k)))
    sheet.paste(second, (x, round(20 * k) + first.height))
    return sheet


def _perspective(image: Image.Image, rng: random.Random, amount: float) -> Image.Image:
    """A phone photo: the sheet's corners pulled in unevenly, on a grey desk."""
    w, h = image.size
    d = [rng.uniform(0, amount) for _ in range(8)]
    quad = (d[0] * w, d[1] * h, d[2] * w, h - d[3] * h, w - d[4] * w, h - d[5] * h, w - d[6] * w, d[7] * h)
    # PIL's QUAD maps the given source quadrilateral onto the whole output: do the inverse by hand.
    src = np.array([(0, 0), (0, h), (w, h), (w, 0)], dtype=np.float64)
    dst = np.array(quad, dtype=np.float64).reshape(4, 2)
    matrix = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    coeffs = np.linalg.solve(np.array(matrix), src.reshape(8))
    paper = image.transform(image.size, Image.Transform.PERSPECTIVE, tuple(coeffs), Image.Resampling.BILINEAR,
                            fillcolor=(1, 2, 3))
    desk = Image.new("RGB", image.size, (178, 170, 160))
    mask = Image.fromarray((np.asarray(paper) != (1, 2, 3)).any(axis=2).astype(np.uint8) * 255)
    desk.paste(paper, (0, 0), mask)
    return desk


@dataclass(frozen=True)
class Scanner:
    dpi: int = 200
    angle: float = 0.0  # degrees
    quality: int = 75
    noise: float = 6.0
    blur: float = 0.0
    perspective: float = 0.0  # share of the side the corners move by (phone photo)
    layout: str = "one_sheet"  # "one_sheet" | "tiff" | "pdf"


def scanned(image: Image.Image, scanner: Scanner, rng: random.Random) -> Image.Image:
    out = image.rotate(scanner.angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    if scanner.perspective:
        out = _perspective(out, rng, scanner.perspective)
    if scanner.blur:
        out = out.filter(ImageFilter.GaussianBlur(scanner.blur))
    if scanner.noise:
        pixels = np.asarray(out).astype(np.float32)
        pixels += np.random.default_rng(rng.randrange(2**32)).normal(0, scanner.noise, pixels.shape[:2])[..., None]
        out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=scanner.quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def forge(pdf: Path, out_dir: Path, number: int, truth: dict[str, bool], scanner: Scanner, seed: int) -> Forged:
    """Sign, seal and scan the printed check table ``pdf`` into ``out_dir`` under a scanner's name."""
    rng = random.Random(seed)
    cells = locate_cells(pdf)
    pages = marked_pages(pdf, cells, truth, scanner.dpi, rng)
    if scanner.layout == "one_sheet":
        path = out_dir / f"SCAN_{number:04d}.jpg"
        scanned(one_sheet(pages, scanner.dpi), scanner, rng).save(path, "JPEG", quality=scanner.quality,
                                                                    dpi=(scanner.dpi, scanner.dpi))
    elif scanner.layout == "tiff":
        path = out_dir / f"IMG_{number:04d}.tif"
        shots = [scanned(page, scanner, rng) for page in pages]
        shots[0].save(path, save_all=True, append_images=shots[1:], compression="jpeg", quality=scanner.quality)
    else:
        path = out_dir / f"Scan{number:04d}.pdf"
        shots = [scanned(page, scanner, rng) for page in pages]
        shots[0].save(path, "PDF", save_all=True, append_images=shots[1:], resolution=scanner.dpi)
    return Forged(path, dict(truth), f"{path.name} {scanner}")
