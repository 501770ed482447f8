"""The pages of one form as a plain PDF of images, upright, for the archive."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from pipeline.core.errors import InputFileError, OutputError
from pipeline.core.settings import Settings

from .pages import iter_pages
from .register import find_qr

A4_LONG_INCHES = 11.69
JPEG_QUALITY = 80


def _upright(image: Image.Image) -> tuple[Image.Image, float]:
    """``image`` turned so that its QR code's top edge is level (no QR: unchanged), and its dpi."""
    hit = find_qr(image)
    dpi = max(image.size) / A4_LONG_INCHES
    if hit is None:
        return image, dpi
    (x0, y0), (x1, y1) = hit.corners[0], hit.corners[1]
    angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
    if abs(angle) < 0.05:
        return image, dpi
    fill = 255 if image.mode == "L" else (255, 255, 255)
    turned = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
    return turned, dpi


def write_normalised_pdf(path: Path, pages: Sequence[int], out: Path, settings: Settings | None = None) -> None:
    """Write ``pages`` (0-based) of the scan ``path`` into ``out`` as one PDF of JPEG images (about
    200 dpi, orientation fixed by the QR code). Raises ``InputFileError`` when the scan cannot be read
    or none of ``pages`` is an image page, ``OutputError`` when ``out`` cannot be written."""
    settings = settings or Settings()
    wanted = set(pages)
    images: list[Image.Image] = []
    dpi = 200.0
    for page in iter_pages(path, max_pixels=settings.scan_max_pixels, max_pages=settings.scan_max_pages):
        if page.index in wanted and page.image is not None:
            image, dpi = _upright(page.image)
            images.append(image.convert("RGB") if image.mode not in ("RGB", "L") else image)
    if not images:
        raise InputFileError("扫描件中没有所选的页。", field="file", code="FILE_UNREADABLE")
    try:
        images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=dpi,
                       quality=JPEG_QUALITY)
    except OSError as exc:
        raise OutputError(f"无法写出 {out}：{exc}。请检查目录权限和磁盘空间。") from exc
