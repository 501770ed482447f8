"""The pipeline: one short ``process_file()`` calling plain stages top to bottom.

Order of effects, chosen so that a crash at any point leaves the file either still in the inbox
or fully recorded: (1) the file is copied into the originals store and registered as ``processing``;
(2) all work happens in a job folder; (3) outputs are published into the outbox (idempotent names);
(4) one transaction records the outcome; (5) only then the inbox copy is removed. A rerun resumes a
``processing`` file, and finishes the removal of a file whose outcome is already recorded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import checks, lists, notes
from pipeline.codes import CaseStatus, FileStatus, FindingCode
from pipeline.errors import InputFileError
from pipeline.extract import detect_kind, extract_file
from pipeline.extract.normalize import company_key
from pipeline.intake import scan_inbox, settled
from pipeline.models import Extraction, Finding
from pipeline.originals import OriginalsStore
from pipeline.outbox import PUBLIC_FORMS, RETURNED, WAITING, publish, safe_filename, unique_path
from pipeline.render import public_form_context, render_public_form
from pipeline.result import derive_result
from pipeline.settings import Settings
from pipeline.store import OutputRow, Store
from pipeline.store.sql import now_iso

LISTS_FOLDER = "名录库"


@dataclass(frozen=True)
class Context:
    settings: Settings
    store: Store
    originals: OriginalsStore


@dataclass(frozen=True)
class Received:
    file_id: int
    source: Path
    rel: str
    name: str
    sha256: str
    size: int
    mtime_ns: int
    kind: str
    stored: Path
    received_at: str


@dataclass(frozen=True)
class Output:
    job_path: Path
    dest: str  # relative to the outbox
    kind: str
    unique: bool = False  # find a free name instead of replacing (退回 keeps every returned file)


@dataclass(frozen=True)
class Plan:
    status: FileStatus
    findings: tuple[Finding, ...] = ()
    form: str | None = None
    extraction: Extraction | None = None
    case_id: str | None = None
    case_is_new: bool = False
    case_status: CaseStatus | None = None
    outputs: tuple[Output, ...] = ()
    list_import: lists.ImportedList | None = None


@dataclass(frozen=True)
class Outcome:
    name: str
    sha256: str
    status: FileStatus
    case: str | None
    findings: tuple[Finding, ...] = ()
    outputs: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "sha256": self.sha256, "status": self.status.value, "case": self.case,
                "findings": [f.as_json() for f in self.findings], "outputs": list(self.outputs)}


# --- stage 1: receive ---------------------------------------------------------------------------

def receive(path: Path, ctx: Context) -> Received | Outcome:
    """Store the original; detect a duplicate, a replay of a recorded outcome, or a crashed run."""
    inbox = ctx.settings.inbox
    rel = path.relative_to(inbox).as_posix()
    st = path.stat()
    stored = ctx.originals.put(path)
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
    with ctx.store.begin() as tx:
        file_id = tx.add_file(sha256=stored.sha256, original_name=path.name, inbox_path=rel, size=st.st_size,
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
    return Received(file_id=file_id, source=path, rel=rel, name=path.name, sha256=sha, size=st.st_size,
                    mtime_ns=st.st_mtime_ns, kind=kind, stored=stored, received_at=at)


# --- stage 2: plan the work in a job folder -----------------------------------------------------

def plan_list_import(received: Received) -> Plan:
    imported = lists.read_list(received.stored, display_name=received.name)
    return Plan(status=FileStatus.accepted, form=f"list:{imported.kind.kind}", list_import=imported)


def plan_document(received: Received, job: Path, ctx: Context) -> Plan:
    extraction = extract_file(received.stored, display_name=received.name)
    if extraction.form == "site_record":
        return plan_site_record(extraction, ctx)
    return plan_check_table(received, extraction, job, ctx)


def plan_check_table(received: Received, extraction: Extraction, job: Path, ctx: Context) -> Plan:
    findings = checks.check_record(extraction)
    if checks.has_errors(findings):
        return plan_rejection(received, job, findings, extraction)
    case_id, is_new, ref_findings = resolve_case(extraction, ctx)
    findings += ref_findings
    pub_findings, outputs = plan_public_form(extraction.fields, case_id, job, ctx)
    findings += pub_findings
    if pub_findings:
        note = job / "waiting.txt"
        note.write_text(notes.waiting_note(received.name, case_id, pub_findings), encoding="utf-8")
        unit = safe_filename(extraction.fields.get("inspected_unit") or received.name)
        outputs = (Output(note, f"{WAITING}/{case_id}-{unit}.说明.txt", "waiting_note"),)
    return Plan(
        status=FileStatus.waiting if pub_findings else FileStatus.accepted,
        findings=tuple(findings), form=extraction.form, extraction=extraction, case_id=case_id,
        case_is_new=is_new, case_status=CaseStatus.incomplete if pub_findings else CaseStatus.publishable,
        outputs=outputs,
    )


def plan_site_record(extraction: Extraction, ctx: Context) -> Plan:
    """A 现场检查笔录 joins the case of its unit and date (a new case waits for its check table)."""
    if not extraction.fields.get("inspected_unit"):
        raise InputFileError("现场检查笔录未填写“被检查单位”。请补填后重新放入。", field="inspected_unit",
                             code=FindingCode.field_missing.value)
    case_id, is_new, findings = resolve_case(extraction, ctx)
    findings += [checks.warning(FindingCode.extraction_warning, None, w) for w in extraction.warnings]
    return Plan(status=FileStatus.accepted, findings=tuple(findings), form=extraction.form,
                extraction=extraction, case_id=case_id, case_is_new=is_new,
                case_status=CaseStatus.received if is_new else None)


def plan_scan_pending(received: Received, job: Path, exc: InputFileError) -> Plan:
    """An image-only file is kept (never returned): it waits to be matched with its case."""
    finding = checks.warning(FindingCode.scan_pending, "file", exc.message)
    note = job / "scan.txt"
    note.write_text(notes.scan_note(received.name, received.received_at, finding), encoding="utf-8")
    return Plan(status=FileStatus.waiting, findings=(finding,), form="scan",
                outputs=(Output(note, f"{WAITING}/{received.name}.说明.txt", "scan_note", unique=True),))


def plan_rejection(received: Received, job: Path, findings: list[Finding],
                   extraction: Extraction | None = None) -> Plan:
    note = job / "note.txt"
    note.write_text(notes.rejection_note(received.name, received.received_at, findings), encoding="utf-8")
    return Plan(
        status=FileStatus.rejected, findings=tuple(findings), extraction=extraction,
        form=extraction.form if extraction else None,
        outputs=(Output(received.stored, f"{RETURNED}/{received.name}", "returned_original", unique=True),
                 Output(note, f"{RETURNED}/{received.name}.错误说明.txt", "rejection_note", unique=True)),
    )


def resolve_case(extraction: Extraction, ctx: Context) -> tuple[str, bool, list[Finding]]:
    """The case a check table belongs to: by its printed case number, else by unit and check date."""
    findings: list[Finding] = []
    if extraction.case_ref:
        if ctx.store.get_case(extraction.case_ref):
            return extraction.case_ref, False, findings
        findings.append(checks.warning(
            FindingCode.case_ref_unknown, None,
            f"表上的编号 {extraction.case_ref} 在本系统中不存在，已按被抽查单位和抽查日期归档。"))
    unit = extraction.fields.get("inspected_unit") or ""
    check_date = (extraction.fields.get("check_start") or "")[:10] or None
    existing = ctx.store.find_case(company_key(unit), check_date)
    if existing:
        return existing.id, False, findings
    year = int(check_date[:4]) if check_date else int(now_iso()[:4])
    with ctx.store.begin() as tx:
        return tx.next_case_id(ctx.settings.case_prefix, year), True, findings


def plan_public_form(fields: dict, case_id: str, job: Path,
                     ctx: Context) -> tuple[list[Finding], tuple[Output, ...]]:
    """Render the 公示表 when everything it needs is known; else say what is missing."""
    unit = fields.get("inspected_unit") or ""
    check_date = (fields.get("check_start") or "")[:10] or None
    pub = lists.lookup_publication(ctx.store, unit, check_date, default_task=ctx.settings.default_task_name,
                                   default_type=ctx.settings.default_check_type)
    result = derive_result(fields.get("situation"), fields.get("handling"))
    missing: list[Finding] = []
    if not pub.uscc:
        missing.append(checks.warning(FindingCode.uscc_missing, "uscc",
                                      f"检查对象名录库中没有“{unit}”，无法填写公示表的统一社会信用代码。"))
    if not pub.task_name or not pub.check_type:
        missing.append(checks.warning(FindingCode.task_missing, "task_name",
                                      f"抽查任务表中没有“{unit}”在 {check_date} 所属的抽查任务，"
                                      "无法填写抽查任务名称和抽查检查类型。"))
    if result is None:
        missing.append(checks.warning(FindingCode.result_undecided, "situation",
                                      "无法从“抽查情况”和“处理意见和建议”判断检查抽查结果"
                                      "（如“未发现问题”“发现问题已责令改正”），请人工确认。"))
    if missing:
        return missing, ()
    context = public_form_context(
        unit_name=unit, uscc=pub.uscc, authority=ctx.settings.bureau, task_name=pub.task_name,
        check_date=_cn_date_range(fields.get("check_start"), fields.get("check_end")),
        check_type=pub.check_type, result=result)
    out = job / "public_form.docx"
    render_public_form(context, out, template_dir=ctx.settings.templates_dir)
    name = safe_filename(f"{unit}-{check_date}") + ".docx"
    return [], (Output(out, f"{PUBLIC_FORMS}/{name}", "public_form_docx"),)


def _cn_date_range(start: str | None, end: str | None) -> str:
    def cn(d: str) -> str:
        return f"{int(d[:4])}年{int(d[5:7])}月{int(d[8:10])}日"
    if not start:
        return ""
    if end and end[:10] != start[:10]:
        return f"{cn(start)}至{cn(end)}"
    return cn(start)


# --- stage 3: commit ----------------------------------------------------------------------------

def commit(received: Received, plan: Plan, ctx: Context) -> Outcome:
    outbox = ctx.settings.outbox
    published: list[OutputRow] = []
    taken: dict[str, Path] = {}
    for out in plan.outputs:
        dest = outbox / out.dest
        if out.unique:
            # The note follows the name chosen for the returned original.
            base = taken.get(out.dest.removesuffix(".错误说明.txt"))
            dest = base.with_name(base.name + ".错误说明.txt") if base else unique_path(dest)
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
                (k, v, p.location if (p := plan.extraction.provenance.get(k)) else None,
                 p.confidence if p else None) for k, v in plan.extraction.fields.items()])
        tx.add_findings(received.file_id, plan.case_id, list(plan.findings))
        for row in published:
            tx.add_output(row)
        if plan.list_import:
            tx.add_list_version(plan.list_import.kind.kind, received.file_id, plan.list_import.rows)
        tx.finish_file(received.file_id, status=plan.status, form=plan.form, case_id=plan.case_id,
                       message="；".join(f.message for f in plan.findings) or None)
    _remove_from_inbox(received.source)
    return Outcome(received.rel, received.sha256, plan.status, plan.case_id, plan.findings,
                   tuple(r.path for r in published))


def _remove_from_inbox(path: Path) -> None:
    # If removal fails (locked on a share), the next pass sees a recorded drop and retries.
    path.unlink(missing_ok=True)


# --- the pipeline ---------------------------------------------------------------------------------

def process_file(path: Path, ctx: Context) -> Outcome:
    received = receive(path, ctx)
    if isinstance(received, Outcome):
        return received
    job = ctx.settings.jobs_dir / str(received.file_id)
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    try:
        try:
            if received.size > ctx.settings.max_file_mb * 1024 * 1024:
                raise InputFileError(
                    f"文件大小 {received.size / 1048576:.0f} MB，超过上限 {ctx.settings.max_file_mb} MB。"
                    "请确认放入的是检查表本身；扫描件请降低分辨率（200–300 dpi）后重新放入。",
                    code=FindingCode.file_too_large.value)
            if received.rel.split("/")[0] == LISTS_FOLDER:
                plan = plan_list_import(received)
            else:
                plan = plan_document(received, job, ctx)
        except InputFileError as exc:
            if exc.code == FindingCode.scan_pending.value:
                return commit(received, plan_scan_pending(received, job, exc), ctx)
            finding = checks.error(FindingCode(exc.code) if exc.code in FindingCode._value2member_map_
                                   else FindingCode.file_unreadable, exc.field, exc.message)
            plan = plan_rejection(received, job, [finding])
        return commit(received, plan, ctx)
    finally:
        shutil.rmtree(job, ignore_errors=True)


def refresh_waiting_cases(ctx: Context) -> list[str]:
    """After a list changed: publish every waiting case whose missing data is now known."""
    done = []
    for case in ctx.store.list_cases():
        if case.status is not CaseStatus.incomplete or not case.record:
            continue
        job = ctx.settings.jobs_dir / f"case-{case.id}"
        shutil.rmtree(job, ignore_errors=True)
        job.mkdir(parents=True)
        try:
            missing, outputs = plan_public_form(case.record, case.id, job, ctx)
            if missing:
                continue
            rows = [OutputRow(case.id, None, o.kind, o.dest, publish(o.job_path, ctx.settings.outbox / o.dest))
                    for o in outputs]
            with ctx.store.begin() as tx:
                for row in rows:
                    tx.add_output(row)
                tx.update_case(case.id, status=CaseStatus.publishable)
                tx.log("case", case.id, "completed_from_lists")
            done.append(case.id)
        finally:
            shutil.rmtree(job, ignore_errors=True)
    return done


def process_inbox(ctx: Context, on_outcome: Callable[[Outcome], None] | None = None,
                  paths: list[Path] | None = None) -> list[Outcome]:
    """One pass: lists first (so check tables in the same pass can use them), then everything else."""
    if paths is None:
        candidates, ignored = scan_inbox(ctx.settings.inbox)
        paths, _busy = settled(candidates, ctx.settings.settle_seconds)
    else:
        ignored = []
    inbox = ctx.settings.inbox
    paths = sorted(paths, key=lambda p: (p.relative_to(inbox).parts[0] != LISTS_FOLDER, str(p)))
    outcomes: list[Outcome] = [Outcome(p.relative_to(inbox).as_posix(), "", FileStatus.ignored, None)
                               for p in ignored]
    lists_changed = False
    for path in paths:
        if not path.exists():
            continue
        outcome = process_file(path, ctx)
        lists_changed |= outcome.status is FileStatus.accepted and outcome.name.startswith(LISTS_FOLDER + "/")
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    if lists_changed:
        refresh_waiting_cases(ctx)
    return outcomes


def open_context(settings: Settings) -> Context:
    from pipeline.store import open_store

    for folder in (settings.inbox, settings.outbox, settings.data_dir):
        folder.mkdir(parents=True, exist_ok=True)
    return Context(settings, open_store(settings.db_url), OriginalsStore(settings.originals_dir))
