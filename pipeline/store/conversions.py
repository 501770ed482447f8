"""The conversion queue: LibreOffice jobs handed from intake workers to converters (issue 14; migration 0009).

A worker with role ``intake`` never starts LibreOffice. It puts the files to convert in a folder of the
shared data folder and queues one row per file; a worker with role ``convert`` takes queued rows in
batches (``claim_conversions``: ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`` on
PostgreSQL, so two converters never take the same job and never wait on each other), converts them and
marks each done or failed. A taken job has a lease that the converter's heartbeat extends
(``renew_conversions``); when a converter dies its running jobs are taken again after the lease, and a
job taken ``max_attempts`` times without an end (it kills every converter) is given up as failed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.exc import SQLAlchemyError

from pipeline.core.errors import StoreError
from pipeline.store.base import ConversionJob, NewConversion
from pipeline.store.sqlcore import SqlReads, now_iso

GAVE_UP = "转换进程多次在转换此文件时中断（可能被结束或机器断电），已放弃；文件可能过于复杂或已损坏。"

_COLUMNS = ("id, batch, source, target, infilter, output, state, owner, lease_until, attempts, error, key,"
            " created_at")


def _job(r: Any) -> ConversionJob:
    return ConversionJob(int(r.id), r.batch, r.source, r.target, r.infilter, r.output, r.state, r.owner,
                         float(r.lease_until), int(r.attempts), r.error, r.key, r.created_at)


class ConversionStore(SqlReads):
    def _write(self, sql: str, what: str, expanding: str | None = None, **params: Any) -> Any:
        statement = text(sql)
        if expanding:
            statement = statement.bindparams(bindparam(expanding, expanding=True))
        try:
            with self.engine.begin() as conn:
                return conn.execute(statement, params)
        except SQLAlchemyError as exc:
            raise StoreError(f"{what}：{exc}。") from exc

    def enqueue_conversions(self, jobs: Sequence[NewConversion]) -> list[int]:
        ids = []
        try:
            with self.engine.begin() as conn:
                for job in jobs:
                    ids.append(int(conn.execute(text(
                        "INSERT INTO conversions (batch, source, target, infilter, key, created_at)"
                        " VALUES (:b, :s, :t, :i, :k, :at) RETURNING id"),
                        {"b": job.batch, "s": job.source, "t": job.target, "i": job.infilter, "k": job.key,
                         "at": now_iso()}).scalar_one()))
        except SQLAlchemyError as exc:
            raise StoreError(f"无法把转换任务写入数据库：{exc}。") from exc
        return ids

    def claim_conversions(self, owner: str, limit: int, lease_seconds: float, *, max_attempts: int = 3,
                          now: float | None = None) -> list[ConversionJob]:
        now = time.time() if now is None else now
        skip_locked = " FOR UPDATE SKIP LOCKED" if self.engine.dialect.name != "sqlite" else ""
        free = f"(state='running' AND lease_until < :now){skip_locked}"
        params = {"now": now, "o": owner, "e": now + lease_seconds, "at": now_iso(), "n": limit,
                  "max": max_attempts, "gave_up": GAVE_UP}
        try:
            with self.engine.begin() as conn:
                # Jobs whose converters died on them again and again: given up, with the reason.
                conn.execute(text(
                    "UPDATE conversions SET state='failed', error=:gave_up, finished_at=:at, owner=NULL"
                    f" WHERE id IN (SELECT id FROM conversions WHERE attempts >= :max AND {free})"), params)
                rows = conn.execute(text(
                    "UPDATE conversions SET state='running', owner=:o, lease_until=:e, attempts=attempts+1,"
                    " started_at=:at WHERE id IN (SELECT id FROM conversions"
                    " WHERE state='queued' OR (state='running' AND lease_until < :now)"
                    f" ORDER BY id LIMIT :n{skip_locked}) RETURNING {_COLUMNS}"), params).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"无法从数据库领取转换任务：{exc}。") from exc
        return sorted((_job(r) for r in rows), key=lambda j: j.id)

    def renew_conversions(self, owner: str, lease_seconds: float, now: float | None = None) -> int:
        now = time.time() if now is None else now
        return int(self._write("UPDATE conversions SET lease_until=:e WHERE owner=:o AND state='running'",
                               "无法续期转换任务", e=now + lease_seconds, o=owner).rowcount)

    def finish_conversion(self, job_id: int, owner: str, *, output: str | None = None,
                          error: str | None = None) -> bool:
        state = "done" if output is not None else "failed"
        return bool(self._write(
            "UPDATE conversions SET state=:st, output=:out, error=:err, finished_at=:at, lease_until=0"
            " WHERE id=:id AND owner=:o AND state='running'", "无法记录转换结果",
            st=state, out=output, err=error, at=now_iso(), id=job_id, o=owner).rowcount)

    def release_conversions(self, owner: str) -> int:
        return int(self._write(
            "UPDATE conversions SET state='queued', owner=NULL, lease_until=0, attempts=attempts-1"
            " WHERE owner=:o AND state='running'", "无法交回转换任务", o=owner).rowcount)

    def conversion_jobs(self, ids: Iterable[int]) -> list[ConversionJob]:
        wanted = list(ids)
        if not wanted:
            return []
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(text(f"SELECT {_COLUMNS} FROM conversions WHERE id IN :ids ORDER BY id")
                                    .bindparams(bindparam("ids", expanding=True)), {"ids": wanted}).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"读取数据库失败：{exc}。") from exc
        return [_job(r) for r in rows]

    def conversion_with_key(self, key: str) -> ConversionJob | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM conversions WHERE key=:k ORDER BY id DESC LIMIT 1", k=key)
        return _job(rows[0]) if rows else None

    def drop_conversions(self, ids: Iterable[int], states: Sequence[str]) -> int:
        wanted = list(ids)
        if not wanted:
            return 0
        # Two expanding lists: the state list is spelled out (it comes from the code, not from outside).
        allowed = ", ".join(f"'{s}'" for s in states if s in ("queued", "running", "done", "failed"))
        return int(self._write(f"DELETE FROM conversions WHERE id IN :ids AND state IN ({allowed})",
                               "无法删除转换任务", expanding="ids", ids=wanted).rowcount)

    def conversion_batch(self, batch: str) -> list[ConversionJob]:
        return [_job(r) for r in self._rows(f"SELECT {_COLUMNS} FROM conversions WHERE batch=:b ORDER BY id", b=batch)]

    def live_converters(self, now: float | None = None) -> int:
        """How many converters (role ``convert``) hold a live ``converter:`` claim (their heartbeat runs)."""
        return int(self._scalar("SELECT COUNT(*) FROM claims WHERE key LIKE 'converter:%' AND expires_at > :now",
                                now=time.time() if now is None else now) or 0)

    def conversion_counts(self) -> dict[str, int]:
        counts = {"queued": 0, "running": 0, "done": 0, "failed": 0}
        counts.update({r.state: int(r.n) for r in
                       self._rows("SELECT state, COUNT(*) AS n FROM conversions GROUP BY state")})
        return counts
