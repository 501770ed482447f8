"""Signed scans: calibration of the box evidence, and speed and memory on a long scan.

``calibrate`` generates scans of both forms from the real templates across rotation (±5°), 150–300 dpi,
JPEG quality 40–95, noise, grey and colour, with a random subset of boxes signed/sealed, and counts per
box kind: correct, false accept (said present, nothing there), false reject (said absent, something
there), uncertain (``present=None``, a person looks).

``speed`` builds a 50-page 300-dpi multi-page TIFF (check tables and 现场检查笔录) and measures
``analyse_scan`` (time per page, peak memory) against the plain way in the same run: decoding every
page at full size with PIL and running zxing-cpp on the whole page (QR codes only, no evidence). Each
way runs in its own child process, so that its peak RSS is its own.

    .venv/bin/python benchmarks/scans.py calibrate [--n 400]
    .venv/bin/python benchmarks/scans.py speed [--pages 50]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from pipeline.core.settings import Settings  # noqa: E402
from pipeline.documents.libreoffice import Converter  # noqa: E402
from pipeline.documents.render import CHECK_TABLE_FORM, SITE_RECORD_FORM  # noqa: E402
from pipeline.samples.scan_synth import (  # noqa: E402
    ALL_MARKS,
    FormPdfs,
    Marks,
    Scanning,
    make_scan,
    signed_pages,
    write_scan,
)
from pipeline.scan import analyse_scan  # noqa: E402
from pipeline.scan.geometry import SPECS_BY_BOX  # noqa: E402

FORMS = (CHECK_TABLE_FORM, SITE_RECORD_FORM)
SUFFIXES = (".jpg", ".png", ".tif", ".pdf")


def random_marks(form: str, rng: random.Random) -> Marks:
    ink, seals = [], []
    for spec in SPECS_BY_BOX.values():
        if spec.form != form or rng.random() < 0.4:
            continue
        (seals if spec.kind == "seal" else ink).append(spec.box)
    return Marks.of(ink, seals)


def random_scanning(rng: random.Random) -> Scanning:
    return Scanning(
        dpi=rng.choice((150, 200, 300)),
        angle=rng.uniform(-5, 5),
        scale=rng.uniform(0.95, 1.05),
        shift=(rng.randint(-40, 40), rng.randint(-40, 40)),
        noise=rng.choice((0.0, 6.0, 12.0)),
        grey=rng.random() < 0.3,
        quality=rng.choice((40, 60, 75, 95)),
    )


def calibrate(n: int, seed: int = 7) -> dict[str, Counter[str]]:
    rng = random.Random(seed)
    settings = Settings()
    counts: dict[str, Counter[str]] = {}
    misses: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, Converter() as converter:
        pdfs = FormPdfs(converter, Path(tmp) / "cache", ROOT / "templates")
        forms = {form: pdfs.get(form, "SS-2026-00042") for form in FORMS}
        for i in range(n):
            form = FORMS[i % 2]
            marks = random_marks(form, rng)
            scanning = random_scanning(rng)
            suffix = rng.choice(SUFFIXES[1:]) if form == CHECK_TABLE_FORM else rng.choice(SUFFIXES)
            path = make_scan(forms[form], marks, scanning, Path(tmp) / f"s{i}{suffix}", seed=i)
            analysis = analyse_scan(path, settings)
            doc = analysis.documents[0] if analysis.documents else None
            for spec in (s for s in SPECS_BY_BOX.values() if s.form == form):
                if doc is None or spec.box not in doc.evidence:
                    continue
                truth = spec.box in (marks.seals if spec.kind == "seal" else marks.ink)
                got = doc.evidence[spec.box].present
                kind = spec.kind + ("/grey" if scanning.grey and spec.kind == "seal" else "")
                outcome = ("uncertain" if got is None else "correct" if got == truth
                           else "false_accept" if got else "false_reject")
                counts.setdefault(kind, Counter())[outcome] += 1
                counts[kind]["marked" if truth else "blank"] += 1
                if outcome in ("false_accept", "false_reject"):
                    misses.append(f"{path.name} {spec.box} {outcome} score={doc.evidence[spec.box].score} {scanning}")
            path.unlink()
    for kind, c in sorted(counts.items()):
        total = c["correct"] + c["uncertain"] + c["false_accept"] + c["false_reject"]
        print(f"| {kind} | {total} | {c['marked']} | {c['blank']} | {c['correct'] / total:.1%} | "
              f"{c['false_accept'] / max(1, c['blank']):.1%} | {c['false_reject'] / max(1, c['marked']):.1%} | "
              f"{c['uncertain'] / total:.1%} |")
    for line in misses[:40]:
        print(line)
    return counts


def _long_scan(pdfs: FormPdfs, pages: int, out: Path) -> Path:
    def generate() -> Iterator[Image.Image]:
        rng = random.Random(1)
        made = 0
        k = 0
        while made < pages:
            form = FORMS[k % 2]
            form_pdf = pdfs.get(form, f"SS-2026-{k:05d}")
            scanning = Scanning(dpi=300, angle=rng.uniform(-3, 3), noise=4.0, quality=75)
            for page in signed_pages(form_pdf, random_marks(form, rng), scanning, seed=k):
                if made < pages:
                    yield page
                    made += 1
            k += 1

    return write_scan(generate(), out, quality=75, dpi=300)


def plain(path: Path) -> int:
    """The plain way: every page decoded at full size, zxing on the whole page."""
    import zxingcpp

    found = 0
    with Image.open(path) as img:
        for index in range(getattr(img, "n_frames", 1)):
            img.seek(index)
            frame = img.convert("L")
            found += len(zxingcpp.read_barcodes(frame, formats=zxingcpp.BarcodeFormat.QRCode))
    return found


def _child(way: str, path: Path) -> None:
    """Run one way on ``path`` in this (fresh) process and print wall and CPU seconds and the result."""
    wall, cpu = time.perf_counter(), time.process_time()
    if way == "plain":
        result = f"{plain(path)} QR codes"
    else:
        result = f"{len(analyse_scan(path, Settings()).documents)} forms"
    # VmHWM: this process's own peak resident memory (reset by exec, unlike the fork's ru_maxrss).
    status = Path("/proc/self/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    print(f"{time.perf_counter() - wall:.3f} {time.process_time() - cpu:.3f} {peak_kb / 1024:.0f} {result}")


def _measure(label: str, way: str, path: Path, pages: int) -> None:
    """Run ``way`` in a child process, so that its peak memory is the way's alone."""
    proc = subprocess.Popen([sys.executable, __file__, "_child", way, str(path)], stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate()
    output = out.split(maxsplit=3)
    if proc.returncode != 0 or len(output) < 4:
        raise SystemExit(f"{way} failed")
    wall, cpu, peak, result = float(output[0]), float(output[1]), output[2], output[3].strip()
    print(f"| {label} | {pages} | {wall / pages * 1000:.0f} | {cpu / pages * 1000:.0f} | {peak} | {result} |")


def speed(pages: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Converter() as converter:
        pdfs = FormPdfs(converter, Path(tmp) / "cache", ROOT / "templates")
        path = _long_scan(pdfs, pages, Path(tmp) / "long.tif")
        size = path.stat().st_size / 2**20
        print(f"{pages}-page 300-dpi colour TIFF (JPEG-compressed), {size:.0f} MB")
        print("| way | pages | wall ms/page | CPU ms/page | peak memory MB (VmHWM) | result |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        _measure("plain: PIL full page + zxing", "plain", path, pages)
        _measure("analyse_scan", "analyse", path, pages)
        single = make_scan(pdfs.get(CHECK_TABLE_FORM, "SS-2026-00001"), ALL_MARKS[CHECK_TABLE_FORM],
                           Scanning(dpi=200), Path(tmp) / "one.tif")
        _measure("analyse_scan, 200-dpi check table", "analyse", single, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="what", required=True)
    cal = sub.add_parser("calibrate")
    cal.add_argument("--n", type=int, default=400)
    spd = sub.add_parser("speed")
    spd.add_argument("--pages", type=int, default=50)
    child = sub.add_parser("_child")
    child.add_argument("way")
    child.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    if args.what == "calibrate":
        calibrate(args.n)
    elif args.what == "speed":
        speed(args.pages)
    else:
        _child(args.way, args.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
