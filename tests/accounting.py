"""After a crash and a restart: every input accounted for exactly once, in the database and the outbox.

Used by the crash-point tests (``test_crash_boundaries.py``) and the kill -9 tests
(``test_watch_and_crash.py``).
"""

from __future__ import annotations

import hashlib
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.settings import Settings
from pipeline.intake.process import open_context
from pipeline.store.outbox import PUBLIC_FORMS, RETURNED, WAITING
from tests.end_states import assert_published

NOTE_SUFFIXES = (".错误说明.txt", ".错误说明.html")


@dataclass(frozen=True)
class Expected:
    """One dropped file: its name in the inbox, its bytes and the status it must end in."""

    name: str
    data: bytes
    status: FileStatus

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_accounted(settings: Settings, expected: list[Expected]) -> None:
    """Each input recorded once with its status, its outputs in the outbox once, no temporary files
    left anywhere, the originals store complete and read-only, the inbox empty."""
    ctx = open_context(settings)
    try:
        rows = ctx.store.list_files()
        by_name: dict[str, list[FileStatus]] = {}
        for row in rows:
            by_name.setdefault(row.inbox_path, []).append(row.status)
        wrong = {e.name: by_name.get(e.name) for e in expected if by_name.get(e.name) != [e.status]}
        assert wrong == {}, "recorded status per input (one row each)"
        assert len(rows) == len(expected), "nothing recorded beyond the inputs"
        assert {r.inbox_path: r.sha256 for r in rows} == {e.name: e.sha256 for e in expected}

        cases = ctx.store.list_cases()
        published = [c for c in cases if c.status is CaseStatus.published]
        for case in published:
            assert_published(ctx, case.id)
        waiting = [c for c in cases if c.status is CaseStatus.incomplete]
        for case in waiting:
            notes = [o.path for o in ctx.store.outputs_for_case(case.id) if o.kind == "waiting_note"]
            assert notes and all((settings.outbox / n).is_file() for n in notes), (case.id, notes)
        assert len(published) + len(waiting) == len(cases), Counter(c.status for c in cases)
    finally:
        ctx.store.close()

    outbox = settings.outbox
    assert sorted(outbox.rglob("*.part")) == [], "no partial file left in the outbox"
    forms = sorted(p.name for p in (outbox / PUBLIC_FORMS).glob("*") if p.suffix in (".docx", ".pdf")) \
        if (outbox / PUBLIC_FORMS).is_dir() else []
    assert len(forms) == 2 * len(published), forms
    notes = sorted(p.name for p in (outbox / WAITING).glob("*.说明.txt")) if (outbox / WAITING).is_dir() else []
    # ``<case id>-<unit>.说明.txt``, the case id being ``SS-2026-00001``
    assert Counter("-".join(n.split("-", 3)[:3]) for n in notes) == Counter(c.id for c in waiting), \
        "one 待补充 note per waiting case"

    rejected = [e for e in expected if e.status is FileStatus.rejected]
    folder = outbox / RETURNED
    returned = [p for p in folder.iterdir() if not p.name.endswith(NOTE_SUFFIXES)] if folder.is_dir() else []
    assert sorted(p.name for p in returned) == sorted(e.name for e in rejected), "each rejected file returned once"
    assert {p.name: _sha(p) for p in returned} == {e.name: e.sha256 for e in rejected}, "byte for byte"
    notes_returned = sorted(p.name for p in folder.iterdir() if p.name.endswith(NOTE_SUFFIXES)) \
        if folder.is_dir() else []
    assert notes_returned == sorted(e.name + s for e in rejected for s in NOTE_SUFFIXES)

    originals = [p for p in settings.originals_dir.rglob("*") if p.is_file()]
    assert not [p for p in originals if p.name.startswith(".")], "no temporary copy in the originals store"
    assert sorted(p.name for p in originals) == sorted({e.sha256 for e in expected})
    writable = [p for p in originals if p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)]
    assert writable == [], "the originals store is read-only"

    left = sorted(p.relative_to(settings.inbox).as_posix() for p in settings.inbox.rglob("*") if p.is_file())
    assert left == [], "every input taken from the inbox"
