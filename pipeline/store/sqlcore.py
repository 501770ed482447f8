"""What every SQL repository shares: the clock, JSON columns, and the read and write bases.

``SqlReads`` runs queries on their own connection (``SqlStore`` and its repositories);
``SqlWrites`` runs statements inside one transaction (``SqlTx`` and its repositories) and logs
events there. Each repository (questions, penalties, scans, archives) adds methods to both through
a mixin, so that ``SqlStore`` and ``SqlTx`` stay one object each for their callers.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.errors import StoreError, database_unavailable
from pipeline.store.base import CaseRow, FileRow


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def from_json(value: str | None) -> Any:
    return json.loads(value) if value else None


def file_row(r: Any) -> FileRow:
    return FileRow(
        id=r.id, sha256=r.sha256, original_name=r.original_name, inbox_path=r.inbox_path, size=r.size,
        mtime_ns=r.mtime_ns, received_at=r.received_at, kind=r.kind, form=r.form,
        status=FileStatus(r.status), case_id=r.case_id, duplicate_of=r.duplicate_of, message=r.message,
    )


def case_row(r: Any) -> CaseRow:
    return CaseRow(
        id=r.id, unit_name=r.unit_name, unit_key=r.unit_key, check_date=r.check_date,
        status=CaseStatus(r.status), record=from_json(r.record), created_at=r.created_at, updated_at=r.updated_at,
        penalty=bool(r.penalty), due_lower_half=r.due_lower_half, due_publish=r.due_publish,
        due_penalty=r.due_penalty, due_certain=bool(r.due_certain), findings=from_json(r.findings),
        overrides=from_json(r.overrides),
    )


class SqlReads:
    """Reads outside a transaction; each query on a connection of its own."""

    engine: Engine

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(text(sql), params))
        except OperationalError as exc:
            raise database_unavailable(exc.orig) from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"读取数据库失败：{exc}。") from exc

    def _scalar(self, sql: str, **params: Any) -> Any:
        rows = self._rows(sql, **params)
        return rows[0][0] if rows else None


class SqlWrites:
    """Statements inside one transaction (the caller's ``store.begin()``)."""

    conn: Connection

    def _exec(self, sql: str, **params: Any) -> Any:
        return self.conn.execute(text(sql), params)

    def _exec_many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        self.conn.execute(text(sql), rows)

    def log(self, entity: str, entity_id: str, action: str, detail: dict[str, Any] | None = None,
            actor: str = "pipeline") -> None:
        self._exec(
            "INSERT INTO events (at, actor, entity, entity_id, action, detail)"
            " VALUES (:at, :actor, :entity, :eid, :action, :detail)",
            at=now_iso(), actor=actor, entity=entity, eid=entity_id, action=action, detail=to_json(detail),
        )
