"""``shuangsui watch``: the main job. Watches the inbox and processes each file once it has settled.

Native file events (or polling, on a network file system: ``mounts.watch_method``) only wake the loop
early; the loop itself rescans the inbox every ``poll_seconds``, so a missed event never loses a file.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from pipeline.archive.idle import IdleArchiver
from pipeline.cases.context import Context
from pipeline.cases.public_forms import prepare_direct_pdfs
from pipeline.cases.stage import Outcome
from pipeline.core.codes import FileStatus, FindingCode
from pipeline.core.errors import DatabaseUnavailableError
from pipeline.core.settings import Settings
from pipeline.intake.inbox import SettleTracker, survey_inbox
from pipeline.intake.mounts import watch_method
from pipeline.intake.process import process_inbox, skipped_outcome
from pipeline.intake.recovery import clear_leftovers_of
from pipeline.intake.share import inbox_problem

log = logging.getLogger(__name__)


class _Wake(FileSystemEventHandler):
    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.wake.set()


def _restart(observer: BaseObserver, settings: Settings, wake: threading.Event) -> BaseObserver:
    """A new observer on the inbox that came back (the old one watched a folder that is gone)."""
    with contextlib.suppress(Exception):
        observer.stop()
        observer.join(timeout=5)
    # Chosen again: the inbox may be back on another file system (the share mounted over its folder).
    fresh = observer_for(settings, wake)
    with contextlib.suppress(OSError):  # gone again: the rescan every poll_seconds still finds every file
        fresh.start()
    return fresh


def observer_for(settings: Settings, wake: threading.Event) -> BaseObserver:
    """The observer ``watch_method`` chooses for the inbox now; the choice is logged."""
    method = watch_method(settings)
    log.info("watching %s by %s: %s", settings.inbox, method.mode, method.reason)
    return make_observer(method.mode, settings.inbox, wake, settings.poll_seconds)


def make_observer(mode: str, inbox: Path, wake: threading.Event, poll_seconds: float) -> BaseObserver:
    observer: BaseObserver = PollingObserver(timeout=poll_seconds) if mode == "polling" else Observer()
    observer.schedule(_Wake(wake), str(inbox), recursive=True)
    return observer


def quiet_repeats(on_outcome: Callable[[Outcome], None] | None) -> Callable[[Outcome], None] | None:
    """``on_outcome`` that says a file left for the next pass (``processing``: an old-format file waiting for a
    converter, role intake) once, not on every retry, until what is said about it changes."""
    if on_outcome is None:
        return None
    said: dict[str, str] = {}
    report = on_outcome

    def once(outcome: Outcome) -> None:
        text = "；".join(f.message for f in outcome.findings)
        if outcome.status is FileStatus.processing:
            if said.get(outcome.name) == text:
                return
            said[outcome.name] = text
        else:
            said.pop(outcome.name, None)
        report(outcome)

    return once


def watch(ctx: Context, on_outcome: Callable[[Outcome], None] | None = None,
          stop: threading.Event | None = None, on_ready: Callable[[], None] | None = None,
          on_notice: Callable[[str], None] | None = None) -> None:
    """Run until ``stop`` is set, Ctrl-C or SIGTERM. Files present at start are processed too.

    The inbox may go away (a share unmounted, a network cut) and come back: the watcher waits,
    says so through ``on_notice`` both times, and goes on. Inbox entries it does not take (links,
    FIFOs, unreadable files) are reported once each through ``on_outcome``, not on every scan."""
    stop = stop or threading.Event()
    wake = threading.Event()
    settings = ctx.settings
    on_outcome = quiet_repeats(on_outcome)
    notice = on_notice or (lambda _text: None)
    tracker = SettleTracker(settings.settle_seconds, settings.empty_wait_seconds)
    observer = observer_for(settings, wake)
    reported: dict[Path, FindingCode] = {}
    away: str | None = None
    db_down = False  # said once until it is back
    archiver = IdleArchiver(ctx)

    def _terminate(_sig: int, _frame: FrameType | None) -> None:
        stop.set()
        wake.set()

    clear_leftovers_of(ctx)  # of a run that was killed
    prepare_direct_pdfs(settings)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    observer.start()
    try:
        if on_ready:
            on_ready()
        while not stop.is_set():
            problem = inbox_problem(settings)
            if problem != away:
                if problem is not None:
                    notice(f"收件箱暂时不可用，等待恢复：{problem}")
                else:
                    observer = _restart(observer, settings, wake)
                    notice(f"收件箱已恢复：{settings.inbox}，继续处理（{watch_method(settings).reason}）。")
                away = problem
            if problem is not None:
                wake.wait(timeout=settings.poll_seconds)
                wake.clear()
                continue
            found = survey_inbox(settings.inbox)
            candidates = found.candidates
            for skipped in found.skipped:
                if reported.get(skipped.path) != skipped.code:
                    reported[skipped.path] = skipped.code
                    if on_outcome:
                        on_outcome(skipped_outcome(skipped, ctx))
            for gone in set(reported) - {s.path for s in found.skipped}:
                del reported[gone]
            ready = tracker.ready(candidates)
            if ready:
                try:
                    process_inbox(ctx, on_outcome=on_outcome, paths=ready)
                except DatabaseUnavailableError as exc:
                    if not db_down:
                        notice(exc.message)
                    db_down = True
                    wake.wait(timeout=settings.poll_seconds)  # the same files again next round
                    wake.clear()
                    continue
                if db_down:
                    notice("数据库已恢复，继续处理。")
                db_down = False
                archiver.changed()
                for path in ready:
                    tracker.forget(path)
            if not candidates:  # idle: archives, a case at a time, until a file comes
                archiver.step(busy=lambda: wake.is_set() or stop.is_set())
            # Wake when the first file waiting would have settled (or at the next rescan).
            due = tracker.next_due()
            wait = settings.poll_seconds if due is None else max(0.02, due - time.monotonic())
            wake.wait(timeout=min(wait, settings.poll_seconds))
            wake.clear()
    except KeyboardInterrupt:
        pass
    finally:
        archiver.close()
        observer.stop()
        observer.join(timeout=5)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
