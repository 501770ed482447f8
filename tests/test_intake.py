"""Which inbox files are taken, and when: lock files ignored, half-written files wait."""

from __future__ import annotations

import os
import time
import types
from pathlib import Path

import pytest

from pipeline.intake import inbox as intake
from pipeline.intake.inbox import SettleTracker, is_ignored, scan_inbox, settled


def test_office_lock_and_os_files_are_ignored() -> None:
    for name in ("~$检查表.docx", ".~lock.检查表.docx#", "a.tmp", "Thumbs.db", ".DS_Store", "desktop.ini",
                 "DESKTOP.INI", ".gitkeep"):
        assert is_ignored(Path(name)), name
    for name in ("检查表.docx", "抽查任务.xlsx", "扫描件.pdf"):
        assert not is_ignored(Path(name)), name


def test_scan_walks_subfolders_but_not_hidden_ones(tmp_path: Path) -> None:
    (tmp_path / "名录库").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "名录库" / "抽查任务.xlsx").write_bytes(b"x")
    (tmp_path / ".hidden" / "a.docx").write_bytes(b"x")
    (tmp_path / "~$a.docx").write_bytes(b"x")
    candidates, ignored = scan_inbox(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in candidates] == ["名录库/抽查任务.xlsx"]
    assert [p.name for p in ignored] == ["~$a.docx"]


def test_tracker_waits_for_an_unchanged_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "a.docx"
    path.write_bytes(b"half")
    tracker = SettleTracker(settle=2.0)
    assert tracker.ready([path], now=0.0) == []
    assert tracker.ready([path], now=1.0) == []
    path.write_bytes(b"half and more")
    assert tracker.ready([path], now=2.5) == []  # changed: the clock starts again
    assert tracker.ready([path], now=4.0) == []
    assert tracker.ready([path], now=4.6) == [path]


def test_tracker_says_when_the_first_file_would_have_settled(tmp_path: Path) -> None:
    """The watcher sleeps until then (not in steps of settle/2): a 公示表 appears settle seconds after
    its check table was complete, plus the processing."""
    first, empty = tmp_path / "a.docx", tmp_path / "b.docx"
    first.write_bytes(b"x")
    empty.write_bytes(b"")
    tracker = SettleTracker(settle=2.0, empty_wait=30.0)
    assert tracker.next_due() is None
    tracker.ready([first, empty], now=10.0)
    assert tracker.next_due() == 12.0  # the placeholder waits longer: 40.0
    first.write_bytes(b"xy")
    tracker.ready([first, empty], now=11.0)  # changed: its clock starts again
    assert tracker.next_due() == 13.0
    assert tracker.ready([first, empty], now=13.0) == [first]
    tracker.forget(first)
    assert tracker.next_due() == 40.0


def test_tracker_does_not_trust_an_old_mtime(tmp_path: Path) -> None:
    path = tmp_path / "copied.docx"
    path.write_bytes(b"x" * 10)
    os.utime(path, (1_000_000, 1_000_000))  # a copy keeps the source's old mtime
    tracker = SettleTracker(settle=2.0)
    assert tracker.ready([path], now=0.0) == []


def test_one_pass_skips_a_file_still_growing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steady, growing = tmp_path / "steady.docx", tmp_path / "growing.docx"
    steady.write_bytes(b"x")
    growing.write_bytes(b"x")
    slept: list[float] = []

    def settle_while_a_copy_goes_on(seconds: float) -> None:
        # The write happens during the settle wait, as an event, not on a timer racing with it.
        slept.append(seconds)
        growing.write_bytes(b"xx")

    monkeypatch.setattr(intake, "time", types.SimpleNamespace(sleep=settle_while_a_copy_goes_on,
                                                              monotonic=time.monotonic))
    ready, busy = settled([steady, growing], settle=0.4)
    assert ready == [steady] and busy == [growing]
    assert slept == [0.4]


def test_one_pass_takes_files_that_did_not_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [tmp_path / "a.docx", tmp_path / "b.docx"]
    for path in paths:
        path.write_bytes(b"x")
    monkeypatch.setattr(intake, "time", types.SimpleNamespace(sleep=lambda s: None, monotonic=time.monotonic))
    assert settled(paths, settle=0.4) == (paths, [])
