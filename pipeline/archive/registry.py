"""The ``archives`` table and the gap-free 件号 counter (migration 0007).

A 件号 is taken only in the transaction that records the package: the package is built with the
number the counter would give next, and the transaction advances the counter only if it still
stands where it stood (otherwise another package took the number and this one is built again). A
crash before the commit therefore leaves no gap; a crash after it leaves a recorded package that the
next pass publishes again (the build is deterministic).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from pipeline.archive.collect import is_archive_event
from pipeline.archive.model import ArchiveCode
from pipeline.core.codes import CaseStatus
from pipeline.store.sql import now_iso


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


def _row(r: Any) -> ArchiveRow:
    code = ArchiveCode(r.fonds, r.category, r.year, r.retention, r.org_code, r.item_no)
    return ArchiveRow(r.case_id, code, r.version, r.package_path, r.sha256, r.last_event_id, r.created_at,
                      r.published_at)


def latest(store: Any, case_id: str) -> ArchiveRow | None:
    with store.engine.connect() as conn:
        r = conn.execute(text("SELECT * FROM archives WHERE case_id=:c ORDER BY version DESC LIMIT 1"),
                         {"c": case_id}).first()
    return _row(r) if r is not None else None


def by_code(store: Any, code: str) -> list[ArchiveRow]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM archives WHERE archive_code=:a ORDER BY version"), {"a": code})
        return [_row(r) for r in rows]


def next_item_no(store: Any, fonds: str, year: int, retention: str, org_code: str) -> int:
    with store.engine.connect() as conn:
        value = conn.execute(text(
            "SELECT value FROM archive_counters WHERE fonds=:f AND year=:y AND retention=:r AND org_code=:o"),
            {"f": fonds, "y": year, "r": retention, "o": org_code}).scalar_one_or_none()
    return int(value or 0) + 1


def max_event_id(store: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM events")).scalar_one())


def record(store: Any, case_id: str, code: ArchiveCode, package_path: str, sha256: str, last_event_id: int,
           *, new_number: bool) -> int:
    """Record a new version of the case's package (and take its 件号 when ``new_number``); move the
    case to ``archived``. Returns the version. Raises ``NumberTaken`` when the 件号 went meanwhile."""
    key = {"f": code.fonds, "y": code.year, "r": code.retention, "o": code.org_code}
    with store.begin() as tx:
        conn = tx.conn
        if new_number:
            if code.item_no == 1:
                taken = conn.execute(text(
                    "INSERT INTO archive_counters (fonds, year, retention, org_code, value)"
                    " VALUES (:f, :y, :r, :o, 1) ON CONFLICT DO NOTHING"), key).rowcount == 0
            else:
                taken = conn.execute(text(
                    "UPDATE archive_counters SET value=:n WHERE fonds=:f AND year=:y AND retention=:r"
                    " AND org_code=:o AND value=:prev"), key | {"n": code.item_no, "prev": code.item_no - 1}
                ).rowcount == 0
            if taken:
                raise NumberTaken(str(code))
        version = int(conn.execute(text("SELECT COALESCE(MAX(version), 0) + 1 FROM archives WHERE case_id=:c"),
                                   {"c": case_id}).scalar_one())
        conn.execute(text(
            "INSERT INTO archives (case_id, archive_code, fonds, category, year, retention, org_code, item_no, version,"
            " package_path, sha256, last_event_id, created_at)"
            " VALUES (:c, :a, :f, :cat, :y, :r, :o, :i, :v, :p, :s, :e, :at)"),
            key | {"c": case_id, "a": str(code), "cat": code.category, "i": code.item_no, "v": version, "p": package_path, "s": sha256,
                   "e": last_event_id, "at": now_iso()})
        tx.log("case", case_id, "archived", {"档号": str(code), "version": version, "path": package_path,
                                             "sha256": sha256})
        status = conn.execute(text("SELECT status FROM cases WHERE id=:c"), {"c": case_id}).scalar_one()
        if status != CaseStatus.archived.value:
            tx.update_case(case_id, status=CaseStatus.archived)
    return version


def mark_published(store: Any, case_id: str, version: int) -> None:
    with store.begin() as tx:
        tx.conn.execute(text("UPDATE archives SET published_at=:at WHERE case_id=:c AND version=:v"),
                        {"at": now_iso(), "c": case_id, "v": version})


def changed_since_packaged(store: Any) -> list[str]:
    """Archived cases whose latest package is not published yet (a crash after recording it), or that
    have events after it other than the packaging's own: two queries, whatever the number of cases."""
    latest = ("SELECT a.* FROM archives a JOIN cases c ON c.id = a.case_id WHERE c.status = :s"
              " AND a.version = (SELECT MAX(version) FROM archives b WHERE b.case_id = a.case_id)")
    with store.engine.connect() as conn:
        rows = list(conn.execute(text(latest), {"s": CaseStatus.archived.value}))
        out = {r.case_id for r in rows if r.published_at is None}
        events = conn.execute(text(
            f"SELECT e.entity_id, e.action, e.detail FROM ({latest}) a JOIN events e"
            " ON e.entity = 'case' AND e.entity_id = a.case_id AND e.id > a.last_event_id"),
            {"s": CaseStatus.archived.value})
        for e in events:
            if not is_archive_event(e.action, json.loads(e.detail) if e.detail else None):
                out.add(e.entity_id)
    return sorted(out)


def note_republished(store: Any, case_id: str, code: ArchiveCode, package_path: str, version: int) -> None:
    with store.begin() as tx:
        tx.log("case", case_id, "archive_republished", {"档号": str(code), "path": package_path})
        tx.conn.execute(text("UPDATE archives SET published_at=:at WHERE case_id=:c AND version=:v"),
                        {"at": now_iso(), "c": case_id, "v": version})
        status = tx.conn.execute(text("SELECT status FROM cases WHERE id=:c"), {"c": case_id}).scalar_one()
        if status != CaseStatus.archived.value:
            tx.update_case(case_id, status=CaseStatus.archived)
