"""Synthetic signed scans for tests, the demo and the benchmark.

The real template is rendered for a case (``pipeline.documents.render``; the QR code carries the case number),
converted to PDF once with LibreOffice (``FormPdfs`` caches the PDFs by content), rasterised with
pypdfium2 at a chosen dpi, and then "signed": handwriting-like strokes in dark blue or black, red
seals (rim, star, text round the rim) and a handwritten reason are drawn into chosen boxes. Finally
the page is "scanned": rotated, scaled, shifted, given noise, made grey, and saved as JPEG, PNG, BMP,
a multi-page TIFF or an image-only PDF. Everything is deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import random
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, TiffImagePlugin

from pipeline.documents.render import (
    CHECK_TABLE_FORM,
    SITE_RECORD_FORM,
    render_check_table,
    render_site_record,
)
from pipeline.scan.geometry import BoxGeometry, PageGeometry, derive_geometry, parse_geometry

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
SEAL_TEXT = "烟台市工业和信息化局"
PARTY_SEAL_TEXT = "烟台恒信精密机械有限公司"


@dataclass(frozen=True)
class Marks:
    """What is written into which box: signatures (also the reason) and seals, by box name."""

    ink: frozenset[str] = frozenset()
    seals: frozenset[str] = frozenset()

    @classmethod
    def of(cls, ink: Iterable[str] = (), seals: Iterable[str] = ()) -> Marks:
        return cls(frozenset(ink), frozenset(seals))


@dataclass(frozen=True)
class Scanning:
    """How the paper is scanned."""

    dpi: int = 200
    angle: float = 0.0  # degrees, counter-clockwise
    scale: float = 1.0
    shift: tuple[int, int] = (0, 0)  # pixels
    noise: float = 0.0  # standard deviation of Gaussian noise (0-255)
    grey: bool = False
    quality: int = 85  # JPEG quality (JPEG files, JPEG-in-PDF and JPEG-in-TIFF)


@dataclass(frozen=True)
class FormPdf:
    form: str
    case_id: str
    pdf: Path
    pages: tuple[PageGeometry, ...] = field(default=())


def _fields(form: str, case_id: str) -> dict[str, Any]:
    start = dt.datetime(2026, 11, 9, 9, 30)
    if form == CHECK_TABLE_FORM:
        return {
            "inspected_unit": "烟台恒信精密机械有限公司",
            "basis": "《民用爆炸物品安全管理条例》第四条",
            "scope": "民用爆炸物品销售的安全生产监督管理：相关制度、台账及现场管理情况",
            "methods": ["现场检查"],
            "inspectors": [
                {"name": "王建国", "title": "科长", "licence_no": "37060120190001", "phone": "13805351234"},
                {"name": "李海燕", "title": "科员", "licence_no": "37060120200002", "phone": "13905355678"},
            ],
            "situation": "企业相关管理制度已上墙，台账记录完整，未发现问题。",
            "check_start": start.strftime("%Y-%m-%dT%H:%M"),
            "check_end": (start + dt.timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M"),
            "handling": "无。",
            "dept_opinion_date": "2026-11-04",
            "leader_approval_date": "2026-11-05",
            "authority_opinion_date": "2026-11-05",
            "leader_confirmation_date": "2026-11-11",
            "authority_seal_date": "2026-11-11",
        }
    return {
        "check_start": start.strftime("%Y-%m-%dT%H:%M"),
        "check_end": (start + dt.timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M"),
        "place": "山东省烟台市莱山区观海路18号",
        "inspected_unit": "烟台恒信精密机械有限公司",
        "legal_rep": "张明",
        "inspectors": [{"name": "王建国", "licence_no": "37060120190001"},
                       {"name": "李海燕", "licence_no": "37060120200002"}],
        "situation": "检查人员出示执法证件，说明来意。经现场查看，未发现问题。",
        "party_signed": False,  # printed blank: the marks decide
        "party_sign_date": None,
        "refusal_reason": None,
        "witness": None,
        "inspector_sign_date": "2026-11-09",
    }


class FormPdfs:
    """Rendered forms as LibreOffice PDFs, converted once and cached in ``cache_dir`` by content."""

    def __init__(self, converter: Any, cache_dir: Path, template_dir: Path) -> None:
        self.converter = converter
        self.cache_dir = cache_dir
        self.template_dir = template_dir
        cache_dir.mkdir(parents=True, exist_ok=True)

    def get(self, form: str, case_id: str, fields: Mapping[str, Any] | None = None) -> FormPdf:
        return self.get_many([(form, case_id, fields)])[0]

    def get_many(self, requests: Sequence[tuple[str, str, Mapping[str, Any] | None]]) -> list[FormPdf]:
        """The PDFs of several (form, case id, fields or None for sample fields); the ones not cached
        yet are converted in one LibreOffice run."""
        keyed = []
        for form, case_id, fields in requests:
            values = dict(fields) if fields is not None else _fields(form, case_id)
            render = render_check_table if form == CHECK_TABLE_FORM else render_site_record
            docx = self.cache_dir / f"{form}-{case_id}.docx"
            render(values, docx, template_dir=self.template_dir, bureau="烟台市工业和信息化局", case_id=case_id)
            key = hashlib.sha256(docx.read_bytes()).hexdigest()[:16]
            staged = self.cache_dir / f"{key}.docx"
            docx.replace(staged)
            keyed.append((form, case_id, staged, self.cache_dir / f"{key}.pdf"))
        missing = list(dict.fromkeys(docx for _, _, docx, pdf in keyed if not pdf.exists()))
        if missing:
            work = self.cache_dir / "work"
            outputs = self.converter.convert_many(missing, "pdf", work)
            for docx in missing:
                if docx not in outputs:  # say why, through the single-file API
                    outputs[docx] = self.converter.convert(docx, "pdf", work)
                shutil.move(str(outputs[docx]), docx.with_suffix(".pdf"))
            shutil.rmtree(work, ignore_errors=True)
        return [FormPdf(form, case_id, pdf, parse_geometry(derive_geometry(pdf, form)))
                for form, case_id, _, pdf in keyed]


def rasterise(pdf: Path, dpi: int) -> Iterator[Image.Image]:
    """The pages of ``pdf`` as RGB images at ``dpi`` (one at a time)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=dpi / 72.0)
            image = bitmap.to_pil().convert("RGB")
            bitmap.close()
            page.close()
            yield image
    finally:
        document.close()


# --------------------------------------------------------------------------------------------------
# Marks


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default()


def _ink_colour(rng: random.Random) -> tuple[int, int, int]:
    if rng.random() < 0.5:
        return (rng.randint(15, 40), rng.randint(25, 50), rng.randint(95, 140))  # blue-black ballpoint
    shade = rng.randint(15, 45)
    return (shade, shade, shade)


def _stroke(rng: random.Random, x0: float, y0: float, width: float, height: float) -> list[tuple[float, float]]:
    """One cursive stroke: a wavy path running right with loops."""
    points = []
    steps = rng.randint(18, 32)
    phase = rng.uniform(0, math.tau)
    freq = rng.uniform(1.5, 3.5)
    for i in range(steps):
        t = i / (steps - 1)
        x = x0 + t * width + math.sin(phase + t * math.tau * freq * 1.3) * height * 0.12
        y = y0 + height / 2 + math.sin(phase + t * math.tau * freq) * height * rng.uniform(0.25, 0.45)
        points.append((x, y))
    return points


def draw_signature(draw: ImageDraw.ImageDraw, rect: tuple[float, float, float, float], dpi: int,
                   rng: random.Random) -> None:
    """A handwritten-looking signature (2-4 strokes) inside ``rect`` (pixels)."""
    x0, y0, x1, y1 = rect
    colour = _ink_colour(rng)
    pen = max(2, round(0.45 / 25.4 * dpi))
    width, height = x1 - x0, y1 - y0
    left = x0 + rng.uniform(0.05, 0.35) * width
    span = min(width * 0.45, 45 / 25.4 * dpi) * rng.uniform(0.7, 1.0)
    strokes = rng.randint(2, 4)
    for s in range(strokes):
        part = span / strokes
        sx = left + s * part + rng.uniform(-0.1, 0.1) * part
        sy = y0 + rng.uniform(0.0, 0.2) * height
        points = _stroke(rng, sx, sy, part * rng.uniform(0.9, 1.3), height * rng.uniform(0.6, 0.8))
        draw.line(points, fill=colour, width=pen, joint="curve")


def draw_reason(draw: ImageDraw.ImageDraw, rect: tuple[float, float, float, float], dpi: int,
                rng: random.Random) -> None:
    """A handwritten line of text: small clusters of short strokes (one per character)."""
    x0, y0, x1, y1 = rect
    colour = _ink_colour(rng)
    pen = max(2, round(0.4 / 25.4 * dpi))
    size = 5.0 / 25.4 * dpi
    chars = rng.randint(8, 16)
    x = x0 + size * 0.5
    y = y0 + (y1 - y0) * rng.uniform(0.2, 0.45)
    for _ in range(chars):
        if x + size > x1:
            break
        for _ in range(rng.randint(3, 5)):
            a = (x + rng.uniform(0, size), y + rng.uniform(0, size))
            b = (a[0] + rng.uniform(-0.5, 0.5) * size, a[1] + rng.uniform(-0.5, 0.5) * size)
            draw.line([a, b], fill=colour, width=pen)
        x += size * rng.uniform(1.05, 1.3)


def seal_layer(diameter: int, text: str, rng: random.Random, dpi: int) -> Image.Image:
    """A red round seal (rim, five-pointed star, text round the top) on a white square."""
    size = diameter + 8
    layer = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(layer)
    red = (rng.randint(190, 230), rng.randint(20, 60), rng.randint(30, 70))
    c = size / 2
    r = diameter / 2
    rim = max(3, round(1.0 / 25.4 * dpi))
    draw.ellipse((c - r, c - r, c + r, c + r), outline=red, width=rim)
    star_r = r * 0.3
    points = []
    for i in range(10):
        radius = star_r if i % 2 == 0 else star_r * 0.4
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((c + radius * math.cos(angle), c + radius * math.sin(angle)))
    draw.polygon(points, fill=red)
    font = _font(max(8, round(r * 0.28)))
    sweep = math.radians(250)
    for i, ch in enumerate(text):
        angle = -math.pi / 2 - sweep / 2 + sweep * (i + 0.5) / len(text)
        glyph = Image.new("L", (round(r * 0.4), round(r * 0.4)), 0)
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, fill=255, font=font, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BILINEAR)
        gx = c + r * 0.72 * math.cos(angle) - glyph.width / 2
        gy = c + r * 0.72 * math.sin(angle) - glyph.height / 2
        layer.paste(Image.new("RGB", glyph.size, red), (round(gx), round(gy)), glyph)
    return layer


def _multiply(page: np.ndarray, layer: Image.Image, at: tuple[int, int]) -> None:
    """Print ``layer`` onto ``page`` (in place) like ink: darker wins, paper shows through."""
    x, y = at
    ink = np.asarray(layer).astype(np.float32) / 255.0
    h, w = ink.shape[:2]
    top, left = max(0, y), max(0, x)
    bottom, right = min(page.shape[0], y + h), min(page.shape[1], x + w)
    if bottom <= top or right <= left:
        return
    region = page[top:bottom, left:right].astype(np.float32)
    part = ink[top - y:bottom - y, left - x:right - x]
    page[top:bottom, left:right] = (region * part).astype(np.uint8)


def mark_page(image: Image.Image, geometry: PageGeometry, marks: Marks, dpi: int, rng: random.Random) -> Image.Image:
    """``image`` (a rendered page at ``dpi``) with the marks for the boxes of ``geometry`` drawn in."""
    k = dpi / 72.0
    page = np.array(image.convert("RGB"))
    ink_layer = Image.new("RGB", image.size, "white")
    draw = ImageDraw.Draw(ink_layer)
    for box in geometry.boxes:
        name = box.spec.box
        x0, y0, x1, y1 = (v * k for v in box.cell)
        if name in marks.ink:
            printed_top = min((r[1] for r in box.printed), default=box.cell[3]) * k
            zone = (x0 + 6, y0 + 6, x1 - 6, max(y0 + 12, printed_top - 2))
            if box.spec.kind == "reason":
                draw_reason(draw, zone, dpi, rng)
            else:
                draw_signature(draw, zone, dpi, rng)
        if name in marks.seals:
            diameter = round(rng.uniform(34, 40) / 25.4 * dpi)
            text = PARTY_SEAL_TEXT if name == "party_seal" else SEAL_TEXT
            seal = seal_layer(diameter, text, rng, dpi).rotate(rng.uniform(-25, 25), fillcolor="white")
            cx = x0 + (x1 - x0) * rng.uniform(0.55, 0.8)
            cy = (y0 + y1) / 2 + rng.uniform(-0.1, 0.1) * (y1 - y0)
            _multiply(page, seal, (round(cx - seal.width / 2), round(cy - seal.height / 2)))
    _multiply(page, ink_layer, (0, 0))
    return Image.fromarray(page)


def _box_geometry(pages: Sequence[PageGeometry], box: str) -> BoxGeometry | None:
    for page in pages:
        for geometry in page.boxes:
            if geometry.spec.box == box:
                return geometry
    return None


# --------------------------------------------------------------------------------------------------
# Scanning


def scan_page(image: Image.Image, scanning: Scanning, rng: random.Random) -> Image.Image:
    """``image`` as a scanner or a phone would deliver it (no JPEG yet: that happens on saving)."""
    out = image
    if scanning.scale != 1.0:
        out = out.resize((round(out.width * scanning.scale), round(out.height * scanning.scale)),
                         Image.Resampling.BILINEAR)
    if scanning.angle:
        out = out.rotate(scanning.angle, resample=Image.Resampling.BILINEAR, fillcolor=(255, 255, 255))
    if scanning.shift != (0, 0):
        canvas = Image.new("RGB", out.size, "white")
        canvas.paste(out, scanning.shift)
        out = canvas
    if scanning.noise:
        pixels = np.asarray(out).astype(np.float32)
        noise = np.random.default_rng(rng.randrange(2**32)).normal(0, scanning.noise, pixels.shape[:2])
        pixels += noise[..., None]
        out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if scanning.grey:
        out = out.convert("L")
    return out


def signed_pages(form_pdf: FormPdf, marks: Marks, scanning: Scanning, seed: int) -> Iterator[Image.Image]:
    """The scanned pages of ``form_pdf`` with ``marks`` (one at a time, deterministic for ``seed``)."""
    rng = random.Random(seed)
    for image, geometry in zip(rasterise(form_pdf.pdf, scanning.dpi), form_pdf.pages, strict=False):
        yield scan_page(mark_page(image, geometry, marks, scanning.dpi, rng), scanning, rng)


def write_scan(pages: Iterable[Image.Image], out: Path, *, quality: int = 85, dpi: int = 200) -> Path:
    """Save ``pages`` as ``out``; the format follows the suffix: .jpg (first page only), .png, .bmp,
    .tif (multi-page, JPEG-compressed for colour, deflate for grey) or .pdf (image-only, JPEG)."""
    suffix = out.suffix.lower()
    iterator = iter(pages)
    if suffix in (".tif", ".tiff"):
        with TiffImagePlugin.AppendingTiffWriter(str(out), new=True) as tiff:
            for page in iterator:
                compression = "jpeg" if page.mode == "RGB" else "tiff_deflate"
                options: dict[str, Any] = {"compression": compression, "dpi": (dpi, dpi)}
                if compression == "jpeg":
                    options["quality"] = quality
                page.save(tiff, format="TIFF", **options)
                tiff.newFrame()
        return out
    if suffix == ".pdf":
        images = list(iterator)
        buffers = []
        for page in images:  # JPEG each page at ``quality`` first, so the PDF carries that JPEG
            buf = io.BytesIO()
            page.save(buf, format="JPEG", quality=quality)
            buffers.append(Image.open(io.BytesIO(buf.getvalue())))
        buffers[0].save(out, format="PDF", save_all=True, append_images=buffers[1:], resolution=dpi)
        return out
    first = next(iterator)
    if suffix in (".jpg", ".jpeg"):
        first.save(out, format="JPEG", quality=quality, dpi=(dpi, dpi))
    elif suffix == ".png":
        first.save(out, format="PNG", dpi=(dpi, dpi))
    elif suffix == ".bmp":
        first.save(out, format="BMP")
    else:
        raise ValueError(f"unknown scan format {suffix}")
    return out


def make_scan(form_pdf: FormPdf, marks: Marks, scanning: Scanning, out: Path, seed: int = 0) -> Path:
    """Render, sign and scan ``form_pdf`` into ``out`` (see ``write_scan`` for the formats)."""
    return write_scan(signed_pages(form_pdf, marks, scanning, seed), out, quality=scanning.quality,
                      dpi=round(scanning.dpi * scanning.scale))


ALL_MARKS = {
    CHECK_TABLE_FORM: Marks.of(ink=("leader_approval_signature", "leader_confirmation_signature"),
                               seals=("dept_opinion_seal", "authority_opinion_seal", "authority_seal")),
    SITE_RECORD_FORM: Marks.of(ink=("party_signature", "witness_signature", "inspector_signatures", "refusal_reason"),
                               seals=("party_seal",)),
}
