"""Extraction speed: median time per file for Word, Excel and text-PDF check tables.

Each format is measured against the plain way of merely reading the same file with the underlying
library (python-docx cell texts, openpyxl cell values, pdfplumber page text) in the same run, so the
ratio shows what label matching, normalisation and provenance cost on top of parsing.

    .venv/bin/python benchmarks/extract.py [--n 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.documents.render import render_check_table  # noqa: E402
from pipeline.extract import extract_file  # noqa: E402
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors  # noqa: E402


def plain_docx(path: Path) -> None:
    from docx import Document

    doc = Document(str(path))
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                _ = cell.text


def plain_xlsx(path: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(path.read_bytes()), data_only=True)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            _ = row


def plain_pdf(path: Path) -> None:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            _ = page.extract_text()


def pdf_pages(path: Path) -> int:
    import pypdf

    return len(pypdf.PdfReader(path).pages)


def median_ms(paths: list[Path], fn: Callable[[Path], object]) -> float:
    times = []
    for path in paths:
        t0 = time.perf_counter()
        fn(path)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def build(n: int, work: Path) -> dict[str, list[Path]]:
    rng = random.Random(7)
    companies = make_companies(rng, 12)
    people = make_inspectors(rng, 6)
    docx_dir, xlsx_dir, pdf_dir = work / "docx", work / "xlsx", work / "pdf"
    for d in (docx_dir, xlsx_dir, pdf_dir):
        d.mkdir()
    out: dict[str, list[Path]] = {"docx": [], "xlsx": []}
    try:
        from pipeline.samples.xlsx import write_check_table_xlsx
    except ImportError:
        write_check_table_xlsx = None  # type: ignore[assignment]
    for i in range(n):
        fields = check_table_fields(rng, companies[i % 12], people[: 2 + i % 5],
                                    dt.datetime(2026, 11, 2, 9, 0) + dt.timedelta(days=i % 20))
        path = docx_dir / f"{i:03d}.docx"
        render_check_table(fields, path, template_dir=ROOT / "templates", bureau="烟台市工业和信息化局", case_id=None)
        out["docx"].append(path)
        if write_check_table_xlsx is not None:
            xpath = xlsx_dir / f"{i:03d}.xlsx"
            write_check_table_xlsx(xpath, fields, bureau="烟台市工业和信息化局")
            out["xlsx"].append(xpath)
    soffice = shutil.which("soffice")
    if soffice:
        profile = (work / "lo-profile").as_uri()
        subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(pdf_dir), *map(str, out["docx"])], check=True, capture_output=True,
                       timeout=900)
        out["pdf"] = sorted(pdf_dir.glob("*.pdf"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100, help="files per format (default 100)")
    args = parser.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    plain = {"docx": plain_docx, "xlsx": plain_xlsx, "pdf": plain_pdf}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = build(args.n, Path(tmp))
        table = Table(title=f"Extraction, median per file ({args.n} files per format)")
        for col in ("format", "files", "shuangsui ms/file", "plain read ms/file", "ratio", "ms/page"):
            table.add_column(col, justify="right")
        for kind, paths in corpus.items():
            if not paths:
                continue
            for p in paths[:3]:  # warm-up: imports and caches
                extract_file(p)
            ours = median_ms(paths, extract_file)
            base = median_ms(paths, plain[kind])
            pages = statistics.median(pdf_pages(p) for p in paths) if kind == "pdf" else 1
            table.add_row(kind, str(len(paths)), f"{ours:.1f}", f"{base:.1f}", f"{ours / base:.2f}×",
                          f"{ours / pages:.1f}")
        Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
