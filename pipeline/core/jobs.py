"""Names of the job folders under ``<data>/jobs``, and whose each one is.

Several workers (on several machines) may share the data folder, so a worker that starts after a
kill -9 must tell a dead worker's job folders from a live one's (``intake.recovery``). A job folder is

- ``<file id>``: one file's work; live while the file's claim is (``sha:<sha256>``);
- ``<prefix>-<host>-<pid>`` (``PROCESS_FOLDERS``): one process's own, kept across files or a pass;
  live while that process is (tested on its own host only);
- any other name: used only while the cases lock is held (``store.claims.CASES_LOCK``, shared or
  exclusive), so a worker holding it exclusively may remove it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

AHEAD = "ahead"  # the next file of the pass, copied for the analysis worker to read ahead
PUBLIC_FORMS = "public-forms"  # the 公示表 a pass rendered, converted in one batch at its end
PROCESS_FOLDERS = (AHEAD, PUBLIC_FORMS)


def process_folder(jobs_dir: Path, prefix: str) -> Path:
    """This process's own job folder ``<prefix>-<host>-<pid>``."""
    return jobs_dir / f"{prefix}-{socket.gethostname()}-{os.getpid()}"


def folder_owner(name: str) -> tuple[str, int] | None:
    """(host, pid) of a ``process_folder`` name; None for any other name."""
    for prefix in PROCESS_FOLDERS:
        if name.startswith(f"{prefix}-"):
            host, _, pid = name[len(prefix) + 1:].rpartition("-")
            if host and pid.isdigit():
                return host, int(pid)
    return None
