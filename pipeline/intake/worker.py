"""The analysis of each file in a worker process with a memory and a time limit.

A hostile or broken file (a zip bomb, an XML bomb, a PDF that crashes pdfium, a sheet that takes
minutes) may exhaust the worker, hang it or kill it; the pass goes on. The worker is one long-lived
process, forked from the pipeline's process (so it starts in milliseconds with everything imported, and
nothing runs the main module again), replaced whenever it dies, overruns ``file_timeout_s`` or needs
more than ``file_memory_mb`` beyond what it started with (RLIMIT_AS). Its file gets
``FILE_TOO_COMPLEX`` or ``INTERNAL_ERROR`` and goes to 退回 like any refused file.

The worker only reads: it never touches the database or the outbox, so the parent's connections and
threads, which a fork copies, are never used in it. It must not outlive its parent, though: its copy of
a database socket would keep the parent's PostgreSQL session (and the advisory locks it holds) alive
after a kill -9. So it closes its copy of the parent's end of the pipe (the parent's death is then an
end of file) and asks the kernel to kill it when the parent dies (Linux).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import resource
import signal
import sys
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
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h)
WORKER_ARENAS = 2


def too_complex(reason: str) -> InputFileError:
    return InputFileError(
        f"文件过于复杂，超出处理上限（{reason}），已停止处理。请确认放入的是检查表本身："
        "如是扫描件，请以 200–300 dpi 重新扫描；如是 Word/Excel 文件，请删除其中的大图片或多余的工作表后另存再放入。",
        field="file", code=FindingCode.file_too_complex.value)


def internal_error(detail: str) -> InputFileError:
    return InputFileError(
        f"处理该文件时程序出错（{detail}），其他文件不受影响。请在 Word/WPS 中打开确认无误后另存再放入；"
        "如仍出错，请把文件和本说明交给信息化人员。", field="file", code=FindingCode.internal_error.value)


# The worker's exit status when it ran out of memory even for its reply.
EXIT_OUT_OF_MEMORY = 86


def _serve(conn: Connection, settings: Settings, memory_mb: int, parent_end: Connection | None = None,
           parent_pid: int | None = None) -> None:
    """The worker's loop: one task in, one ``Analysed`` (or a failure description) out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    sys.unraisablehook = _unraisable
    _die_with_parent(parent_pid)
    if parent_end is not None:
        parent_end.close()
    _limit_arenas()
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
            gc.collect()  # what the reader held is garbage now: room for the reply
            reply = ("memory", None)
        except RecursionError:
            reply = ("complex", "嵌套层数过多")
        except Exception as exc:
            log.debug("analysis failed: %s", traceback.format_exc())
            reply = ("crash", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send(reply)
        except MemoryError:
            # Not even the short reply fits: say it by the exit code, which needs no memory.
            os._exit(EXIT_OUT_OF_MEMORY)
        except Exception as exc:
            conn.send(("crash", f"{type(exc).__name__}: {exc}"[:300]))


def _unraisable(info: Any) -> None:
    """Out of memory, objects fail in ``__del__`` while the stack unwinds; Python would print each on
    the terminal of ``extract`` or ``lists import`` ("Exception ignored in …"). The file's finding says it."""
    try:
        log.debug("ignored in the analysis worker: %r", info.exc_value)
    except BaseException:
        return


def _die_with_parent(parent_pid: int | None) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # The parent died before the request took effect. Compared with the pid it had, not with 1: in a
    # container the parent itself may be process 1.
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(0)


def _limit_arenas() -> None:
    """At most ``WORKER_ARENAS`` malloc arenas. glibc gives each thread that allocates (onnxruntime's
    OCR threads, numpy) an arena that reserves 64 MB of address space and keeps freed memory: under
    RLIMIT_AS, many cores would refuse a legitimate scan, and resident memory would grow with them.
    ``MALLOC_ARENA_MAX`` in the environment is read only at start, and the worker is forked."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, WORKER_ARENAS)


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
            if code == EXIT_OUT_OF_MEMORY:
                raise too_complex(f"需要的内存超过 {self.settings.file_memory_mb} MB") from None
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
        args = (child, self.settings, self.settings.file_memory_mb, parent, os.getpid())
        process = context.Process(target=_serve, args=args,
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
            if process.is_alive() and process.pid is not None:
                kill_tree(process.pid)
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


def analyse_alone(settings: Settings, task: AnalysisTask) -> Analysed:
    """One file in a worker of its own, for commands outside a pass (``shuangsui extract``); a refusal
    or a worker that failed raises ``InputFileError``."""
    worker = AnalysisWorker(settings)
    try:
        analysed = worker.analyse(task)
    finally:
        worker.close()
    if analysed.refusal is not None:
        raise analysed.refusal.error()
    return analysed


def kill_tree(pid: int) -> None:
    """Kill a worker and everything it started. LibreOffice runs in a process group of its own (so
    that its own timeout kills it whole) and would outlive a killed worker, converting on for minutes:
    the worker is stopped first so that it starts nothing more, then every descendant's group goes."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGSTOP)
    own = os.getpgrp()
    for child, group in _descendants(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group not in (own, 0):
                os.killpg(group, signal.SIGKILL)
            os.kill(child, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _descendants(pid: int) -> list[tuple[int, int]]:
    """``(pid, process group)`` of every descendant of ``pid``, from ``/proc``."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append((int(entry.name), int(fields[2])))
    found: list[tuple[int, int]] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found
