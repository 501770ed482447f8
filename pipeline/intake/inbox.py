"""Finding files in the inbox: which to ignore, and when a file has stopped being written."""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.intake.entries import Survey, survey
from pipeline.intake.whole import provably_whole

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
    """Hands a file over once its size and mtime have not changed for ``settle`` seconds, or at once when
    it is provably whole (``pipeline.intake.whole``: a .docx/.xlsx whose every part checks).

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
                if snap.size > 0 and provably_whole(path) and snapshot(path) == snap:
                    out.append(path)  # a whole .docx/.xlsx need not wait out the settle time
            elif now - prev[1] >= (self.empty_wait if snap.size == 0 else self.settle):
                out.append(path)
        return out

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)

    def next_due(self) -> float | None:
        """The ``time.monotonic()`` at which the first file seen would have settled if unchanged."""
        return min((since + (self.empty_wait if snap.size == 0 else self.settle)
                    for snap, since in self._seen.values()), default=None)


@dataclass
class Arrivals:
    """One pass's candidates: those provably whole now (``pipeline.intake.whole``), and the others with
    what they looked like when first seen (at ``since``, ``time.monotonic()``)."""

    whole: list[Path]
    seen: dict[Path, Snapshot]
    since: float


def arrivals(paths: list[Path]) -> Arrivals:
    since = time.monotonic()
    seen = {p: snap for p in paths if (snap := snapshot(p)) is not None}
    whole = [p for p in seen if seen[p].size > 0 and provably_whole(p) and snapshot(p) == seen[p]]
    taken = set(whole)
    return Arrivals(whole, {p: snap for p, snap in seen.items() if p not in taken}, since)


def settle_rest(arrived: Arrivals, settle: float, empty_wait: float = 0.0, *,
                since: float | None = None) -> tuple[list[Path], list[Path]]:
    """(files unchanged over ``settle`` seconds since they were first seen, files still being written),
    waiting out whatever part of ``settle`` has not passed since ``since`` (default: ``arrived.since``).

    A 0-byte file counts as still being written until it is ``empty_wait`` seconds old (one pass
    cannot watch it for that long, so its modification time is the clock)."""
    remaining = settle if since is None else settle - (time.monotonic() - since)
    if arrived.seen and remaining > 0:
        time.sleep(remaining)
    ready: list[Path] = []
    busy: list[Path] = []
    for path, before in arrived.seen.items():
        snap = snapshot(path)
        if snap is None:
            continue
        placeholder = snap.size == 0 and time.time() - snap.mtime_ns / 1e9 < empty_wait
        (ready if snap == before and not placeholder else busy).append(path)
    return ready, busy


def settled(paths: list[Path], settle: float, empty_wait: float = 0.0) -> tuple[list[Path], list[Path]]:
    """For one pass: (files provably whole or unchanged over ``settle`` seconds, files still being written)."""
    arrived = arrivals(paths)
    ready, busy = settle_rest(arrived, settle, empty_wait)  # the others wait the whole settle time
    taken = set(arrived.whole) | set(ready)
    return [p for p in paths if p in taken], busy
