"""After a hard stop (kill -9, power loss, the OOM killer): what a killed run left is cleared, and a
resumed file does not publish its outputs twice.

``process.py`` orders its effects so that a killed run loses no file and records none twice. What it
can leave behind are temporary files: a hidden ``.<name>.part`` in the outbox whose rename never
happened, an ``.incoming-<pid>-…`` copy in the originals store, and job folders. The writers
(``process`` and ``watch``) clear them once when they start (``clear_leftovers``).

A file rejected by a killed run may already sit in 退回 without its outcome recorded; the rerun takes
that copy over (``unique_path_for``) instead of returning a second one beside it.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.cases.context import Context
from pipeline.core.jobs import folder_owner
from pipeline.core.settings import Settings
from pipeline.intake.claims import ClaimedElsewhere, claim, release_all
from pipeline.store.claims import CASES_LOCK
from pipeline.store.originals import sha256_file
from pipeline.store.outbox import unique_path

log = logging.getLogger(__name__)

# When this process started (well enough: when it imported the pipeline). A temporary file older than
# that cannot be one this process is writing.
PROCESS_STARTED = time.time()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _incoming_pid(name: str) -> int | None:
    # ``.incoming-<pid>-<n>@<host>`` (originals.OriginalsStore.put); a pid of another host is not ours to test
    name, _at, host = name.partition("@")
    if host and host != socket.gethostname():
        return None
    parts = name.split("-")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None


def clear_leftovers_of(ctx: Context) -> list[Path]:
    """``clear_leftovers`` for this worker.

    SQLite: this process holds the data folder, so everything a run left is cleared. A shared
    database: other workers, on this machine or others, may be at work in the same data folder. Job
    folders of dead workers are told by their claims and process ids (``clear_dead_jobs``); then,
    under ``CASES_LOCK`` held exclusively, every ``.part`` file (every outbox write happens under one
    of the cases locks) and every job folder used only under those locks is a dead writer's.
    """
    if not ctx.store.shared:
        return clear_leftovers(ctx.settings)
    removed = clear_dead_jobs(ctx)
    with ctx.store.exclusive(CASES_LOCK):
        started = time.time()
        removed += clear_leftovers(ctx.settings, started=started, jobs=False)
        removed += _remove_jobs(ctx.settings, lambda path: not path.name.isdigit() and folder_owner(path.name) is None
                                and path.stat().st_mtime < started)
    return removed


def clear_dead_jobs(ctx: Context) -> list[Path]:
    """The job folders of workers that are gone (kill -9, power loss), left by nobody alive:

    - ``<file id>``: the file's claim ran out (or nobody holds it). This worker takes the claim
      before removing the folder and gives it back after, so a worker resuming the file meanwhile
      cannot have its new folder removed;
    - ``<prefix>-<host>-<pid>`` of this machine whose process is gone. Other machines' are theirs to
      clear when they start again.
    """
    host = socket.gethostname()

    def dead(path: Path) -> bool:
        owner = folder_owner(path.name)
        if owner is not None:
            return owner[0] == host and owner[1] != os.getpid() and not _pid_alive(owner[1])
        if not path.name.isdigit():
            return False
        row = ctx.store.get_file(int(path.name))
        if row is None:
            return True
        try:
            claim(ctx, f"sha:{row.sha256}")
        except ClaimedElsewhere:
            return False  # a live worker is at it
        return True

    try:
        return _remove_jobs(ctx.settings, dead)
    finally:
        release_all(ctx)


def _remove_jobs(settings: Settings, dead: Callable[[Path], bool]) -> list[Path]:
    removed = []
    if settings.jobs_dir.is_dir():
        for path in sorted(settings.jobs_dir.iterdir()):
            try:
                if dead(path):
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                continue  # its owner removed it meanwhile
    for path in removed:
        log.warning("removed a job folder of an interrupted worker: %s", path)
    return removed


def clear_leftovers(settings: Settings, started: float | None = None, jobs: bool = True) -> list[Path]:
    """Remove the temporary files of runs that were killed; returns what was removed.

    Outbox ``.part`` files and job folders count as leftovers when they are older than ``started``
    (default: this process's start): a writer busy right now keeps touching its file. Originals
    store copies name their writer's process, which must be gone.
    """
    started = PROCESS_STARTED if started is None else started
    removed: list[Path] = []
    if settings.outbox.is_dir():
        # Partial files, and the partial and replaced folders of bundles and archival packages.
        for path in [*settings.outbox.rglob(".*.part"), *settings.outbox.rglob(".*.old")]:
            try:
                if path.lstat().st_mtime >= started:
                    continue
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                elif path.suffix == ".part":
                    path.unlink()
                else:
                    continue
                removed.append(path)
            except FileNotFoundError:
                continue  # renamed by its writer in the meantime
    if settings.originals_dir.is_dir():
        for path in settings.originals_dir.glob(".incoming-*"):
            pid = _incoming_pid(path.name)
            if pid is not None and pid != os.getpid() and not _pid_alive(pid):
                path.unlink(missing_ok=True)
                removed.append(path)
    for path in removed:
        log.warning("removed a leftover of an interrupted run: %s", path)
    if jobs:
        removed += _remove_jobs(settings, lambda path: path.stat().st_mtime < started)
    return removed


def unique_path_for(dest: Path, src: Path) -> Path:
    """``unique_path(dest)``, except that a file beside it with ``src``'s exact bytes is reused.

    Such a copy was published by a run killed before it recorded the outcome; the resumed run
    publishes over it instead of adding ``name (2)``. (A recorded copy with the same bytes cannot
    exist: the same content dropped again is a duplicate and is not returned.)
    """
    folder = dest.parent
    if folder.is_dir():
        size = src.stat().st_size
        digest: str | None = None
        for sibling in sorted(folder.iterdir()):
            if not (sibling.name.startswith(dest.stem) and sibling.suffix == dest.suffix and sibling.is_file()):
                continue
            if sibling.stat().st_size != size:
                continue
            digest = digest or sha256_file(src)
            if sha256_file(sibling) == digest:
                return sibling
    return unique_path(dest)
