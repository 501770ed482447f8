"""Read the pages of a scan one at a time: images (JPEG, PNG, TIFF, BMP, …) and PDFs.

Pages are streamed (a generator; a multi-page TIFF is read frame by frame, a PDF page by page) so that a
50-page scan never sits in memory at once. Each page image is reduced to at most ``WORK_LONG_SIDE``
pixels on its long side (a JPEG is decoded at that size directly, through libjpeg's DCT scaling):
about 200 dpi on A4, plenty for QR codes and ink, and what keeps a 300-dpi scan fast.

Limits come from the settings: ``scan_max_pixels`` per page (checked on the header, before anything is
decoded, so a decompression bomb costs nothing) and ``scan_max_pages``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from pipeline.core.errors import InputFileError
from pipeline.core.sniff import detect_kind

WORK_LONG_SIDE = 2400  # pixels; ≈ 205 dpi on the long side of A4
PDF_DPI = 200.0
MIN_TEXT_CHARS = 8  # a page with fewer characters in its text layer is a scan

UNREADABLE = (
    "扫描件无法读取（文件已损坏或不完整）。请重新扫描或重新导出后放入收件箱。"
)
UNSUPPORTED = "文件不是图片或 PDF，不能作为扫描件读取。"


def too_large(detail: str) -> InputFileError:
    return InputFileError(
        f"扫描件过大：{detail}。请以 200～300 dpi 重新扫描（彩色或灰度），必要时分成几个文件。",
        field="file",
        code="FILE_TOO_LARGE",
    )


def unreadable() -> InputFileError:
    return InputFileError(UNREADABLE, field="file", code="FILE_UNREADABLE")


@dataclass(frozen=True)
class Page:
    """One page of a scan. ``image`` is None for a PDF page with a real text layer."""

    index: int  # 0-based
    image: Image.Image | None
    has_text: bool = False


def page_count(path: Path) -> int:
    """The number of pages (frames) of an image or a PDF; ``InputFileError`` when unreadable."""
    kind = detect_kind(path)
    if kind == "pdf":
        import pypdfium2 as pdfium

        try:
            pdf = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as exc:
            raise unreadable() from exc
        try:
            return len(pdf)
        finally:
            pdf.close()
    with _open_image(path) as img:
        return int(getattr(img, "n_frames", 1))


def iter_pages(path: Path, *, max_pixels: int, max_pages: int) -> Iterator[Page]:
    """The pages of ``path`` in order, each reduced for analysis (see the module docstring).

    Raises ``InputFileError``: ``FILE_TOO_LARGE`` beyond the limits, ``FILE_UNREADABLE`` for a corrupt
    or truncated file, ``FILE_UNSUPPORTED`` for a file that is neither an image nor a PDF.
    """
    kind = detect_kind(path)
    if kind == "pdf":
        yield from _pdf_pages(path, max_pixels=max_pixels, max_pages=max_pages)
    elif kind == "image":
        yield from _image_pages(path, max_pixels=max_pixels, max_pages=max_pages)
    else:
        raise InputFileError(UNSUPPORTED, field="file", code="FILE_UNSUPPORTED")


def _open_image(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # The limits below are ours (settings); PIL's own bomb warning would only repeat them.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise too_large("图片像素数超出上限") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise unreadable() from exc


def _image_pages(path: Path, *, max_pixels: int, max_pages: int) -> Iterator[Page]:
    img = _open_image(path)
    try:
        frames = int(getattr(img, "n_frames", 1))
        if frames > max_pages:
            raise too_large(f"共 {frames} 页，上限为 {max_pages} 页")
        for index in range(frames):
            try:
                if index:
                    img.seek(index)
                width, height = img.size
                if width * height > max_pixels:
                    raise too_large(f"第 {index + 1} 页为 {width}×{height} 像素，超过每页 {max_pixels} 像素的上限")
                yield Page(index, _reduced(img))
            except InputFileError:
                raise
            except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
                raise unreadable() from exc
    finally:
        img.close()


def _reduced(img: Image.Image) -> Image.Image:
    """The current frame decoded as RGB or L, at most ``WORK_LONG_SIDE`` pixels on its long side."""
    width, height = img.size
    ratio = WORK_LONG_SIDE / max(width, height)
    if ratio < 1 and img.format == "JPEG":
        # draft keeps at least the requested size: decode at the smallest DCT scale that still has it
        img.draft(img.mode if img.mode in ("RGB", "L") else "RGB", (math.ceil(width * ratio), math.ceil(height * ratio)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img.load()
    frame: Image.Image = img
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        # Transparent parts are paper, not black.
        rgba = frame.convert("RGBA")
        frame = Image.new("RGB", rgba.size, "white")
        frame.paste(rgba, mask=rgba.getchannel("A"))
    elif frame.mode not in ("RGB", "L"):
        frame = frame.convert("L" if frame.mode in ("1", "I", "I;16", "F") else "RGB")
    long_side = max(frame.size)
    if long_side > WORK_LONG_SIDE:
        # To the limit, not by a whole factor: a 200-dpi page scanned a little larger than A4 (or
        # rotated) must not drop to 100 dpi, where thin pen strokes fade into the paper.
        ratio = WORK_LONG_SIDE / long_side
        frame = frame.resize((max(1, round(frame.width * ratio)), max(1, round(frame.height * ratio))),
                             Image.Resampling.BOX)
    return frame.copy() if frame is img else frame


def _pdf_pages(path: Path, *, max_pixels: int, max_pages: int) -> Iterator[Page]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise unreadable() from exc
    try:
        count = len(pdf)
        if count > max_pages:
            raise too_large(f"共 {count} 页，上限为 {max_pages} 页")
        for index in range(count):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                text = textpage.get_text_range().strip()
                textpage.close()
                if len("".join(text.split())) >= MIN_TEXT_CHARS:
                    yield Page(index, None, has_text=True)
                    continue
                width, height = page.get_size()
                scale = min(PDF_DPI / 72.0, WORK_LONG_SIDE / max(width, height, 1.0))
                if width * height * scale * scale > max_pixels:
                    raise too_large(f"第 {index + 1} 页过大")
                bitmap = page.render(scale=scale)
                image = bitmap.to_pil().convert("RGB")
                bitmap.close()
            except pdfium.PdfiumError as exc:
                raise unreadable() from exc
            finally:
                page.close()
            yield Page(index, image)
    finally:
        pdf.close()


def is_scan(path: Path) -> bool:
    """True for an image file, or a PDF with at least one page without a text layer."""
    try:
        kind = detect_kind(path)
    except OSError:
        return False
    if kind == "image":
        return True
    if kind != "pdf":
        return False
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError:
        return False
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            chars = len("".join(textpage.get_text_range().split()))
            textpage.close()
            image_only = chars < MIN_TEXT_CHARS and _has_image(page)
            page.close()
            if image_only:
                return True
        return False
    finally:
        pdf.close()


def _has_image(page: object) -> bool:
    import pypdfium2.raw as pdfium_c

    objects = page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))  # type: ignore[attr-defined]
    return next(iter(objects), None) is not None
