"""``SqlStore``: the store on SQLAlchemy Core. SQLite by default; schema from numbered SQL migrations.

Files, cases, fields, findings, outputs, events and lists are here; questions, penalties, scans and
archives are the repositories next to this module, mixed into ``SqlStore`` (reads) and ``SqlTx``
(writes inside one transaction).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.errors import StoreError, database_unavailable
from pipeline.store.archives import ArchiveReads, ArchiveWrites
from pipeline.store.base import CaseRow, EventRow, FileRow, FindingRow, ListVersionRow, OutputRow
from pipeline.store.claims import ClaimStore, lock_key
from pipeline.store.conversions import ConversionStore
from pipeline.store.penalties import PenaltyReads, PenaltyWrites
from pipeline.store.questions import QuestionReads, QuestionWrites
from pipeline.store.scans import ScanReads, ScanWrites
from pipeline.store.sqlcore import case_row, file_row, from_json, now_iso, to_json

__all__ = ["SqlStore", "SqlTx", "now_iso"]

# Files that belong to their case's record (a duplicate is the same bytes as a file already there).
_ATTACHED = "status IN ('accepted', 'waiting')"


def _version_row(r: Any) -> ListVersionRow:
    return ListVersionRow(
        id=r.id, kind=r.kind, file_id=r.file_id, imported_at=r.imported_at, row_count=r.row_count,
        effective_from=r.effective_from or r.imported_at[:10], source_name=r.source_name, sha256=r.sha256,
    )


def _event_row(r: Any) -> EventRow:
    return EventRow(r.id, r.at, r.actor, r.entity, r.entity_id, r.action, from_json(r.detail))


def _output_row(r: Any) -> OutputRow:
    return OutputRow(r.case_id, r.file_id, r.kind, r.path, r.sha256, r.id, r.created_at)


class SqlTx(QuestionWrites, PenaltyWrites, ScanWrites, ArchiveWrites):
    """One transaction; see ``pipeline.store.base.StoreTx``."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_file(self, *, sha256: str, original_name: str, inbox_path: str, size: int, mtime_ns: int,
                 kind: str | None) -> int:
        result = self._exec(
            "INSERT INTO files (sha256, original_name, inbox_path, size, mtime_ns, received_at, kind, status)"
            " VALUES (:sha, :name, :path, :size, :mtime, :at, :kind, :status) RETURNING id",
            sha=sha256, name=original_name, path=inbox_path, size=size, mtime=mtime_ns, at=now_iso(),
            kind=kind, status=FileStatus.processing.value,
        )
        file_id = int(result.scalar_one())
        self.log("file", str(file_id), "received", {"name": original_name, "sha256": sha256, "size": size})
        return file_id

    def finish_file(self, file_id: int, *, status: FileStatus, form: str | None = None,
                    case_id: str | None = None, duplicate_of: int | None = None,
                    message: str | None = None) -> None:
        self._exec(
            "UPDATE files SET status=:status, form=:form, case_id=:case, duplicate_of=:dup, message=:msg"
            " WHERE id=:id",
            status=status.value, form=form, case=case_id, dup=duplicate_of, msg=message, id=file_id,
        )
        self.log("file", str(file_id), f"status:{status.value}",
                 {"case": case_id, "duplicate_of": duplicate_of, "message": message})

    def next_case_id(self, prefix: str, year: int) -> str:
        name = f"case:{prefix}:{year}"
        self._exec(
            "INSERT INTO counters (name, value) VALUES (:n, 1)"
            " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1",
            n=name,
        )
        value = self._exec("SELECT value FROM counters WHERE name=:n", n=name).scalar_one()
        return f"{prefix}-{year}-{int(value):05d}"

    def create_case(self, case_id: str, *, unit_name: str | None, unit_key: str | None,
                    check_date: str | None, status: CaseStatus, record: dict[str, Any] | None) -> None:
        at = now_iso()
        self._exec(
            "INSERT INTO cases (id, unit_name, unit_key, check_date, status, record, created_at, updated_at)"
            " VALUES (:id, :name, :key, :date, :status, :record, :at, :at)",
            id=case_id, name=unit_name, key=unit_key, date=check_date, status=status.value,
            record=to_json(record), at=at,
        )
        self.log("case", case_id, "created", {"unit": unit_name, "check_date": check_date, "status": status.value})

    def update_case(self, case_id: str, *, status: CaseStatus | None = None,
                    record: dict[str, Any] | None = None, unit_name: str | None = None,
                    unit_key: str | None = None, check_date: str | None = None) -> None:
        changes: dict[str, Any] = {}
        if status is not None:
            changes["status"] = status.value
        if record is not None:
            changes["record"] = to_json(record)
        if unit_name is not None:
            changes["unit_name"] = unit_name
        if unit_key is not None:
            changes["unit_key"] = unit_key
        if check_date is not None:
            changes["check_date"] = check_date
        if not changes:
            return
        sets = ", ".join(f"{k}=:{k}" for k in changes)
        self._exec(f"UPDATE cases SET {sets}, updated_at=:at WHERE id=:id", at=now_iso(), id=case_id, **changes)
        detail = {k: v for k, v in changes.items() if k != "record"}
        self.log("case", case_id, "updated", detail | ({"record": "changed"} if record is not None else {}))

    def case_status(self, case_id: str) -> CaseStatus | None:
        value = self._exec("SELECT status FROM cases WHERE id=:c", c=case_id).scalar_one_or_none()
        return None if value is None else CaseStatus(value)

    def set_case_evaluation(self, case_id: str, *, penalty: bool, due_lower_half: str | None,
                            due_publish: str | None, due_certain: bool,
                            findings: list[dict[str, Any]]) -> None:
        self._exec(
            "UPDATE cases SET penalty=:p, due_lower_half=:l, due_publish=:pub, due_certain=:c, findings=:f"
            " WHERE id=:id", p=int(penalty), l=due_lower_half, pub=due_publish, c=int(due_certain),
            f=json.dumps(findings, ensure_ascii=False), id=case_id)

    def set_case_findings(self, case_id: str, findings: list[dict[str, Any]]) -> None:
        self._exec("UPDATE cases SET findings=:f WHERE id=:id", f=json.dumps(findings, ensure_ascii=False),
                   id=case_id)

    def drop_case_findings(self, case_id: str, code: str) -> None:
        raw = self._exec("SELECT findings FROM cases WHERE id=:c", c=case_id).scalar_one_or_none()
        if raw and code in raw:
            self.set_case_findings(case_id, [f for f in json.loads(raw) if f["code"] != code])

    def merge_case_overrides(self, case_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        raw = self._exec("SELECT overrides FROM cases WHERE id=:c", c=case_id).scalar_one()
        merged: dict[str, Any] = (json.loads(raw) if raw else {}) | changes
        self._exec("UPDATE cases SET overrides=:o WHERE id=:c", o=json.dumps(merged, ensure_ascii=False), c=case_id)
        return merged

    def set_case_due_penalty(self, case_id: str, due: str | None) -> None:
        self._exec("UPDATE cases SET due_penalty=:d WHERE id=:c", d=due, c=case_id)

    def add_fields(self, file_id: int, case_id: str | None,
                   rows: list[tuple[str, Any, str | None, float | None]]) -> None:
        if rows:  # one executemany: a check table has a dozen fields or more
            self._exec_many(
                "INSERT INTO fields (file_id, case_id, name, value, location, confidence)"
                " VALUES (:f, :c, :n, :v, :l, :conf)",
                [{"f": file_id, "c": case_id, "n": name, "v": to_json(value), "l": location, "conf": confidence}
                 for name, value, location, confidence in rows])

    def add_findings(self, file_id: int | None, case_id: str | None, findings: list[FindingRow]) -> None:
        at = now_iso()
        for f in findings:
            self._exec(
                "INSERT INTO findings (file_id, case_id, code, severity, field, message, article, created_at)"
                " VALUES (:file, :case, :code, :sev, :field, :msg, :article, :at)",
                file=file_id, case=case_id, code=f.code, sev=f.severity, field=f.field, msg=f.message,
                article=f.article, at=at,
            )

    def add_output(self, row: OutputRow) -> None:
        self._exec(
            "INSERT INTO outputs (case_id, file_id, kind, path, sha256, created_at)"
            " VALUES (:case, :file, :kind, :path, :sha, :at)",
            case=row.case_id, file=row.file_id, kind=row.kind, path=row.path, sha=row.sha256, at=now_iso(),
        )
        self.log("case" if row.case_id else "file", row.case_id or str(row.file_id), "output",
                 {"kind": row.kind, "path": row.path, "sha256": row.sha256})

    def add_list_version(self, kind: str, file_id: int | None, rows: list[tuple[int, dict[str, Any]]], *,
                         effective_from: date | str | None = None, source_name: str | None = None,
                         sha256: str | None = None) -> int:
        at = now_iso()
        if isinstance(effective_from, date):
            effective_from = effective_from.isoformat()
        effective_from = effective_from or at[:10]
        if file_id is not None and (source_name is None or sha256 is None):
            file = self._exec("SELECT original_name, sha256 FROM files WHERE id=:id", id=file_id).one_or_none()
            if file is not None:
                source_name = source_name or file.original_name
                sha256 = sha256 or file.sha256
        version = int(self._exec(
            "INSERT INTO list_versions (kind, file_id, imported_at, row_count, effective_from, source_name, sha256)"
            " VALUES (:k, :f, :at, :n, :eff, :src, :sha) RETURNING id",
            k=kind, f=file_id, at=at, n=len(rows), eff=effective_from, src=source_name, sha=sha256).scalar_one())
        for row_no, data in rows:
            self._exec("INSERT INTO list_rows (version_id, row_no, data) VALUES (:v, :r, :d)",
                       v=version, r=row_no, d=to_json(data))
        self.log("list", str(version), "imported", {"kind": kind, "file": file_id, "rows": len(rows),
                                                    "effective_from": effective_from, "source": source_name})
        return version


class SqlStore(QuestionReads, PenaltyReads, ScanReads, ArchiveReads, ClaimStore, ConversionStore):
    """The default store. ``url`` is an SQLite or PostgreSQL SQLAlchemy URL (``postgresql://`` means psycopg 3)."""

    def __init__(self, url: str) -> None:
        self._version_rows: dict[int, list[dict[str, Any]]] = {}
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(driver_url(url))
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            self.migrate()
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"无法打开数据库 {_hide_password(url)}：{exc}。"
                             "请检查数据目录的权限和磁盘空间，或数据库地址、用户和密码。") from exc

    def migrate(self) -> list[str]:
        """Apply every numbered migration not yet applied; returns the names applied now.

        On PostgreSQL everything runs in one transaction under an advisory lock, so that workers
        starting together apply each migration once (DDL is transactional there)."""
        folder = resources.files("pipeline.store") / "migrations" / self.engine.dialect.name
        scripts = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
        if self.engine.dialect.name == "postgresql":
            return self._migrate_postgresql(scripts)
        with self.engine.begin() as conn:
            conn.execute(text(_MIGRATIONS_TABLE))
            done = {r[0] for r in conn.execute(text("SELECT version FROM schema_migrations"))}
        applied = []
        for script in scripts:
            version = int(script.name.split("_", 1)[0])
            if version in done:
                continue
            raw = self.engine.raw_connection()
            try:
                # executescript runs DDL with triggers whole; BEGIN/COMMIT makes each migration atomic.
                raw.driver_connection.executescript(  # type: ignore[union-attr]
                    f"BEGIN;\n{script.read_text(encoding='utf-8')}\n{_record(version, script.name)}\nCOMMIT;")
            finally:
                raw.close()
            applied.append(script.name)
        return applied

    def _migrate_postgresql(self, scripts: list[Any]) -> list[str]:
        applied = []
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(f"SELECT pg_advisory_xact_lock({lock_key('shuangsui:migrate')})")
            cur.execute(_MIGRATIONS_TABLE)
            cur.execute("SELECT version FROM schema_migrations")
            done = {r[0] for r in cur.fetchall()}
            for script in scripts:
                version = int(script.name.split("_", 1)[0])
                if version not in done:
                    # Without parameters psycopg sends the script whole (several statements, $$ bodies).
                    cur.execute(f"{script.read_text(encoding='utf-8')}\n{_record(version, script.name)}")
                    applied.append(script.name)
            raw.commit()
        finally:
            raw.close()
        return applied

    @contextmanager
    def begin(self, *, durable: bool = True) -> Iterator[SqlTx]:
        """A write transaction; with ``durable`` (the default) on disk when it returns.

        A file's way through the pipeline commits several times (received, case number, outcome, case
        evaluation), but only the outcome must survive a power cut, because the inbox copy is removed
        after it. The others are ``durable=False``: on SQLite the connection runs ``synchronous=NORMAL``
        under WAL (consistent after any crash; a power cut may lose the last commits), and a durable
        commit switches to ``FULL`` for itself, which syncs the write-ahead log with every commit before
        it. On PostgreSQL ``synchronous_commit`` is switched off for the transaction. What a power cut
        takes is repaired by the next pass: the file is still in the inbox, the case is evaluated again."""
        sqlite = self.engine.dialect.name == "sqlite"
        try:
            with self.engine.connect() as conn:
                if sqlite and durable:
                    # Before the first write: pysqlite begins the SQLite transaction at the first write.
                    conn.exec_driver_sql("PRAGMA synchronous=FULL")
                elif not sqlite and not durable:
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                try:
                    yield SqlTx(conn)
                    conn.commit()
                finally:
                    if sqlite and durable:
                        conn.rollback()  # nothing left to undo after the commit; ends SQLAlchemy's transaction
                        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
                        conn.commit()
        except OperationalError as exc:
            raise database_unavailable(exc.orig) from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"写入数据库失败：{exc}。请检查数据目录的权限和磁盘空间后重试。") from exc

    def files_with_sha(self, sha256: str) -> list[FileRow]:
        return [file_row(r) for r in self._rows("SELECT * FROM files WHERE sha256=:s ORDER BY id", s=sha256)]

    def unfinished_files(self) -> list[FileRow]:
        return [file_row(r) for r in self._rows(
            "SELECT * FROM files WHERE status=:s ORDER BY id", s=FileStatus.processing.value)]

    def get_file(self, file_id: int) -> FileRow | None:
        rows = self._rows("SELECT * FROM files WHERE id=:id", id=file_id)
        return file_row(rows[0]) if rows else None

    def list_files(self) -> list[FileRow]:
        return [file_row(r) for r in self._rows("SELECT * FROM files ORDER BY id")]

    def case_files(self, case_id: str, *, form: str | None = None, with_scans: bool = False) -> list[FileRow]:
        sql = f"SELECT * FROM files WHERE (case_id=:c AND {_ATTACHED}" + (" AND form=:f)" if form else ")")
        if with_scans:
            sql += " OR id IN (SELECT file_id FROM scan_documents WHERE case_id=:c)"
        return [file_row(r) for r in self._rows(sql + " ORDER BY id", c=case_id, f=form)]

    def typed_files(self) -> list[FileRow]:
        return [file_row(r) for r in self._rows(
            "SELECT * FROM files WHERE form IN ('check_table', 'site_record') ORDER BY id DESC")]

    def file_fields(self, file_id: int) -> dict[str, Any]:
        return {r.name: from_json(r.value)
                for r in self._rows("SELECT name, value FROM fields WHERE file_id=:f ORDER BY id", f=file_id)}

    def get_case(self, case_id: str) -> CaseRow | None:
        rows = self._rows("SELECT * FROM cases WHERE id=:id", id=case_id)
        return case_row(rows[0]) if rows else None

    def find_case(self, unit_key: str, check_date: str | None) -> CaseRow | None:
        rows = self._rows(
            "SELECT * FROM cases WHERE unit_key=:k AND (check_date=:d OR check_date IS NULL) ORDER BY id",
            k=unit_key, d=check_date)
        return case_row(rows[0]) if rows else None

    def list_cases(self) -> list[CaseRow]:
        return [case_row(r) for r in self._rows("SELECT * FROM cases ORDER BY id")]

    def penalty_cases(self) -> list[CaseRow]:
        return [case_row(r) for r in self._rows("SELECT * FROM cases WHERE penalty=1 ORDER BY check_date DESC NULLS LAST, id DESC")]

    def case_findings(self, case_id: str) -> list[FindingRow]:
        """The case's current findings, as its last evaluation left them."""
        rows = self._rows("SELECT findings FROM cases WHERE id=:c", c=case_id)
        raw = rows[0].findings if rows else None
        return [FindingRow(**f) for f in json.loads(raw)] if raw else []

    def findings_for_file(self, file_id: int) -> list[FindingRow]:
        return [FindingRow(r.code, r.severity, r.field, r.message, r.article)
                for r in self._rows("SELECT * FROM findings WHERE file_id=:f ORDER BY id", f=file_id)]

    def outputs_for_file(self, file_id: int) -> list[OutputRow]:
        return [_output_row(r) for r in self._rows("SELECT * FROM outputs WHERE file_id=:f ORDER BY id", f=file_id)]

    def outputs_for_case(self, case_id: str) -> list[OutputRow]:
        return [_output_row(r) for r in self._rows("SELECT * FROM outputs WHERE case_id=:c ORDER BY id", c=case_id)]

    def events(self, entity: str | None = None, entity_id: str | None = None) -> Iterator[EventRow]:
        sql = "SELECT * FROM events"
        params: dict[str, Any] = {}
        if entity is not None:
            sql += " WHERE entity=:e" + (" AND entity_id=:i" if entity_id is not None else "")
            params = {"e": entity, "i": entity_id}
        for r in self._rows(sql + " ORDER BY id", **params):
            yield _event_row(r)

    def case_events(self, case_id: str, file_ids: Sequence[int]) -> list[EventRow]:
        params: dict[str, Any] = {"c": case_id} | {f"f{n}": str(i) for n, i in enumerate(file_ids)}
        files = ", ".join(f":f{n}" for n in range(len(file_ids)))
        where = "(entity='case' AND entity_id=:c)" + (f" OR (entity='file' AND entity_id IN ({files}))" if files else "")
        return [_event_row(r) for r in self._rows(f"SELECT * FROM events WHERE {where} ORDER BY id", **params)]

    def last_event_id(self, entity: str | None = None, entity_id: str | None = None) -> int:
        sql = "SELECT COALESCE(MAX(id), 0) FROM events"
        if entity is not None:
            sql += " WHERE entity=:e" + (" AND entity_id=:i" if entity_id is not None else "")
        return int(self._scalar(sql, e=entity, i=entity_id))

    def list_versions(self, kind: str | None = None) -> list[ListVersionRow]:
        sql = "SELECT * FROM list_versions"
        params: dict[str, Any] = {}
        if kind is not None:
            sql, params = sql + " WHERE kind=:k", {"k": kind}
        return [_version_row(r) for r in self._rows(sql + " ORDER BY kind, effective_from, id", **params)]

    def list_version_on(self, kind: str, on: date | None = None) -> ListVersionRow | None:
        """The newest version whose effective_from is on or before ``on``; ``on=None``: the newest import.

        A date before every version's effective_from gets the earliest version: it is the best
        evidence there is for that time (a list imported after the checks it covers is still valid
        for them).
        """
        if on is None:
            rows = self._rows("SELECT * FROM list_versions WHERE kind=:k ORDER BY id DESC LIMIT 1", k=kind)
        else:
            # One query for both cases: the versions in effect on ``on`` first, newest first; else the earliest.
            rows = self._rows(
                "SELECT * FROM list_versions WHERE kind=:k ORDER BY (effective_from <= :d) DESC,"
                " CASE WHEN effective_from <= :d THEN effective_from END DESC, effective_from, id DESC LIMIT 1",
                k=kind, d=on.isoformat())
        return _version_row(rows[0]) if rows else None

    def list_rows(self, kind: str, on: date | None = None) -> list[dict[str, Any]]:
        """Rows of the version in force on ``on`` (``None``: the newest import); empty when never imported."""
        version = self.list_version_on(kind, on)
        return [] if version is None else self.list_version_rows(version.id)

    def list_version_rows(self, version_id: int) -> list[dict[str, Any]]:
        # A version's rows never change once imported: read them once per store (every evaluation asks).
        cached = self._version_rows.get(version_id)
        if cached is None:
            rows = self._rows("SELECT data FROM list_rows WHERE version_id=:v ORDER BY row_no", v=version_id)
            cached = self._version_rows[version_id] = [json.loads(r.data) for r in rows]
        return [dict(r) for r in cached]  # callers may change their copy

    def close(self) -> None:
        self.engine.dispose()


_MIGRATIONS_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                     " name TEXT NOT NULL, applied_at TEXT NOT NULL)")


def _record(version: int, name: str) -> str:
    return f"INSERT INTO schema_migrations (version, name, applied_at) VALUES ({version}, '{name}', '{now_iso()}');"


def driver_url(url: str) -> str:
    """``postgresql://…`` (as IT writes it) through psycopg 3; SQLAlchemy's default would be psycopg2."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def _hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable commits switch to FULL for themselves (SqlStore.begin)
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
