"""The stage types of a file's way through the pipeline: received, planned, published, reported.

``receive`` makes a ``Received``; a plan step turns it into a ``Plan`` (status, findings, the outputs
to publish from the job folder); ``commit`` publishes and records it and reports an ``Outcome``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.cases import lists, notes, scanwork
from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.models import Extraction, Finding
from pipeline.core.names import portable_name
from pipeline.rules.bureau import Evaluation
from pipeline.store.outbox import RETURNED


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
    copied: os.stat_result | None = None  # the inbox file as it was copied (removed only if unchanged)


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
    scans: tuple[scanwork.PlannedScan, ...] = ()


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


@dataclass(frozen=True)
class CaseOutcome:
    """What evaluating a case again decided, and the outputs it published."""

    case_id: str
    status: CaseStatus
    evaluation: Evaluation
    outputs: tuple[str, ...]


def plan_rejection(received: Received, job: Path, findings: list[Finding],
                   extraction: Extraction | None = None) -> Plan:
    note = job / "note.txt"
    note.write_text(notes.rejection_note(received.name, received.received_at, findings), encoding="utf-8")
    page = job / "note.html"
    page.write_text(notes.rejection_html(received.name, received.received_at, findings,
                                         extraction.fields if extraction else None), encoding="utf-8")
    returned = f"{RETURNED}/{portable_name(received.name)}"
    return Plan(
        status=FileStatus.rejected, findings=tuple(findings), extraction=extraction,
        form=extraction.form if extraction else None,
        outputs=(Output(received.stored, returned, "returned_original", unique=True),
                 Output(note, f"{returned}.错误说明.txt", "rejection_note", unique=True),
                 Output(page, f"{returned}.错误说明.html", "rejection_page", unique=True)),
    )
