"""Archiving in ``watch``'s idle time, so that a 公示表 never waits for it.

The slow part of packaging is LibreOffice turning each original into its PDF/A 版式文件. ``IdleArchiver``
does that in a background thread, in one batch for all the cases due, on a converter of its own (one
soffice: the other cores stay with the files being dropped); it touches only the 归档PDF cache, whose
files appear by atomic rename. Packaging itself (database, outbox) then runs in the watch thread, one
case at a time, and only while nothing in the inbox waits: ``step`` returns as soon as ``busy()``
says a file has come. A case changed meanwhile is packaged as it is then (a document not yet
normalised is converted on the spot).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from pipeline.archive.model import Document
from pipeline.archive.normalise import normalise
from pipeline.archive.package import PackageResult, documents_of, due_cases, package_due
from pipeline.cases.context import Context
from pipeline.core.errors import ShuangsuiError
from pipeline.documents.libreoffice import Converter, Converting
from pipeline.outputs import summary
from pipeline.store.claims import CASES_LOCK

log = logging.getLogger(__name__)


class IdleArchiver:
    """Call ``changed()`` after every pass and ``step(busy)`` whenever the watcher is idle."""

    def __init__(self, ctx: Context, profile_root: Path | None = None) -> None:
        self.ctx = ctx
        self._profile_root = profile_root
        self._dirty = True  # a pass ran since the last look at what is due (or the watcher just started)
        self._queue: list[str] = []
        self._thread: threading.Thread | None = None
        self._converter: Converter | None = None
        self.results: list[PackageResult] = []  # every package made (for tests and logs)

    def changed(self) -> None:
        self._dirty = True

    def normalising(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def step(self, busy: Callable[[], bool]) -> None:
        """Start the normalisation of what is due, or package what it finished, until ``busy()``."""
        if self.normalising():
            return
        self._thread = None
        if not self._queue:
            if not self._dirty or not self.ctx.settings.archive_auto:
                return
            self._dirty = False
            self._queue = due_cases(self.ctx)
            docs = documents_of(self.ctx, self._queue) if self._queue else []
            if docs:
                self._thread = threading.Thread(target=self._normalise, args=(docs,), daemon=True,
                                                 name="archive-normalise")
                self._thread.start()
                return
        while self._queue and not busy():
            # One worker at a time, as the end-of-pass steps (several workers on one database).
            with self.ctx.store.exclusive(CASES_LOCK):
                self.results.append(package_due(self.ctx, self._queue.pop(0)))
                if not self._queue:
                    # The packaged cases are 已归档 now: 公示表汇总 says so too, as ``status`` does.
                    summary.refresh_reports(self.ctx)

    def _normalise(self, docs: list[Document]) -> None:
        try:
            normalise(docs, self.ctx.settings, self._get_converter)
        except (ShuangsuiError, OSError) as exc:  # packaging reports each document without a PDF
            log.warning("归档规范化未完成：%s", exc)

    def _get_converter(self) -> Converting:
        if self.ctx.settings.role == "intake":
            return self.ctx.converter()  # the conversion queue: converters on other machines
        if self._converter is None:
            settings = self.ctx.settings
            self._converter = Converter(settings.soffice, profile_root=self._profile_root,
                                        timeout=settings.pdf_timeout)
        return self._converter

    def close(self, timeout: float = 0.0) -> None:
        """Let a running normalisation finish within ``timeout`` seconds (it resumes next start if not)."""
        if self._thread is not None:
            self._thread.join(timeout)
        if not self.normalising() and self._converter is not None:
            self._converter.close()
