"""Versions of a case's archival package and the gap-free 件号 counter (migration 0007), through the store.

A 件号 is taken only in the transaction that records the package: the package is built with the
number the counter would give next, and the transaction advances the counter only if it still
stands where it stood (otherwise another package took the number and this one is built again). A
crash before the commit therefore leaves no gap; a crash after it leaves a recorded package that the
next pass publishes again (the build is deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.archive.collect import is_archive_event
from pipeline.archive.model import ArchiveCode
from pipeline.core.codes import CaseStatus
from pipeline.store import ArchiveRecord, Store


class NumberTaken(Exception):
    """Another package took the 件号 this one was built with; build again with the next one."""


@dataclass(frozen=True)
class ArchiveRow:
    case_id: str
    code: ArchiveCode
    version: int
    package_path: str
    sha256: str
    last_event_id: int
    created_at: str
    published_at: str | None


def _row(r: ArchiveRecord) -> ArchiveRow:
    code = ArchiveCode(r.fonds, r.category, r.year, r.retention, r.org_code, r.item_no)
    return ArchiveRow(r.case_id, code, r.version, r.package_path, r.sha256, r.last_event_id, r.created_at,
                      r.published_at)


def latest(store: Store, case_id: str) -> ArchiveRow | None:
    r = store.latest_archive(case_id)
    return _row(r) if r is not None else None


def by_code(store: Store, code: str) -> list[ArchiveRow]:
    return [_row(r) for r in store.archives_with_code(code)]


def next_item_no(store: Store, fonds: str, year: int, retention: str, org_code: str) -> int:
    return store.archive_counter(fonds, year, retention, org_code) + 1


def max_event_id(store: Store) -> int:
    return store.last_event_id()


def record(store: Store, case_id: str, code: ArchiveCode, package_path: str, sha256: str, last_event_id: int,
           *, new_number: bool) -> int:
    """Record a new version of the case's package (and take its 件号 when ``new_number``); move the
    case to ``archived``. Returns the version. Raises ``NumberTaken`` when the 件号 went meanwhile."""
    with store.begin() as tx:
        if new_number and not tx.take_archive_number(code.fonds, code.year, code.retention, code.org_code,
                                                     code.item_no):
            raise NumberTaken(str(code))
        version = tx.add_archive(case_id, archive_code=str(code), fonds=code.fonds, category=code.category,
                                 year=code.year, retention=code.retention, org_code=code.org_code,
                                 item_no=code.item_no, package_path=package_path, sha256=sha256,
                                 last_event_id=last_event_id)
        tx.log("case", case_id, "archived", {"档号": str(code), "version": version, "path": package_path,
                                             "sha256": sha256})
        if tx.case_status(case_id) is not CaseStatus.archived:
            tx.update_case(case_id, status=CaseStatus.archived)
    return version


def mark_published(store: Store, case_id: str, version: int) -> None:
    with store.begin() as tx:
        tx.mark_archive_published(case_id, version)


def changed_since_packaged(store: Store) -> list[str]:
    """Archived cases whose latest package is not published yet (a crash after recording it), or that
    have events after it other than the packaging's own: two queries, whatever the number of cases."""
    out = {r.case_id for r in store.archived_latest() if r.published_at is None}
    for e in store.events_after_archives():
        if not is_archive_event(e.action, e.detail):
            out.add(e.entity_id)
    return sorted(out)


def note_republished(store: Store, case_id: str, code: ArchiveCode, package_path: str, version: int) -> None:
    with store.begin() as tx:
        tx.log("case", case_id, "archive_republished", {"档号": str(code), "path": package_path})
        tx.mark_archive_published(case_id, version)
        if tx.case_status(case_id) is not CaseStatus.archived:
            tx.update_case(case_id, status=CaseStatus.archived)
