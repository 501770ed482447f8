"""``process --json`` prints its object even when the pass itself fails (issue #10): the files done so
far and an ``error`` with the Chinese message and the exit code, which the command also returns."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipeline.cases.stage import Outcome
from pipeline.core.codes import FileStatus
from pipeline.core.errors import ExitCode
from pipeline.core.settings import Settings
from pipeline.intake.datalock import data_folder_lock
from pipeline.intake.process import open_context
from pipeline.intake.watch import watch
from tests.conftest import Samples, cli_env
from tests.test_watch_and_crash import wait_for

pytestmark = pytest.mark.slow


def process_json(settings: Settings, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    proc = subprocess.run([sys.executable, "-m", "pipeline", "process", "--json"], env=cli_env(settings),
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    return proc, json.loads(proc.stdout)


def test_a_locked_database_stops_the_pass_and_the_json_says_why(
        settings: Settings, samples: Samples, tmp_path: Path) -> None:
    open_context(settings).close()  # the database exists, with its schema
    for n in range(3):
        samples.check_table(f"检查表-{n}.docx", company=samples.companies[n])
    db = sqlite3.connect(settings.data_dir / "shuangsui.sqlite3", isolation_level=None)
    try:
        db.execute("BEGIN EXCLUSIVE")  # another program (a backup, a sqlite3 shell) holds it
        proc, result = process_json(settings, tmp_path)
    finally:
        db.close()
    error = result["error"]
    assert isinstance(error, dict)
    assert proc.returncode == error["exit_code"] == ExitCode.store
    assert "数据库暂时无法使用（database is locked）" in str(error["message"])
    assert "下一轮自动继续" in str(error["message"])
    assert "Traceback" not in proc.stderr and "INSERT" not in proc.stderr
    # Stopped at the first file, instead of waiting out the busy timeout for each: all wait in the inbox.
    assert result["files"] == []
    assert sorted(p.name for p in settings.inbox.glob("*.docx")) == [f"检查表-{n}.docx" for n in range(3)]

    proc, result = process_json(settings, tmp_path)  # the database is free again
    assert proc.returncode == 0, proc.stderr
    assert "error" not in result
    assert sorted(f["name"] for f in result["files"]) == [f"检查表-{n}.docx" for n in range(3)]
    assert {f["status"] for f in result["files"]} <= {"accepted", "waiting"}


def test_a_busy_data_folder_still_gives_the_json_with_the_error(settings: Settings, tmp_path: Path) -> None:
    with data_folder_lock(settings.data_dir, "shuangsui watch"):
        proc, result = process_json(settings, tmp_path)
    assert result["files"] == []
    error = result["error"]
    assert isinstance(error, dict)
    assert proc.returncode == error["exit_code"] == ExitCode.data_folder_busy
    assert "shuangsui watch" in str(error["message"])
    assert re.sub(r"\s", "", str(error["message"])) in re.sub(r"\s", "", proc.stderr), "and on stderr"


def test_a_completed_pass_has_no_error_key(settings: Settings, tmp_path: Path) -> None:
    proc, result = process_json(settings, tmp_path)
    assert proc.returncode == 0
    assert result == {"files": []}


def test_watch_waits_out_a_locked_database_and_goes_on(settings: Settings, samples: Samples) -> None:
    """The watcher says once that the database is unavailable, keeps the files, and takes them when
    the database is free again."""
    ctx = open_context(settings)
    notices: list[str] = []
    seen: list[Outcome] = []
    stop = threading.Event()
    db = sqlite3.connect(settings.data_dir / "shuangsui.sqlite3", isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    thread = threading.Thread(target=watch, args=(ctx,), kwargs={
        "stop": stop, "on_outcome": seen.append, "on_notice": notices.append})
    thread.start()
    try:
        samples.check_table("检查表.docx")
        wait_for(lambda: any("数据库暂时无法使用" in n for n in notices))
        assert seen == [] and (settings.inbox / "检查表.docx").is_file()
        db.rollback()
        wait_for(lambda: len(seen) == 1)
        assert thread.is_alive()
    finally:
        db.close()
        stop.set()
        thread.join(timeout=30)
        ctx.close()
    assert seen[0].status in (FileStatus.accepted, FileStatus.waiting)
    assert notices.count(next(n for n in notices if "数据库暂时无法使用" in n)) == 1, notices
    assert "数据库已恢复，继续处理。" in notices
    assert not (settings.inbox / "检查表.docx").exists()
