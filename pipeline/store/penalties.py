"""The ``penalties`` table (migration 0006): received 行政处罚决定书, their case and their deadline.

The SQL behind the ``Store``/``StoreTx`` penalty methods; what the rows mean and when they change
is ``pipeline.cases.penalty``'s business.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pipeline.store.base import FileRow, PenaltyRow
from pipeline.store.sqlcore import SqlReads, SqlWrites, file_row, now_iso


def _row(r: Any) -> PenaltyRow:
    return PenaltyRow(r.id, r.file_id, r.case_id, r.decision_no, r.party_name, r.uscc, json.loads(r.fields),
                      r.decision_date, r.due_date, bool(r.due_certain), r.exported_at, r.bundled_at)


class PenaltyReads(SqlReads):
    def penalties(self, *, case_id: str | None = None, matched: bool | None = None) -> list[PenaltyRow]:
        sql = "SELECT * FROM penalties WHERE 1=1"
        params: dict[str, Any] = {}
        if case_id is not None:
            sql += " AND case_id=:c"
            params["c"] = case_id
        if matched is not None:
            sql += " AND case_id IS NOT NULL" if matched else " AND case_id IS NULL"
        return [_row(r) for r in self._rows(sql + " ORDER BY decision_date NULLS FIRST, id", **params)]

    def unrecorded_penalty_files(self) -> list[FileRow]:
        return [file_row(r) for r in self._rows(
            "SELECT f.* FROM files f LEFT JOIN penalties p ON p.file_id = f.id"
            " WHERE f.form='penalty_decision' AND f.status IN ('accepted', 'waiting') AND p.id IS NULL"
            " ORDER BY f.id")]

    def stale_penalty_notes(self) -> list[str]:
        return [r.path for r in self._rows(
            "SELECT o.path FROM outputs o JOIN penalties p ON p.file_id = o.file_id"
            " WHERE o.kind='penalty_waiting_note' AND p.case_id IS NOT NULL AND o.path NOT IN ("
            "  SELECT o2.path FROM outputs o2 JOIN penalties p2 ON p2.file_id = o2.file_id"
            "  WHERE o2.kind='penalty_waiting_note' AND p2.case_id IS NULL)")]


class PenaltyWrites(SqlWrites):
    def add_penalty(self, file_id: int, case_id: str | None, fields: dict[str, Any]) -> None:
        self._exec(
            "INSERT INTO penalties (file_id, case_id, decision_no, party_name, uscc, fields, decision_date,"
            " created_at) VALUES (:f, :c, :no, :party, :uscc, :fields, :d, :at)",
            f=file_id, c=case_id, no=fields.get("decision_no"), party=fields.get("party_name"),
            uscc=fields.get("uscc"), fields=json.dumps(fields, ensure_ascii=False),
            d=fields.get("decision_date"), at=now_iso())

    def attach_penalty(self, penalty: PenaltyRow, case_id: str) -> None:
        self._exec("UPDATE penalties SET case_id=:c WHERE id=:id", c=case_id, id=penalty.id)
        self._exec("UPDATE files SET case_id=:c, status='accepted' WHERE id=:f", c=case_id, f=penalty.file_id)
        self._exec("UPDATE fields SET case_id=:c WHERE file_id=:f", c=case_id, f=penalty.file_id)
        self.log("case", case_id, "file_attached", {"file": penalty.file_id, "penalty_decision": penalty.decision_no})

    def set_penalty_due(self, penalty_id: int, due: str | None, certain: bool) -> None:
        self._exec("UPDATE penalties SET due_date=:d, due_certain=:c WHERE id=:id", d=due, c=int(certain),
                   id=penalty_id)

    def mark_penalties_exported(self, penalty_ids: Iterable[int]) -> None:
        at = now_iso()
        for penalty_id in penalty_ids:
            self._exec("UPDATE penalties SET exported_at=:at WHERE id=:id", at=at, id=penalty_id)

    def mark_penalties_bundled(self, penalty_ids: Iterable[int]) -> None:
        at = now_iso()
        for penalty_id in penalty_ids:
            self._exec("UPDATE penalties SET bundled_at=COALESCE(bundled_at, :at) WHERE id=:id", at=at, id=penalty_id)
