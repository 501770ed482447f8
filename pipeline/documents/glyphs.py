"""Font programs for PDFs written directly (``pipeline.documents.pdfa``): found as LibreOffice finds them, and
cut down per document to the glyphs it prints.

``find_face`` asks fontconfig (``fc-match``) for the file and face LibreOffice itself gets for a
request, with the aliases soffice runs with (``pipeline.documents.fonts``): the bureau's forms ask for
宋体/黑体 (Chinese) and Times New Roman (Latin); on Debian these are Noto Serif CJK SC, Noto Sans CJK SC,
and the 宋体 face again for the Latin digits.

A ``Face`` is opened once per process (``face``, cached), from the tables an earlier process saved
(``pipeline.documents.facecache``) when it can, the font file otherwise. ``Face.embed`` makes, for the characters of
one document, a small TrueType font program: glyph 0 (.notdef) and one glyph per character in the
order given, outlines only (CFF outlines, as in Noto Sans CJK, are converted to quadratic curves once
per glyph and cached, across processes too; hinting instructions are dropped, composite glyphs decomposed). Building it is
a matter of concatenating cached bytes, which is what makes a 公示表 PDF cost milliseconds: subsetting
the 16 MB CJK font with fontTools costs about a second per document.

``Face.variant`` is the face as HarfBuzz sets a run of one script in one language, as far as it
changes which glyph a character gets: the font's ``locl`` single substitutions for that script and
language system. Noto CJK has some that matter: in a Latin run of an English text its digits are
all 549/1000 em wide (the proportional ones, in a Chinese run, are 471–562).
"""

from __future__ import annotations

import atexit
import copy
import functools
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables import otTables
from fontTools.ttLib.tables._g_l_y_f import Glyph

from pipeline.core.errors import MissingDependencyError
from pipeline.documents import facecache
from pipeline.documents.fonts import write_fontconfig

# Maximum distance (font units) between a cubic CFF curve and its quadratic replacement: a fiftieth
# of a percent of the em, far below a printed dot at 600 dpi for 12 pt text.
_CU2QU_MAX_ERR = 0.2
_SAVE_EVERY = 2.0  # seconds between saves of a face's cache while a batch converts new glyphs


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
    # The same aliases soffice runs with (fonts.py), so 宋体 here is the face LibreOffice sets it in.
    conf = write_fontconfig(Path(tempfile.gettempdir()) / f"shuangsui-fonts-{os.getuid()}.conf")
    out = subprocess.run([exe, "-f", "%{file}\t%{index}", pattern], capture_output=True, text=True,
                         timeout=30, check=False, env={**os.environ, "FONTCONFIG_FILE": str(conf)}).stdout
    file, _, index = out.partition("\t")
    if not file or not Path(file).is_file():
        raise FontMissing(pattern)
    return Path(file), int(index or 0)


@functools.lru_cache(maxsize=16)
def _face(path: Path, index: int, mtime_ns: int) -> Face:
    del mtime_ns  # part of the cache key only: a replaced font file is read again
    found = Face(path, index)
    atexit.register(found.flush)  # glyphs converted since the last save are kept for the next process
    return found


def face(path: Path, index: int = 0) -> Face:
    """The cached ``Face`` of ``path`` (face ``index`` of a collection)."""
    return _face(path, index, path.stat().st_mtime_ns)


@dataclass
class _Shared:
    """What a face and its variants share: the tables (``facecache``'s layout), the font file opened
    only for what they lack, and whether they grew since they were last saved."""

    tables: dict[str, Any]
    dirty: bool
    saved_at: float | None = None
    font: TTFont | None = None
    glyph_set: Any = None


class Face:
    """One face of a font file: its character map, advances and metrics, and cached glyph outlines.

    The tables come from ``facecache`` when an earlier process saved them for this very file; the font
    file itself is opened only for a variant or a glyph outline the cache does not have yet."""

    def __init__(self, path: Path, index: int = 0) -> None:
        self.path = path
        self.index = index
        self._stamp = facecache.stamp_of(path)
        self._lock = threading.Lock()  # fontTools' lazy tables are not safe for concurrent first reads
        cached = facecache.load(path, index, self._stamp)
        self._shared = _Shared(cached, dirty=False) if cached is not None else _Shared({}, dirty=True)
        if cached is None:
            self._shared.tables = self._read_tables()
        tables = self._shared.tables
        self.cmap: dict[int, str] = tables["cmap"]
        self.upm: int = tables["upm"]
        self.ascent: float = tables["ascent"]  # LibreOffice's line height is ascent + descent
        self.descent: float = tables["descent"]
        self.bbox: tuple[int, int, int, int] = tuple(tables["bbox"])
        self.ps_name: str = tables["ps_name"]
        self._hmtx: dict[str, tuple[int, int]] = tables["hmtx"]
        self._outlines: dict[str, tuple[bytes, int]] = tables["outlines"]  # glyph name → (glyf bytes, lsb)
        self._substitutions: dict[str, str] = {}  # glyph name → the one this variant draws instead
        self.ligatures: frozenset[tuple[str, ...]] = frozenset()  # glyph sequences a variant's run joins
        self.ligatures_from: dict[str, tuple[tuple[str, ...], ...]] = {}  # ``ligatures`` by their first glyph
        self._variants: dict[tuple[str, str], Face] = {}

    def _font(self) -> TTFont:
        if self._shared.font is None:
            self._shared.font = TTFont(str(self.path), fontNumber=self.index, lazy=True, recalcTimestamp=False)
        return self._shared.font

    def _read_tables(self) -> dict[str, Any]:
        font = self._font()
        upm = int(font["head"].unitsPerEm)
        hhea, head = font["hhea"], font["head"]
        return {
            "cmap": dict(font.getBestCmap() or {}),
            "upm": upm,
            "ascent": hhea.ascent / upm,
            "descent": -hhea.descent / upm,
            "bbox": tuple(round(v * 1000 / upm) for v in (head.xMin, head.yMin, head.xMax, head.yMax)),
            "ps_name": "".join(c for c in font["name"].getDebugName(6) or self.path.stem
                               if c.isalnum() or c in "-_"),
            "cff": "CFF " in font,
            "hmtx": {name: (int(adv), int(lsb)) for name, (adv, lsb) in font["hmtx"].metrics.items()},
            "variants": {},
            "outlines": {},
        }

    def has(self, char: str) -> bool:
        return ord(char) in self.cmap

    def glyph(self, char: str) -> str | None:
        """The name of the glyph this face draws for ``char`` (None if it lacks it)."""
        name = self.cmap.get(ord(char))
        return None if name is None else self._substitutions.get(name, name)

    def advance(self, char: str) -> float:
        """Advance width of ``char`` in em (0 for a character the face lacks)."""
        name = self.glyph(char)
        return 0.0 if name is None else self._hmtx[name][0] / self.upm

    def variant(self, script: str, language: str) -> Face:
        """This face for a run of OpenType ``script`` (``"latn"``, ``"hani"``; ``""`` for none) in OpenType
        ``language`` (``"ENG "``, ``"ZHS "``): the glyphs HarfBuzz's default ``locl`` feature substitutes, and the
        sequences its ligature features would join (``ligatures``, not drawn here). Falls back as HarfBuzz does: an unknown script to ``DFLT``, an unknown language to the default."""
        key = (script, language)
        with self._lock:
            found = self._variants.get(key)
            if found is None:
                known = self._shared.tables["variants"].get(key)
                if known is None:
                    font = self._font()
                    known = (_locl(font, script, language), tuple(sorted(_ligatures(font, script, language))))
                    self._shared.tables["variants"][key] = known
                    self._shared.dirty = True
                found = copy.copy(self)  # shares the tables, the font, its lock and the outline cache
                found._substitutions = known[0]
                found.ligatures = frozenset(known[1])
                found.ligatures_from = {first: tuple(lig for lig in found.ligatures if lig[0] == first)
                                        for first in {lig[0] for lig in found.ligatures}}
                self._variants[key] = found
        return found

    def embed(self, chars: Sequence[str]) -> Embedded:
        """A TrueType program whose glyph ``n`` (from 1) draws ``chars[n-1]``; glyph 0 is .notdef."""
        names = [".notdef", *(self._substitutions.get(self.cmap[ord(c)], self.cmap[ord(c)]) for c in chars)]
        with self._lock:
            outlines = [self._outline(name) for name in names]
            advances = [self._hmtx[name][0] for name in names]
            if self._shared.dirty and (self._shared.saved_at is None
                                       or time.monotonic() - self._shared.saved_at >= _SAVE_EVERY):
                self._save()
        return Embedded(
            program=_truetype(self, outlines, advances),
            widths=tuple(round(a * 1000 / self.upm) for a in advances[1:]),
            bbox=self.bbox,
            ascent=round(self.ascent * 1000),
            descent=-round(self.descent * 1000),
        )

    def flush(self) -> None:
        """Save what was read or converted since the last save (at exit; a batch saves as it goes)."""
        with self._lock:
            if self._shared.dirty:
                self._save()

    def close(self) -> None:
        """Save, and close the font file if it was opened (a face made outside ``face``'s cache)."""
        self.flush()
        with self._lock:
            if self._shared.font is not None:
                self._shared.font.close()
                self._shared.font = self._shared.glyph_set = None

    def _save(self) -> None:
        facecache.save(self.path, self.index, self._stamp, self._shared.tables)
        self._shared.dirty = False
        self._shared.saved_at = time.monotonic()

    def _outline(self, name: str) -> tuple[bytes, int]:
        cached = self._outlines.get(name)
        if cached is None:
            glyph = self._convert(name)
            data = glyph.compile(None) if glyph.numberOfContours else b""
            cached = self._outlines[name] = (data, int(getattr(glyph, "xMin", 0)) if data else 0)
            self._shared.dirty = True
        return cached

    def _convert(self, name: str) -> Glyph:
        font = self._font()
        cff = self._shared.tables["cff"]
        if not cff and not font["glyf"][name].isComposite():
            glyf = font["glyf"]
            source = glyf[name]
            if not source.numberOfContours:
                return Glyph()
            pen = TTGlyphPen(None)
            source.draw(pen, glyf)  # a copy without hinting instructions
            return pen.glyph()
        if self._shared.glyph_set is None:
            self._shared.glyph_set = font.getGlyphSet()
        pen = TTGlyphPen(None)
        outline = Cu2QuPen(pen, _CU2QU_MAX_ERR, reverse_direction=True) if cff else pen
        self._shared.glyph_set[name].draw(outline)  # composites come out decomposed
        return pen.glyph()


def _lookups(font: TTFont, script: str, language: str, features: tuple[str, ...]) -> list[list[Any]]:
    """The GSUB subtables (extensions unwrapped) of ``features`` for ``script`` and ``language``, in lookup
    order, the script and language system chosen as HarfBuzz chooses them."""
    if "GSUB" not in font or font["GSUB"].table.ScriptList is None:
        return []
    gsub = font["GSUB"].table
    records = {r.ScriptTag: r.Script for r in gsub.ScriptList.ScriptRecord}
    found = records.get(script) or records.get("DFLT") or records.get("dflt") or records.get("latn")
    if found is None:
        return []
    system = {r.LangSysTag: r.LangSys for r in found.LangSysRecord}.get(language, found.DefaultLangSys)
    if system is None:
        return []
    wanted = [gsub.FeatureList.FeatureRecord[i] for i in system.FeatureIndex]
    indices = sorted({n for f in wanted if f.FeatureTag in features for n in f.Feature.LookupListIndex})
    return [[getattr(t, "ExtSubTable", t) for t in gsub.LookupList.Lookup[n].SubTable] for n in indices]


def _locl(font: TTFont, script: str, language: str) -> dict[str, str]:
    """The single substitutions of the ``locl`` feature, chained in lookup order."""
    result: dict[str, str] = {}
    for tables in _lookups(font, script, language, ("locl",)):
        mapping: dict[str, str] = {}
        for table in tables:
            if isinstance(table, otTables.SingleSubst):
                mapping.update(table.mapping)
        chained = {source: mapping.get(target, target) for source, target in result.items()}
        result = {**mapping, **chained}  # a glyph an earlier lookup replaced goes on from its replacement
    return result


def _ligatures(font: TTFont, script: str, language: str) -> frozenset[tuple[str, ...]]:
    """The glyph sequences HarfBuzz's default ligature features (``liga``, ``clig``, ``rlig``) join."""
    found: set[tuple[str, ...]] = set()
    for tables in _lookups(font, script, language, ("liga", "clig", "rlig")):
        for table in tables:
            if isinstance(table, otTables.LigatureSubst):
                found.update((first, *lig.Component) for first, ligs in table.ligatures.items() for lig in ligs)
    return frozenset(found)


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
