"""LibreOffice through the conversion queue, for a worker with role ``intake`` (several machines, issue 14).

``QueuedConverter`` has the API of ``Converter`` and ``ConverterPool`` (``convert``, ``convert_many``,
``convert_report``), so every caller takes it through the one seam ``Context.converter()``. It never starts
soffice: it copies the inputs into ``<data_dir>/转换队列/<batch>/in/`` on the shared data folder, queues one
job per file in the database (``Store.enqueue_conversions``) and polls the jobs until the converters
(``pipeline.intake.convert_worker``, role ``convert``) have marked them done or failed. The results are
read from ``<batch>/out/`` into the caller's ``out_dir``; then the batch folder and the done jobs' rows
are removed (a failed job's row keeps its error: LibreOffice could not convert the file, reported as the
local converters report it). Jobs not finished within the conversion timeout plus ``convert_wait_seconds``
are withdrawn; when any is, or no converter is running at all, ``QueueTimeout`` (a ``ConversionError``) is
raised, so the existing handling applies: an end-of-pass step is tried again next pass.
"""

from __future__ import annotations

import math
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from pipeline.documents.libreoffice import (
    NO_OUTPUT_MESSAGE,
    TIMEOUT_FILES,
    ConversionError,
    Converting,
    _Item,
    _Request,
    _Results,
)
from pipeline.store.base import ConversionJob, NewConversion, Store

QUEUE_FOLDER = "转换队列"
POLL_SECONDS = 0.2
FINISHED = ("done", "failed")

NO_CONVERTER = ("没有正在运行的转换机器（role = convert 的 shuangsui watch），LibreOffice 转换未完成；"
                "转换机器启动后自动补上。请信息化人员检查转换机器的服务。")
TIMED_OUT = ("转换机器在限定时间内没有完成 LibreOffice 转换（转换机器繁忙或已停止），系统会在下一轮自动重试。"
             "如一直如此，请信息化人员检查转换机器的服务（shuangsui doctor 显示转换队列）。")


class QueueTimeout(ConversionError):
    """No converter finished the queued jobs in time (or none is running)."""

    def __init__(self, message: str = TIMED_OUT) -> None:
        super().__init__(message, code="FILE_UNREADABLE")


def queue_root(data_dir: Path) -> Path:
    return data_dir / QUEUE_FOLDER


def wait_for(store: Store, ids: Sequence[int], deadline: float, poll: float = POLL_SECONDS) -> dict[int, ConversionJob]:
    """The jobs ``ids`` once all are done or failed, or as they are at ``deadline`` (``time.monotonic``)."""
    while True:
        jobs = {j.id: j for j in store.conversion_jobs(ids)}
        if all(j.state in FINISHED for j in jobs.values()) or time.monotonic() >= deadline:
            return jobs
        time.sleep(poll)


def enqueue(store: Store, root: Path, sources: Sequence[tuple[Path, str]], target: str, infilter: str | None,
            key: str | None = None) -> tuple[str, list[int]]:
    """Copy ``sources`` (path, name in the batch) into a new batch folder and queue them; (batch, job ids)."""
    batch = uuid.uuid4().hex
    folder = root / batch / "in"
    folder.mkdir(parents=True)
    for source, name in sources:
        shutil.copyfile(source, folder / name)
    jobs = [NewConversion(batch, f"{batch}/in/{name}", target, infilter, key) for _source, name in sources]
    try:
        return batch, store.enqueue_conversions(jobs)
    except BaseException:
        shutil.rmtree(root / batch, ignore_errors=True)
        raise


def forget(store: Store, root: Path, batch: str, ids: Sequence[int]) -> None:
    """Housekeeping once the results are read: withdraw what is still queued, drop the done rows (a failed
    row keeps its error), remove the batch folder (a converter still running a job of it then drops it)."""
    store.drop_conversions(ids, ("queued", "done"))
    shutil.rmtree(root / batch, ignore_errors=True)


class QueuedConverter(Converting):
    """See the module docstring. ``timeout``: the conversion timeout (per ``TIMEOUT_FILES`` files, as
    ``Converter``); ``wait``: how much longer to wait for the converters."""

    def __init__(self, store: Store, root: Path, *, timeout: float, wait: float) -> None:
        self.store = store
        self.root = root
        self.timeout = timeout
        self.wait = wait

    def _convert_items(self, items: list[_Item], request: _Request) -> _Results:
        outputs: dict[Path, Path] = {}
        failures: dict[Path, str] = {}
        if not items:
            return outputs, failures
        request.out_dir.mkdir(parents=True, exist_ok=True)
        names = [f"{n:04d}{request.suffix or item.source.suffix}" for n, item in enumerate(items)]
        batch, ids = enqueue(self.store, self.root, [(i.source, n) for i, n in zip(items, names, strict=True)],
                             request.convert_to, request.infilter)
        try:
            if not self.store.live_converters():
                raise QueueTimeout(NO_CONVERTER)
            deadline = time.monotonic() + self.timeout * math.ceil(len(items) / TIMEOUT_FILES) + self.wait
            jobs = wait_for(self.store, ids, deadline)
            for item, job_id in zip(items, ids, strict=True):
                job = jobs.get(job_id)
                if job is not None and job.state == "done" and job.output:
                    final = request.out_dir / item.name
                    shutil.move(self.root / job.output, final)
                    outputs[item.source] = final
                elif job is not None and job.state == "failed":
                    failures[item.source] = job.error or NO_OUTPUT_MESSAGE
                else:
                    failures[item.source] = TIMED_OUT
            if TIMED_OUT in failures.values():
                # Not "LibreOffice cannot open it": the caller's step is tried again later, whole (an archive
                # is never packaged with some PDFs missing for want of a converter).
                raise QueueTimeout()
            return outputs, failures
        finally:
            forget(self.store, self.root, batch, ids)

    def close(self) -> None:
        """Nothing to close: the store belongs to the context."""
