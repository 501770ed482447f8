"""Each file's analysis runs in a worker process with memory and time limits: whatever one file does to
its worker (hang, crash, exhaust memory), the pass goes on and the file goes to 退回 byte for byte."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from pipeline.core.codes import FileStatus
from pipeline.core.errors import InputFileError
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
    if task.name.startswith("converter"):
        # As LibreOffice is started: its own session and process group. The file holds where to write its pid.
        helper = subprocess.Popen(["sleep", "600"], start_new_session=True)
        Path(task.path.read_text(encoding="utf-8")).write_text(str(helper.pid), encoding="utf-8")
        time.sleep(60)
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


def test_a_worker_killed_on_timeout_takes_the_converter_it_started_with_it(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "analyse_file", _hostile)
    pid_file = tmp_path / "converter.pid"
    (tmp_path / "converter.doc").write_text(str(pid_file), encoding="utf-8")
    analysis = worker.AnalysisWorker(settings.replace(file_timeout_s=2.0))
    try:
        with pytest.raises(InputFileError) as info:
            analysis.analyse(AnalysisTask(tmp_path / "converter.doc", "converter.doc", "doc", False))
    finally:
        analysis.close()
    assert info.value.code == "FILE_TOO_COMPLEX"
    helper = psutil.Process(int(pid_file.read_text(encoding="utf-8")))
    # Killed, no longer sleeping out its 600 s: it is reaped by init once the worker is gone.
    try:
        helper.wait(timeout=10)
    except psutil.TimeoutExpired:
        helper.kill()
        raise AssertionError("the converter outlived its worker") from None
