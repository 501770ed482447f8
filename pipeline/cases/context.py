"""The job context every stage works on: the settings, the store and the originals store.

It lives in its own module (not in the coordinator) so that every layer can name its type.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipeline.core.settings import Settings
from pipeline.documents.conversion_queue import QueuedConverter, queue_root
from pipeline.documents.libreoffice import DEFAULT_POOL_SIZE, ConverterPool, Converting
from pipeline.store.base import Store
from pipeline.store.originals import OriginalsStore


class Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class RenderedForm:
    """A 公示表 rendered in this pass: the values printed (any hashable key of them) and the file."""

    values: Hashable
    path: Path


@dataclass
class Runtime:
    """What one process keeps between files and passes, carried by its ``Context``.

    - ``pools``: the LibreOffice converter pools, by (soffice, workers, timeout), each started on first
      use and closed when the process ends (LibreOffice itself runs only during a conversion);
    - ``defer_pdfs``: inside a pass, 公示表 PDFs wait for the pass's one batch (``flush_pdfs``);
    - ``pdf_pending``: case id → why its PDF was not made in this process (the ``PDF_PENDING`` text);
    - ``archive_failed``: case id → its last event id when packaging failed, so that it is not tried
      again in this process until the case changes;
    - ``worker``: the process that analyses each received file (``intake.worker``), kept between passes;
    - ``public_forms``: inside a pass, case id → the 公示表 .docx rendered for it (``cases.public_forms``):
      one render feeds the Word file published, the PDF conversion at the pass's end and, through the
      outbox, the 汇总, the bundle and the archive;
    - ``public_form_renders``: how many times each case's 公示表 was rendered by this process (the
      render-once promise is tested on it).
    - ``claims``: this worker's claims and their heartbeat on a shared database (``intake.claims``).
    - ``ahead``: the next file of the pass, which the worker may read while this one is committed.
    """

    pools: dict[tuple[str, int, float], ConverterPool] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    defer_pdfs: bool = False
    pdf_pending: dict[str, str] = field(default_factory=dict)
    archive_failed: dict[str, int] = field(default_factory=dict)
    worker: Closable | None = None
    public_forms: dict[str, RenderedForm] = field(default_factory=dict)
    public_form_renders: Counter[str] = field(default_factory=Counter)
    claims: Closable | None = None
    ahead: Path | None = None

    def converter_pool(self, settings: Settings) -> ConverterPool:
        """The pool for ``settings`` (created on first use; raises ``LibreOfficeMissing``)."""
        key = (settings.soffice, settings.pdf_workers if settings.pdf_workers > 0 else DEFAULT_POOL_SIZE,
               settings.pdf_timeout)
        with self.lock:
            pool = self.pools.get(key)
            if pool is None:
                pool = ConverterPool(key[1], settings.soffice, profile_root=_profile_root(), timeout=key[2])
                atexit.register(pool.close)
                self.pools[key] = pool
            return pool

    def close(self) -> None:
        """Close every converter pool and the analysis worker of this runtime."""
        with self.lock:
            for pool in self.pools.values():
                pool.close()
            self.pools.clear()
            if self.worker is not None:
                self.worker.close()
                self.worker = None
            if self.claims is not None:
                self.claims.close()
                self.claims = None


def _profile_root() -> Path:
    root = Path(tempfile.gettempdir()) / f"shuangsui-libreoffice-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


@dataclass(frozen=True)
class Context:
    """One pass's (or one command's) settings, database and originals store."""

    settings: Settings
    store: Store
    originals: OriginalsStore
    run: Runtime = field(default_factory=Runtime, compare=False)

    def converter(self) -> Converting:
        """LibreOffice for this process, the one seam every conversion goes through: the local pool, or
        with role ``intake`` the conversion queue that the converters (role ``convert``) work off."""
        if self.settings.role == "intake":
            return QueuedConverter(self.store, queue_root(self.settings.data_dir), timeout=self.settings.pdf_timeout,
                                   wait=self.settings.convert_wait_seconds)
        return self.run.converter_pool(self.settings)

    def close(self) -> None:
        """Close the database, the converter pools and the analysis worker."""
        self.run.close()
        self.store.close()
