"""``shuangsui lists import FILE``: one list file from anywhere, taken as if dropped into ``inbox/名录库/``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipeline.cases import casework
from pipeline.cases.context import Context
from pipeline.cases.stage import Outcome, Plan, Received
from pipeline.core import checks
from pipeline.core.codes import FileStatus, FindingCode
from pipeline.core.errors import InputFileError
from pipeline.core.sniff import detect_kind
from pipeline.intake.claims import ClaimedElsewhere, claim, release_all
from pipeline.intake.process import LISTS_FOLDER, analyse, commit, plan_for
from pipeline.store.originals import Stored
from pipeline.store.sql import now_iso


def import_list_file(ctx: Context, path: Path) -> Outcome:
    """Import one list file from anywhere, as if dropped into ``inbox/名录库/``; the file is left as it is.

    The file goes into the originals store and gets a file row (``inbox_path`` ``名录库/<name>``); the
    same content imported before is recorded as a duplicate. A refused sheet is recorded as rejected
    with its reason (nothing is copied to 退回: the user has the file in hand). After a successful
    import the waiting cases are evaluated again.
    """

    if not path.is_file():
        raise InputFileError(f"找不到名录文件 {path}。请检查路径和文件名。")
    rel = f"{LISTS_FOLDER}/{path.name}"
    st = path.stat()
    stored = ctx.originals.put(path)
    try:
        # Claimed like a dropped file: a worker starting meanwhile leaves its job folder alone.
        claim(ctx, f"sha:{stored.sha256}")
    except ClaimedElsewhere:
        raise InputFileError(f"另一个处理进程正在处理内容相同的文件（{path.name}），请稍后再导入。") from None
    try:
        return _import(ctx, path, rel, st, stored)
    finally:
        release_all(ctx)


def _import(ctx: Context, path: Path, rel: str, st: os.stat_result, stored: Stored) -> Outcome:
    previous = ctx.store.files_with_sha(stored.sha256)
    resumed = next((r for r in previous if r.status is FileStatus.processing and r.inbox_path == rel), None)
    first = next((r for r in previous if r.status not in (FileStatus.duplicate, FileStatus.processing)), None)
    if resumed is not None:
        file_id, first = resumed.id, None
    else:
        with ctx.store.begin() as tx:
            file_id = tx.add_file(sha256=stored.sha256, original_name=path.name, inbox_path=rel, size=st.st_size,
                                  mtime_ns=st.st_mtime_ns, kind=detect_kind(stored.path))
            if first is not None:
                message = (f"与 {first.received_at} 收到的“{first.original_name}”内容完全相同"
                           f"（{first.status.label}），未导入新版本。")
                if first.status is FileStatus.rejected:
                    message += "该文件此前已被退回，请按退回说明修改后再导入。"
                tx.finish_file(file_id, status=FileStatus.duplicate, duplicate_of=first.id, message=message)
    if first is not None:
        finding = checks.warning(FindingCode.extraction_warning, "file", message)
        return Outcome(rel, stored.sha256, FileStatus.duplicate, None, (finding,), ())
    row = ctx.store.get_file(file_id)
    job = ctx.settings.jobs_dir / str(file_id)
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    try:
        # commit() removes the received file's "inbox copy": here a copy in the job folder, never `path`.
        copy = job / path.name
        shutil.copyfile(stored.path, copy)
        received = Received(
            file_id=file_id, source=copy, rel=rel, name=path.name, sha256=stored.sha256, size=st.st_size,
            mtime_ns=st.st_mtime_ns, kind=(row.kind or "") if row else "", stored=stored.path,
            received_at=row.received_at if row else now_iso())
        try:
            if st.st_size > ctx.settings.max_file_mb * 1024 * 1024:
                raise InputFileError(f"文件大小 {st.st_size / 1048576:.0f} MB，超过上限 {ctx.settings.max_file_mb} MB。"
                                     "请确认选择的是名录表格本身。", code=FindingCode.file_too_large.value)
            plan = plan_for(received, analyse(ctx, received), job, ctx)
        except InputFileError as exc:
            code = FindingCode(exc.code) if exc.code in FindingCode._value2member_map_ else FindingCode.file_unreadable
            plan = Plan(status=FileStatus.rejected, findings=(checks.error(code, exc.field, exc.message),))
        outcome = commit(received, plan, ctx)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    if outcome.status is FileStatus.accepted:
        casework.reevaluate_open_cases(ctx)
    return outcome


