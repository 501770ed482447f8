"""Fonts for PDFs written directly (``pipeline.documents.pdfa``): found as LibreOffice finds them, and
cut down per document to the glyphs it prints.

``find_face`` asks fontconfig (``fc-match``) for the file and face LibreOffice itself gets for a
request: the bureau's forms ask for 宋体/黑体 (Chinese) and Times New Roman (Latin); on Debian these are
Noto Sans CJK SC and whatever fontconfig substitutes for Times New Roman (DejaVu Serif, or Liberation
Serif when installed).

A ``Face`` is opened once per process (``face``, cached), from what earlier processes learnt about the
file (``fontcache``). ``Face.embed`` makes, for the characters of one document, a small TrueType font
program: glyph 0 (.notdef) and one glyph per character in the order given, outlines only (CFF
outlines, as in Noto Sans CJK, are converted to quadratic curves once per glyph and kept; hinting
instructions are dropped, composite glyphs decomposed). Building it is
a matter of concatenating cached bytes, which is what makes a 公示表 PDF cost milliseconds: subsetting
the 16 MB CJK font with fontTools costs about a second per document.
"""

from __future__ import annotations

import functools
import shutil
import struct
import subprocess
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables._g_l_y_f import Glyph

from pipeline.core.errors import MissingDependencyError
from pipeline.documents.fontcache import FontCache, default_dir

# Maximum distance (font units) between a cubic CFF curve and its quadratic replacement: a fiftieth
# of a percent of the em, far below a printed dot at 600 dpi for 12 pt text.
_CU2QU_MAX_ERR = 0.2


class FontMissing(MissingDependencyError):
    """No installed font covers what a form prints."""

    def __init__(self, request: str) -> None:
        super().__init__(
            f"找不到字体（{request}）。请安装中文字体：sudo apt-get install fonts-noto-cjk；运行 shuangsui doctor 可检查。"
        )


@dataclass(frozen=True)
class Embedded:
    """A font program for one document: ``program`` (TrueType bytes), ``widths`` (1/1000 em, per
    new glyph id from 1), and the metrics a PDF font descriptor needs (1/1000 em)."""

    program: bytes
    widths: tuple[int, ...]
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int


@functools.lru_cache(maxsize=16)
def find_face(pattern: str) -> tuple[Path, int]:
    """The font file and face index fontconfig gives for ``pattern`` (``"Times New Roman:style=Bold"``)."""
    exe = shutil.which("fc-match")
    if exe is None:
        raise FontMissing(f"{pattern}；fc-match 不可用，请安装 fontconfig")
    out = subprocess.run([exe, "-f", "%{file}\t%{index}", pattern], capture_output=True, text=True,
                         timeout=30, check=False).stdout
    file, _, index = out.partition("\t")
    if not file or not Path(file).is_file():
        raise FontMissing(pattern)
    return Path(file), int(index or 0)


@functools.lru_cache(maxsize=16)
def _face(path: Path, index: int, mtime_ns: int) -> Face:
    del mtime_ns  # part of the cache key only: a replaced font file is read again
    return Face(path, index, default_dir())


def face(path: Path, index: int = 0) -> Face:
    """The cached ``Face`` of ``path`` (face ``index`` of a collection)."""
    return _face(path, index, path.stat().st_mtime_ns)


class Face:
    """One face of a font file: its character map, advances and metrics, and its glyph outlines as
    TrueType data, kept in memory and in ``cache_dir`` (``fontcache``); fontTools opens the file only
    for what is not known yet."""

    def __init__(self, path: Path, index: int = 0, cache_dir: Path | None = None) -> None:
        self.path, self.index = path, index
        self._cache = FontCache(path, index, cache_dir)
        self._font: TTFont | None = None
        self._lock = threading.Lock()  # fontTools' lazy tables are not safe for concurrent first reads
        meta = self._cache.metrics()
        if meta is None:
            meta = self._metrics()
            self._cache.save_metrics(meta)
        self.upm: int = meta["upm"]
        self.ascent: float = meta["ascent"] / self.upm  # LibreOffice's line height is ascent + descent
        self.descent: float = meta["descent"] / self.upm
        x0, y0, x1, y1 = (round(v * 1000 / self.upm) for v in meta["bbox"])
        self.bbox = (x0, y0, x1, y1)
        self.ps_name: str = meta["ps_name"]
        self.cmap: dict[int, str] = {int(code): name for code, name in meta["cmap"].items()}
        self._advances: dict[str, int] = meta["advances"]
        self._outlines = self._cache.outlines()  # glyph name → (glyf bytes, left side bearing)

    def _open(self) -> TTFont:
        if self._font is None:
            self._font = TTFont(str(self.path), fontNumber=self.index, lazy=True, recalcTimestamp=False)
            weakref.finalize(self, self._font.close)  # lazy tables keep the file open until then
        return self._font

    def _metrics(self) -> dict[str, Any]:
        font = self._open()
        cmap = font.getBestCmap() or {}
        hmtx, hhea, head = font["hmtx"], font["hhea"], font["head"]
        name = font["name"].getDebugName(6) or self.path.stem
        return {"upm": head.unitsPerEm, "ascent": hhea.ascent, "descent": -hhea.descent,
                "bbox": [head.xMin, head.yMin, head.xMax, head.yMax],
                "ps_name": "".join(c for c in name if c.isalnum() or c in "-_"),
                "cmap": {str(code): glyph for code, glyph in cmap.items()},
                "advances": {glyph: hmtx[glyph][0] for glyph in {*cmap.values(), ".notdef"}}}

    def has(self, char: str) -> bool:
        return ord(char) in self.cmap

    def advance(self, char: str) -> float:
        """Advance width of ``char`` in em (0 for a character the face lacks)."""
        name = self.cmap.get(ord(char))
        return 0.0 if name is None else self._advances[name] / self.upm

    def embed(self, chars: Sequence[str]) -> Embedded:
        """A TrueType program whose glyph ``n`` (from 1) draws ``chars[n-1]``; glyph 0 is .notdef."""
        names = [".notdef", *(self.cmap[ord(c)] for c in chars)]
        with self._lock:
            outlines = [self._outline(name) for name in names]
        advances = [self._advances[name] for name in names]
        return Embedded(
            program=_truetype(self, outlines, advances),
            widths=tuple(round(a * 1000 / self.upm) for a in advances[1:]),
            bbox=self.bbox,
            ascent=round(self.ascent * 1000),
            descent=-round(self.descent * 1000),
        )

    def _outline(self, name: str) -> tuple[bytes, int]:
        cached = self._outlines.get(name)
        if cached is None:
            glyph = self._convert(name)
            data = glyph.compile(None) if glyph.numberOfContours else b""
            cached = self._outlines[name] = (data, getattr(glyph, "xMin", 0) if data else 0)
            self._cache.add_outline(name, *cached)
        return cached

    def _convert(self, name: str) -> Glyph:
        font = self._open()
        glyf = font.get("glyf")
        if glyf is not None and not glyf[name].isComposite():
            source = glyf[name]
            if not source.numberOfContours:
                return Glyph()
            pen = TTGlyphPen(None)
            source.draw(pen, glyf)  # a copy without hinting instructions
            return pen.glyph()
        pen = TTGlyphPen(None)
        outline = Cu2QuPen(pen, _CU2QU_MAX_ERR, reverse_direction=True) if glyf is None else pen
        font.getGlyphSet()[name].draw(outline)  # composites come out decomposed
        return pen.glyph()


def _truetype(face: Face, outlines: Sequence[tuple[bytes, int]], advances: Sequence[int]) -> bytes:
    """An sfnt with head, hhea, maxp, hmtx, loca and glyf only (all a PDF CIDFontType2 needs)."""
    glyf, loca = bytearray(), [0]
    max_points = max_contours = 0
    for data, _lsb in outlines:
        glyf += data + b"\0" * (-len(data) % 4)
        loca.append(len(glyf))
        if data:
            contours = struct.unpack_from(">h", data)[0]
            max_contours = max(max_contours, contours)
            max_points = max(max_points, struct.unpack_from(">H", data, 10 + 2 * (contours - 1))[0] + 1)
    n = len(outlines)
    x0, y0, x1, y1 = (round(v * face.upm / 1000) for v in face.bbox)
    head = struct.pack(">IIIIHHqqhhhhHHhhh", 0x00010000, 0x00010000, 0, 0x5F0F3CF5, 0x000B, face.upm,
                       0, 0, x0, y0, x1, y1, 0, 8, 2, 1, 0)
    hhea = struct.pack(">IhhhHhhhhhhhhhhhH", 0x00010000, round(face.ascent * face.upm),
                       -round(face.descent * face.upm), 0, max(advances), min((o[1] for o in outlines), default=0),
                       0, x1, 1, 0, 0, 0, 0, 0, 0, 0, n)
    maxp = struct.pack(">IHHHHHHHHHHHHHH", 0x00010000, n, max_points, max_contours, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0)
    hmtx = b"".join(struct.pack(">Hh", adv, lsb) for adv, (_d, lsb) in zip(advances, outlines, strict=True))
    tables = {"glyf": bytes(glyf), "head": head, "hhea": hhea, "hmtx": hmtx,
              "loca": struct.pack(f">{len(loca)}I", *loca), "maxp": maxp}
    return _sfnt(tables)


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF


def _sfnt(tables: dict[str, bytes]) -> bytes:
    """Tables (sorted by tag) behind an sfnt directory; ``head.checkSumAdjustment`` set."""
    count = len(tables)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16)
    offset = 12 + 16 * count
    directory, body = bytearray(), bytearray()
    for tag in sorted(tables):
        data = tables[tag]
        directory += struct.pack(">4sIII", tag.encode("ascii"), _checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = bytearray(header + directory + body)
    head_at = offset + sum(len(tables[t]) + (-len(tables[t]) % 4) for t in sorted(tables) if t < "head")
    struct.pack_into(">I", font, head_at + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)
