"""The pipeline: one short ``process_file()`` calling plain stages top to bottom.

Order of effects, chosen so that a crash at any point leaves the file either still in the inbox
or fully recorded: (1) the file is copied into the originals store and registered as ``processing``;
(2) all work happens in a job folder; (3) outputs are published into the outbox (idempotent names);
(4) one transaction records the outcome; (5) only then the inbox copy is removed. A rerun resumes a
``processing`` file, and finishes the removal of a file whose outcome is already recorded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from pipeline.archive import archive_ready_cases
from pipeline.cases import casework, facts, lists, notes, penalty, public_forms, review, scanwork
from pipeline.cases.context import Context
from pipeline.cases.penalty import plan_penalty_decision
from pipeline.cases.review import ReviewAnswer
from pipeline.cases.stage import Outcome, Output, Plan, Received, plan_rejection
from pipeline.core import checks
from pipeline.core.codes import CaseStatus, FileStatus, FindingCode, Severity
from pipeline.core.errors import DatabaseUnavailableError, InputFileError, OutputError, StoreError
from pipeline.core.jobs import AHEAD, process_folder
from pipeline.core.models import Extraction, Finding
from pipeline.core.names import display_name
from pipeline.core.settings import Settings
from pipeline.core.text import company_key
from pipeline.extract import detect_kind
from pipeline.intake import recovery
from pipeline.intake.analysis import Analysed, AnalysisTask
from pipeline.intake.claims import ClaimedElsewhere, claim, decision_lock, release_all
from pipeline.intake.entries import NotTaken, Skipped, open_inbox_file, still_writing, unchanged_since
from pipeline.intake.inbox import arrivals, settle_rest, survey_inbox
from pipeline.intake.legacy_queue import analyse_converted, converted_elsewhere
from pipeline.intake.report import explain_skipped
from pipeline.intake.worker import AnalysisWorker, internal_error
from pipeline.outputs import summary
from pipeline.outputs.bundle import auto_bundle
from pipeline.outputs.print_forms import print_stale_forms
from pipeline.outputs.publicity import export_pending
from pipeline.outputs.receipts import write_receipts
from pipeline.rules import bureau as rules
from pipeline.rules.bureau import evaluate
from pipeline.scan import ScanAnalysis
from pipeline.store import OutputRow, open_store
from pipeline.store.claims import CASES_LOCK
from pipeline.store.originals import OriginalsStore
from pipeline.store.outbox import publish
from pipeline.store.sql import now_iso

LISTS_FOLDER = "名录库"
PASS_MARK = "finish_pass"  # the last event the latest end of pass saw (several workers)

log = logging.getLogger(__name__)


# --- stage 1: receive ---------------------------------------------------------------------------

def receive(path: Path, ctx: Context) -> Received | Outcome:
    """Store the original; detect a duplicate, a replay of a recorded outcome, or a crashed run.

    Raises ``NotTaken`` for a file that is not ours to take now (still being written, a link, no
    permission): it stays in the inbox and nothing is recorded."""
    inbox = ctx.settings.inbox
    rel = display_name(path.relative_to(inbox).as_posix())
    with open_inbox_file(path) as opened:
        stored = ctx.originals.put_stream(opened.fh)
        try:
            st = opened.finish(stored.size)
        except NotTaken:
            # A torn copy that nothing refers to; with several workers another may be registering it now.
            if not ctx.store.shared and not ctx.store.files_with_sha(stored.sha256):
                stored.path.unlink(missing_ok=True)
            raise
    claim(ctx, f"sha:{stored.sha256}")  # the same bytes under another name: one worker at a time
    kind = detect_kind(stored.path)
    previous = ctx.store.files_with_sha(stored.sha256)
    for row in previous:
        same_drop = row.inbox_path == rel and row.size == st.st_size and row.mtime_ns == st.st_mtime_ns
        if row.status is FileStatus.processing and row.inbox_path == rel:
            return _received(row.id, path, rel, stored.sha256, st, stored.path, kind, row.received_at)
        if same_drop and row.status is not FileStatus.duplicate:
            # Recorded before, but the inbox copy was not removed (crash after the commit).
            _remove_from_inbox(path)
            return Outcome(rel, stored.sha256, row.status, row.case_id,
                           tuple(ctx.store.findings_for_file(row.id)),
                           tuple(o.path for o in ctx.store.outputs_for_file(row.id)))
    first = next((r for r in previous if r.status not in (FileStatus.duplicate, FileStatus.processing)), None)
    # Not durable by itself: lost to a power cut, the file is still in the inbox and is received again.
    with ctx.store.begin(durable=first is not None) as tx:
        file_id = tx.add_file(sha256=stored.sha256, original_name=display_name(path.name), inbox_path=rel,
                              size=st.st_size,
                              mtime_ns=st.st_mtime_ns, kind=kind)
        if first is not None:
            message = (f"与 {first.received_at} 收到的“{first.original_name}”内容完全相同"
                       f"（{first.status.label}），不重复处理。")
            if first.status is FileStatus.rejected:
                message += "该文件此前已被退回，请按退回说明修改后再放入。"
            tx.finish_file(file_id, status=FileStatus.duplicate, case_id=first.case_id,
                           duplicate_of=first.id, message=message)
    if first is not None:
        _remove_from_inbox(path)
        finding = checks.warning(FindingCode.extraction_warning, "file", message)
        return Outcome(rel, stored.sha256, FileStatus.duplicate, first.case_id, (finding,), ())
    new_row = ctx.store.get_file(file_id)
    assert new_row is not None
    return _received(file_id, path, rel, stored.sha256, st, stored.path, kind, new_row.received_at)


def _received(file_id: int, path: Path, rel: str, sha: str, st: os.stat_result, stored: Path, kind: str,
              at: str) -> Received:
    return Received(file_id=file_id, source=path, rel=rel, name=display_name(path.name), sha256=sha,
                    size=st.st_size, mtime_ns=st.st_mtime_ns, kind=kind, stored=stored, received_at=at, copied=st)


# --- stage 2: plan the work in a job folder -----------------------------------------------------

def analyse(ctx: Context, received: Received) -> Analysed:
    """What the file is, read in the worker process (memory and time limits); refusals are raised.

    The analysis is a function of the content, name and kind alone, so the worker may have read this
    file already, from the copy ``_send_ahead`` made while the previous file was being committed; then
    the next file of the pass (``ctx.run.ahead``) is sent ahead in turn. Two cores work on a batch."""
    worker = ctx.run.worker
    if not isinstance(worker, AnalysisWorker):
        worker = ctx.run.worker = AnalysisWorker(ctx.settings)
    is_list = received.rel.split("/")[0] == LISTS_FOLDER
    key = (received.sha256, received.name, received.kind, is_list)
    try:
        if converted_elsewhere(ctx.settings, received.kind):  # role intake: LibreOffice on the converters
            analysed = analyse_converted(ctx, worker, received, is_list)
        elif worker.pending == key:
            analysed = worker.result()
        else:
            analysed = worker.analyse(AnalysisTask(received.stored, received.name, received.kind, is_list))
    finally:
        upcoming, ctx.run.ahead = ctx.run.ahead, None
        if upcoming is not None and upcoming.exists():
            _send_ahead(ctx, worker, upcoming)
    if analysed.refusal is not None:
        raise analysed.refusal.error()
    return analysed


def _send_ahead(ctx: Context, worker: AnalysisWorker, path: Path) -> None:
    """A private copy of the inbox file ``path`` to the worker, keyed as ``analyse`` will ask for it."""
    inbox = ctx.settings.inbox
    # One folder per worker process: workers on other machines share the data folder.
    ahead = process_folder(ctx.settings.jobs_dir, AHEAD)
    shutil.rmtree(ahead, ignore_errors=True)
    try:
        ahead.mkdir(parents=True)
        copy = ahead / "file"
        digest = hashlib.sha256()
        with path.open("rb") as src, copy.open("wb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
        kind = detect_kind(copy)
        is_list = path.relative_to(inbox).parts[0] == LISTS_FOLDER
    except (OSError, ValueError):
        return  # not readable now: it is analysed in its turn
    if converted_elsewhere(ctx.settings, kind):
        return  # its LibreOffice conversion is the converters' (role intake)
    name = display_name(path.name)
    worker.submit(AnalysisTask(copy, name, kind, is_list), (digest.hexdigest(), name, kind, is_list))


def plan_for(received: Received, analysed: Analysed, job: Path, ctx: Context) -> Plan:
    """The plan for what the analysis found."""
    if analysed.imported_list is not None:
        return plan_list_import(analysed.imported_list)
    if analysed.answers is not None:
        return plan_review_sheet(received, list(analysed.answers), ctx)
    if analysed.scan is not None and analysed.extraction is None:
        return plan_scan(received, job, ctx, analysed.scan)
    assert analysed.extraction is not None
    plan = plan_typed(received, analysed.extraction, job, ctx)
    if analysed.scan is not None:
        # A PDF with typed pages and scanned pages: the typed pages are the form, the scanned
        # pages its signed copy (or other forms, by their QR codes).
        scans = scanwork.plan_scans(analysed.scan, name=received.name, rel=received.rel, sha256=received.sha256,
                                    ctx=ctx, default_case=plan.case_id)
        plan = dataclasses.replace(plan, scans=tuple(scans))
    return plan


def plan_list_import(imported: lists.ImportedList) -> Plan:
    findings = tuple(checks.warning(FindingCode.extraction_warning, None, w) for w in imported.warnings)
    return Plan(status=FileStatus.accepted, findings=findings, form=f"list:{imported.kind.kind}",
                list_import=imported)


def plan_review_sheet(received: Received, answers: list[ReviewAnswer], ctx: Context) -> Plan:
    """A 待审核.xlsx dropped back with 确认 filled: apply the answers (idempotent, so a rerun after a
    crash records nothing twice); rows that could not be taken are reported."""
    result = review.apply_answers(ctx, answers, actor=f"inbox:{received.name}")
    findings = tuple(checks.warning(FindingCode.review_answer_rejected, None, message)
                     for _row, message in result.rejected)
    return Plan(status=FileStatus.accepted, findings=findings, form="review_sheet")


def plan_typed(received: Received, extraction: Extraction, job: Path, ctx: Context) -> Plan:
    if extraction.form == "site_record":
        return plan_site_record(received, extraction, job, ctx)
    if extraction.form == "penalty_decision":
        return plan_penalty_decision(received, extraction, job, ctx)
    return plan_check_table(received, extraction, job, ctx)


def plan_check_table(received: Received, extraction: Extraction, job: Path, ctx: Context) -> Plan:
    """Errors return the file; otherwise it joins its case, whose state the evaluation decides."""
    found, ref_findings = find_case_for(extraction, ctx)
    electronic = scanwork.electronic_scan(extraction.evidence)  # 电子签章 in the boxes' cells
    case_facts = facts.facts_for(ctx, extraction.fields, found,
                                 boxes=scanwork.box_rows(electronic, received.name) if electronic else ())
    evaluation = evaluate(case_facts)
    findings = [*evaluation.findings, *ref_findings,
                *(checks.warning(FindingCode.extraction_warning, None, w) for w in extraction.warnings)]
    if any(f.severity == Severity.error.value for f in findings):
        return plan_rejection(received, job, findings, extraction)
    state = facts.state_of(evaluation, case_facts.targeted)
    waiting = state in (CaseStatus.incomplete, CaseStatus.review)
    case_id = found or new_case_id(extraction, ctx)
    return Plan(status=FileStatus.waiting if waiting else FileStatus.accepted, findings=tuple(findings),
                form=extraction.form, extraction=extraction, case_id=case_id,
                case_is_new=found is None, case_status=CaseStatus.received,
                scans=(dataclasses.replace(electronic, case_id=case_id),) if electronic else ())


def plan_site_record(received: Received, extraction: Extraction, job: Path, ctx: Context) -> Plan:
    """A 现场检查笔录 joins the case of its unit and date (a new case waits for its check table)."""
    findings = rules.site_record_findings(extraction.fields)
    if not extraction.fields.get("inspected_unit"):
        findings.append(checks.error(FindingCode.field_missing, "inspected_unit",
                                     "现场检查笔录未填写“被检查单位”。请补填后重新放入。"))
    findings += [checks.warning(FindingCode.extraction_warning, None, w) for w in extraction.warnings]
    if any(f.severity == Severity.error.value for f in findings):
        return plan_rejection(received, job, findings, extraction)
    case_id, ref_findings = find_case_for(extraction, ctx)
    return Plan(status=FileStatus.accepted, findings=tuple(findings + ref_findings), form=extraction.form,
                extraction=extraction, case_id=case_id or new_case_id(extraction, ctx),
                case_is_new=case_id is None, case_status=CaseStatus.received)


def plan_scan(received: Received, job: Path, ctx: Context, analysis: ScanAnalysis) -> Plan:
    """A signed scan: each form in it joins its case with its box evidence, or waits in 待匹配."""
    scans = scanwork.plan_scans(analysis, name=received.name, rel=received.rel, sha256=received.sha256, ctx=ctx)
    findings = scanwork.scan_findings(scans, received.name)
    if not scans:
        findings.append(checks.warning(FindingCode.scan_pending, "file",
                                       f"扫描件“{received.name}”中没有找到可识别的检查表或现场检查笔录页面。"))
    waiting = not scans or any(s.case_id is None or s.form is None for s in scans)
    outputs: tuple[Output, ...] = ()
    if waiting:
        note = job / "scan.txt"
        note.write_text(notes.scan_note(received.name, received.received_at,
                                        *(f for f in findings if f.code == FindingCode.scan_pending.value)),
                        encoding="utf-8")
        outputs = (Output(note, scanwork.note_name(received.name), "scan_note"),)
    case_id = next((s.case_id for s in scans if s.case_id and s.form), None)
    return Plan(status=FileStatus.waiting if waiting else FileStatus.accepted, findings=tuple(findings),
                form="scan", case_id=case_id, scans=tuple(scans), outputs=outputs)


def plan_scan_pending(received: Received, job: Path, exc: InputFileError) -> Plan:
    """A scan the analysis could not take is kept (never returned): it waits in 待匹配."""
    finding = checks.warning(FindingCode.scan_pending, "file", exc.message)
    note = job / "scan.txt"
    note.write_text(notes.scan_note(received.name, received.received_at, finding), encoding="utf-8")
    return Plan(status=FileStatus.waiting, findings=(finding,), form="scan",
                outputs=(Output(note, scanwork.note_name(received.name), "scan_note", unique=True),))


def find_case_for(extraction: Extraction, ctx: Context) -> tuple[str | None, list[Finding]]:
    """The case a form belongs to: by its printed case number, else by unit and check date."""
    findings: list[Finding] = []
    if extraction.case_ref:
        if ctx.store.get_case(extraction.case_ref):
            return extraction.case_ref, findings
        findings.append(checks.warning(
            FindingCode.case_ref_unknown, None,
            f"表上的编号 {extraction.case_ref} 在本系统中不存在，已按被抽查单位和抽查日期归档。"))
    unit = extraction.fields.get("inspected_unit") or ""
    check_date = (extraction.fields.get("check_start") or "")[:10] or None
    existing = ctx.store.find_case(company_key(unit), check_date)
    return (existing.id if existing else None), findings


def new_case_id(extraction: Extraction, ctx: Context) -> str:
    check_date = (extraction.fields.get("check_start") or "")[:10]
    year = int(check_date[:4]) if check_date else int(now_iso()[:4])
    # Durable with the file's outcome (``commit``), which records the case; before it, nothing outside
    # the database holds the number but the job folder.
    with ctx.store.begin(durable=False) as tx:
        return tx.next_case_id(ctx.settings.case_prefix, year)


# --- stage 3: commit ----------------------------------------------------------------------------

def commit(received: Received, plan: Plan, ctx: Context) -> Outcome:
    outbox = ctx.settings.outbox
    published: list[OutputRow] = []
    taken: dict[str, Path] = {}
    for out in plan.outputs:
        dest = outbox / out.dest
        if out.unique:
            # A companion (``<original>.错误说明.txt``, ``.html``) follows the name chosen for its original.
            owner = next((d for d in taken if out.dest.startswith(d + ".")), None)
            if owner is not None:
                dest = taken[owner].with_name(taken[owner].name + out.dest.removeprefix(owner))
            else:
                dest = recovery.unique_path_for(dest, out.job_path)
            taken[out.dest] = dest
        sha = publish(out.job_path, dest)
        published.append(OutputRow(plan.case_id, received.file_id, out.kind,
                                   dest.relative_to(outbox).as_posix(), sha))
    with ctx.store.begin() as tx:
        if plan.case_id and plan.extraction:
            fields = plan.extraction.fields
            unit = fields.get("inspected_unit")
            # Only a check table defines the case's record; other forms join the case.
            record = fields if plan.extraction.form == "check_table" else None
            check_date = (fields.get("check_start") or "")[:10] or None
            if plan.case_is_new:
                tx.create_case(plan.case_id, unit_name=unit, unit_key=company_key(unit or ""),
                               check_date=check_date, status=plan.case_status or CaseStatus.received,
                               record=record)
            elif record is not None:
                tx.update_case(plan.case_id, unit_name=unit, unit_key=company_key(unit or ""),
                               check_date=check_date, status=plan.case_status, record=record)
            tx.log("case", plan.case_id, "file_attached", {"file": received.file_id, "name": received.name})
        if plan.extraction:
            tx.add_fields(received.file_id, plan.case_id, [
                (k, v, p.where if (p := plan.extraction.provenance.get(k)) else None,
                 p.confidence if p else None) for k, v in plan.extraction.fields.items()])
        tx.add_findings(received.file_id, plan.case_id, list(plan.findings))
        for row in published:
            tx.add_output(row)
        scanwork.record_scans(tx, received.file_id, plan.scans)
        if plan.list_import:
            tx.add_list_version(plan.list_import.kind.kind, received.file_id, plan.list_import.rows,
                                effective_from=plan.list_import.effective_from, source_name=received.name,
                                sha256=received.sha256)
        tx.finish_file(received.file_id, status=plan.status, form=plan.form, case_id=plan.case_id,
                       message="；".join(f.message for f in plan.findings) or None)
    if received.copied is None or unchanged_since(received.source, received.copied):
        _remove_from_inbox(received.source)
    # else: written again or replaced since it was copied; the new content is a new drop, taken next time.
    return Outcome(received.rel, received.sha256, plan.status, plan.case_id, plan.findings,
                   tuple(r.path for r in published))


def skipped_outcome(skipped: Skipped, ctx: Context) -> Outcome:
    """An inbox entry left where it is, as the pass reports it (with the note staff find in 退回)."""
    rel = display_name(skipped.path.relative_to(ctx.settings.inbox).as_posix())
    note = explain_skipped(skipped, ctx.settings)
    return Outcome(rel, "", skipped.status, None, (checks.warning(skipped.code, "file", skipped.message),),
                   (note,) if note else ())


def _remove_from_inbox(path: Path) -> None:
    # If removal fails (locked on a share), the next pass sees a recorded drop and retries.
    path.unlink(missing_ok=True)


# --- the pipeline ---------------------------------------------------------------------------------

def process_file(path: Path, ctx: Context) -> Outcome:
    """One file through the stages. Whatever goes wrong with this file is this file's outcome."""
    rel = path.relative_to(ctx.settings.inbox).as_posix()
    try:
        received = receive(path, ctx)
    except NotTaken as exc:
        return skipped_outcome(exc.skipped, ctx)
    except InputFileError as exc:
        # Not copied in (moved away, no read permission): it stays in the inbox and is tried again.
        return Outcome(rel, "", FileStatus.waiting, None, (checks.warning(
            FindingCode(exc.code) if exc.code in FindingCode._value2member_map_ else FindingCode.file_unreadable,
            "file", exc.message),))
    if isinstance(received, Outcome):
        return received
    job = ctx.settings.jobs_dir / str(received.file_id)
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    try:
        # The analysis (the slow part) runs beside the other workers'; what it leads to is decided and
        # recorded one worker at a time (case numbers, the case a form joins, its evaluation).
        analysed: Analysed | Exception
        try:
            if received.size > ctx.settings.max_file_mb * 1024 * 1024:
                raise InputFileError(
                    f"文件大小 {received.size / 1048576:.0f} MB，超过上限 {ctx.settings.max_file_mb} MB。"
                    "请确认放入的是检查表本身；扫描件请降低分辨率（200–300 dpi）后重新放入。",
                    code=FindingCode.file_too_large.value)
            analysed = analyse(ctx, received)
        except (StoreError, OutputError):
            raise  # the pass's trouble (database, outbox), not this file's
        except Exception as exc:
            analysed = exc
        typed = analysed.extraction if isinstance(analysed, Analysed) and analysed.scan is None else None
        with decision_lock(ctx, typed, refused=isinstance(analysed, InputFileError)):
            return _decide(received, analysed, job, ctx)
    finally:
        shutil.rmtree(job, ignore_errors=True)


def _decide(received: Received, analysed: Analysed | Exception, job: Path, ctx: Context) -> Outcome:
    """Plan what the analysis found, commit it, and evaluate the cases it touched."""
    try:
        if isinstance(analysed, Exception):
            raise analysed
        plan = plan_for(received, analysed, job, ctx)
    except InputFileError as exc:
        if exc.code == FindingCode.scan_pending.value:
            return commit(received, plan_scan_pending(received, job, exc), ctx)
        finding = checks.error(FindingCode(exc.code) if exc.code in FindingCode._value2member_map_
                               else FindingCode.file_unreadable, exc.field, exc.message)
        plan = plan_rejection(received, job, [finding])
    except (StoreError, OutputError):
        raise  # the pass's trouble (database, outbox), not this file's
    except Exception as exc:
        log.exception("planning %s failed", received.rel)
        plan = plan_rejection(received, job, [_internal_finding(exc)])
    outcome = commit(received, plan, ctx)
    if plan.status is not FileStatus.rejected:
        # After the commit, so that a crash here leaves a recorded file and a case that the next
        # pass evaluates again (reevaluate_open_cases).
        cases = dict.fromkeys([plan.case_id, *(s.case_id for s in plan.scans)])
        for case_id in (c for c in cases if c):
            done = casework.reevaluate_case(ctx, case_id)
            if done is not None:
                outcome = dataclasses.replace(outcome, outputs=outcome.outputs + done.outputs)
    return outcome


def _internal_finding(exc: BaseException) -> Finding:
    error = internal_error(f"{type(exc).__name__}: {exc}"[:200])
    return checks.error(FindingCode.internal_error, error.field, error.message)


def process_inbox(ctx: Context, on_outcome: Callable[[Outcome], None] | None = None,
                  paths: list[Path] | None = None) -> list[Outcome]:
    """One pass: lists first (so check tables in the same pass can use them), then everything else.

    Files provably whole (``pipeline.intake.whole``: a .docx or .xlsx whose every part checks) are
    taken at once; the others meanwhile wait out the rest of ``settle_seconds``."""
    public_forms.defer_pdfs(ctx)  # made in one batch by finish_pass below
    outcomes: list[Outcome] = []
    taken: list[Path] = []

    def take(batch: list[Path]) -> None:
        taken.extend(batch)
        for outcome in _process_paths(ctx, batch):
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)

    if paths is None:
        found = survey_inbox(ctx.settings.inbox)
        outcomes += [Outcome(display_name(p.relative_to(ctx.settings.inbox).as_posix()), "", FileStatus.ignored, None)
                     for p in found.ignored]
        outcomes += [skipped_outcome(s, ctx) for s in found.skipped]
        arrived = arrivals(found.candidates)
        # A list still settling comes before the check tables that may need it: then nothing goes early.
        if not any(_in_lists(ctx, p) for p in arrived.seen):
            take(arrived.whole)
            arrived.whole = []
        rest, busy = settle_rest(arrived, ctx.settings.settle_seconds, ctx.settings.empty_wait_seconds,
                                 since=arrived.since)
        outcomes += [skipped_outcome(still_writing(p).skipped, ctx) for p in busy]
        take([*arrived.whole, *rest])
    else:
        take(paths)
    _end_reading_ahead(ctx)
    # Archiving (LibreOffice for every original) only in a pass with nothing else to do: a batch's
    # 公示表 never waits for it. ``watch`` archives in its idle time (pipeline.archive.idle).
    finish_pass(ctx, archive=not taken)
    return outcomes


def _in_lists(ctx: Context, path: Path) -> bool:
    return path.relative_to(ctx.settings.inbox).parts[0] == LISTS_FOLDER


def _process_paths(ctx: Context, paths: list[Path]) -> Iterator[Outcome]:
    """Each file in turn; lists first, scans last (so that a scan finds the typed file dropped with it)."""
    inbox = ctx.settings.inbox
    paths = sorted(paths, key=lambda p: (not _in_lists(ctx, p), scanwork.looks_like_scan(p), str(p)))
    for n, path in enumerate(paths):
        if not path.exists():
            continue
        ctx.run.ahead = paths[n + 1] if n + 1 < len(paths) else None  # read ahead by the worker
        try:
            # Several workers on one database: the first to claim the file takes it; the others go on.
            claim(ctx, f"inbox:{path.relative_to(inbox).as_posix()}")
            outcome = process_file(path, ctx)
        except ClaimedElsewhere:
            continue
        except DatabaseUnavailableError:
            raise  # every file behind would wait out the busy timeout and fail alike: the pass stops
        except (StoreError, OutputError) as exc:
            # The file stays in the inbox (its row says processing) and is taken up again next pass.
            log.log(exc.log_level, "%s not finished: %s", path, exc)
            outcome = Outcome(path.relative_to(inbox).as_posix(), "", FileStatus.processing, None,
                              (checks.warning(FindingCode.internal_error, "file", f"{exc.message}本文件将在下一轮重新处理。"),))
        finally:
            release_all(ctx)  # recorded, or left for the next pass (its row says processing)
        yield outcome


def _end_reading_ahead(ctx: Context) -> None:
    """The read-ahead copy is not kept between passes (a file sent ahead and then left to another
    worker is collected first, so that the worker is not reading the copy as it goes)."""
    worker = ctx.run.worker
    if isinstance(worker, AnalysisWorker):
        worker.drop_pending()
    shutil.rmtree(process_folder(ctx.settings.jobs_dir, AHEAD), ignore_errors=True)


def finish_pass(ctx: Context, *, archive: bool = True) -> list[str]:
    """The end-of-pass steps, in this order; returns the outbox paths they wrote. ``archive`` says
    whether the last one, packaging finished cases, runs.

    A step that fails is logged and the next one runs: what it would have written is written on a
    later pass (a file open in Excel on the share, a LibreOffice that crashed).
    """
    outputs: list[str] = []
    steps: tuple[tuple[str, Callable[[Context], object]], ...] = (
        # A scan waiting in 待匹配 may match a case that arrived since.
        ("rematch scans", _rematch_scans),
        # Lists may have changed, and a crash may have left a recorded case unevaluated: evaluate every
        # undecided case once per pass (cheap; unchanged notes are not rewritten).
        ("re-evaluate open cases", casework.reevaluate_open_cases),
        ("待审核 sheet", _review_sheet),
        # The pass's 公示表 PDFs in one LibreOffice batch, then 公示表汇总.xlsx and the 网站公示 page.
        ("公示表 PDFs", public_forms.flush_pdfs),
        ("汇总 and website", summary.refresh_reports),
        # 行政处罚决定书 matched to cases that arrived since; the 双公示 export and a due 综合科 bundle.
        ("penalties", penalty_outputs),
        # Forms ready to print for every open case created or changed.
        ("forms to print", print_stale_forms),
        # Today's receipts: one line per dropped file and what became of it.
        ("receipts", write_receipts),
        # Last, so that packages include this pass's outputs: archival packages of finished cases.
        # Archiving moved cases to 已归档: 公示表汇总 says so too, as ``status`` does (rewritten only if changed).
        *((("archive", archive_ready_cases), ("汇总 after archiving", summary.refresh_reports)) if archive else ()),
    )
    # One worker at a time (several workers on one database); each step is idempotent, so the next
    # worker's run of it finds nothing left to do or redoes it with what has been recorded since.
    # A pass that archives also stands for one that does not, not the other way round.
    marks = (f"{PASS_MARK}:archive", PASS_MARK) if archive else (PASS_MARK,)
    with ctx.store.exclusive(CASES_LOCK):
        if ctx.store.shared and ctx.store.mark(marks[0]) == ctx.store.last_event_id():
            # Another worker's end of pass came after everything recorded since: nothing left to do.
            ctx.run.defer_pdfs = False
            return outputs
        for name, step in steps:
            try:
                result = step(ctx)
            except Exception:
                log.exception("end-of-pass step %s failed; it runs again next pass", name)
                continue
            if isinstance(result, list) and all(isinstance(r, str) for r in result):
                outputs += result
        if ctx.store.shared:
            last = ctx.store.last_event_id()
            for mark in marks:
                ctx.store.set_mark(mark, last)
    return outputs


def _rematch_scans(ctx: Context) -> None:
    for case_id in scanwork.rematch_unmatched(ctx):
        casework.reevaluate_case(ctx, case_id)


def _review_sheet(ctx: Context) -> None:
    sheet = ctx.settings.outbox / review.REVIEW_SHEET
    if sheet.exists() or ctx.store.questions():
        review.write_review_sheet(ctx.store, sheet)


def penalty_outputs(ctx: Context, today: date | None = None) -> list[str]:
    """Catch up the penalties table, then write the 双公示 export and a due 综合科 bundle."""
    penalty.sync_penalties(ctx)
    outputs: list[str] = []
    with contextlib.suppress(OSError, OutputError):
        outputs += export_pending(ctx, today=today).outputs
    with contextlib.suppress(OSError, OutputError):
        outputs += auto_bundle(ctx, today=today)
    return outputs


def open_context(settings: Settings) -> Context:

    for folder in (settings.inbox, settings.outbox, settings.data_dir):
        folder.mkdir(parents=True, exist_ok=True)
    return Context(settings, open_store(settings.db_url), OriginalsStore(settings.originals_dir))
