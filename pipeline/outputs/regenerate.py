"""Batch regeneration: render the official forms of stored cases again (``shuangsui regenerate``).

After a template or a setting changes, the forms already in the outbox are out of date. A run
selects cases (``Selection``: forms, ``since`` on the check date or the last update, case numbers),
plans one render per form from the store, renders them in a job folder, compares each new document
with the one in the outbox by its content (``docx_content``: the text of every paragraph and table
cell, and the pictures; not the zip bytes, which carry no meaning) and publishes only the files that
are new or changed. Unchanged files are left alone (same bytes, same mtime).

* 公示表: ``outbox/公示表/<stem>.docx`` and its PDF/A (``pipeline.cases.public_forms``); a published case keeps
  the values it was published with and also has its PDF in ``outbox/网站公示/``. A PDF is converted
  only when its Word file changed or the PDF is missing, in batches through the LibreOffice pool.
* 检查表 and 现场检查笔录: pre-filled copies with the QR code, from the stored fields, for printing in
  ``outbox/打印/<案卷编号>/``.

Rendering many documents runs in a ``ProcessPoolExecutor`` (one worker per core): each worker prepares
every template once in its initializer (``PreparedTemplate``), and takes chunks of work items. A
failing form is reported (``失败``) and the batch goes on. A dry run renders and compares in the job
folder and publishes and records nothing.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from pipeline.cases import casework, facts, public_forms
from pipeline.cases.context import Context
from pipeline.core.codes import CaseStatus
from pipeline.core.errors import BadArgsError, OutputError, ShuangsuiError
from pipeline.documents.render import (
    CHECK_TABLE_TEMPLATE,
    PUBLIC_FORM_TEMPLATE,
    SITE_RECORD_TEMPLATE,
    PreparedTemplate,
    check_table_context,
    site_record_context,
)
from pipeline.store import OutputRow
from pipeline.store.outbox import PRINT, PUBLIC_FORMS, WEBSITE, publish

if TYPE_CHECKING:
    from pipeline.store import CaseRow, Store

# The store, the rules and LibreOffice are imported where they are used: a render worker imports
# this module and should start with the renderer only.

FORM_PUBLIC = "公示表"
FORM_CHECK = "检查表"
FORM_SITE = "现场检查笔录"
FORMS: tuple[str, ...] = (FORM_PUBLIC, FORM_CHECK, FORM_SITE)

NEW, CHANGED, SAME, FAILED = "新增", "有变化", "无变化", "失败"
CHANGES: tuple[str, ...] = (NEW, CHANGED, SAME, FAILED)

PRINT_CHECK_KIND = "print_check_table"
PRINT_SITE_KIND = "print_site_record"
EVENT_REGENERATED = "regenerated"
CHECK_TABLE_NAME = "随机抽查事项检查表"
SITE_RECORD_NAME = "现场检查笔录"

# Below this many documents one process renders faster than starting workers (unless asked for).
POOL_MIN_JOBS = 100
# Work items per task: large enough that pickling and scheduling cost little, small enough that
# the workers finish together and the progress bar moves.
MAX_CHUNK = 50
# How many PDFs are converted per call into the pool (the progress bar moves after each call).
PDF_STEP = 40

Progress = Callable[[str, int, int], None]  # (stage, done, total); stage is "render" or "pdf"

@dataclass(frozen=True)
class Selection:
    """Which cases and forms to regenerate; empty ``case_ids`` and no ``since`` mean every case."""

    forms: tuple[str, ...] = FORMS
    since: date | None = None
    case_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderJob:
    """One document to render (picklable: it crosses into a worker process); with ``compare_with``,
    the worker also compares the result with that file (``compare``)."""

    key: str
    template: str
    context: dict[str, Any]
    out: Path
    compare_with: Path | None = None


@dataclass(frozen=True)
class Rendered:
    """What ``render_jobs`` gives back: key → error message, key → 新增/有变化/无变化 (compared jobs)."""

    failures: dict[str, str]
    changes: dict[str, str]


@dataclass(frozen=True)
class Planned:
    """One regenerated file: its render job, where it goes in the outbox and its output kind."""

    case_id: str
    form: str
    kind: str
    dest: str
    job: RenderJob
    published: bool = False  # a published 公示表: its PDF also goes to 网站公示


@dataclass(frozen=True)
class FileChange:
    """What happened (or, in a dry run, would happen) to one file of the outbox."""

    case_id: str
    form: str
    path: str  # relative to the outbox
    change: str  # 新增 / 有变化 / 无变化 / 失败
    message: str = ""

    def as_json(self) -> dict[str, str]:
        return {"case": self.case_id, "form": self.form, "path": self.path, "change": self.change,
                "message": self.message}


@dataclass(frozen=True)
class Report:
    """The outcome of one run, file by file."""

    changes: tuple[FileChange, ...]
    cases: int
    dry_run: bool
    seconds: float = 0.0
    rendered: int = 0
    converted: int = 0

    def count(self, change: str) -> int:
        return sum(1 for c in self.changes if c.change == change)

    def summary(self) -> str:
        head = "预演（未写入发件箱）：" if self.dry_run else ""
        counts = "，".join(f"{change} {self.count(change)} 个" for change in CHANGES)
        return (f"{head}{self.cases} 个案卷，{len(self.changes)} 个文件：{counts}。"
                f"渲染 {self.rendered} 份，转换 PDF {self.converted} 份，用时 {self.seconds:.1f} 秒。")

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "cases": self.cases, "seconds": round(self.seconds, 3),
                "rendered": self.rendered, "converted": self.converted,
                "counts": {change: self.count(change) for change in CHANGES},
                "files": [c.as_json() for c in self.changes]}


# --------------------------------------------------------------------------------------------------
# Selecting and planning


def parse_since(text: str) -> date:
    """``YYYY-MM-DD`` as a date; a ``BadArgsError`` saying the form otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise BadArgsError(f"--since 的日期 “{text}” 无法识别。请写成 YYYY-MM-DD，如 2026-11-01。") from exc


def select_cases(store: Store, selection: Selection) -> list[CaseRow]:
    """The cases of ``selection`` in case-number order; an unknown case number is a ``BadArgsError``."""
    if selection.case_ids:
        cases = []
        for case_id in dict.fromkeys(selection.case_ids):
            case = store.get_case(case_id)
            if case is None:
                raise BadArgsError(f"案卷 {case_id} 不存在。请用 shuangsui status 查看案卷编号。")
            cases.append(case)
    else:
        cases = list(store.list_cases())
    if selection.since is not None:
        since = selection.since.isoformat()
        cases = [c for c in cases if (c.check_date or "") >= since or c.updated_at[:10] >= since]
    return sorted(cases, key=lambda c: c.id)


def plan(ctx: Context, cases: Sequence[CaseRow], selection: Selection, job_dir: Path) -> tuple[list[Planned], list[FileChange]]:
    """The renders for ``cases`` and the forms that cannot be planned (reported as 失败)."""

    printable = (CaseStatus.publishable, *public_forms.PUBLISHED_STATES)
    outbox = ctx.settings.outbox
    planned: list[Planned] = []
    failed: list[FileChange] = []
    explicit = bool(selection.case_ids)
    recorded = public_forms.recorded_forms(ctx) if FORM_PUBLIC in selection.forms else {}
    for case in cases:
        folder = job_dir / case.id
        if FORM_PUBLIC in selection.forms and (explicit or case.status in printable):
            stem = public_forms.public_form_stem(case)
            try:
                published = case.status in public_forms.PUBLISHED_STATES and case.id in recorded
                form = recorded[case.id][0] if published else public_forms.current_form(ctx, case)
            except ShuangsuiError as exc:
                failed.append(FileChange(case.id, FORM_PUBLIC, f"{PUBLIC_FORMS}/{stem}.docx", FAILED, exc.message))
            else:
                job = RenderJob(f"{case.id}/{FORM_PUBLIC}", PUBLIC_FORM_TEMPLATE, form.context(),
                                folder / "公示表" / f"{stem}.docx", outbox / PUBLIC_FORMS / f"{stem}.docx")
                planned.append(Planned(case.id, FORM_PUBLIC, public_forms.DOCX_KIND,
                                       f"{PUBLIC_FORMS}/{stem}.docx", job, published))
        if FORM_CHECK in selection.forms and case.record:
            context = check_table_context(casework.as_named(case), bureau=ctx.settings.bureau, case_id=case.id)
            name = f"{CHECK_TABLE_NAME}.docx"
            planned.append(Planned(case.id, FORM_CHECK, PRINT_CHECK_KIND, f"{PRINT}/{case.id}/{name}",
                                   RenderJob(f"{case.id}/{FORM_CHECK}", CHECK_TABLE_TEMPLATE, context,
                                             folder / name, outbox / PRINT / case.id / name)))
        if FORM_SITE in selection.forms:
            # Scans of a 笔录 have no typed fields to print from (casework lists them as source=scan).
            records = [r for r in facts.site_records(ctx, case.id) if r.get("source") != "scan"]
            for number, record in enumerate(records, start=1):
                context = site_record_context(casework.as_named(case, record), bureau=ctx.settings.bureau,
                                              case_id=case.id)
                name = f"{SITE_RECORD_NAME}{'' if number == 1 else f'-{number}'}.docx"
                planned.append(Planned(case.id, FORM_SITE, PRINT_SITE_KIND, f"{PRINT}/{case.id}/{name}",
                                       RenderJob(f"{case.id}/{FORM_SITE}/{number}", SITE_RECORD_TEMPLATE,
                                                 context, folder / name, outbox / PRINT / case.id / name)))
    return planned, failed


# --------------------------------------------------------------------------------------------------
# Rendering (serial, or across processes that prepare each template once)

_WORKER_TEMPLATES: dict[str, PreparedTemplate | ShuangsuiError] = {}


def _init_worker(template_dir: str, names: tuple[str, ...]) -> None:
    """Prepare every template once in this worker process (a broken one fails each of its renders)."""
    _WORKER_TEMPLATES.clear()
    for name in names:
        try:
            template = PreparedTemplate(Path(template_dir) / name)
            template.prepare()
        except ShuangsuiError as exc:
            _WORKER_TEMPLATES[name] = exc
        else:
            _WORKER_TEMPLATES[name] = template


def _render_chunk(jobs: Sequence[RenderJob]) -> list[tuple[str, str | None, str | None]]:
    """Render (and compare) ``jobs`` with this process's prepared templates; (key, error message or
    None, change or None) each."""
    results: list[tuple[str, str | None, str | None]] = []
    folders: set[Path] = set()
    for job in jobs:
        try:
            template = _WORKER_TEMPLATES[job.template]
            if isinstance(template, ShuangsuiError):
                raise template
            data = template.render_bytes(job.context)
            if job.out.parent not in folders:
                job.out.parent.mkdir(parents=True, exist_ok=True)
                folders.add(job.out.parent)
            # The job folder is private: a plain write is enough (publishing is the atomic step).
            job.out.write_bytes(data)
        except ShuangsuiError as exc:
            results.append((job.key, exc.message, None))
        except OSError as exc:
            results.append((job.key, f"无法写出 {job.out}：{exc.strerror or exc}。请检查数据目录的权限和磁盘空间。", None))
        except Exception as exc:  # one broken record must not stop the batch
            results.append((job.key, f"生成失败（{type(exc).__name__}：{exc}）。请加 -v 查看详情并联系信息化人员。",
                            None))
        else:
            results.append((job.key, None, None if job.compare_with is None else compare(job.out, job.compare_with)))
    return results


def _chunks(jobs: Sequence[RenderJob], workers: int) -> list[list[RenderJob]]:
    size = max(1, min(MAX_CHUNK, math.ceil(len(jobs) / (workers * 4))))
    return [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]


def render_jobs(jobs: Sequence[RenderJob], template_dir: Path, workers: int | None = None,
                on_progress: Progress | None = None) -> Rendered:
    """Render ``jobs`` (comparing those with ``compare_with`` in the same worker).

    ``workers=None`` uses every core when there are at least ``POOL_MIN_JOBS`` documents and one
    process otherwise; ``workers=1`` renders in this process; more uses that many worker processes.
    """
    rendered = Rendered({}, {})
    if not jobs:
        return rendered
    names = tuple(sorted({job.template for job in jobs}))
    if workers is None:
        workers = (os.cpu_count() or 1) if len(jobs) >= POOL_MIN_JOBS else 1
    done = 0

    def collect(results: list[tuple[str, str | None, str | None]], count: int) -> None:
        nonlocal done
        for key, error, change in results:
            if error is not None:
                rendered.failures[key] = error
            if change is not None:
                rendered.changes[key] = change
        done += count
        if on_progress:
            on_progress("render", done, len(jobs))

    if workers <= 1:
        _init_worker(str(template_dir), names)
        for chunk in _chunks(jobs, 1):
            collect(_render_chunk(chunk), len(chunk))
        return rendered
    # forkserver: workers start from a clean process that has imported the renderer once, never from
    # a fork of this one (with its threads, database connections and progress bar).
    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload(["__main__", __name__])
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp, initializer=_init_worker,
                             initargs=(str(template_dir), names)) as pool:
        futures = {pool.submit(_render_chunk, chunk): len(chunk) for chunk in _chunks(jobs, workers)}
        for future in as_completed(futures):
            collect(future.result(), futures[future])
    return rendered


# --------------------------------------------------------------------------------------------------
# Comparing by content

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_STORY = re.compile(r"word/(document|header\d*|footer\d*|footnotes)\.xml")


def docx_content(path: Path) -> tuple[str, ...]:
    """What a reader sees of a .docx: table, row and cell marks, each paragraph's text (tabs and line
    breaks kept) from the body, headers, footers and footnotes, and a digest of every picture."""
    out: list[str] = []
    with zipfile.ZipFile(path) as package:
        names = package.namelist()
        for name in sorted(n for n in names if _STORY.fullmatch(n)):
            out.append(f"[{name}]")
            root = etree.fromstring(package.read(name))
            for element in root.iter(f"{_W}tbl", f"{_W}tr", f"{_W}tc", f"{_W}p"):
                tag = element.tag.removeprefix(_W)
                if tag != "p":
                    out.append(f"<{tag}>")
                    continue
                parts = []
                for node in element.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr"):
                    parts.append(node.text or "" if node.tag == f"{_W}t" else "\t" if node.tag == f"{_W}tab" else "\n")
                out.append("".join(parts))
        for name in sorted(n for n in names if n.startswith("word/media/")):
            out.append(f"[{name}] {hashlib.sha256(package.read(name)).hexdigest()}")
    return tuple(out)


def compare(new: Path, old: Path) -> str:
    """新增 when ``old`` is missing, 无变化 when both read the same, else 有变化."""
    if not old.is_file():
        return NEW
    try:
        return SAME if docx_content(new) == docx_content(old) else CHANGED
    except (OSError, zipfile.BadZipFile, KeyError, etree.XMLSyntaxError):
        return CHANGED  # the file in the outbox is damaged: a new one replaces it


# --------------------------------------------------------------------------------------------------
# The run


@dataclass
class _Run:
    """What one run collects before it publishes and records."""

    changes: list[FileChange] = field(default_factory=list)
    files: list[tuple[Path, str, str, str, str]] = field(default_factory=list)  # src, dest, kind, case, change


def regenerate(ctx: Context, selection: Selection, *, dry_run: bool = False, workers: int | None = None,
               template_dir: Path | None = None, actor: str = "pipeline",
               on_progress: Progress | None = None) -> Report:
    """Regenerate the forms of ``selection``; publish and record new and changed files (not in a dry run)."""
    started = datetime.now()
    unknown = [f for f in selection.forms if f not in FORMS]
    if unknown:
        raise BadArgsError(f"不支持的表单：{'、'.join(unknown)}。可选：{'、'.join(FORMS)}。")
    template_dir = template_dir or ctx.settings.templates_dir
    cases = select_cases(ctx.store, selection)
    job_dir = ctx.settings.jobs_dir / f"regenerate-{started:%Y%m%d-%H%M%S}-{os.getpid()}"
    shutil.rmtree(job_dir, ignore_errors=True)
    job_dir.mkdir(parents=True)
    try:
        planned, failed = plan(ctx, cases, selection, job_dir)
        run = _Run(changes=list(failed))
        rendered = render_jobs([p.job for p in planned], template_dir, workers, on_progress)
        failures = rendered.failures
        pdf_sources: list[tuple[Planned, bool]] = []  # (公示表, its Word file changed)
        for item in planned:
            if item.job.key in failures:
                run.changes.append(FileChange(item.case_id, item.form, item.dest, FAILED, failures[item.job.key]))
                continue
            change = rendered.changes[item.job.key]
            run.changes.append(FileChange(item.case_id, item.form, item.dest, change))
            if change != SAME:
                run.files.append((item.job.out, item.dest, item.kind, item.case_id, change))
            if item.form == FORM_PUBLIC:
                pdf_sources.append((item, change != SAME))
        converted = _pdfs(ctx, pdf_sources, job_dir, run, dry_run, on_progress, template_dir)
        if not dry_run:
            _publish_and_record(ctx, run, actor)
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)
    order = {form: n for n, form in enumerate(FORMS)}
    changes = sorted(run.changes, key=lambda c: (c.case_id, order.get(c.form, 9), c.path))
    return Report(tuple(changes), len(cases), dry_run, (datetime.now() - started).total_seconds(),
                  len(planned) - len(failures), converted)


def _pdf_dests(item: Planned) -> list[tuple[str, str]]:
    """(outbox path, output kind) of the PDFs of a 公示表 item."""
    stem = Path(item.dest).stem
    dests = [(f"{PUBLIC_FORMS}/{stem}.pdf", public_forms.PDF_KIND)]
    if item.published:
        dests.append((f"{WEBSITE}/{stem}.pdf", public_forms.WEBSITE_PDF_KIND))
    return dests


def _pdfs(ctx: Context, items: Sequence[tuple[Planned, bool]], job_dir: Path, run: _Run, dry_run: bool,
          on_progress: Progress | None, template_dir: Path) -> int:
    """The PDFs of each 公示表: made again when the Word file changed or a PDF is missing (drawn
    directly, else in batches through the LibreOffice pool), else left alone. A dry run only says what
    it would do."""
    outbox = ctx.settings.outbox
    needed = [item for item, changed in items
              if changed or any(not (outbox / dest).is_file() for dest, _ in _pdf_dests(item))]
    converted: dict[Path, Path] = {}
    errors: dict[Path, str] = {}
    if not dry_run:
        template = template_dir / PUBLIC_FORM_TEMPLATE
        for item in needed:
            pdf = public_forms.direct_pdf_of(ctx.settings, item.job.context,
                                             job_dir / "pdf-direct" / item.case_id / f"{item.job.out.stem}.pdf", template)
            if pdf is not None:
                converted[item.job.out] = pdf
        needed = [item for item in needed if item.job.out not in converted]
        for start in range(0, len(needed), PDF_STEP):
            sources = [item.job.out for item in needed[start:start + PDF_STEP]]
            try:
                converted.update(public_forms.convert_to_pdf(ctx, sources, job_dir / "pdf"))
            except public_forms.PdfConversionError as exc:
                converted.update(exc.converted)
                errors.update({path: exc.message for path in exc.failed})
            except ShuangsuiError as exc:  # LibreOffice missing: the Word files still go out
                errors.update({path: exc.message for path in sources})
            if on_progress:
                on_progress("pdf", min(start + PDF_STEP, len(needed)), len(needed))
    for item, changed in items:
        pdf = converted.get(item.job.out)
        for dest, kind in _pdf_dests(item):
            existed = (outbox / dest).is_file()
            if existed and not changed:
                run.changes.append(FileChange(item.case_id, FORM_PUBLIC, dest, SAME))
            elif dry_run:
                run.changes.append(FileChange(item.case_id, FORM_PUBLIC, dest, CHANGED if existed else NEW,
                                              "将随 Word 版重新转换"))
            elif pdf is None:
                message = errors.get(item.job.out, "LibreOffice 未能完成转换。")
                run.changes.append(FileChange(item.case_id, FORM_PUBLIC, dest, FAILED, message))
            else:
                change = CHANGED if existed else NEW
                run.changes.append(FileChange(item.case_id, FORM_PUBLIC, dest, change))
                run.files.append((pdf, dest, kind, item.case_id, change))
    return len(converted)


def _publish_and_record(ctx: Context, run: _Run, actor: str) -> None:
    """Publish each new or changed file atomically; one transaction records the outputs and an event
    per regenerated case."""

    by_case: dict[str, list[tuple[OutputRow, str]]] = {}
    for src, dest, kind, case_id, change in run.files:
        try:
            sha = publish(src, ctx.settings.outbox / dest)
        except OutputError as exc:  # e.g. the file is open in Word on the share: the others still go out
            run.changes = [FileChange(c.case_id, c.form, c.path, FAILED, exc.message) if c.path == dest else c
                           for c in run.changes]
            continue
        by_case.setdefault(case_id, []).append((OutputRow(case_id, None, kind, dest, sha), change))
    if not by_case:
        return
    with ctx.store.begin() as tx:
        for case_id, rows in by_case.items():
            for row, _change in rows:
                tx.add_output(row)
            tx.log("case", case_id, EVENT_REGENERATED, {"files": {row.path: change for row, change in rows}},
                   actor=actor)


def forms_of(values: Iterable[str] | None) -> tuple[str, ...]:
    """The forms named on the command line (all when none), in the usual order."""
    chosen = set(values or FORMS)
    return tuple(form for form in FORMS if form in chosen)
