"""``shuangsui watch``: the main job. Watches the inbox and processes each file once it has settled.

Native file events (or polling, for network shares) only wake the loop early; the loop itself
rescans the inbox every ``poll_seconds``, so a missed event never loses a file.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from pipeline.intake import SettleTracker, scan_inbox
from pipeline.process import Context, Outcome, process_inbox
from pipeline.recovery import clear_leftovers


class _Wake(FileSystemEventHandler):
    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.wake.set()


def make_observer(mode: str, inbox: Path, wake: threading.Event, poll_seconds: float) -> BaseObserver:
    observer: BaseObserver = PollingObserver(timeout=poll_seconds) if mode == "polling" else Observer()
    observer.schedule(_Wake(wake), str(inbox), recursive=True)
    return observer


def watch(ctx: Context, on_outcome: Callable[[Outcome], None] | None = None,
          stop: threading.Event | None = None, on_ready: Callable[[], None] | None = None) -> None:
    """Run until ``stop`` is set, Ctrl-C or SIGTERM. Files present at start are processed too."""
    stop = stop or threading.Event()
    wake = threading.Event()
    settings = ctx.settings
    tracker = SettleTracker(settings.settle_seconds)
    observer = make_observer(settings.watch_mode, settings.inbox, wake, settings.poll_seconds)

    def _terminate(_sig: int, _frame: FrameType | None) -> None:
        stop.set()
        wake.set()

    clear_leftovers(settings)  # of a run that was killed
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    observer.start()
    try:
        if on_ready:
            on_ready()
        while not stop.is_set():
            candidates, _ignored = scan_inbox(settings.inbox)
            ready = tracker.ready(candidates)
            if ready:
                process_inbox(ctx, on_outcome=on_outcome, paths=ready)
                for path in ready:
                    tracker.forget(path)
            pending = len(candidates) > len(ready)
            wake.wait(timeout=min(settings.settle_seconds / 2, settings.poll_seconds) if pending
                      else settings.poll_seconds)
            wake.clear()
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join(timeout=5)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
