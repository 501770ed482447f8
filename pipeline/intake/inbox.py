"""Finding files in the inbox: which to ignore, and when a file has stopped being written."""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.intake.entries import Survey, survey

# Office lock and temporary files, and OS litter: never processed, never moved.
IGNORED_PATTERNS: tuple[str, ...] = (
    "~$*", ".~lock.*#", "*.tmp", "*.part", "*.crdownload", "Thumbs.db", ".DS_Store", "desktop.ini", ".*",
)


def is_ignored(path: Path) -> bool:
    name = path.name
    return any(fnmatch.fnmatch(name, pat) or fnmatch.fnmatch(name.lower(), pat.lower())
               for pat in IGNORED_PATTERNS)


def scan_inbox(inbox: Path) -> tuple[list[Path], list[Path]]:
    """All regular files below ``inbox`` (sorted), split into (candidates, ignored). Hidden folders are
    skipped, links are not followed; ``survey_inbox`` also says what was skipped and why."""
    found = survey_inbox(inbox)
    return found.candidates, found.ignored


def survey_inbox(inbox: Path) -> Survey:
    return survey(inbox, is_ignored)


@dataclass(frozen=True)
class Snapshot:
    size: int
    mtime_ns: int


def snapshot(path: Path) -> Snapshot | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return Snapshot(st.st_size, st.st_mtime_ns)


class SettleTracker:
    """Hands a file over only once its size and mtime have not changed for ``settle`` seconds.

    mtime alone is not trusted: Windows copies keep the source's mtime while the size still grows.
    """

    def __init__(self, settle: float, empty_wait: float = 0.0) -> None:
        self.settle = settle
        # A 0-byte file is usually a placeholder that a copy fills a moment later (SMB, Explorer).
        self.empty_wait = max(settle, empty_wait)
        self._seen: dict[Path, tuple[Snapshot, float]] = {}

    def ready(self, paths: list[Path], now: float | None = None) -> list[Path]:
        now = time.monotonic() if now is None else now
        out = []
        for gone in set(self._seen) - set(paths):
            del self._seen[gone]
        for path in paths:
            snap = snapshot(path)
            if snap is None:
                self._seen.pop(path, None)
                continue
            prev = self._seen.get(path)
            if prev is None or prev[0] != snap:
                self._seen[path] = (snap, now)
            elif now - prev[1] >= (self.empty_wait if snap.size == 0 else self.settle):
                out.append(path)
        return out

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)

    def next_due(self) -> float | None:
        """The ``time.monotonic()`` at which the first file seen would have settled if unchanged."""
        return min((since + (self.empty_wait if snap.size == 0 else self.settle)
                    for snap, since in self._seen.values()), default=None)


def settled(paths: list[Path], settle: float, empty_wait: float = 0.0) -> tuple[list[Path], list[Path]]:
    """For one pass: (files unchanged over ``settle`` seconds, files still being written).

    A 0-byte file counts as still being written until it is ``empty_wait`` seconds old (one pass
    cannot watch it for that long, so its modification time is the clock)."""
    before = {p: snapshot(p) for p in paths}
    if paths and settle > 0:
        time.sleep(settle)
    ready: list[Path] = []
    busy: list[Path] = []
    for path in paths:
        snap = snapshot(path)
        if snap is None:
            continue
        placeholder = snap.size == 0 and time.time() - snap.mtime_ns / 1e9 < empty_wait
        (ready if snap == before[path] and not placeholder else busy).append(path)
    return ready, busy
