"""Any name the file system hands us: hostile inbox names go through ``process`` and ``watch``.

Every outbox name must be one a Windows/SMB share can hold (≤ 255 bytes, no ``\\/:*?"<>|`` or
controls, no reserved device name, no trailing dot or space); the original name stays in the
错误说明 and in the database; originals come back byte for byte; nothing is written outside the
outbox and the data folder.
"""

# Bytes paths on purpose: names that are not UTF-8 are made and checked as the bytes they are.
# ruff: noqa: PTH103, PTH118, PTH119, PTH120, PTH123

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.core.names import MAX_NAME_BYTES, display_name, portable_name, visible_name
from pipeline.core.settings import Settings
from tests.conftest import Samples, cli_env, run_cli

FORBIDDEN = set('\\/:*?"<>|')
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def assert_portable(name: str) -> None:
    data = name.encode("utf-8")  # also fails on undecodable bytes (lone surrogates)
    assert 0 < len(data) <= MAX_NAME_BYTES, (name, len(data))
    assert not FORBIDDEN & set(name), name
    assert all(ord(ch) >= 0x20 and ord(ch) != 0x7f for ch in name), repr(name)
    assert not name.endswith((" ", ".")), name
    assert name.split(".")[0].strip().upper() not in RESERVED, name


HOSTILE = [
    "换行\n名称.docx", "制表\t与响铃\x07.docx", "名称冲突:甲.docx", 'a*b?c<d>e|f"g.docx', "-rf 开头是横线.docx",
    "CON.docx", "nul.txt", "尾部点和空格. .", "检" * 82 + "ab.docx", "x" * 250 + ".docx",
    os.fsdecode(b"\xff\xfe\xe6\xa3\x80.docx"), "\u202e翻转.docx", "e\u0301.docx",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_portable_names_are_portable_stable_and_distinct(name: str) -> None:
    portable = portable_name(name)
    assert_portable(portable)
    assert len(portable.encode()) <= 200  # room for ".错误说明.html", " (2)" and the ".….part" name
    assert portable_name(name) == portable
    others = {portable_name(n) for n in HOSTILE if n != name}
    assert portable not in others


def test_ordinary_names_are_kept_and_a_changed_one_keeps_its_extension() -> None:
    for name in ("检查表.docx", "烟台恒信-2026-11-09.pdf", "README", "a.b.c.xlsx"):
        assert portable_name(name) == name
    assert portable_name("名称冲突:甲.docx").endswith(".docx")
    assert portable_name("名称冲突:甲.docx").startswith("名称冲突_甲~")
    assert portable_name("名称冲突:甲.docx") != portable_name("名称冲突?甲.docx")


def test_display_and_visible_names() -> None:
    raw = os.fsdecode(b"\xff\xe6\xa3\x80.docx")
    assert display_name(raw) == "\\xff检.docx"
    assert visible_name("换行\n名称.docx") == "换行\\n名称.docx"
    assert display_name("换行\n名称.docx") == "换行\n名称.docx"  # the database keeps the real name


def hostile_inbox(settings: Settings, samples: Samples) -> dict[bytes, bytes]:
    """Files with hostile names (bytes paths, relative to the inbox) and their contents."""
    inbox = os.fsencode(settings.inbox)
    deep = b"/".join(f"层{i:02d}".encode() for i in range(40))
    names = [os.fsencode(n) for n in HOSTILE]
    names += [b"\xff\xfe\xe6\xa3\x80\xe8\xa1\xa8.docx", b"x" * 250 + b".txt", ("检" * 85).encode(),
              deep + "/深处的文件.docx".encode(), b"name with \x1b[31m escape.docx", "[bold]富文本[/x].docx".encode()]
    files = {}
    for i, name in enumerate(names):
        assert len(os.path.basename(name)) <= MAX_NAME_BYTES
        data = f"这不是检查表，第 {i} 个文件。".encode()
        path = os.path.join(inbox, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        files[name] = data
    # A valid check table under a hostile name, too: it must come out as a case.
    samples.lists()
    table = samples.check_table("检查表:第1份|最终版?.docx")
    files[os.fsencode(table.relative_to(settings.inbox))] = table.read_bytes()
    return files


def tree(root: Path) -> set[str]:
    return {os.fsdecode(os.path.relpath(os.path.join(d, f), root)) for d, _dirs, fs in os.walk(root) for f in fs}


def check_results(settings: Settings, files: dict[bytes, bytes], by_rel: dict[str, dict[str, object]],
                  outside_before: set[str]) -> None:
    returned = settings.outbox / "退回"
    db = sqlite3.connect(settings.data_dir / "shuangsui.sqlite3")
    recorded = dict(db.execute("SELECT inbox_path, original_name FROM files").fetchall())
    db.close()
    for raw, data in files.items():
        rel = display_name(os.fsdecode(raw))
        entry = by_rel[rel]
        name = display_name(os.path.basename(os.fsdecode(raw)))
        assert recorded[rel] == name  # the database keeps the original name
        assert not os.path.lexists(os.path.join(os.fsencode(settings.inbox), raw))
        if raw.endswith("最终版?.docx".encode()):
            assert entry["status"] in ("accepted", "waiting"), entry
            continue
        assert entry["status"] == "rejected", entry
        outputs = [str(o) for o in entry["outputs"]]  # type: ignore[attr-defined]
        original = next(o for o in outputs if not o.endswith((".错误说明.txt", ".错误说明.html")))
        assert (settings.outbox / original).read_bytes() == data
        note = (settings.outbox / f"{original}.错误说明.txt").read_text(encoding="utf-8")
        assert f"文件：{visible_name(name)}\n" in note
    for rel in tree(settings.outbox):
        for part in Path(rel).parts:
            assert_portable(part)
    assert tree(returned)  # something was returned
    root = settings.data_dir.parent
    outside = {p for p in tree(root) if not p.startswith(("outbox/", "var/", "inbox/"))}
    assert outside == outside_before


def test_hostile_names_through_process(settings: Settings, samples: Samples) -> None:
    files = hostile_inbox(settings, samples)
    before = {p for p in tree(settings.data_dir.parent) if not p.startswith(("outbox/", "var/", "inbox/"))}
    proc = run_cli(settings, "process", "--json")
    assert proc.returncode == 0, proc.stderr
    by_rel = {f["name"]: f for f in json.loads(proc.stdout)["files"] if not f["name"].startswith("名录库/")}
    assert set(by_rel) == {display_name(os.fsdecode(raw)) for raw in files}
    check_results(settings, files, by_rel, before)


@pytest.mark.slow
def test_hostile_names_through_watch(settings: Settings, samples: Samples, tmp_path: Path) -> None:
    log = tmp_path / "watch.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "watch"], env=cli_env(settings),
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while "正在监视" not in log.read_text(encoding="utf-8", errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        files = hostile_inbox(settings, samples)
        before = {p for p in tree(tmp_path) if not p.startswith(("outbox/", "var/", "inbox/"))}
        while tree(settings.inbox):
            assert proc.poll() is None and time.monotonic() < deadline + 120, log.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, log.read_text()
    db = sqlite3.connect(settings.data_dir / "shuangsui.sqlite3")
    rows = db.execute("SELECT f.inbox_path, f.status, group_concat(o.path, '\n') FROM files f "
                      "LEFT JOIN outputs o ON o.file_id = f.id GROUP BY f.id").fetchall()
    db.close()
    by_rel = {rel: {"status": status, "outputs": (paths or "").split("\n")} for rel, status, paths in rows}
    assert {r for r in by_rel if not r.startswith("名录库/")} == {display_name(os.fsdecode(raw)) for raw in files}
    check_results(settings, files, by_rel, before)
