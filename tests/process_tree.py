"""Peak memory of a process and all its descendants (LibreOffice, the analysis worker), sampled.

The kernel has no counter for a tree's peak, so a thread samples the summed RSS every
``interval`` seconds while the process runs. A child that lives less than one interval can be
missed; the analysis worker and LibreOffice live for the whole pass.
"""

from __future__ import annotations

import subprocess
import threading

import psutil

MIB = 1 << 20


def tree_rss(root: psutil.Process) -> dict[int, tuple[str, int]]:
    """The resident set of ``root`` and every descendant still alive: ``{pid: (name, bytes)}``."""
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    sizes = {}
    for proc in members:
        try:
            sizes[proc.pid] = (proc.name(), proc.memory_info().rss)
        except psutil.NoSuchProcess:
            continue
    return sizes


class PeakSampler:
    """Samples ``tree_rss`` of a running ``Popen`` until it exits; ``peak`` of the sum in bytes."""

    def __init__(self, proc: subprocess.Popen[str], interval: float = 0.05) -> None:
        self.root = psutil.Process(proc.pid)
        self.proc = proc
        self.interval = interval
        self.peak = 0  # of the sum over the tree
        self.by_name: dict[str, int] = {}  # each process name's own peak, for the report
        self.samples = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.is_set() and self.proc.poll() is None:
            sizes = tree_rss(self.root)
            self.peak = max(self.peak, sum(rss for _name, rss in sizes.values()))
            for name, rss in sizes.values():
                self.by_name[name] = max(self.by_name.get(name, 0), rss)
            self.samples += 1
            self._done.wait(self.interval)
