"""Receipts: ``outbox/回执/<YYYY-MM-DD>.txt``, one line for every file dropped that day and what became of it.

A clerk who drops a file sees on the share, without asking anyone, whether it was accepted, returned,
a duplicate or is waiting, and which case it joined. The day's file is written again from the database
at the end of each pass, so that it is complete after a crash and never holds a line twice.
"""

from __future__ import annotations

import hashlib
from datetime import date

from pipeline.cases.context import Context
from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.store.base import FileRow
from pipeline.store.outbox import RECEIPTS, publish

HEADER = "收件回执（{day}）：每个放入收件箱的文件一行。退回的文件见 发件箱/退回/ 中同名的错误说明。\n\n"
# The case states in which a file's 待补充 note still says what the case waits for.
WAITING_STATES = (CaseStatus.received, CaseStatus.incomplete, CaseStatus.review)
NOTE_CHARS = 120  # a line stays readable; the full reason is in the 错误说明 and on the office page


def receipt_line(row: FileRow, case_status: CaseStatus | None = None) -> str:
    """One file's line; ``case_status`` is its case's state now, printed beside the case number.

    A file that made its case wait says what was missing; once the case has moved on (the scan came
    later in the same pass, say) that note is stale and would send the clerk after something done, so
    it is left out and the case's state tells where things are.
    """
    at = row.received_at[11:16]
    line = f"{at}  {row.original_name}  → {row.status.label}"
    if row.case_id:
        line += f"  案卷 {row.case_id}" + (f"（现{case_status.label}）" if case_status else "")
    stale = row.status is FileStatus.waiting and case_status is not None and case_status not in WAITING_STATES
    if row.message and not stale and row.status in (FileStatus.rejected, FileStatus.waiting, FileStatus.duplicate):
        note = row.message if len(row.message) <= NOTE_CHARS else row.message[:NOTE_CHARS] + "…"
        line += f"  （{note}）"
    return line.replace("\n", " ")


def write_receipts(ctx: Context, day: date | None = None) -> list[str]:
    """Write the receipt file of ``day`` (default today) when its content changed; returns its outbox path."""
    stamp = (day or date.today()).isoformat()
    rows = [r for r in ctx.store.list_files()
            if r.received_at.startswith(stamp) and r.status is not FileStatus.processing]
    if not rows:
        return []
    cases = {c.id: c.status for c in ctx.store.list_cases()}
    text = HEADER.format(day=stamp) + "".join(
        receipt_line(r, cases.get(r.case_id) if r.case_id else None) + "\n" for r in rows)
    rel = f"{RECEIPTS}/{stamp}.txt"
    target = ctx.settings.outbox / rel
    data = text.encode("utf-8")
    if target.is_file() and hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest():
        return []
    staged = ctx.settings.jobs_dir / "receipts" / f"{stamp}.txt"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(data)
    publish(staged, target)
    staged.unlink()
    return [rel]
