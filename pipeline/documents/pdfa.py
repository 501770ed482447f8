"""A one-page PDF/A-2b writer for forms laid out in code (``pipeline.documents.public_pdf``).

What PDF/A-2b asks of such a file, and how it is met here: every font embedded (a TrueType program
per font made by ``Face.embed``, as a ``CIDFontType2`` with ``Identity-H`` codes equal to its glyph
ids, widths in ``W`` that agree with the program, and a ``ToUnicode`` map so that the text can be
copied and searched); device colours only under an sRGB output intent (``GTS_PDFA1`` with the ICC
profile embedded); XMP metadata naming ``pdfaid:part=2``, ``conformance=B`` and agreeing with the
document information dictionary; a file identifier; no encryption, transparency, JavaScript or
external content. The bytes depend only on the content (fixed dates, an identifier hashed from
the content), so the same form gives the same file.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import ImageCms

from pipeline.documents.glyphs import Embedded, Face

PRODUCER = "shuangsui"
# Fixed dates keep the bytes reproducible (the bureau's rules took effect on this day).
FIXED_DATE = dt.datetime(2020, 7, 1, tzinfo=dt.UTC)
_SRGB_PATHS = (Path("/usr/share/color/icc/sRGB.icc"), Path("/usr/share/color/icc/colord/sRGB.icc"))


@dataclass(frozen=True)
class TextRun:
    """``text`` in one font at ``size`` pt, its baseline starting at (``x``, ``y``) pt from the top left."""

    font: str
    size: float
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Rule:
    """A straight black line from (x0, y0) to (x1, y1), pt from the top left, ``width`` pt thick."""

    x0: float
    y0: float
    x1: float
    y1: float
    width: float = 0.5


@dataclass
class Page:
    """One page: its size (pt), the faces it may use by key, and what is drawn on it."""

    width: float
    height: float
    faces: dict[str, Face]
    runs: list[TextRun] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """An sRGB ICC profile: the system's (icc-profiles-free, colord), else one made by LittleCMS."""
    for path in _SRGB_PATHS:
        if path.is_file():
            return path.read_bytes()
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _pdf_string(text: str) -> str:
    """A PDF text string: UTF-16BE with byte order mark, as hex."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _pdf_date(moment: dt.datetime) -> str:
    return moment.strftime("D:%Y%m%d%H%M%S+00'00'")


class _Writer:
    """Numbered objects written in order, with their byte offsets for the cross-reference table."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self.offsets: list[int] = []

    def reserve(self) -> int:
        self.offsets.append(0)
        return len(self.offsets)

    def put(self, number: int, body: str, stream: bytes | None = None) -> None:
        self.offsets[number - 1] = self.out.tell()
        self.out.write(f"{number} 0 obj\n{body}".encode("latin-1"))
        if stream is not None:
            self.out.write(b"\nstream\n" + stream + b"\nendstream")
        self.out.write(b"\nendobj\n")

    def add(self, body: str, stream: bytes | None = None) -> int:
        number = self.reserve()
        self.put(number, body, stream)
        return number

    def finish(self, root: int, info: int) -> bytes:
        xref = self.out.tell()
        ident = hashlib.md5(self.out.getvalue(), usedforsecurity=False).hexdigest().upper()
        lines = [f"xref\n0 {len(self.offsets) + 1}\n", "0000000000 65535 f \n"]
        lines += [f"{offset:010d} 00000 n \n" for offset in self.offsets]
        lines.append(f"trailer\n<< /Size {len(self.offsets) + 1} /Root {root} 0 R /Info {info} 0 R "
                     f"/ID [<{ident}> <{ident}>] >>\nstartxref\n{xref}\n%%EOF\n")
        self.out.write("".join(lines).encode("latin-1"))
        return self.out.getvalue()


def _flate(w: _Writer, data: bytes, extra: str = "") -> int:
    packed = zlib.compress(data, 6)
    return w.add(f"<< /Length {len(packed)} /Filter /FlateDecode{extra} >>", packed)


def _to_unicode(chars: Sequence[str]) -> bytes:
    mappings = "".join(f"<{n:04X}> <{c.encode('utf-16-be').hex().upper()}>\n" for n, c in enumerate(chars, 1))
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            f"{len(chars)} beginbfchar\n{mappings}endbfchar\n"
            "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii")


def _font(w: _Writer, face: Face, chars: Sequence[str]) -> int:
    """The Type0 font of ``face`` whose code ``n`` (from 1) prints ``chars[n-1]``."""
    embedded: Embedded = face.embed(chars)
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(embedded.program).digest()[:6])
    name = f"{tag}+{face.ps_name}"
    program = _flate(w, embedded.program, f" /Length1 {len(embedded.program)}")
    x0, y0, x1, y1 = embedded.bbox
    descriptor = w.add(
        f"<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{x0} {y0} {x1} {y1}] "
        f"/ItalicAngle 0 /Ascent {embedded.ascent} /Descent {embedded.descent} /CapHeight {embedded.ascent} "
        f"/StemV 80 /FontFile2 {program} 0 R >>")
    widths = " ".join(str(v) for v in embedded.widths)
    cid_font = w.add(
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        f"/FontDescriptor {descriptor} 0 R /DW 1000 /W [1 [{widths}]] /CIDToGIDMap /Identity >>")
    to_unicode = _flate(w, _to_unicode(chars))
    return w.add(f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
                 f"/DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R >>")


def _xmp(title: str, date: str) -> bytes:
    title = escape(title)
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:CreatorTool>{PRODUCER}</xmp:CreatorTool>
   <pdf:Producer>{PRODUCER}</pdf:Producer>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def _content(page: Page, codes: dict[str, dict[str, int]]) -> bytes:
    ops = ["0 0 0 RG 0 0 0 rg"]
    for rule in page.rules:
        ops.append(f"{_num(rule.width)} w {_num(rule.x0)} {_num(page.height - rule.y0)} m "
                   f"{_num(rule.x1)} {_num(page.height - rule.y1)} l S")
    keys = {key: n for n, key in enumerate(codes, 1)}
    for run in page.runs:
        hexcodes = "".join(f"{codes[run.font][c]:04X}" for c in run.text)
        ops.append(f"BT /F{keys[run.font]} {_num(run.size)} Tf 1 0 0 1 {_num(run.x)} "
                   f"{_num(page.height - run.y)} Tm <{hexcodes}> Tj ET")
    return "\n".join(ops).encode("ascii")


def write_pdfa(page: Page, *, title: str, lang: str = "zh-CN") -> bytes:
    """The PDF/A-2b bytes of ``page``."""
    chars: dict[str, dict[str, int]] = {}
    for run in page.runs:
        used = chars.setdefault(run.font, {})
        for c in run.text:
            used.setdefault(c, len(used) + 1)
    w = _Writer()
    fonts = {key: _font(w, page.faces[key], list(used)) for key, used in chars.items()}
    content = _flate(w, _content(page, chars))
    pages = w.reserve()
    font_refs = " ".join(f"/F{n} {fonts[key]} 0 R" for n, key in enumerate(chars, 1))
    page_obj = w.add(f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {_num(page.width)} {_num(page.height)}] "
                     f"/Resources << /Font << {font_refs} >> >> /Contents {content} 0 R >>")
    w.put(pages, f"<< /Type /Pages /Kids [{page_obj} 0 R] /Count 1 >>")
    profile = _flate(w, srgb_profile(), " /N 3")
    intent = w.add("<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) "
                   f"/RegistryName (http://www.color.org) /Info (sRGB IEC61966-2.1) /DestOutputProfile {profile} 0 R >>")
    xmp = _xmp(title, FIXED_DATE.strftime("%Y-%m-%dT%H:%M:%SZ"))
    metadata = w.add(f"<< /Type /Metadata /Subtype /XML /Length {len(xmp)} >>", xmp)
    root = w.add(f"<< /Type /Catalog /Pages {pages} 0 R /Metadata {metadata} 0 R "
                 f"/OutputIntents [{intent} 0 R] /Lang ({lang}) >>")
    date = _pdf_date(FIXED_DATE)
    info = w.add(f"<< /Title {_pdf_string(title)} /Producer ({PRODUCER}) /Creator ({PRODUCER}) "
                 f"/CreationDate ({date}) /ModDate ({date}) >>")
    return w.finish(root, info)
