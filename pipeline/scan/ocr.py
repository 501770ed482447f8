"""Printed text on scans: the optional ``[ocr]`` extra.

A scan without a readable QR code can still be matched to its case by the printed company name and
check date. This module reads them with RapidOCR (the ``rapidocr`` package with ``onnxruntime``),
whose wheel carries its PP-OCR detection and recognition models: the engine is always built from the
model files inside the installed package and never downloads anything at run time (a missing model
file makes ``available()`` False instead).

The extra is optional: without it ``available()`` is False, ``read_lines``/``read_fields`` raise
``OcrUnavailable`` (a ``MissingDependencyError`` naming the install command), and the rest of the
pipeline works as before. Callers check ``available()`` first.

Seals are red and are stamped over the printed text (the company name above all), so red is removed
before recognition (``remove_red``). Fields are found by their printed labels, as in the digital
extractors: the value is the text on the same row to the right of the label, or after the label on the
same line. Only values read with confidence at least ``MIN_CONFIDENCE`` are returned.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

from pipeline.core.errors import MissingDependencyError
from pipeline.core.text import clean_text, label_key, parse_period_detail
from pipeline.documents.grid import find_case_ref

__all__ = [
    "INSTALL_HINT",
    "MIN_CONFIDENCE",
    "OcrField",
    "OcrLine",
    "OcrUnavailable",
    "available",
    "describe",
    "find_fields",
    "read_fields",
    "read_lines",
    "remove_red",
]

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'shuangsui[ocr]'"
MIN_CONFIDENCE = 0.9

# The models shipped inside the rapidocr wheel (rapidocr/models/); never fetched from the network.
_DET_MODEL = "PP-OCRv6_det_small.onnx"
_REC_MODEL = "PP-OCRv6_rec_small.onnx"
_CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
# Detection at most 1280 px on the long side: half the time of the full 200-dpi page with the same
# text read (recognition still crops from the full-resolution image).
_DET_SIDE = 1280

# A pixel counts as seal ink when red exceeds both green and blue by this much (0-255).
RED_MARGIN = 60
# ... and its red channel is at least this bright (black print under a seal stays darker).
RED_INK_MIN = 140

_UNIT_LABELS = ("被抽查单位", "被检查单位名称", "被检查单位", "被检查对象")
_TIME_LABELS = ("抽查时间", "现场检查时间", "检查起止时间", "检查时间")
# Labels printed only on one of the two forms: used to tell the form of a page without its title.
_FORM_LABELS = {
    "check_table": ("被抽查单位", "抽查时间", "抽查依据", "抽查执法人员", "处理意见和建议", "抽查执法主体盖章"),
    "site_record": ("被检查单位", "检查时间", "检查地点", "当事人签字", "见证人签字", "检查人员签字"),
}
_TITLES = {"check_table": ("随机抽查事项检查表",), "site_record": ("现场检查笔录",)}
_LEADING_PUNCT = re.compile(r"^[\s:：;；,，.。、]+")


class OcrUnavailable(MissingDependencyError):
    """The ``[ocr]`` extra is not installed or its models cannot be loaded."""

    def __init__(self, detail: str = "") -> None:
        reason = f"（{detail}）" if detail else ""
        super().__init__(f"文字识别组件不可用{reason}。如需从扫描件中识别企业名称和日期，请安装：{INSTALL_HINT}")


@dataclass(frozen=True)
class OcrLine:
    """One line of text found on the image; ``bbox`` is (left, top, right, bottom) in its pixels."""

    text: str
    bbox: tuple[float, float, float, float]
    confidence: float

    @property
    def middle(self) -> float:
        return (self.bbox[1] + self.bbox[3]) / 2

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]


@dataclass(frozen=True)
class OcrField:
    """A value read from the image and the lines it came from (for provenance)."""

    value: str
    lines: tuple[OcrLine, ...]
    confidence: float


# --- the engine --------------------------------------------------------------------------------
class _Engine:
    """RapidOCR built from the models inside its wheel; one call at a time."""

    def __init__(self) -> None:
        import rapidocr
        from rapidocr import RapidOCR

        models = Path(rapidocr.__file__).resolve().parent / "models"
        paths = {name: models / name for name in (_DET_MODEL, _REC_MODEL, _CLS_MODEL)}
        missing = [name for name, path in paths.items() if not path.is_file()]
        if missing:
            # Refuse rather than let RapidOCR download replacements at run time.
            raise FileNotFoundError(f"rapidocr 安装包中缺少模型文件 {'、'.join(missing)}")
        self.version = getattr(rapidocr, "__version__", "") or _dist_version("rapidocr")
        self._ocr = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,  # scans reach OCR upright (pages are registered first)
                "Det.model_path": str(paths[_DET_MODEL]),
                "Det.limit_type": "max",
                "Det.limit_side_len": _DET_SIDE,
                "Rec.model_path": str(paths[_REC_MODEL]),
                "Cls.model_path": str(paths[_CLS_MODEL]),
            }
        )
        self._lock = threading.Lock()

    def __call__(self, image: Image.Image) -> list[OcrLine]:
        with self._lock:
            result = self._ocr(image)
        boxes: Any = getattr(result, "boxes", None)
        texts: Sequence[str] = getattr(result, "txts", None) or ()
        scores: Sequence[float] = getattr(result, "scores", None) or ()
        if boxes is None:
            return []
        lines: list[OcrLine] = []
        for box, text, score in zip(boxes, texts, scores, strict=False):
            xs = [float(point[0]) for point in box]
            ys = [float(point[1]) for point in box]
            cleaned = clean_text(text)
            if cleaned:
                lines.append(OcrLine(cleaned, (min(xs), min(ys), max(xs), max(ys)), float(score)))
        return lines


def _dist_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


@functools.cache
def _load() -> tuple[_Engine | None, str]:
    """The engine, or None and why not (cached: a missing extra is looked for once per process)."""
    try:
        return _Engine(), ""
    except ImportError as exc:
        return None, f"未安装 {exc.name or 'rapidocr'}"
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception as exc:  # a broken install must not stop the pipeline, only disable OCR
        log.warning("RapidOCR cannot be loaded: %s", exc, exc_info=True)
        return None, f"无法加载：{exc}"


def available() -> bool:
    """True when the ``[ocr]`` extra is installed and its models load (the answer is cached)."""
    return _load()[0] is not None


def describe() -> str:
    """A Chinese line for ``shuangsui doctor``: the engine and its models, or why it is unavailable."""
    engine, reason = _load()
    if engine is None:
        return f"{reason}。可选组件，用于识别没有二维码的扫描件上的企业名称和日期：{INSTALL_HINT}"
    version = f" {engine.version}" if engine.version else ""
    return f"RapidOCR{version}，模型在安装包内（PP-OCRv6 small），不联网下载"


def _engine() -> _Engine:
    engine, reason = _load()
    if engine is None:
        raise OcrUnavailable(reason)
    return engine


# --- images ------------------------------------------------------------------------------------
def remove_red(image: Image.Image) -> Image.Image:
    """A grey RGB copy of ``image`` without red ink (seals, red stamps); the original is unchanged.

    The red channel shows red ink almost as light as the paper while black print stays dark, which
    also clears the pink fringes JPEG leaves around a seal. Pixels that are clearly red ink (red above
    green and blue by ``RED_MARGIN`` and bright in the red channel) become white. Print under the
    seal is dark in every channel and survives: whitening every reddish pixel would also erase the
    red-tinted edges of the characters the seal covers.
    """
    rgb = image.convert("RGB")
    red, green, blue = rgb.split()
    redness = ImageChops.darker(ImageChops.subtract(red, green), ImageChops.subtract(red, blue))
    mask = ImageChops.multiply(
        redness.point(lambda v: 255 if v >= RED_MARGIN else 0),
        red.point(lambda v: 255 if v >= RED_INK_MIN else 0),
    )
    grey = red.copy()
    grey.paste(255, mask=mask)
    return Image.merge("RGB", (grey, grey, grey))


# --- reading -----------------------------------------------------------------------------------
def read_lines(image: Image.Image) -> list[OcrLine]:
    """The lines of printed text on ``image`` (red removed first), top to bottom, left to right.

    Raises ``OcrUnavailable`` when the ``[ocr]`` extra is missing (check ``available()`` first).
    """
    engine = _engine()
    return _reading_order(engine(remove_red(image)))


def _reading_order(lines: Iterable[OcrLine]) -> list[OcrLine]:
    """Rows top to bottom (a line joins the row whose first line's middle is within half its height),
    each row left to right."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda line: line.middle):
        if rows and abs(line.middle - rows[-1][0].middle) <= 0.5 * max(rows[-1][0].height, line.height):
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda line: line.bbox[0])]


def read_fields(image: Image.Image) -> dict[str, str]:
    """Fields read confidently from a scanned check table or 现场检查笔录 page.

    Keys (each only when read with confidence ≥ ``MIN_CONFIDENCE``): ``form`` (``"check_table"`` or
    ``"site_record"``, from the title or, on a page without it, from labels printed on one form
    only), ``inspected_unit`` (被抽查单位 / 被检查单位), ``check_start`` and ``check_end``
    (``YYYY-MM-DD``, from 抽查时间 / 检查时间), ``case_ref`` (the printed 编号).
    Raises ``OcrUnavailable`` when the ``[ocr]`` extra is missing (check ``available()`` first).
    """
    return {key: found.value for key, found in find_fields(read_lines(image)).items()}


def find_fields(lines: Iterable[OcrLine]) -> dict[str, OcrField]:
    """The fields of ``read_fields`` with the lines they were read from (no OCR: pure text layout)."""
    confident = [line for line in lines if line.confidence >= MIN_CONFIDENCE]
    fields: dict[str, OcrField] = {}
    form = _form(confident)
    if form is not None:
        fields["form"] = form
    unit = _labelled(confident, _UNIT_LABELS)
    if unit is not None and _is_name(unit.value):
        fields["inspected_unit"] = unit
    period_text = _labelled(confident, _TIME_LABELS)
    if period_text is not None:
        period = parse_period_detail(period_text.value)
        if period.start is not None:
            fields["check_start"] = OcrField(period.start.date().isoformat(), period_text.lines,
                                             period_text.confidence)
        if period.end is not None:
            fields["check_end"] = OcrField(period.end.date().isoformat(), period_text.lines, period_text.confidence)
    for line in confident:
        ref = find_case_ref(line.text)
        if ref is not None:
            fields["case_ref"] = OcrField(ref, (line,), line.confidence)
            break
    return fields


def _form(lines: Sequence[OcrLine]) -> OcrField | None:
    for line in lines:
        key = label_key(line.text)
        for form, titles in _TITLES.items():
            if any(title in key for title in titles):
                return OcrField(form, (line,), line.confidence)
    votes: dict[str, list[OcrLine]] = {form: [] for form in _FORM_LABELS}
    for line in lines:
        key = label_key(line.text)
        for form, labels in _FORM_LABELS.items():
            if any(key.startswith(label) for label in labels):
                votes[form].append(line)
    found = [form for form, hits in votes.items() if hits]
    if len(found) == 1:
        hits = votes[found[0]]
        return OcrField(found[0], tuple(hits), min(line.confidence for line in hits))
    return None


def _label_prefix(text: str, label: str) -> int | None:
    """Length of ``text``'s prefix that spells ``label`` (spaces allowed between characters), or None."""
    pattern = r"\s*".join(map(re.escape, label))
    m = re.match(rf"\s*{pattern}", text)
    return m.end() if m else None


def _labelled(lines: Sequence[OcrLine], labels: Sequence[str]) -> OcrField | None:
    """The value of the first line that starts with one of ``labels``: the rest of that line, else the
    lines on the same row to its right (joined left to right)."""
    for line in lines:
        for label in labels:
            end = _label_prefix(line.text, label)
            if end is None:
                continue
            rest = _LEADING_PUNCT.sub("", line.text[end:]).strip()
            if rest:
                return OcrField(rest, (line,), line.confidence)
            row = _row_right_of(line, lines)
            if not row:
                continue
            value = "".join(part.text for part in row)
            return OcrField(clean_text(value), (line, *row), min(part.confidence for part in row))
    return None


def _row_right_of(label: OcrLine, lines: Sequence[OcrLine]) -> list[OcrLine]:
    """Lines to the right of ``label`` whose middle lies within its row."""
    tolerance = 0.6 * label.height
    right = label.bbox[2] - 0.25 * label.height
    row = [
        line
        for line in lines
        if line is not label and line.bbox[0] >= right and abs(line.middle - label.middle) <= tolerance
    ]
    return sorted(row, key=lambda line: line.bbox[0])


def _is_name(value: str) -> bool:
    """A company name has at least two Chinese characters and is not a blank or a label."""
    han = sum(1 for ch in value if "\u4e00" <= ch <= "\u9fff")
    return han >= 2 and not any(label_key(value).startswith(label) for label in (*_UNIT_LABELS, *_TIME_LABELS))
