"""This worker's claims when several workers share one PostgreSQL database (issue 14).

``WorkerClaims`` names the worker (host, pid, a random token), takes claims through the store
(``Store.claim``: ``SELECT … FOR UPDATE SKIP LOCKED`` with a lease) and runs the heartbeat: a daemon
thread that extends the leases every third of ``claim_lease_seconds``. A worker killed with -9 stops
beating; its claims run out and the next worker that surveys the inbox takes the file over (the
``processing`` row and the crash recovery of ``process.receive`` then resume it).

What is claimed: ``inbox:<path>`` before a file is read, ``sha:<sha256>`` once its content is known
(two names with the same bytes are not analysed by two workers at once). With SQLite one process
holds the data folder (``datalock``) and nothing is claimed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from contextlib import AbstractContextManager

from pipeline.cases.context import Context
from pipeline.core.errors import StoreError
from pipeline.core.models import Extraction
from pipeline.core.text import company_key
from pipeline.store.base import Store
from pipeline.store.claims import CASES_LOCK

log = logging.getLogger(__name__)



class ClaimedElsewhere(Exception):
    """Another live worker holds this file or its content: leave it, it is being handled."""


class WorkerClaims:
    def __init__(self, store: Store, lease_seconds: float) -> None:
        self.store = store
        self.lease = lease_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="claims-heartbeat", daemon=True)
        self._thread.start()

    def take(self, key: str) -> bool:
        if self.store.claim(key, self.owner, self.lease):
            self.held.add(key)
            return True
        return False

    def release(self, *keys: str) -> None:
        mine = [k for k in keys if k in self.held]
        if mine:
            self.store.release_claims(self.owner, mine)
            self.held.difference_update(mine)

    def _beat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                self.store.renew_claims(self.owner, self.lease)
            except StoreError as exc:  # the database away for a moment: the next beat tries again
                log.warning("claims heartbeat failed: %s", exc)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.release(*self.held)
        except StoreError as exc:
            log.warning("claims not released (they expire after the lease): %s", exc)


def worker_claims(ctx: Context) -> WorkerClaims | None:
    """This process's claims (started on first use); None when the store is not shared."""
    if not ctx.store.shared:
        return None
    claims = ctx.run.claims
    if not isinstance(claims, WorkerClaims):
        claims = ctx.run.claims = WorkerClaims(ctx.store, ctx.settings.claim_lease_seconds)
    return claims


def claim(ctx: Context, key: str) -> None:
    """Claim ``key`` for this worker; ``ClaimedElsewhere`` when another worker holds it."""
    claims = worker_claims(ctx)
    if claims is not None and not claims.take(key):
        raise ClaimedElsewhere(key)


def decision_lock(ctx: Context, extraction: Extraction | None) -> AbstractContextManager[None]:
    """The lock under which a file's outcome is decided and recorded.

    A check table or site record without a printed case number can only join (or open) a case of its
    own unit: workers deciding files of different units run side by side (the unit's lock, inside
    ``CASES_LOCK`` held shared). Anything else (lists, scans, penalty decisions, answers, a form that
    names its case) may touch any case and takes ``CASES_LOCK`` whole."""
    unit = company_key(extraction.fields.get("inspected_unit") or "") if extraction else ""
    if extraction is not None and extraction.form in ("check_table", "site_record") and unit \
            and not extraction.case_ref:
        return ctx.store.exclusive(f"shuangsui:unit:{unit}", within=CASES_LOCK)
    return ctx.store.exclusive(CASES_LOCK)


def release_all(ctx: Context) -> None:
    """Give back every claim this worker holds (its file is recorded, or left for a later pass)."""
    claims = worker_claims(ctx)
    if claims is not None:
        claims.release(*claims.held)
