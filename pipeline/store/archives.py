"""The ``archives`` table and the gap-free 件号 counter (migration 0007): the SQL behind the
``Store``/``StoreTx`` archive methods. How a number is taken and when a package is built again is
``pipeline.archive.registry``'s business.
"""

from __future__ import annotations

from typing import Any

from pipeline.core.codes import CaseStatus
from pipeline.store.base import ArchiveRecord, EventRow
from pipeline.store.sqlcore import SqlReads, SqlWrites, from_json, now_iso

# The latest version of every archived case's package.
_LATEST = ("SELECT a.* FROM archives a JOIN cases c ON c.id = a.case_id WHERE c.status = :s"
           " AND a.version = (SELECT MAX(version) FROM archives b WHERE b.case_id = a.case_id)")


def _row(r: Any) -> ArchiveRecord:
    return ArchiveRecord(r.case_id, r.archive_code, r.fonds, r.category, r.year, r.retention, r.org_code, r.item_no,
                         r.version, r.package_path, r.sha256, r.last_event_id, r.created_at, r.published_at)


class ArchiveReads(SqlReads):
    def latest_archive(self, case_id: str) -> ArchiveRecord | None:
        rows = self._rows("SELECT * FROM archives WHERE case_id=:c ORDER BY version DESC LIMIT 1", c=case_id)
        return _row(rows[0]) if rows else None

    def archives_with_code(self, archive_code: str) -> list[ArchiveRecord]:
        return [_row(r) for r in self._rows("SELECT * FROM archives WHERE archive_code=:a ORDER BY version",
                                            a=archive_code)]

    def archive_counter(self, fonds: str, year: int, retention: str, org_code: str) -> int:
        value = self._scalar(
            "SELECT value FROM archive_counters WHERE fonds=:f AND year=:y AND retention=:r AND org_code=:o",
            f=fonds, y=year, r=retention, o=org_code)
        return int(value or 0)

    def archive_item_nos(self, fonds: str, year: int, retention: str, org_code: str) -> set[int]:
        return {int(r.item_no) for r in self._rows(
            "SELECT item_no FROM archives WHERE fonds=:f AND year=:y AND retention=:r AND org_code=:o",
            f=fonds, y=year, r=retention, o=org_code)}

    def archived_latest(self) -> list[ArchiveRecord]:
        return [_row(r) for r in self._rows(_LATEST, s=CaseStatus.archived.value)]

    def events_after_archives(self) -> list[EventRow]:
        return [EventRow(e.id, e.at, e.actor, e.entity, e.entity_id, e.action, from_json(e.detail))
                for e in self._rows(
                    f"SELECT e.* FROM ({_LATEST}) a JOIN events e"
                    " ON e.entity = 'case' AND e.entity_id = a.case_id AND e.id > a.last_event_id ORDER BY e.id",
                    s=CaseStatus.archived.value)]


class ArchiveWrites(SqlWrites):
    def take_archive_number(self, fonds: str, year: int, retention: str, org_code: str, item_no: int) -> bool:
        key = {"f": fonds, "y": year, "r": retention, "o": org_code}
        if item_no == 1:
            result = self._exec("INSERT INTO archive_counters (fonds, year, retention, org_code, value)"
                                " VALUES (:f, :y, :r, :o, 1) ON CONFLICT DO NOTHING", **key)
        else:
            result = self._exec("UPDATE archive_counters SET value=:n WHERE fonds=:f AND year=:y AND retention=:r"
                                " AND org_code=:o AND value=:prev", **key, n=item_no, prev=item_no - 1)
        return bool(result.rowcount)

    def add_archive(self, case_id: str, *, archive_code: str, fonds: str, category: str, year: int,
                    retention: str, org_code: str, item_no: int, package_path: str, sha256: str,
                    last_event_id: int) -> int:
        version = int(self._exec("SELECT COALESCE(MAX(version), 0) + 1 FROM archives WHERE case_id=:c",
                                 c=case_id).scalar_one())
        self._exec(
            "INSERT INTO archives (case_id, archive_code, fonds, category, year, retention, org_code, item_no,"
            " version, package_path, sha256, last_event_id, created_at)"
            " VALUES (:c, :a, :f, :cat, :y, :r, :o, :i, :v, :p, :s, :e, :at)",
            c=case_id, a=archive_code, f=fonds, cat=category, y=year, r=retention, o=org_code, i=item_no, v=version,
            p=package_path, s=sha256, e=last_event_id, at=now_iso())
        return version

    def mark_archive_published(self, case_id: str, version: int) -> None:
        self._exec("UPDATE archives SET published_at=:at WHERE case_id=:c AND version=:v",
                   at=now_iso(), c=case_id, v=version)
