"""Signed scans: calibration of the box evidence, and speed and memory on a long scan.

``calibrate`` generates scans of both forms from the real templates across rotation (±5°), 150–300 dpi,
JPEG quality 40–95, noise, grey and colour, with a random subset of boxes signed/sealed, and counts per
box kind: correct, false accept (said present, nothing there), false reject (said absent, something
there), uncertain (``present=None``, a person looks).

``speed`` builds a 50-page 300-dpi multi-page TIFF (check tables and 现场检查笔录) and measures
``analyse_scan`` (time per page, peak memory) against the plain way in the same run: decoding every
page at full size with PIL and running zxing-cpp on the whole page (QR codes only, no evidence). Each
way runs in its own child process, so that its peak RSS is its own.

``ocr`` measures what reading a page without a QR code costs, on the hand-made scans of
``tests/fixtures/scans/`` (6 pages of the bureau's printed check table, 150–200 dpi, photos and scans):
per page, ``analyse_scan``'s whole route (table found, labels read, boxes measured) against one plain
RapidOCR call on the page (the same shipped models, RapidOCR's default settings) and against our
``ocr.read_lines`` alone. Each way runs in its own process; the engine's load is timed apart.

    .venv/bin/python benchmarks/scans.py calibrate [--n 400]
    .venv/bin/python benchmarks/scans.py speed [--pages 50]
    .venv/bin/python benchmarks/scans.py ocr
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
    if way.startswith("ocr-"):
        return _ocr_child(way, path)
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


FIXTURES = ROOT / "tests" / "fixtures" / "scans"


def _fixture_pages(out: Path) -> list[Path]:
    """Every page of the hand-made scans as a PNG at its scan resolution (PDF pages at 200 dpi, as read)."""
    import pypdfium2 as pdfium

    pages: list[Path] = []
    for scan in sorted(FIXTURES.glob("*")):
        if scan.suffix.lower() == ".pdf":
            document = pdfium.PdfDocument(scan)
            images = [document[i].render(scale=200 / 72).to_pil() for i in range(len(document))]
            document.close()
        elif scan.suffix.lower() in (".jpg", ".jpeg"):
            images = [Image.open(scan)]
        else:
            continue
        for n, image in enumerate(images):
            pages.append(out / f"{scan.stem}-{n + 1}.png")
            image.convert("RGB").save(pages[-1])
    return pages


def _ocr_child(way: str, folder: Path) -> None:
    """One way over every page PNG in ``folder``; prints load seconds, wall and CPU seconds, result."""
    from pipeline.scan import ocr

    pages = sorted(folder.glob("*.png"))
    start = time.perf_counter()
    if way == "ocr-plain":
        import rapidocr
        from rapidocr import RapidOCR

        models = Path(rapidocr.__file__).resolve().parent / "models"
        engine = RapidOCR(params={"Global.log_level": "error",
                                  "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
                                  "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
                                  "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx")})
    else:
        assert ocr.available()
    load = time.perf_counter() - start
    wall, cpu = time.perf_counter(), time.process_time()
    found = 0
    for page in pages:
        if way == "ocr-plain":
            found += len(getattr(engine(str(page)), "txts", None) or ())
        elif way == "ocr-lines":
            found += len(ocr.read_lines(Image.open(page).convert("RGB")))
        else:
            found += sum(len(d.evidence) for d in analyse_scan(page, Settings()).documents)
    unit = "boxes" if way == "ocr-analyse" else "lines"
    print(f"{load:.2f} {time.perf_counter() - wall:.3f} {time.process_time() - cpu:.3f} {found} {unit}")


def ocr_cost() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pages = _fixture_pages(Path(tmp))
        print(f"{len(pages)} pages of the hand-made scans (tests/fixtures/scans/)")
        print("| way | engine load s | wall s/page | CPU s/page | CPU ratio to the plain call | result |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        plain_cpu = 0.0
        for label, way in (("plain RapidOCR call, default settings", "ocr-plain"),
                           ("`ocr.read_lines` (red removed, detection ≤ 1280 px)", "ocr-lines"),
                           ("`analyse_scan`, page without QR (table, labels, boxes)", "ocr-analyse")):
            proc = subprocess.run([sys.executable, __file__, "_child", way, tmp], capture_output=True, text=True,
                                  check=True)
            load, wall, cpu, found, unit = proc.stdout.split()
            cpu_page = float(cpu) / len(pages)  # the better guide on a shared machine
            plain_cpu = plain_cpu or cpu_page
            print(f"| {label} | {float(load):.1f} | {float(wall) / len(pages):.2f} | {cpu_page:.2f} | "
                  f"{cpu_page / plain_cpu:.2f} | {found} {unit} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="what", required=True)
    cal = sub.add_parser("calibrate")
    cal.add_argument("--n", type=int, default=400)
    spd = sub.add_parser("speed")
    spd.add_argument("--pages", type=int, default=50)
    sub.add_parser("ocr")
    child = sub.add_parser("_child")
    child.add_argument("way")
    child.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    if args.what == "calibrate":
        calibrate(args.n)
    elif args.what == "speed":
        speed(args.pages)
    elif args.what == "ocr":
        ocr_cost()
    else:
        _child(args.way, args.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
