"""Telling staff about inbox entries that are not taken: a link, a FIFO, a device, a file we may not read.

Such an entry stays where it is (never moved, never deleted). Besides the pass's report, a short note
``退回/<名称>.未处理说明.txt`` says what it is and what to do, because staff look at the outbox, not at
the console. The note has no time stamp and is rewritten only when its text changes, so a watcher that
meets the same entry on every scan writes it once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pipeline.core.codes import FileStatus
from pipeline.core.names import visible_name
from pipeline.core.settings import Settings
from pipeline.intake.entries import Skipped
from pipeline.store.outbox import RETURNED, publish, safe_filename

SKIPPED_NOTE_SUFFIX = ".未处理说明.txt"


def skipped_note(rel: str, skipped: Skipped) -> str:
    return "\n".join([
        f"收件箱中的项目：{visible_name(rel)}",
        "处理结果：未处理。它仍留在收件箱中，系统没有移动、修改或删除它。",
        "",
        f"原因：{skipped.message}（代码 {skipped.code.value}）",
        "",
    ])


def note_path(rel: str) -> str:
    """The note's place in the outbox; one per inbox entry name."""
    return f"{RETURNED}/{safe_filename(Path(rel).name)}{SKIPPED_NOTE_SUFFIX}"


def explain_skipped(skipped: Skipped, settings: Settings) -> str | None:
    """Write (or keep) the note for ``skipped``; its outbox path, or None for a file still being written."""
    if skipped.status is FileStatus.busy:
        return None  # taken as soon as it is whole: nothing for staff to do
    rel = skipped.path.relative_to(settings.inbox).as_posix()
    dest_rel = note_path(rel)
    dest = settings.outbox / dest_rel
    text = skipped_note(rel, skipped)
    try:
        if dest.read_text(encoding="utf-8") == text:
            return dest_rel
    except (OSError, UnicodeDecodeError):
        pass
    with tempfile.TemporaryDirectory(prefix="shuangsui-note-", dir=settings.data_dir) as tmp:
        draft = Path(tmp) / "note.txt"
        draft.write_text(text, encoding="utf-8")
        publish(draft, dest)
    return dest_rel
