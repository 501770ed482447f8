"""The store interface: what the pipeline records, independent of the database behind it.

``SqlStore`` (SQLAlchemy Core, SQLite by default) implements it; a server database needs only its
own migrations folder. All writes happen inside ``store.begin()`` so that one outcome is recorded
whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from pipeline.core.codes import CaseStatus, FileStatus
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


@dataclass(frozen=True)
class OutputRow:
    case_id: str | None
    file_id: int | None
    kind: str
    path: str
    sha256: str


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


class StoreTx(Protocol):
    """Operations available inside one transaction."""

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


class Store(Protocol):
    def begin(self) -> AbstractContextManager[StoreTx]: ...
    def files_with_sha(self, sha256: str) -> list[FileRow]: ...
    def unfinished_files(self) -> list[FileRow]: ...
    def get_file(self, file_id: int) -> FileRow | None: ...
    def list_files(self) -> list[FileRow]: ...
    def get_case(self, case_id: str) -> CaseRow | None: ...
    def find_case(self, unit_key: str, check_date: str | None) -> CaseRow | None: ...
    def list_cases(self) -> list[CaseRow]: ...
    def files_for_case(self, case_id: str) -> list[FileRow]: ...
    def case_findings(self, case_id: str) -> list[FindingRow]: ...
    def findings_for_file(self, file_id: int) -> list[FindingRow]: ...
    def outputs_for_file(self, file_id: int) -> list[OutputRow]: ...
    def outputs_for_case(self, case_id: str) -> list[OutputRow]: ...
    def events(self, entity: str | None = None, entity_id: str | None = None) -> Iterator[EventRow]: ...
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
    def close(self) -> None: ...
