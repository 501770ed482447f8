"""The store interface: what the pipeline records, independent of the database behind it.

``SqlStore`` (SQLAlchemy Core) implements it on SQLite (the default) and PostgreSQL, each with its own
migrations folder. All writes happen inside ``store.begin()`` so that one outcome is recorded
whole or not at all. Every method a caller outside ``pipeline.store`` uses is declared here, with
its rows as the frozen dataclasses below: callers never see SQL, connections or driver rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.evidence import ScanBoxRow
from pipeline.core.models import Finding as FindingRow


@dataclass(frozen=True)
class FileRow:
    id: int
    sha256: str
    original_name: str
    inbox_path: str
    size: int
    mtime_ns: int
    received_at: str
    kind: str | None
    form: str | None
    status: FileStatus
    case_id: str | None
    duplicate_of: int | None
    message: str | None


@dataclass(frozen=True)
class CaseRow:
    id: str
    unit_name: str | None
    unit_key: str | None
    check_date: str | None
    status: CaseStatus
    record: dict[str, Any] | None
    created_at: str
    updated_at: str
    # The latest evaluation (migration 0004): penalty flag, due dates, findings; staff's overrides.
    penalty: bool = False
    due_lower_half: str | None = None
    due_publish: str | None = None
    due_penalty: str | None = None
    due_certain: bool = True
    findings: list[dict[str, Any]] | None = None
    overrides: dict[str, Any] | None = None


@dataclass(frozen=True)
class OutputRow:
    case_id: str | None
    file_id: int | None
    kind: str
    path: str
    sha256: str
    # Set on rows read back (not compared: a row to add has neither).
    id: int | None = field(default=None, compare=False)
    created_at: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class EventRow:
    id: int
    at: str
    actor: str
    entity: str
    entity_id: str
    action: str
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class ListVersionRow:
    """One imported version of a list; ``effective_from`` (YYYY-MM-DD) is when it comes into force."""

    id: int
    kind: str
    file_id: int | None
    imported_at: str
    row_count: int
    effective_from: str
    source_name: str | None
    sha256: str | None


@dataclass(frozen=True)
class Question:
    """A question for a person (待审核), per case and key (migration 0004)."""

    id: int
    case_id: str
    key: str
    code: str
    field: str | None
    prompt: str
    found: str | None
    options: tuple[str, ...]
    answer: str | None
    answered_by: str | None
    answered_at: str | None
    status: str


@dataclass(frozen=True)
class Ask:
    """A question an evaluation wants asked."""

    key: str
    code: str
    field: str | None
    prompt: str
    found: str | None
    options: tuple[str, ...]


@dataclass(frozen=True)
class PenaltyRow:
    """One received 行政处罚决定书 (a row of ``penalties``, migration 0006) with its fields."""

    id: int
    file_id: int
    case_id: str | None
    decision_no: str | None
    party_name: str | None
    uscc: str | None
    fields: dict[str, Any]
    decision_date: str | None
    due_date: str | None
    due_certain: bool
    exported_at: str | None
    bundled_at: str | None


@dataclass(frozen=True)
class ScanDocumentRow:
    """One printed form inside a scan file (``scan_documents``, migration 0005)."""

    id: int
    file_id: int
    seq: int
    case_id: str | None
    form: str | None
    pages: tuple[int, ...]
    qr_case: str | None
    matched_by: str | None
    hints: dict[str, str]


@dataclass(frozen=True)
class NewScanBox:
    """A box's evidence to record with its scan document."""

    box: str
    present: bool | None
    score: float
    page: int
    bbox: tuple[int, int, int, int] | None
    crop: str | None


@dataclass(frozen=True)
class ArchiveRecord:
    """One version of a case's archival package (``archives``, migration 0007); ``archive_code`` is
    the 档号 as text, its parts are the columns beside it."""

    case_id: str
    archive_code: str
    fonds: str
    category: str
    year: int
    retention: str
    org_code: str
    item_no: int
    version: int
    package_path: str
    sha256: str
    last_event_id: int
    created_at: str
    published_at: str | None


@dataclass(frozen=True)
class NewConversion:
    """A file to convert through the queue (``conversions``, migration 0009): ``source`` relative to the
    queue folder, ``target`` the soffice ``--convert-to`` argument."""

    batch: str
    source: str
    target: str
    infilter: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class ConversionJob:
    """One queued conversion; ``state`` is queued, running, done or failed."""

    id: int
    batch: str
    source: str
    target: str
    infilter: str | None
    output: str | None
    state: str
    owner: str | None
    lease_until: float
    attempts: int
    error: str | None
    key: str | None
    created_at: str


class StoreTx(Protocol):
    """Operations available inside one transaction."""

    # --- files, cases, fields, findings, outputs, events, lists
    def add_file(self, *, sha256: str, original_name: str, inbox_path: str, size: int, mtime_ns: int,
                 kind: str | None) -> int: ...
    def finish_file(self, file_id: int, *, status: FileStatus, form: str | None = None,
                    case_id: str | None = None, duplicate_of: int | None = None,
                    message: str | None = None) -> None: ...
    def next_case_id(self, prefix: str, year: int) -> str: ...
    def create_case(self, case_id: str, *, unit_name: str | None, unit_key: str | None,
                    check_date: str | None, status: CaseStatus, record: dict[str, Any] | None) -> None: ...
    def update_case(self, case_id: str, *, status: CaseStatus | None = None,
                    record: dict[str, Any] | None = None, unit_name: str | None = None,
                    unit_key: str | None = None, check_date: str | None = None) -> None: ...
    def case_status(self, case_id: str) -> CaseStatus | None:
        """The case's state as this transaction sees it (``None``: no such case)."""
        ...
    def set_case_evaluation(self, case_id: str, *, penalty: bool, due_lower_half: str | None,
                            due_publish: str | None, due_certain: bool,
                            findings: list[dict[str, Any]]) -> None:
        """Record the latest evaluation: penalty flag, due dates, findings (not logged: the state is)."""
        ...
    def set_case_findings(self, case_id: str, findings: list[dict[str, Any]]) -> None: ...
    def drop_case_findings(self, case_id: str, code: str) -> None:
        """Remove the case's current findings with ``code`` (read and written in this transaction)."""
        ...
    def merge_case_overrides(self, case_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the case's overrides; returns the merged overrides (not logged)."""
        ...
    def set_case_due_penalty(self, case_id: str, due: str | None) -> None: ...
    def add_fields(self, file_id: int, case_id: str | None,
                   rows: list[tuple[str, Any, str | None, float | None]]) -> None: ...
    def add_findings(self, file_id: int | None, case_id: str | None, findings: list[FindingRow]) -> None: ...
    def add_output(self, row: OutputRow) -> None: ...
    def log(self, entity: str, entity_id: str, action: str, detail: dict[str, Any] | None = None,
            actor: str = "pipeline") -> None: ...
    def add_list_version(self, kind: str, file_id: int | None, rows: list[tuple[int, dict[str, Any]]], *,
                         effective_from: date | str | None = None, source_name: str | None = None,
                         sha256: str | None = None) -> int:
        """Store a new version; ``effective_from`` defaults to the import date, the name and SHA-256
        to those of the file row."""
        ...

    # --- questions (待审核)
    def sync_questions(self, case_id: str, asks: list[Ask]) -> None:
        """Open or update the questions ``asks``; withdraw open ones no longer asked."""
        ...
    def answer_question(self, question_id: int, answer: str, actor: str) -> Question:
        """Record an answer (one of the options: else ``ValueError``; no such question: ``KeyError``)."""
        ...
    def withdraw_questions(self, key: str) -> None:
        """Withdraw the open questions with ``key`` on any case (their subject was settled elsewhere)."""
        ...

    # --- penalties (行政处罚决定书)
    def add_penalty(self, file_id: int, case_id: str | None, fields: dict[str, Any]) -> None: ...
    def attach_penalty(self, penalty: PenaltyRow, case_id: str) -> None:
        """Join a waiting decision to ``case_id``: its row, its file and the file's fields (logged)."""
        ...
    def set_penalty_due(self, penalty_id: int, due: str | None, certain: bool) -> None: ...
    def mark_penalties_exported(self, penalty_ids: Iterable[int]) -> None: ...
    def mark_penalties_bundled(self, penalty_ids: Iterable[int]) -> None:
        """Set ``bundled_at`` where it is not set yet (the first handover counts)."""
        ...

    # --- signed scans
    def add_scan_document(self, file_id: int, seq: int, *, case_id: str | None, form: str | None,
                          pages: Sequence[int], qr_case: str | None, matched_by: str | None,
                          hints: dict[str, str], boxes: Sequence[NewScanBox]) -> int:
        """Record one form of a scan with its boxes; matched when ``case_id`` is set. Returns its id."""
        ...
    def match_scan_document(self, scan_id: int, case_id: str, form: str, matched_by: str) -> int:
        """Match a waiting scan document; returns how many documents of its file still wait."""
        ...
    def accept_scan_file(self, file_id: int, case_id: str) -> None:
        """Every form of the scan file is matched: accept it (a case it named already stays)."""
        ...

    # --- archival packages
    def take_archive_number(self, fonds: str, year: int, retention: str, org_code: str, item_no: int) -> bool:
        """Advance the 件号 counter to ``item_no`` if it stands at ``item_no - 1``; ``False``: taken."""
        ...
    def add_archive(self, case_id: str, *, archive_code: str, fonds: str, category: str, year: int,
                    retention: str, org_code: str, item_no: int, package_path: str, sha256: str,
                    last_event_id: int) -> int:
        """Record the next version of the case's package; returns the version."""
        ...
    def mark_archive_published(self, case_id: str, version: int) -> None: ...


class Store(Protocol):
    def begin(self, *, durable: bool = True) -> AbstractContextManager[StoreTx]:
        """A write transaction. ``durable=False``: it may be lost to a power cut (never to a crash of the
        process), until the next durable commit makes it and everything before it durable; for steps
        whose loss the next pass repairs (see ``SqlStore.begin``)."""
        ...

    # --- files, fields, events
    def files_with_sha(self, sha256: str) -> list[FileRow]: ...
    def unfinished_files(self) -> list[FileRow]: ...
    def get_file(self, file_id: int) -> FileRow | None: ...
    def list_files(self) -> list[FileRow]: ...
    def case_files(self, case_id: str, *, form: str | None = None, with_scans: bool = False) -> list[FileRow]:
        """Files attached to the case (accepted or waiting), by arrival; ``form`` keeps one form;
        ``with_scans`` adds the scan files with a form matched to the case."""
        ...
    def typed_files(self) -> list[FileRow]:
        """Check tables and site records whatever their state, newest first."""
        ...
    def file_fields(self, file_id: int) -> dict[str, Any]:
        """The fields extracted from a file, name → value."""
        ...
    def events(self, entity: str | None = None, entity_id: str | None = None) -> Iterator[EventRow]: ...
    def case_events(self, case_id: str, file_ids: Sequence[int]) -> list[EventRow]:
        """Events of the case and of ``file_ids``, in order."""
        ...
    def last_event_id(self, entity: str | None = None, entity_id: str | None = None) -> int:
        """The id of the newest event (of one entity when given); 0 when there is none."""
        ...

    # --- cases, findings, outputs
    def get_case(self, case_id: str) -> CaseRow | None: ...
    def find_case(self, unit_key: str, check_date: str | None) -> CaseRow | None: ...
    def list_cases(self) -> list[CaseRow]: ...
    def case_findings(self, case_id: str) -> list[FindingRow]: ...
    def penalty_cases(self) -> list[CaseRow]:
        """Cases with the penalty flag, latest check first."""
        ...
    def findings_for_file(self, file_id: int) -> list[FindingRow]: ...
    def outputs_for_file(self, file_id: int) -> list[OutputRow]: ...
    def outputs_for_case(self, case_id: str) -> list[OutputRow]: ...

    # --- lists
    def list_versions(self, kind: str | None = None) -> list[ListVersionRow]:
        """Versions by kind, each kind in force order (effective_from, then import order)."""
        ...
    def list_version_on(self, kind: str, on: date | None = None) -> ListVersionRow | None:
        """The version in force on ``on`` (``None``: the newest import)."""
        ...
    def list_rows(self, kind: str, on: date | None = None) -> list[dict[str, Any]]:
        """Rows of the version in force on ``on`` (``None``: the newest import); empty when none."""
        ...
    def list_version_rows(self, version_id: int) -> list[dict[str, Any]]: ...

    # --- questions (待审核)
    def questions(self, *, status: str | None = "open", case_id: str | None = None) -> list[Question]: ...
    def answers_for(self, case_id: str) -> dict[str, str]:
        """key → answer of the case's answered questions (the evaluation reads these)."""
        ...

    # --- penalties (行政处罚决定书)
    def penalties(self, *, case_id: str | None = None, matched: bool | None = None) -> list[PenaltyRow]:
        """Decisions by decision date; ``matched`` keeps those joined to a case (or those waiting)."""
        ...
    def unrecorded_penalty_files(self) -> list[FileRow]:
        """Accepted or waiting decision files without their ``penalties`` row yet."""
        ...
    def stale_penalty_notes(self) -> list[str]:
        """Outbox paths of waiting notes whose decision has found its case (and whose name no waiting
        decision uses)."""
        ...

    # --- signed scans
    def scan_documents(self, case_id: str, *, form: str | None = None) -> list[ScanDocumentRow]: ...
    def unmatched_scans(self) -> list[tuple[ScanDocumentRow, FileRow]]:
        """Scan documents waiting for their case, with their file, in order."""
        ...
    def scan_boxes(self, case_id: str) -> list[ScanBoxRow]:
        """The box evidence of the case's matched scan documents (documents without boxes too), in order."""
        ...

    # --- archival packages
    def latest_archive(self, case_id: str) -> ArchiveRecord | None: ...
    def archives_with_code(self, archive_code: str) -> list[ArchiveRecord]: ...
    def archive_counter(self, fonds: str, year: int, retention: str, org_code: str) -> int:
        """The last 件号 given for the key (0: none yet)."""
        ...
    def archive_item_nos(self, fonds: str, year: int, retention: str, org_code: str) -> set[int]: ...
    def archived_latest(self) -> list[ArchiveRecord]:
        """The latest package of every archived case."""
        ...
    def events_after_archives(self) -> list[EventRow]:
        """Events of archived cases after their latest package's ``last_event_id``."""
        ...

    # --- several workers on one database (``pipeline.store.claims``)
    @property
    def shared(self) -> bool:
        """Several workers may use this database at once (PostgreSQL); False for the SQLite file."""
        ...
    def claim(self, key: str, owner: str, lease_seconds: float, now: float | None = None) -> bool:
        """Take the work ``key`` for ``owner`` (or extend its own claim); False while another's lease runs."""
        ...
    def renew_claims(self, owner: str, lease_seconds: float, now: float | None = None) -> int: ...
    def release_claims(self, owner: str, keys: Iterable[str]) -> None: ...
    def claim_owner(self, key: str) -> str | None: ...
    def mark(self, name: str) -> int | None: ...
    def set_mark(self, name: str, value: int) -> None: ...
    def exclusive(self, name: str, *, within: str | None = None) -> AbstractContextManager[None]:
        """A section that one worker at a time runs (an advisory lock on PostgreSQL); ``within``: a
        lock also held shared, which ``exclusive(within)`` waits for."""
        ...

    # --- the conversion queue (``pipeline.store.conversions``)
    def enqueue_conversions(self, jobs: Sequence[NewConversion]) -> list[int]: ...
    def claim_conversions(self, owner: str, limit: int, lease_seconds: float, *, max_attempts: int = 3,
                          now: float | None = None) -> list[ConversionJob]:
        """Take up to ``limit`` queued jobs (or running ones whose lease ran out) for ``owner``."""
        ...
    def renew_conversions(self, owner: str, lease_seconds: float, now: float | None = None) -> int: ...
    def finish_conversion(self, job_id: int, owner: str, *, output: str | None = None,
                          error: str | None = None) -> bool:
        """Done (``output``) or failed (``error``); False when ``owner`` no longer holds the job."""
        ...
    def release_conversions(self, owner: str) -> int:
        """Put ``owner``'s running jobs back in the queue (a converter stopping mid-batch)."""
        ...
    def conversion_jobs(self, ids: Iterable[int]) -> list[ConversionJob]: ...
    def conversion_with_key(self, key: str) -> ConversionJob | None: ...
    def drop_conversions(self, ids: Iterable[int], states: Sequence[str]) -> int:
        """Delete the jobs of ``ids`` that are in one of ``states``; returns how many."""
        ...
    def conversion_batch(self, batch: str) -> list[ConversionJob]: ...
    def live_converters(self, now: float | None = None) -> int:
        """Converters whose ``converter:<owner>`` claim is alive."""
        ...
    def conversion_counts(self) -> dict[str, int]: ...

    def close(self) -> None: ...
