"""Rendering speed: 公示表 .docx per second and PDF conversions per second, against the plain way.

Documents: N 公示表 (default 2,000) rendered the way ``shuangsui regenerate`` renders them (templates
prepared once per worker process, chunks of work across every core: ``pipeline.outputs.regenerate.render_jobs``)
against the plain way of a new ``DocxTemplate`` per document in one process, in the same run. Both
write every file; a sample of the outputs is checked to read the same (``docx_content``).

PDF/A: M documents (default 60) converted through a ``ConverterPool`` in batches (one LibreOffice
start per batch and converter) against one ``soffice --convert-to`` process per file (K files,
default 12, with a warm profile), in files per second.

    .venv/bin/python benchmarks/render.py [--n 2000] [--plain-n 2000] [--pdf-n 60] [--pdf-plain-n 12] [--no-pdf]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.documents.libreoffice import DEFAULT_POOL_SIZE, PDFA2B_FILTER, ConverterPool, find_soffice  # noqa: E402
from pipeline.documents.render import PUBLIC_FORM_TEMPLATE, public_form_context, render_plain  # noqa: E402
from pipeline.outputs.regenerate import RenderJob, docx_content, render_jobs  # noqa: E402
from pipeline.samples.fictional import make_companies  # noqa: E402

RESULTS = ("未发现问题", "发现问题已责令改正", "发现问题待后续处理", "未发现开展本次抽查涉及的经营活动")
TASKS = ("民用爆炸物品销售的安全生产监督管理", "食盐专营工作检查", "监控化学品的监督检查", "工业节能监察")


def contexts(n: int) -> list[dict[str, str]]:
    rng = random.Random(11)
    companies = make_companies(rng, 50)
    out = []
    for i in range(n):
        company = companies[i % len(companies)]
        day = 1 + i % 28
        out.append(public_form_context(
            unit_name=company.name, uscc=company.uscc, authority="烟台市工业和信息化局",
            task_name=f"2026年度{TASKS[i % len(TASKS)]}双随机抽查", check_date=f"2026年{1 + i % 11}月{day}日",
            check_type="不定向抽查", result=RESULTS[i % len(RESULTS)]))
    return out


def plain_docs(template: Path, ctxs: list[dict[str, str]], out: Path) -> float:
    data = template.read_bytes()
    out.mkdir()
    t0 = time.perf_counter()
    for i, ctx in enumerate(ctxs):
        (out / f"{i:05d}.docx").write_bytes(render_plain(data, ctx))
    return time.perf_counter() - t0


def prepared_docs(template_dir: Path, ctxs: list[dict[str, str]], out: Path, workers: int) -> float:
    jobs = [RenderJob(str(i), PUBLIC_FORM_TEMPLATE, ctx, out / f"{i:05d}.docx") for i, ctx in enumerate(ctxs)]
    out.mkdir()
    t0 = time.perf_counter()
    failures = render_jobs(jobs, template_dir, workers).failures
    elapsed = time.perf_counter() - t0
    if failures:
        raise SystemExit(f"{len(failures)} documents failed: {next(iter(failures.values()))}")
    return elapsed


def _spin(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - t0


def cpu_parallelism(workers: int, n: int = 4_000_000) -> float:
    """How many times more pure-Python work ``workers`` processes do than one in the same time: about
    ``workers`` on an idle machine, less when other programs share the cores."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    serial = _spin(n * workers)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        list(pool.map(_spin, [1000] * workers))  # workers started, not timed
        t0 = time.perf_counter()
        list(pool.map(_spin, [n] * workers))
        parallel = time.perf_counter() - t0
    return serial / parallel


def pdf_pool(sources: list[Path], out: Path, size: int, warm: list[Path]) -> float:
    with ConverterPool(size, profile_root=out / "profiles") as pool:
        pool.convert_many(warm, "pdf", out / "warm", PDFA2B_FILTER)  # profiles created, not timed
        t0 = time.perf_counter()
        done = pool.convert_many(sources, "pdf", out / "pdf", PDFA2B_FILTER)
        elapsed = time.perf_counter() - t0
    if len(done) != len(sources):
        raise SystemExit(f"pool converted {len(done)} of {len(sources)} files")
    return elapsed


def pdf_plain(soffice: str, sources: list[Path], out: Path, warm: Path) -> float:
    profile = f"-env:UserInstallation={(out / 'profile').resolve().as_uri()}"

    def one(path: Path, target: Path) -> None:
        subprocess.run([soffice, profile, "--headless", "--convert-to", f"pdf:{PDFA2B_FILTER}", "--outdir",
                        str(target), str(path)], check=True, capture_output=True, timeout=300)

    one(warm, out / "warm")  # the profile is created once, not timed
    t0 = time.perf_counter()
    for path in sources:
        one(path, out / "pdf")
    elapsed = time.perf_counter() - t0
    if len(list((out / "pdf").glob("*.pdf"))) != len(sources):
        raise SystemExit("plain soffice left files unconverted")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="公示表 rendered the prepared, parallel way")
    parser.add_argument("--plain-n", type=int, default=2000, help="公示表 rendered the plain way")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="render worker processes")
    parser.add_argument("--pdf-n", type=int, default=60, help="documents converted through the pool")
    parser.add_argument("--pdf-plain-n", type=int, default=12, help="documents converted one soffice per file")
    parser.add_argument("--no-pdf", action="store_true", help="measure the .docx rendering only")
    args = parser.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    template_dir = ROOT / "templates"
    ctxs = contexts(max(args.n, args.plain_n))
    console = Console()
    with tempfile.TemporaryDirectory(prefix="shuangsui-bench-") as tmp:
        work = Path(tmp)
        t_plain = plain_docs(template_dir / PUBLIC_FORM_TEMPLATE, ctxs[: args.plain_n], work / "plain")
        t_serial = prepared_docs(template_dir, ctxs[: args.n], work / "serial", 1)
        t_fast = prepared_docs(template_dir, ctxs[: args.n], work / "fast", args.workers)
        for i in range(0, min(args.n, args.plain_n), max(1, min(args.n, args.plain_n) // 20)):
            name = f"{i:05d}.docx"
            if docx_content(work / "plain" / name) != docx_content(work / "fast" / name):
                raise SystemExit(f"{name}: the prepared render differs from the plain one")
        plain_rate, serial_rate, fast_rate = args.plain_n / t_plain, args.n / t_serial, args.n / t_fast
        table = Table(title=f"公示表 .docx on {os.cpu_count()} cores")
        for col in ("way", "documents", "seconds", "docs/s", "vs plain"):
            table.add_column(col, justify="right")
        table.add_row("new DocxTemplate per document", str(args.plain_n), f"{t_plain:.1f}", f"{plain_rate:.1f}", "1.0×")
        table.add_row("prepared, 1 process", str(args.n), f"{t_serial:.1f}", f"{serial_rate:.1f}",
                      f"{serial_rate / plain_rate:.1f}×")
        table.add_row(f"prepared, {args.workers} processes", str(args.n), f"{t_fast:.1f}", f"{fast_rate:.1f}",
                      f"{fast_rate / plain_rate:.1f}×")
        console.print(table)
        console.print(f"CPU parallelism available to {args.workers} processes during this run: "
                      f"{cpu_parallelism(args.workers):.2f}× (pure-Python control; {args.workers}.00× on an idle machine)")

        if args.no_pdf:
            return 0
        soffice = find_soffice("soffice")
        if soffice is None:
            console.print("LibreOffice not found: PDF conversion not measured.")
            return 0
        sources = sorted((work / "fast").glob("*.docx"))
        pool_files = sources[: args.pdf_n]
        plain_files = sources[args.pdf_n: args.pdf_n + args.pdf_plain_n]
        warm = sources[-DEFAULT_POOL_SIZE - 1:]
        t_pool = pdf_pool(pool_files, work / "pool", DEFAULT_POOL_SIZE, warm[:-1])
        t_single = pdf_plain(soffice, plain_files, work / "single", warm[-1])
        pool_rate, single_rate = len(pool_files) / t_pool, len(plain_files) / t_single
        table = Table(title="公示表 PDF/A-2b")
        for col in ("way", "files", "seconds", "files/s", "s/file", "vs plain"):
            table.add_column(col, justify="right")
        table.add_row("one soffice per file", str(len(plain_files)), f"{t_single:.1f}", f"{single_rate:.2f}",
                      f"{t_single / len(plain_files):.2f}", "1.0×")
        table.add_row(f"pool of {DEFAULT_POOL_SIZE}, batches", str(len(pool_files)), f"{t_pool:.1f}",
                      f"{pool_rate:.2f}", f"{t_pool / len(pool_files):.2f}", f"{pool_rate / single_rate:.1f}×")
        console.print(table)
        shutil.rmtree(work / "single", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
