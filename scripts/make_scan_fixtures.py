"""Make the hand-made scan fixtures in tests/fixtures/scans/ (run once; the outputs are committed).

The bureau's check table is filled (``cases.json``: three fictional units, written here on first run),
printed to PDF by LibreOffice (``soffice --convert-to pdf``) and rasterised by poppler's ``pdftoppm``.
Where each box is comes from poppler too (``pdftotext -bbox-layout``: the row label's lines), never
from the pipeline's scan code or the tests' forge (only its Pillow seal stamp is reused). Signatures and seals are drawn as
``truth.json`` says (written by hand: file → company, pages, box → signed/sealed), then each sheet is
rotated, put in perspective (phone photos), noised and saved as JPEG or an image-only PDF under the
name a scanner or a phone gives it. Usage::

    .venv/bin/python scripts/make_scan_fixtures.py      # needs soffice, pdftoppm, pdftotext, a CJK font
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import json
import math
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.settings import Settings  # noqa: E402
from pipeline.samples.demo import write_check_table  # noqa: E402
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors  # noqa: E402
from tests.scan_forge import stamp  # noqa: E402  (the tests' seal: red ink multiplied onto the paper)

OUT = ROOT / "tests" / "fixtures" / "scans"
SEED = 20261206
# box → the first line of its row label as printed, and what goes in it.
LABELS = {
    "dept_opinion_seal": ("执法科室意见", "seal"),
    "leader_approval_signature": ("分管领导批准", "signature"),
    "authority_opinion_seal": ("抽查执法主体", "seal"),  # the first of the two 抽查执法主体 rows
    "leader_confirmation_signature": ("分管领导确认", "signature"),
    "authority_seal": ("抽查执法主体", "seal"),  # the second
}


def cases() -> dict[str, Any]:
    """The units, inspectors and typed fields of the fixtures (made once, then read from cases.json)."""
    path = OUT / "cases.json"
    if path.exists():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    rng = random.Random(SEED)
    companies = make_companies(rng, 3)
    people = make_inspectors(rng, 4)
    fields = []
    for n, company in enumerate(companies):
        f = check_table_fields(rng, company, people[n % 2 * 2:n % 2 * 2 + 2], dt.datetime(2026, 11, 16 + n, 9, 0))
        f["methods"] = ["书面检查"]  # no 现场检查笔录 needed: the fixtures are about the check table
        fields.append(f)
    data = {"companies": [dataclasses.asdict(c) for c in companies],
            "people": [{**dataclasses.asdict(p), "valid_until": p.valid_until.isoformat()} for p in people],
            "check_tables": fields}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return data


def printed(fields: dict[str, Any], work: Path, n: int) -> Path:
    docx = work / f"form{n}.docx"
    write_check_table(docx, fields, Settings())
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), str(docx)],
                   check=True, capture_output=True, timeout=180)
    return docx.with_suffix(".pdf")


def label_rows(pdf: Path) -> dict[str, tuple[int, float, float]]:
    """box → (page, label top, label bottom) in points, from poppler's text boxes."""
    xml = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], check=True, capture_output=True,
                         text=True).stdout
    lines = []  # (page, top, bottom, x0, text)
    for page_no, page in enumerate(re.findall(r"<page.*?</page>", xml, re.S)):
        for x0, top, _x1, bottom, body in re.findall(
                r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', page, re.S):
            text = html.unescape("".join(re.findall(r">([^<]*)</word>", body)))
            lines.append((page_no, float(top), float(bottom), float(x0), text))
    rows: dict[str, tuple[int, float, float]] = {}
    taken: set[int] = set()
    for box, (label, _) in LABELS.items():
        i = next(i for i, line in enumerate(lines) if line[4].startswith(label) and line[3] < 155 and i not in taken)
        taken.add(i)
        page, top, bottom = lines[i][:3]
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if nxt and nxt[0] == page and nxt[3] < 155 and nxt[1] - bottom < 6:
            bottom = nxt[2]  # the label's second line
        rows[box] = (page, top, bottom)
    return rows


def scrawl(draw: ImageDraw.ImageDraw, x: float, y: float, k: float, rng: random.Random) -> None:
    """A pen signature: two or three strokes of joined loops, blue-black."""
    colour = rng.choice([(25, 30, 95), (30, 30, 35)])
    for stroke in range(rng.randint(2, 3)):
        left = x + stroke * 34 * k
        pts = [(left + t * 30 * k + 6 * k * math.cos(t * 9), y + 9 * k * math.sin(t * 7 + stroke))
               for t in np.linspace(0, 1, 60)]
        draw.line(pts, fill=colour, width=max(2, round(1.3 * k)), joint="curve")


def marked(pdf: Path, work: Path, dpi: int, truth: dict[str, bool], rng: random.Random) -> list[Image.Image]:
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(work / "page")], check=True)
    pages = [Image.open(p).convert("RGB") for p in sorted(work.glob("page-*.png"))]
    for p in work.glob("page-*.png"):
        p.unlink()
    k = dpi / 72
    for box, (page, top, bottom) in label_rows(pdf).items():
        if not truth.get(box, False):
            continue
        y = (top + bottom) / 2 * k
        if LABELS[box][1] == "signature":
            scrawl(ImageDraw.Draw(pages[page]), rng.uniform(200, 300) * k, y, k, rng)
        else:  # stamped over the （盖章） at the right of the cell
            stamp(pages[page], (rng.uniform(410, 450) * k, y + rng.uniform(5, 20) * k), 42 / 25.4 * dpi,
                  "烟台市工业和信息化局")
    return pages


def photographed(image: Image.Image, angle: float, tilt: float, noise: float, rng: random.Random) -> Image.Image:
    out = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    if tilt:  # a phone held a little off square: the far edge narrower, on a grey desk
        w, h = out.size
        dx = tilt * w
        coeffs = _perspective([(0, 0), (w, 0), (w, h), (0, h)], [(dx, dx / 2), (w - dx * 0.4, 0), (w, h), (0, h - dx / 3)])
        paper = out.transform(out.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC,
                              fillcolor=(150, 140, 128))
        out = paper.filter(ImageFilter.GaussianBlur(0.7))
    pixels = np.asarray(out).astype(np.float32)
    pixels += np.random.default_rng(rng.randrange(2**32)).normal(0, noise, pixels.shape[:2])[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _perspective(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> tuple[float, ...]:
    """PIL's PERSPECTIVE coefficients mapping output points ``dst`` back to input points ``src``."""
    rows = []
    for (u, v), (x, y) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return tuple(np.linalg.solve(np.array(rows, dtype=float), np.array(src, dtype=float).reshape(8)))


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def main() -> None:
    data = cases()
    truth = json.loads((OUT / "truth.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n, spec in enumerate(truth["files"]):
            rng = random.Random(SEED + n)
            pdf = printed(data["check_tables"][spec["company"]], work, n)
            scan = spec["scan"]
            pages = marked(pdf, work, scan["dpi"], spec["boxes"], rng)
            shots = [_jpeg(photographed(pages[p - 1], scan["angle"], scan.get("tilt", 0.0), scan["noise"], rng),
                           scan["quality"]) for p in spec["pages"]]
            target = OUT / spec["name"]
            if target.suffix.lower() == ".pdf":
                shots[0].save(target, "PDF", save_all=True, append_images=shots[1:], resolution=scan["dpi"])
            else:
                (shot,) = shots
                shot.save(target, "JPEG", quality=scan["quality"], dpi=(scan["dpi"], scan["dpi"]))
            print(f"{target.name}: {target.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
