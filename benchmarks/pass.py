"""A quarter-end batch end to end: ``shuangsui process`` on 100 check tables against the plain way.

The inputs: 100 valid 书面检查 check tables (one unit each, every unit in the lists) dropped at once,
after the lists were imported by a pass of their own. ``shuangsui process`` runs as staff run it (a new
process, default settings except ``require_signed_scan=false``); the pass must leave 100 公示表 PDFs.

The plain way, in the same run: what a bureau's IT person would write — python-docx reads the
check table's cells, a new docxtpl template renders the 公示表, one ``soffice --convert-to pdf`` per
file (on a warm profile), for ``--plain-n`` of the files (default 20; its cost is per file).

Per-stage costs: the same pass again, in this process under cProfile, its time attributed to the
stages by the functions that run them (analysis happens in the worker process: its wall time is the
parent's wait for it). Then, with ``--watch-drops`` (default 50), the drop → 公示表 PDF latency of
``shuangsui watch``: one file at a time, timed from the file being complete in the inbox to its PDF
appearing in the outbox.

    .venv/bin/python benchmarks/pass.py [--n 100] [--plain-n 20] [--watch-drops 50] [--no-profile]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.settings import Settings, load_settings  # noqa: E402
from pipeline.documents.libreoffice import find_soffice  # noqa: E402
from pipeline.intake.process import LISTS_FOLDER, open_context, process_inbox  # noqa: E402
from pipeline.samples.demo import (  # noqa: E402
    write_check_table,
    write_roster_sheet,
    write_tasks_sheet,
    write_units_sheet,
)
from pipeline.samples.fictional import Company, check_table_fields, make_companies, make_inspectors  # noqa: E402

TASK = "民用爆炸物品销售的安全生产监督管理"

# Stage → functions whose cumulative time is that stage's (the first match of a call chain counts).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sniff + extract (worker wait)", ("analysis.py:analyse", "worker.py:")),
    ("rules", ("bureau.py:evaluate",)),
    ("render .docx", ("render.py:render",)),
    ("公示表 PDF", ("public_pdf.py:render_public_form_pdf", "public_forms.py:convert_to_pdf")),
    ("archive", ("package.py:archive_ready_cases",)),
    ("publish", ("outbox.py:publish",)),
    ("database", ("sql.py:", "sqlcore.py:")),
)


def workspace(root: Path) -> Settings:
    settings = load_settings(env={}, inbox=root / "inbox", outbox=root / "outbox", data_dir=root / "var",
                             require_signed_scan=False)
    settings.inbox.mkdir(parents=True)
    return settings


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUANGSUI_")}
    env.update({"SHUANGSUI_INBOX": str(settings.inbox), "SHUANGSUI_OUTBOX": str(settings.outbox),
                "SHUANGSUI_DATA_DIR": str(settings.data_dir), "SHUANGSUI_REQUIRE_SIGNED_SCAN": "0",
                "PYTHONPATH": str(ROOT), **extra})
    return env


def write_lists(settings: Settings, companies: list[Company], people: list) -> None:
    folder = settings.inbox / LISTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    write_units_sheet(folder / "检查对象名录库.xlsx", companies)
    write_tasks_sheet(folder / "抽查任务.xlsx", companies, TASK)
    write_roster_sheet(folder / "执法检查人员名录库.xlsx", people)


def make_tables(settings: Settings, companies: list[Company], people: list, out: Path, seed: int) -> list[Path]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, company in enumerate(companies):
        fields = check_table_fields(rng, company, people[:2], dt.datetime(2026, 11, 9, 9, 30))
        fields["methods"] = ["书面检查"]  # complete without a 现场检查笔录
        path = out / f"检查表-{n:03d}.docx"
        write_check_table(path, fields, settings)
        paths.append(path)
    return paths


def prepared(root: Path, n: int, seed: int = 15) -> tuple[Settings, list[Path]]:
    """A workspace with the lists imported and ``n`` check tables ready to drop (not yet in the inbox)."""
    rng = random.Random(seed)
    companies = make_companies(rng, n)
    people = make_inspectors(rng, 3)
    settings = workspace(root)
    write_lists(settings, companies, people)
    subprocess.run([sys.executable, "-m", "pipeline", "process"], env=cli_env(settings), check=True,
                   capture_output=True, cwd=root)
    return settings, make_tables(settings, companies, people, root / "drop", seed)


def drop(paths: list[Path], inbox: Path) -> None:
    for path in paths:
        shutil.copyfile(path, inbox / path.name)


def pdfs(settings: Settings) -> int:
    return len(list((settings.outbox / "公示表").glob("*.pdf")))


def time_process(settings: Settings, tables: list[Path]) -> float:
    drop(tables, settings.inbox)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline", "process"], env=cli_env(settings), check=True,
                   capture_output=True, cwd=settings.data_dir.parent)
    elapsed = time.perf_counter() - start
    made = pdfs(settings)
    if made != len(tables):
        raise SystemExit(f"the pass made {made} 公示表 PDFs of {len(tables)}")
    return elapsed


def plain_way(tables: list[Path], work: Path, soffice: str) -> float:
    """python-docx reads, a new DocxTemplate renders, one soffice per file (warm profile)."""
    import docx
    from docxtpl import DocxTemplate

    template = ROOT / "templates" / "公示表.docx"
    profile = work / "profile"
    out = work / "out"
    out.mkdir(parents=True, exist_ok=True)
    convert = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
               "--outdir", str(out)]
    subprocess.run([*convert, str(template)], check=True, capture_output=True)  # warm the profile
    start = time.perf_counter()
    for n, path in enumerate(tables):
        cells = [cell.text.strip() for table in docx.Document(str(path)).tables for row in table.rows
                 for cell in row.cells]
        value = {label: cells[i + 1] for i, label in enumerate(cells[:-1]) if label != cells[i + 1]}
        tpl = DocxTemplate(str(template))
        tpl.render({"unit_name": value.get("被抽查单位", ""), "uscc": "", "authority": "", "task_name": TASK,
                    "check_date": value.get("抽查时间", ""), "check_type": "书面检查", "result": "未发现问题"})
        target = out / f"plain-{n:03d}.docx"
        tpl.save(str(target))
        subprocess.run([*convert, str(target)], check=True, capture_output=True)
        if not target.with_suffix(".pdf").is_file():
            raise SystemExit(f"soffice made no PDF of {target}")
    return time.perf_counter() - start


def profile_pass(root: Path, n: int) -> tuple[float, dict[str, float]]:
    settings, tables = prepared(root, n, seed=16)
    drop(tables, settings.inbox)
    ctx = open_context(settings)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    process_inbox(ctx)
    profiler.disable()
    elapsed = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    costs: dict[str, float] = {}
    raw = stats.stats  # type: ignore[attr-defined]
    for stage, patterns in STAGES:
        total = 0.0
        for (file, _line, func), (_cc, _nc, _tt, ct, callers) in raw.items():
            key = f"{Path(file).name}:{func}"
            if not any(key.startswith(p) if p.endswith(":") else key == p for p in patterns):
                continue
            # Count only outermost calls: callers outside the same pattern set.
            outer = sum(v[3] for c, v in callers.items()
                        if not any(f"{Path(c[0]).name}:{c[2]}".startswith(p) if p.endswith(":")
                                   else f"{Path(c[0]).name}:{c[2]}" == p for p in patterns))
            total += outer if callers else ct
        costs[stage] = total
    return elapsed, costs


def watch_latency(root: Path, drops: int) -> list[float]:
    settings, tables = prepared(root, drops, seed=17)
    env = cli_env(settings)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "watch"], env=env, cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latencies = []
    try:
        time.sleep(3)  # let it start and settle on the empty inbox
        for path in tables:
            before = pdfs(settings)
            tmp = settings.inbox / f".{path.name}.part"
            shutil.copyfile(path, tmp)
            tmp.rename(settings.inbox / path.name)  # complete at this instant
            start = time.perf_counter()
            while pdfs(settings) == before:
                if time.perf_counter() - start > 60:
                    raise SystemExit(f"no 公示表 PDF 60 s after dropping {path.name}")
                time.sleep(0.01)
            latencies.append(time.perf_counter() - start)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--plain-n", type=int, default=20)
    parser.add_argument("--watch-drops", type=int, default=50)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    soffice = find_soffice("soffice")
    if soffice is None:
        raise SystemExit("LibreOffice is needed for the plain way")
    with tempfile.TemporaryDirectory(prefix="shuangsui-pass-") as tmp:
        root = Path(tmp)
        settings, tables = prepared(root / "pass", args.n)
        seconds = time_process(settings, tables)
        per_file = seconds / args.n
        print(f"shuangsui process: {args.n} files in {seconds:.1f} s, {per_file * 1000:.0f} ms/file, "
              f"{pdfs(settings)} 公示表 PDFs")
        plain = plain_way(tables[: args.plain_n], root / "plain", soffice)
        plain_per_file = plain / args.plain_n
        print(f"plain way: {args.plain_n} files in {plain:.1f} s, {plain_per_file * 1000:.0f} ms/file")
        print(f"ratio: {plain_per_file / per_file:.1f}x per file")
        if not args.no_profile:
            elapsed, costs = profile_pass(root / "profile", args.n)
            print(f"per stage (in-process pass under cProfile, {elapsed:.1f} s, ms/file):")
            for stage, cost in costs.items():
                print(f"  {stage:32} {cost * 1000 / args.n:8.1f}")
        if args.watch_drops:
            latencies = watch_latency(root / "watch", args.watch_drops)
            q = statistics.quantiles(latencies, n=20)
            print(f"watch: drop → 公示表 PDF over {len(latencies)} drops: median {statistics.median(latencies):.2f} s, "
                  f"p95 {q[18]:.2f} s (settle_seconds {settings.settle_seconds:g})")


if __name__ == "__main__":
    main()
