"""Electronic seals and signatures in a typed Word or PDF check table (电子签章, issue 12).

Bureaus that seal electronically paste the seal (a red round stamp) or a signature image into the
box's cell of the Word form (and may save it as PDF). Such an image counts as that box's evidence, with source
``electronic``; whether the rules accept it instead of a signed scan is the setting
``accept_electronic_seal``. A box is found by its row label (执法科室意见, 分管领导批准签字 …) and the
images of the other cells of that row; a seal box needs a red image, a signature box any image with
ink. An image that is neither (blank, tiny, unreadable, too large) is not evidence.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
from docx.oxml.ns import qn
from PIL import Image

from pipeline.core.evidence import CHECK_TABLE_LOWER, CHECK_TABLE_UPPER

log = logging.getLogger(__name__)

SOURCE = "electronic"
# The row label of each box of the check table, as printed (spaces and （盖章） ignored).
ROW_LABELS = {
    "执法科室意见": "dept_opinion_seal",
    "分管领导批准签字": "leader_approval_signature",
    "抽查执法主体意见": "authority_opinion_seal",
    "分管领导确认签字": "leader_confirmation_signature",
    "抽查执法主体盖章": "authority_seal",
}
assert set(ROW_LABELS.values()) == set(CHECK_TABLE_UPPER + CHECK_TABLE_LOWER)
MAX_PIXELS = 25_000_000  # a seal image is a few hundred pixels across; larger is not read
MIN_INK_PIXELS = 150  # fewer marked pixels than this is a speck, not a seal or a name
SEAL_RED_SHARE = 0.5  # a seal: at least half of its ink is red
MAX_PDF_IMAGES = 50  # pictures looked at per PDF page (a form has one per box at most)


def _norm(text: str) -> str:
    return "".join(text.split()).replace("（盖章）", "").replace("(盖章)", "")


def _text(tc: Any) -> str:
    return "".join(t.text or "" for t in tc.iter(qn("w:t")))


def _rows(document: Any) -> Iterator[list[Any]]:
    """The cells (``w:tc``) of every table row of the body, nested tables included."""
    for tr in document.element.body.iter(qn("w:tr")):
        yield [tc for tc in tr if tc.tag == qn("w:tc")]


def _images(document: Any, tcs: list[Any]) -> Iterator[bytes]:
    part = document.part
    for tc in tcs:
        for blip in tc.iter(qn("a:blip")):
            rid = blip.get(qn("r:embed"))
            related = part.related_parts.get(rid) if rid else None
            if related is not None:
                yield related.blob


def _ink(blob: bytes) -> tuple[int, float]:
    """(marked pixels, red share of them) of an image file on white paper; (0, 0) when unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(blob))
            if image.width * image.height > MAX_PIXELS:
                return 0, 0.0
            image.load()
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂
    except Exception as exc:  # a picture that cannot be read is simply not evidence
        log.debug("image not read: %s", exc)
        return 0, 0.0
    return _ink_of(image)


def _ink_of(image: Image.Image) -> tuple[int, float]:
    rgba = np.asarray(image.convert("RGBA")).astype(np.float32)
    alpha = rgba[..., 3:4] / 255.0
    rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)  # transparent parts are the paper
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    marked = rgb.min(axis=2) < 200
    red = marked & (r > 140) & (r - np.maximum(g, b) > 60)
    count = int(marked.sum())
    return count, (float(red.sum()) / count if count else 0.0)


def electronic_evidence(document: Any) -> dict[str, dict[str, Any]]:
    """box → ``{present: True, score, source: "electronic"}`` for each box of a Word document
    (python-docx) holding a seal or signature image."""
    found: dict[str, dict[str, Any]] = {}
    for tcs in _rows(document):
        for n, tc in enumerate(tcs):
            box = ROW_LABELS.get(_norm(_text(tc)))
            if box is None:
                continue
            for blob in _images(document, tcs[n + 1:]):
                _note(found, box, *_ink(blob))
            break  # the row's label is its first label cell
    return found


def _note(found: dict[str, dict[str, Any]], box: str, count: int, red: float) -> None:
    """Record an image in ``box`` if it is a seal (seal box) or has ink (signature box)."""
    if count < MIN_INK_PIXELS:
        return
    score = red if box.endswith("_seal") else 1.0
    if box.endswith("_seal") and red < SEAL_RED_SHARE:
        return  # a black picture in a seal box (a logo, a scanned signature) is no seal
    if score > found.get(box, {}).get("score", -1.0):
        found[box] = {"present": True, "score": round(score, 3), "source": SOURCE}


def pdf_electronic_evidence(path: Path) -> dict[str, dict[str, Any]]:
    """The same for a typed PDF (a Word form saved as PDF): each picture's row is found from the
    table's ruling lines around its centre, and the row's label from the words left of its cell."""
    found: dict[str, dict[str, Any]] = {}
    document = pdfium.PdfDocument(path)
    try:
        with pdfplumber.open(path) as pdf:
            for index, page in enumerate(pdf.pages):
                images = list(document[index].get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE]))
                if not images:
                    continue
                height = document[index].get_height()
                words = page.extract_words()
                for image in images[:MAX_PDF_IMAGES]:
                    left, bottom, right, top = image.get_bounds()
                    if (right - left) * (top - bottom) > 0.5 * page.width * page.height:
                        continue  # a scanned page, not a picture in a cell
                    box = _pdf_row_label(page, words, left, height - (top + bottom) / 2)
                    if box is not None:
                        _note(found, box, *_pdf_ink(image))
    finally:
        document.close()
    return found


def _pdf_row_label(page: Any, words: list[dict[str, Any]], x: float, y: float) -> str | None:
    """The box whose row holds the point (``x`` the picture's left, ``y`` its centre, from the top)."""
    across = [e for e in page.horizontal_edges if e["x0"] <= x + 2 <= e["x1"]]
    above = [e["top"] for e in across if e["top"] <= y]
    below = [e["top"] for e in across if e["top"] >= y]
    lefts = [e["x0"] for e in page.vertical_edges if e["x0"] <= x + 2 and e["top"] <= y <= e["bottom"]]
    if not above or not below or not lefts:
        return None
    top, bottom, cell_left = max(above), min(below), max(lefts)
    label = [w["text"] for w in words if w["x1"] <= cell_left + 1 and top <= w["top"] and w["bottom"] <= bottom]
    return ROW_LABELS.get(_norm("".join(label)))


def _pdf_ink(image: Any) -> tuple[int, float]:
    try:
        width, height = image.get_px_size()
        if width * height > MAX_PIXELS:
            return 0, 0.0
        return _ink_of(image.get_bitmap(render=True).to_pil())  # with its transparency mask
    except Exception as exc:  # a picture pdfium cannot draw is simply not evidence
        log.debug("PDF image not read: %s", exc)
        return 0, 0.0
