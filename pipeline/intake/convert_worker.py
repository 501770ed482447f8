"""Role ``convert``: a machine that only runs LibreOffice, for the intake workers (several machines, issue 14).

``run_converter`` claims queued jobs in batches (``Store.claim_conversions``: ``FOR UPDATE SKIP LOCKED``
with a lease), converts each batch on the local ``ConverterPool`` (one soffice start per converter per
batch, ``pdf_workers`` profiles), moves each result into ``<batch>/out/`` of the shared queue folder
(written under a hidden name in the same folder, then renamed: an intake worker never sees half a
file) and marks the job done, or failed with the Chinese reason. A heartbeat thread extends the leases
of its jobs and its ``converter:<owner>`` claim, by which intake workers know a converter is running. It
never touches the inbox, the outbox or the cases.

On SIGTERM or Ctrl-C it stops after the batch in hand (Ctrl-C during a batch hands the jobs back to the
queue); killed with -9, its jobs are taken by another converter once their lease has run out.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from pipeline.cases.context import Context
from pipeline.core.errors import ShuangsuiError, StoreError
from pipeline.documents.conversion_queue import queue_root
from pipeline.documents.libreoffice import NO_OUTPUT_MESSAGE, ConverterPool
from pipeline.store.base import ConversionJob

log = logging.getLogger(__name__)

JOBS_PER_CONVERTER = 20  # a batch: up to this many jobs per LibreOffice profile (one soffice start each)
STALE_SECONDS = 24 * 3600  # a batch folder this old with nothing left to do is nobody's any more


class ConverterWorker:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.root = queue_root(ctx.settings.data_dir)
        self.lease = ctx.settings.claim_lease_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.converted = 0
        self._next_sweep = 0.0
        self._stop_beat = threading.Event()
        self._beat_thread = threading.Thread(target=self._beat, name="converter-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop_beat.wait(self.lease / 3):
            try:
                self.store.renew_claims(self.owner, self.lease)
                self.store.renew_conversions(self.owner, self.lease)
            except StoreError as exc:  # the database away for a moment: the next beat tries again
                log.warning("converter heartbeat failed: %s", exc)

    def run(self, stop: threading.Event, *, drain: bool,
            on_batch: Callable[[list[ConversionJob]], None] | None = None) -> int:
        """Convert until ``stop`` (``drain``: until the queue is empty); returns how many jobs were done."""
        pool = self.ctx.run.converter_pool(self.ctx.settings)  # raises LibreOfficeMissing before any claim
        self.store.claim(f"converter:{self.owner}", self.owner, self.lease)
        self._beat_thread.start()
        try:
            while not stop.is_set():
                try:
                    if not self._step(pool, stop, drain, on_batch):
                        break
                except StoreError as exc:
                    if drain:
                        raise
                    # The database away for a while: the jobs in hand come back after their lease.
                    log.warning("转换队列暂时无法使用：%s", exc.message)
                    stop.wait(self.ctx.settings.poll_seconds)
        finally:
            self._stop_beat.set()
            self._beat_thread.join(timeout=5)
            try:
                self.store.release_claims(self.owner, [f"converter:{self.owner}"])
            except StoreError as exc:
                log.warning("converter claim not released (it expires after the lease): %s", exc)
        return self.converted

    def _step(self, pool: ConverterPool, stop: threading.Event, drain: bool,
              on_batch: Callable[[list[ConversionJob]], None] | None) -> bool:
        """Claim and convert one batch (or wait a little for one); False when a drain is done."""
        jobs = self.store.claim_conversions(self.owner, JOBS_PER_CONVERTER * len(pool.converters), self.lease)
        if not jobs:
            counts = self.store.conversion_counts() if drain else {}
            if drain and not counts["queued"] and not counts["running"]:
                return False  # drained; running jobs may still come back to us when their lease runs out
            self.sweep()
            stop.wait(self.ctx.settings.poll_seconds)
            return True
        try:
            self.convert(pool, jobs)
        except (KeyboardInterrupt, SystemExit):
            self.store.release_conversions(self.owner)  # Ctrl-C: back to the queue for another converter
            raise
        if on_batch:
            on_batch(jobs)
        return True

    def sweep(self, now: float | None = None) -> list[str]:
        """Remove batches nobody will read (an intake worker killed while it waited): folders older than
        ``STALE_SECONDS`` with nothing queued or running; their done rows go too, failed rows stay."""
        now = time.time() if now is None else now
        if now < self._next_sweep:
            return []
        self._next_sweep = now + STALE_SECONDS / 24
        removed = []
        for folder in self.root.iterdir() if self.root.is_dir() else ():
            try:
                stale = folder.is_dir() and not folder.name.startswith(".") and folder.stat().st_mtime < now - STALE_SECONDS
            except OSError:
                continue
            jobs = self.store.conversion_batch(folder.name) if stale else []
            if stale and not any(j.state in ("queued", "running") for j in jobs):
                self.store.drop_conversions([j.id for j in jobs], ("done",))
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        return removed

    def convert(self, pool: ConverterPool, jobs: list[ConversionJob]) -> None:
        """One batch: per (format, import filter) one ``convert_report`` over the pool."""
        groups: dict[tuple[str, str | None], list[ConversionJob]] = defaultdict(list)
        for job in jobs:
            if not _inside(self.root, f"{job.batch}/", job.source):
                # Only files the intake workers put into the queue folder are converted, whatever a row says.
                self.store.finish_conversion(job.id, self.owner, error=f"转换任务的文件不在转换队列中：{job.source}")
            elif (self.root / job.batch).is_dir():
                groups[(job.target, job.infilter)].append(job)
            else:  # its intake worker gave up waiting and withdrew the batch
                self.store.drop_conversions([job.id], ("running",))
        for (target, infilter), group in groups.items():
            sources = {self.root / job.source: job for job in group}
            with tempfile.TemporaryDirectory(prefix="shuangsui-convert-") as work:  # on this machine's disk
                try:
                    outputs, failures = pool.convert_report(list(sources), target, Path(work), infilter=infilter)
                except ShuangsuiError as exc:
                    outputs, failures = {}, dict.fromkeys(sources, exc.message)
                for source, job in sources.items():
                    self._finish(job, outputs.get(source), failures.get(source, NO_OUTPUT_MESSAGE))

    def _finish(self, job: ConversionJob, produced: Path | None, error: str) -> None:
        if produced is None:
            self.store.finish_conversion(job.id, self.owner, error=error)
            return
        out = self.root / job.batch / "out"
        try:
            out.mkdir(exist_ok=True)
            name = f"{Path(job.source).stem}{produced.suffix}"
            part = out / f".{name}.{self.owner.rsplit(':', 1)[-1]}.part"
            shutil.copyfile(produced, part)
            part.replace(out / name)  # within one folder of the share: atomic
        except FileNotFoundError:  # the batch withdrawn meanwhile
            self.store.drop_conversions([job.id], ("running",))
            return
        if self.store.finish_conversion(job.id, self.owner, output=f"{job.batch}/out/{name}"):
            self.converted += 1
        # else: its lease ran out and another converter has it; the same result under the same name.


def run_converter(ctx: Context, stop: threading.Event, *, drain: bool,
                  on_batch: Callable[[list[ConversionJob]], None] | None = None) -> int:
    """``watch --role convert`` (``drain=False``) and ``process --role convert`` (``drain=True``)."""
    return ConverterWorker(ctx).run(stop, drain=drain, on_batch=on_batch)


def _inside(root: Path, prefix: str, rel: str) -> bool:
    """Whether ``rel`` names a file under ``root/prefix`` (no ``..``, no absolute path, no link out)."""
    path = (root / rel).resolve()
    return rel.startswith(prefix) and path.is_relative_to((root / prefix).resolve())

