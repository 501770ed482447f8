"""The analysis of each file in a worker process with a memory and a time limit.

A hostile or broken file (a zip bomb, an XML bomb, a PDF that crashes pdfium, a sheet that takes
minutes) may exhaust the worker, hang it or kill it; the pass goes on. The worker is one long-lived
process, forked from the pipeline's process (so it starts in milliseconds with everything imported, and
nothing runs the main module again), replaced whenever it dies, overruns ``file_timeout_s`` or needs
more than ``file_memory_mb`` beyond what it started with (RLIMIT_AS). Its file gets
``FILE_TOO_COMPLEX`` or ``INTERNAL_ERROR`` and goes to 退回 like any refused file.

The worker only reads: it never touches the database or the outbox, so the parent's connections and
threads, which a fork copies, are never used in it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import resource
import signal
import traceback
from collections.abc import Hashable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from pipeline.core.codes import FindingCode
from pipeline.core.errors import InputFileError
from pipeline.core.settings import Settings
from pipeline.intake.analysis import Analysed, AnalysisTask, analyse_file

log = logging.getLogger(__name__)

STOP = None  # sent instead of a task: the worker exits


def too_complex(reason: str) -> InputFileError:
    return InputFileError(
        f"文件过于复杂，超出处理上限（{reason}），已停止处理。请确认放入的是检查表本身："
        "如是扫描件，请以 200–300 dpi 重新扫描；如是 Word/Excel 文件，请删除其中的大图片或多余的工作表后另存再放入。",
        field="file", code=FindingCode.file_too_complex.value)


def internal_error(detail: str) -> InputFileError:
    return InputFileError(
        f"处理该文件时程序出错（{detail}），其他文件不受影响。请在 Word/WPS 中打开确认无误后另存再放入；"
        "如仍出错，请把文件和本说明交给信息化人员。", field="file", code=FindingCode.internal_error.value)


def _serve(conn: Connection, settings: Settings, memory_mb: int) -> None:
    """The worker's loop: one task in, one ``Analysed`` (or a failure description) out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if memory_mb > 0:
        # On top of what the fork inherited. Only the soft limit: LibreOffice, started from here for old
        # formats, lifts it for itself.
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _address_space() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is STOP:
            return
        reply: tuple[str, Any]
        try:
            reply = ("ok", analyse_file(task, settings))
        except MemoryError:
            reply = ("memory", None)
        except RecursionError:
            reply = ("complex", "嵌套层数过多")
        except Exception as exc:
            log.debug("analysis failed: %s", traceback.format_exc())
            reply = ("crash", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("memory", None))
        except Exception as exc:
            conn.send(("crash", f"{type(exc).__name__}: {exc}"[:300]))


def _address_space() -> int:
    """This process's virtual memory size in bytes (``VmSize``)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


class AnalysisWorker:
    """Runs ``analyse_file`` in a child process; ``analyse`` raises ``InputFileError`` for a file the
    worker could not finish (``FILE_TOO_COMPLEX``, ``INTERNAL_ERROR``) and replaces the worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.pending: Hashable | None = None  # the key of a task sent ahead (``submit``), not yet collected
        self._in_flight = False  # a task was sent and its result not yet read
        self.replaced = 0  # workers replaced after a failure (for logs and tests)
        atexit.register(self.close)

    def analyse(self, task: AnalysisTask) -> Analysed:
        self.drop_pending()
        self.submit(task, None)
        return self.result()

    def submit(self, task: AnalysisTask, key: Hashable) -> None:
        """Send ``task`` without waiting (``key`` names it for ``pending``); ``result`` collects it."""
        conn, _process = self._ensure()
        try:
            conn.send(task)
        except (OSError, BrokenPipeError):
            self._discard()
            conn, _process = self._ensure()
            conn.send(task)
        self.pending, self._in_flight = key, True

    def drop_pending(self) -> None:
        """Collect and forget a task sent ahead whose file turned out different (or never came)."""
        if self._in_flight:
            with contextlib.suppress(InputFileError):
                self.result()

    def result(self) -> Analysed:
        """The analysis of the task sent last; raises ``InputFileError`` as ``analyse`` does."""
        conn, process = self._ensure_sent()
        self.pending, self._in_flight = None, False
        try:
            if not conn.poll(self.settings.file_timeout_s):
                self._discard()
                raise too_complex(f"处理超过 {self.settings.file_timeout_s:g} 秒")
            kind, value = conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            process.join(timeout=5)
            code = process.exitcode
            self._discard()
            if code == -signal.SIGKILL:
                # The kernel's OOM killer or someone's kill -9: most likely the memory it took.
                raise too_complex("内存不足，处理进程被终止") from None
            raise internal_error(f"处理进程意外退出，退出码 {code}") from None
        if kind == "ok":
            assert isinstance(value, Analysed)
            return value
        self._discard()  # a worker that failed once is not trusted with the next file
        if kind == "memory":
            raise too_complex(f"需要的内存超过 {self.settings.file_memory_mb} MB")
        if kind == "complex":
            raise too_complex(str(value))
        raise internal_error(str(value))

    def _ensure_sent(self) -> tuple[Connection, BaseProcess]:
        assert self._in_flight and self._conn is not None and self._process is not None, "no task sent"
        return self._conn, self._process

    def _ensure(self) -> tuple[Connection, BaseProcess]:
        if self._process is not None and self._conn is not None and self._process.is_alive():
            return self._conn, self._process
        self._discard()
        context = multiprocessing.get_context("fork")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, self.settings, self.settings.file_memory_mb),
                                  name="shuangsui-analysis", daemon=True)
        process.start()
        child.close()
        self._process, self._conn = process, parent
        return parent, process

    def _discard(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        self.pending, self._in_flight = None, False
        if conn is not None:
            conn.close()
        if process is not None:
            self.replaced += 1
            if process.is_alive():
                process.kill()
            process.join(timeout=5)

    def close(self) -> None:
        """Stop the worker (it finishes nothing: callers close between files)."""
        if self._conn is not None and self._process is not None and self._process.is_alive():
            try:
                self._conn.send(STOP)
                self._process.join(timeout=2)
            except OSError:
                pass
        replaced = self.replaced
        self._discard()
        self.replaced = replaced
