"""Each file's analysis runs in a worker process with memory and time limits: whatever one file does to
its worker (hang, crash, exhaust memory), the pass goes on and the file goes to 退回 byte for byte."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path

import pytest

from pipeline.core.codes import FileStatus
from pipeline.core.settings import Settings
from pipeline.intake import worker
from pipeline.intake.analysis import Analysed, AnalysisTask, analyse_file
from pipeline.intake.process import open_context, process_inbox
from tests.conftest import Samples


def _hostile(task: AnalysisTask, settings: Settings) -> Analysed:
    """Stands in for the parsers (the worker is forked, so it runs this): what each bad file does."""
    if task.name.startswith("hang"):
        time.sleep(60)
    if task.name.startswith("killed"):
        os.kill(os.getpid(), signal.SIGKILL)
    if task.name.startswith("segfault"):
        ctypes.string_at(0)
    if task.name.startswith("greedy"):
        hog = bytearray(4 * 1024 ** 3)
        return Analysed(refusal=None, extraction=None) if hog else Analysed()
    if task.name.startswith("broken"):
        raise RuntimeError("parser bug")
    return analyse_file(task, settings)


def test_a_file_that_hangs_crashes_or_eats_memory_is_returned_and_the_pass_goes_on(
        settings: Settings, samples: Samples, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "analyse_file", _hostile)
    settings = settings.replace(file_timeout_s=2.0, file_memory_mb=256)
    samples.settings = settings
    samples.lists()
    bad = {name: bytes([n]) * 100 for n, name in enumerate(
        ("hang.docx", "killed.docx", "segfault.docx", "greedy.docx", "broken.docx"), start=1)}
    for name, data in bad.items():
        (settings.inbox / name).write_bytes(data)
    samples.check_table("检查表.docx")
    ctx = open_context(settings)
    try:
        outcomes = {o.name: o for o in process_inbox(ctx)}
    finally:
        ctx.close()
    codes = {name: [f.code for f in outcomes[name].findings] for name in bad}
    assert codes == {"hang.docx": ["FILE_TOO_COMPLEX"], "killed.docx": ["FILE_TOO_COMPLEX"],
                     "segfault.docx": ["INTERNAL_ERROR"], "greedy.docx": ["FILE_TOO_COMPLEX"],
                     "broken.docx": ["INTERNAL_ERROR"]}
    assert "处理超过 2 秒" in outcomes["hang.docx"].findings[0].message
    assert "RuntimeError: parser bug" in outcomes["broken.docx"].findings[0].message
    for name, data in bad.items():
        assert outcomes[name].status is FileStatus.rejected
        assert (settings.outbox / "退回" / name).read_bytes() == data
        assert (settings.outbox / "退回" / f"{name}.错误说明.txt").is_file()
        assert not (settings.inbox / name).exists()
    # The good file behind them was processed as usual.
    assert outcomes["检查表.docx"].status in (FileStatus.accepted, FileStatus.waiting)
    assert outcomes["检查表.docx"].case


def test_the_worker_limit_is_on_top_of_what_it_started_with(settings: Settings, tmp_path: Path) -> None:
    analysis = worker.AnalysisWorker(settings.replace(file_memory_mb=64))
    try:
        (tmp_path / "空.docx").write_bytes(b"")
        result = analysis.analyse(AnalysisTask(tmp_path / "空.docx", "空.docx", "empty", False))
        assert result.refusal is not None  # an ordinary refusal still comes back as data
    finally:
        analysis.close()
