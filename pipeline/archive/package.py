"""Building, recording and publishing a case's archival package.

Layout in the outbox: ``归档/<年度>/<档号>/`` (the bag) and ``归档/<年度>/<档号>.zip`` (the same bag
under one top folder). Everything is built in a job folder; the 件号 is taken in the transaction
that records the package (see ``registry``), and publishing into the outbox is the last step.

A case is packaged when it is 已公示 or 已移交, and moves to 已归档. It keeps its 档号 for good: when
something changes later (a new file, a new output, any new event of the case), the next pass builds
a new version of the same package, which replaces the previous one in the outbox (every version's
SHA-256 stays in the ``archives`` table). Packaging an unchanged case again gives the same bytes.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import __version__
from pipeline.archive import registry
from pipeline.archive.bag import validate, write_bag, zip_bag
from pipeline.archive.catalogue import (
    EVENT_LOG,
    Catalogue,
    entries_for,
    write_catalogue,
    write_description,
)
from pipeline.archive.collect import collect, events_jsonl
from pipeline.archive.fourchecks import FourChecks, run_checks
from pipeline.archive.merged import merged_name, write_merged
from pipeline.archive.model import ArchiveCode, Document, check_code_settings
from pipeline.archive.normalise import Converting, normalise
from pipeline.cases.context import Context
from pipeline.core.codes import CaseStatus
from pipeline.core.errors import BadArgsError, OutputError, PackageInvalidError, ShuangsuiError
from pipeline.documents.conversion_queue import QueueTimeout
from pipeline.store.originals import sha256_file
from pipeline.store.outbox import ARCHIVE, publish, publish_folder

READY = (CaseStatus.published, CaseStatus.handed_over)

log = logging.getLogger(__name__)

def _last_case_event(ctx: Context, case_id: str) -> int:
    return ctx.store.last_event_id("case", case_id)


@dataclass(frozen=True)
class PackageResult:
    case_id: str
    code: str = ""
    version: int = 0
    zip_path: str = ""              # relative to the outbox
    bag_path: str = ""
    sha256: str = ""
    changed: bool = False           # a new version was recorded
    checks: FourChecks | None = None
    error: str = ""                 # set when packaging failed (archive_ready_cases goes on)
    problems: tuple[str, ...] = field(default=())


class LazyConverter:
    """The LibreOffice converter for a run of packages, taken only when a file is not cached yet: the
    context's pool (warm profile, shared with the 公示表 PDFs)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._conv: Converting | None = None

    def __call__(self) -> Converting:
        if self._conv is None:
            self._conv = self.ctx.converter()
        return self._conv

    def close(self) -> None:
        """Nothing to close: the pool belongs to the context and outlives a run of packages."""


def package_case(ctx: Context, case_id: str, *, force: bool = False,
                 converter: LazyConverter | None = None) -> PackageResult:
    """Package ``case_id`` (已公示/已移交/已归档). An archived case without changes is left alone unless
    ``force``; its package is then built again (same bytes when nothing changed)."""
    case = ctx.store.get_case(case_id)
    if case is None:
        raise BadArgsError(f"案卷 {case_id} 不存在。请用 shuangsui status 查看案卷编号。")
    if case.status not in (*READY, CaseStatus.archived):
        raise BadArgsError(f"案卷 {case_id} 当前状态为“{case.status.label}”，公示（或移交）后才能归档。"
                           "公示后会自动归档，也可以届时再运行 shuangsui archive。")
    s = ctx.settings
    last = registry.latest(ctx.store, case_id)
    if last is not None and not force and not needs_packaging(ctx, case_id, last):
        return _result(last, changed=False)
    owned = converter is None
    conv = converter or LazyConverter(ctx)
    try:
        for _attempt in range(5):
            if last is not None:
                code = last.code
            else:
                check_code_settings(s.archive_fonds, s.archive_category, s.archive_retention, s.archive_org_code)
                year = int((case.check_date or case.created_at)[:4])
                code = ArchiveCode(s.archive_fonds, s.archive_category, year, s.archive_retention,
                                   s.archive_org_code,
                                   registry.next_item_no(ctx.store, s.archive_fonds, year, s.archive_retention,
                                                         s.archive_org_code))
            job = s.jobs_dir / f"archive-{case_id}"
            shutil.rmtree(job, ignore_errors=True)
            job.mkdir(parents=True)
            try:
                built = build(ctx, case_id, code, job, conv)
                rel_zip = f"{ARCHIVE}/{code.year}/{code}.zip"
                if last is not None and last.sha256 == built.sha256:
                    _publish(ctx, built, code)
                    registry.note_republished(ctx.store, case_id, code, rel_zip, last.version)
                    return _result(last, changed=False, checks=built.checks)
                try:
                    version = registry.record(ctx.store, case_id, code, rel_zip, built.sha256, built.last_event_id,
                                              new_number=last is None)
                except registry.NumberTaken:
                    continue
                _publish(ctx, built, code)
                registry.mark_published(ctx.store, case_id, version)
                return PackageResult(case_id, str(code), version, rel_zip, f"{ARCHIVE}/{code.year}/{code}",
                                     built.sha256, True, built.checks)
            finally:
                shutil.rmtree(job, ignore_errors=True)
        raise OutputError(f"案卷 {case_id} 的件号多次被同时运行的归档占用。请稍后重试 shuangsui archive {case_id}。")
    finally:
        if owned:
            conv.close()


def _result(row: registry.ArchiveRow, *, changed: bool, checks: FourChecks | None = None) -> PackageResult:
    return PackageResult(row.case_id, str(row.code), row.version, row.package_path,
                         row.package_path.removesuffix(".zip"), row.sha256, changed, checks)


def needs_packaging(ctx: Context, case_id: str, last: registry.ArchiveRow) -> bool:
    """Not published yet (a crash after recording it), its files gone from the outbox, or a change
    since (an event of the case not made by packaging)."""
    zip_path = ctx.settings.outbox / last.package_path
    if last.published_at is None or not zip_path.is_file() or not zip_path.with_suffix("").is_dir():
        return True
    return case_id in registry.changed_since_packaged(ctx.store)


@dataclass(frozen=True)
class Built:
    bag_dir: Path
    zip_path: Path
    sha256: str
    checks: FourChecks
    last_event_id: int


def build(ctx: Context, case_id: str, code: ArchiveCode, job: Path, converter: LazyConverter) -> Built:
    """Build the bag and its zip in ``job``. Raises ``PackageInvalidError`` when the bag does not
    validate or the 四性检测 fails (nothing is recorded or published then)."""
    s = ctx.settings
    last_event_id = registry.max_event_id(ctx.store)
    case = ctx.store.get_case(case_id)
    assert case is not None
    content = collect(ctx, case)
    docs = normalise(content.documents, s, converter)
    bag_dir = job / str(code)
    data = bag_dir / "data"
    data.mkdir(parents=True)
    for doc in docs:
        _copy(doc.source, data / doc.bag_path)
        if doc.pdf is not None and doc.pdf_bag_path and doc.pdf_bag_path != doc.bag_path:
            _copy(doc.pdf, data / doc.pdf_bag_path)
    merged = merged_name(str(code))
    write_merged(docs, data / merged, f"{code} {case.unit_name or ''}")
    (data / EVENT_LOG).write_text(events_jsonl(content.events), encoding="utf-8")
    record = case.record or {}
    cat = Catalogue(code=str(code), case_id=case.id, unit=case.unit_name or "", check_date=case.check_date or "",
                    methods=tuple(record.get("methods") or ()), merged=merged,
                    entries=entries_for(code, docs, content.categories, data))
    write_catalogue(data / "文件目录.XML", code, cat, s.bureau)
    write_description(data / "说明文件.TXT", code, cat, s.bureau, content.completed_on, len(content.events))
    checks = run_checks(data, cat, ctx, content.problems, building=True)
    if not checks.passed:
        raise PackageInvalidError(f"案卷 {case_id} 的四性检测未通过，未生成归档包：" + "；".join(checks.problems))
    checks.write(data)
    write_bag(bag_dir, bag_info(code, case.id, s.bureau, content.completed_on, docs))
    try:
        validate(bag_dir)
    except Exception as exc:  # bagit raises BagError and OSError subclasses alike
        raise PackageInvalidError(f"案卷 {case_id} 的归档包未通过 BagIt 校验：{exc}") from exc
    zip_path = job / f"{code}.zip"
    zip_bag(bag_dir, zip_path)
    return Built(bag_dir, zip_path, sha256_file(zip_path), checks, last_event_id)


def bag_info(code: ArchiveCode, case_id: str, bureau: str, completed_on: str,
             docs: tuple[Document, ...]) -> dict[str, str]:
    return {
        "Source-Organization": bureau,
        "External-Identifier": str(code),
        "External-Description": f"“双随机、一公开”抽查案卷 {case_id} 归档包（{len(docs)} 份文件）",
        "Bagging-Date": completed_on,
        "Bag-Software-Agent": f"shuangsui {__version__}",
        **code.bag_info(),
        "案卷编号": case_id,
    }


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(0o644)  # originals are read-only in the store; the bag copy must be replaceable


def _publish(ctx: Context, built: Built, code: ArchiveCode) -> None:
    """The bag folder first (through a hidden folder and a rename), then the zip (atomic)."""
    folder = ctx.settings.outbox / ARCHIVE / str(code.year)
    publish_folder(built.bag_dir, folder / str(code))
    publish(built.zip_path, folder / f"{code}.zip")


def due_cases(ctx: Context) -> list[str]:
    """The cases to package: ready (已公示/已移交) or archived and changed since, less those that failed
    and have not changed since (retried only after a change)."""
    if not ctx.settings.archive_auto:
        return []
    ready = [c.id for c in ctx.store.list_cases() if c.status in READY]
    return [c for c in dict.fromkeys([*ready, *registry.changed_since_packaged(ctx.store)])
            if ctx.run.archive_failed.get(c) != _last_case_event(ctx, c)]


def package_due(ctx: Context, case_id: str, converter: LazyConverter | None = None) -> PackageResult:
    """``package_case`` for the automatic runs: a failure is logged and returned, not raised."""
    try:
        result = package_case(ctx, case_id, force=True, converter=converter)
        ctx.run.archive_failed.pop(case_id, None)
        return result
    except QueueTimeout as exc:  # no converter now (role intake): tried again next time, changed or not
        log.warning("归档暂缓 %s：%s", case_id, exc.message)
        return PackageResult(case_id, error=exc.message)
    except (ShuangsuiError, OSError) as exc:
        # Not tried again in this process until the case changes; shuangsui archive shows why.
        ctx.run.archive_failed[case_id] = _last_case_event(ctx, case_id)
        log.warning("归档失败 %s：%s", case_id, exc)
        return PackageResult(case_id, error=str(exc))


def archive_ready_cases(ctx: Context) -> list[PackageResult]:
    """Package every case that is ready (已公示/已移交), and every archived case changed since its last
    package (the outbox is not scanned: ``shuangsui archive --force`` restores a package deleted
    there). A case that fails is reported in its result and tried again after it changes. Run by a
    pass that found nothing to do, and by ``watch`` in idle time (``pipeline.archive.idle``)."""
    converter = LazyConverter(ctx)
    try:
        case_ids = due_cases(ctx)
        prepare(ctx, case_ids, converter)
        return [package_due(ctx, case_id, converter) for case_id in case_ids]
    finally:
        converter.close()


def documents_of(ctx: Context, case_ids: list[str]) -> list[Document]:
    """The documents of ``case_ids`` to normalise (each once)."""
    docs: dict[str, Document] = {}
    for case_id in case_ids:
        case = ctx.store.get_case(case_id)
        if case is not None:
            with contextlib.suppress(ShuangsuiError, OSError):
                docs.update((d.sha256, d) for d in collect(ctx, case).documents)
    return list(docs.values())


def prepare(ctx: Context, case_ids: list[str], converter: LazyConverter) -> None:
    """Normalise the documents of all ``case_ids`` in one LibreOffice batch (a start of soffice costs
    seconds; one per case would dominate a pass). Failures are left for ``package_case`` to report."""
    docs = documents_of(ctx, case_ids)
    if docs:
        with contextlib.suppress(ShuangsuiError, OSError):
            normalise(docs, ctx.settings, converter)
