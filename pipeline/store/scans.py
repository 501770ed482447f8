"""The ``scan_documents`` and ``evidence`` tables (migration 0005): forms found in signed scans and
what each box shows. The SQL behind the ``Store``/``StoreTx`` scan methods; matching is
``pipeline.cases.scanwork``'s business, the evidence model ``pipeline.core.evidence``'s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipeline.core.codes import FileStatus
from pipeline.core.evidence import ELECTRONIC, ScanBoxRow, dumps_bbox
from pipeline.store.base import FileRow, NewScanBox, ScanDocumentRow
from pipeline.store.sqlcore import SqlReads, SqlWrites, file_row, now_iso


def _row(r: Any) -> ScanDocumentRow:
    return ScanDocumentRow(r.id, r.file_id, r.seq, r.case_id, r.form, tuple(json.loads(r.pages)), r.qr_case,
                           r.matched_by, json.loads(r.hints or "{}"))


class ScanReads(SqlReads):
    def scan_documents(self, case_id: str, *, form: str | None = None) -> list[ScanDocumentRow]:
        sql = "SELECT * FROM scan_documents WHERE case_id=:c"
        params: dict[str, Any] = {"c": case_id}
        if form is not None:
            sql += " AND form=:f"
            params["f"] = form
        return [_row(r) for r in self._rows(sql + " ORDER BY id", **params)]

    def unmatched_scans(self) -> list[tuple[ScanDocumentRow, FileRow]]:
        waiting = "SELECT * FROM scan_documents WHERE case_id IS NULL"
        files = {r.id: file_row(r) for r in self._rows(
            f"SELECT * FROM files WHERE id IN (SELECT file_id FROM ({waiting}) AS waiting)")}
        return [(_row(r), files[r.file_id]) for r in self._rows(waiting + " ORDER BY id")]

    def scan_boxes(self, case_id: str) -> list[ScanBoxRow]:
        rows = self._rows(
            "SELECT s.id AS scan_id, s.form, s.matched_by, f.original_name, e.box, e.present, e.score, e.page, e.crop"
            " FROM scan_documents s JOIN files f ON f.id = s.file_id LEFT JOIN evidence e ON e.scan_id = s.id"
            " WHERE s.case_id=:c AND s.form IS NOT NULL ORDER BY s.id", c=case_id)
        return [ScanBoxRow(r.scan_id, r.form, r.original_name, r.box, None if r.present is None else bool(r.present),
                           r.score, r.page, r.crop, ELECTRONIC if r.matched_by == ELECTRONIC else "scan")
                for r in rows]


class ScanWrites(SqlWrites):
    def add_scan_document(self, file_id: int, seq: int, *, case_id: str | None, form: str | None,
                          pages: Sequence[int], qr_case: str | None, matched_by: str | None,
                          hints: dict[str, str], boxes: Sequence[NewScanBox]) -> int:
        scan_id = int(self._exec(
            "INSERT INTO scan_documents (file_id, seq, case_id, form, pages, qr_case, matched_by, hints, created_at,"
            " matched_at) VALUES (:f, :s, :c, :form, :pages, :qr, :how, :hints, :at, :mat) RETURNING id",
            f=file_id, s=seq, c=case_id, form=form, pages=json.dumps(list(pages)), qr=qr_case, how=matched_by,
            hints=json.dumps(dict(hints), ensure_ascii=False), at=now_iso(),
            mat=now_iso() if case_id else None).scalar_one())
        for b in boxes:
            self._exec(
                "INSERT INTO evidence (scan_id, box, present, score, page, bbox, crop)"
                " VALUES (:s, :box, :p, :score, :page, :bbox, :crop)",
                s=scan_id, box=b.box, p=None if b.present is None else int(b.present), score=b.score, page=b.page,
                bbox=dumps_bbox(b.bbox), crop=b.crop)
        return scan_id

    def match_scan_document(self, scan_id: int, case_id: str, form: str, matched_by: str) -> int:
        self._exec("UPDATE scan_documents SET case_id=:c, form=:form, matched_by=:how, matched_at=:at WHERE id=:id",
                   c=case_id, form=form, how=matched_by, at=now_iso(), id=scan_id)
        return int(self._exec(
            "SELECT COUNT(*) FROM scan_documents WHERE case_id IS NULL"
            " AND file_id=(SELECT file_id FROM scan_documents WHERE id=:id)", id=scan_id).scalar_one())

    def accept_scan_file(self, file_id: int, case_id: str) -> None:
        self._exec("UPDATE files SET status=:s, case_id=COALESCE(case_id, :c) WHERE id=:f",
                   s=FileStatus.accepted.value, c=case_id, f=file_id)
