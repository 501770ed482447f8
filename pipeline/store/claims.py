"""Claims and exclusive sections for several workers on one database (issue 14; migration 0008).

A worker claims a piece of work (an inbox file, a content hash) before doing it: the row in ``claims``
names the owner and the end of its lease. On PostgreSQL the row is taken with ``SELECT … FOR UPDATE
SKIP LOCKED``, so two workers never wait on each other for the same claim and never both get it; a
lease that ran out (its worker died: kill -9, power, network) is taken over by the next worker that
asks. ``renew_claims`` is the heartbeat. ``exclusive`` is a section one worker at a time runs
(a PostgreSQL session advisory lock, released by the server when the worker's connection dies). On
SQLite one process holds the data folder (``pipeline.intake.datalock``), so ``exclusive`` has
nothing to exclude; the claims still work there (a write transaction is exclusive).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from pipeline.core.errors import StoreError
from pipeline.store.sqlcore import SqlReads, now_iso

CASES_LOCK = "shuangsui:cases"  # every case: list imports, scans, penalties, archiving and the end-of-pass steps


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a name (stable across machines and versions)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


class ClaimStore(SqlReads):
    @property
    def shared(self) -> bool:
        """Whether several workers may share this database (a server database, not the SQLite file)."""
        return self.engine.dialect.name != "sqlite"

    def claim(self, key: str, owner: str, lease_seconds: float, now: float | None = None) -> bool:
        """Take ``key`` for ``owner`` until ``now + lease_seconds``; False while another owner's lease runs."""
        now = time.time() if now is None else now
        params = {"k": key, "o": owner, "e": now + lease_seconds, "at": now_iso()}
        skip_locked = " FOR UPDATE SKIP LOCKED" if self.shared else ""
        try:
            with self.engine.begin() as conn:
                inserted = conn.execute(text(
                    "INSERT INTO claims (key, owner, expires_at, claimed_at) VALUES (:k, :o, :e, :at)"
                    " ON CONFLICT (key) DO NOTHING"), params).rowcount
                if inserted:
                    return True
                row = conn.execute(text(f"SELECT owner, expires_at FROM claims WHERE key=:k{skip_locked}"),
                                   params).one_or_none()
                # None: another worker is taking or releasing it right now.
                if row is None or (row.owner != owner and row.expires_at > now):
                    return False
                conn.execute(text("UPDATE claims SET owner=:o, expires_at=:e, claimed_at=:at WHERE key=:k"), params)
                return True
        except SQLAlchemyError as exc:
            raise StoreError(f"无法在数据库中登记处理权：{exc}。") from exc

    def renew_claims(self, owner: str, lease_seconds: float, now: float | None = None) -> int:
        """The heartbeat: extend every lease ``owner`` holds; returns how many it holds."""
        now = time.time() if now is None else now
        try:
            with self.engine.begin() as conn:
                return int(conn.execute(text("UPDATE claims SET expires_at=:e WHERE owner=:o"),
                                        {"e": now + lease_seconds, "o": owner}).rowcount)
        except SQLAlchemyError as exc:
            raise StoreError(f"无法续期处理权：{exc}。") from exc

    def release_claims(self, owner: str, keys: Iterable[str]) -> None:
        """Give back claims ``owner`` holds (the work is recorded); others' claims are left alone."""
        try:
            with self.engine.begin() as conn:
                for key in keys:
                    conn.execute(text("DELETE FROM claims WHERE key=:k AND owner=:o"), {"k": key, "o": owner})
        except SQLAlchemyError as exc:
            raise StoreError(f"无法释放处理权：{exc}。") from exc

    def mark(self, name: str) -> int | None:
        """A named mark shared by the workers (e.g. the last event an end of pass saw); None: never set."""
        value = self._scalar("SELECT value FROM counters WHERE name=:n", n=f"mark:{name}")
        return None if value is None else int(value)

    def set_mark(self, name: str, value: int) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(text("INSERT INTO counters (name, value) VALUES (:n, :v)"
                                  " ON CONFLICT (name) DO UPDATE SET value = :v"), {"n": f"mark:{name}", "v": value})
        except SQLAlchemyError as exc:
            raise StoreError(f"写入数据库失败：{exc}。") from exc

    def claim_owner(self, key: str) -> str | None:
        return self._scalar("SELECT owner FROM claims WHERE key=:k", k=key)

    @contextmanager
    def exclusive(self, name: str, *, within: str | None = None) -> Iterator[None]:
        """Run the body while no other worker on this database runs an ``exclusive(name)`` body.

        ``within``: also hold ``within`` shared, so that bodies of different names run side by side
        but none while another worker holds ``exclusive(within)``."""
        if not self.shared:
            yield
            return
        locks = ([("pg_advisory_lock_shared", "pg_advisory_unlock_shared", lock_key(within))] if within else []) \
            + [("pg_advisory_lock", "pg_advisory_unlock", lock_key(name))]
        try:
            conn = self.engine.connect()
            for take, _give, key in locks:
                conn.execute(text(f"SELECT {take}(:k)"), {"k": key})
            conn.commit()  # session locks: held across transactions, not "idle in transaction"
        except SQLAlchemyError as exc:
            raise StoreError(f"无法取得数据库锁 {name}：{exc}。") from exc
        try:
            yield
        finally:
            try:
                for _take, give, key in reversed(locks):
                    conn.execute(text(f"SELECT {give}(:k)"), {"k": key})
                conn.commit()
            except SQLAlchemyError:
                conn.invalidate()  # closing the session releases the locks on the server
            finally:
                conn.close()
