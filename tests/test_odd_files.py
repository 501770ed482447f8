"""Half-written and odd inbox entries, through ``process`` and ``watch``: each is waited for, skipped or
explained, and none is ever lost.

Links, FIFOs, device nodes and unreadable files stay where they are with a note in 退回; a 0-byte
placeholder waits until it is filled (or old); a file replaced while it was read is recorded with the
bytes that were copied, and the replacement stays in the inbox for the next pass.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.core.codes import FileStatus
from pipeline.core.settings import Settings
from pipeline.intake.process import open_context, process_inbox
from pipeline.store.originals import OriginalsStore, Stored, sha256_file
from tests.conftest import Samples, cli_env

# The CLI without the capability that lets root read any file: "no read permission" is real for it.
NO_DAC = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]


def process(settings: Settings, *, unprivileged: bool = False, **env: str) -> dict[str, dict[str, Any]]:
    proc = subprocess.run([*(NO_DAC if unprivileged else []), sys.executable, "-m", "pipeline", "process", "--json"],
                          env=cli_env(settings) | env, cwd=settings.data_dir.parent, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr
    return {f["name"]: f for f in json.loads(proc.stdout)["files"]}


def stored_shas(settings: Settings) -> set[str]:
    root = settings.originals_dir
    return {p.name for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")} if root.exists() else set()


def make_odd_entries(settings: Settings, outside: Path) -> dict[str, str]:
    """The odd entries, by inbox name, with the finding code each must be reported with."""
    inbox = settings.inbox
    outside.write_bytes(b"secret outside the inbox")
    (inbox / "指向外部.docx").symlink_to(outside)
    os.mkfifo(inbox / "管道.docx")
    os.mknod(inbox / "设备.docx", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    (inbox / "链接目录").symlink_to(outside.parent, target_is_directory=True)
    return {"指向外部.docx": "FILE_NOT_REGULAR", "管道.docx": "FILE_NOT_REGULAR", "设备.docx": "FILE_NOT_REGULAR",
            "链接目录": "FILE_NOT_REGULAR"}


def test_links_fifos_devices_and_folders_named_like_files_through_process(
        settings: Settings, samples: Samples, tmp_path: Path) -> None:
    outside = tmp_path / "外部" / "秘密.docx"
    outside.parent.mkdir()
    odd = make_odd_entries(settings, outside)
    samples.lists()
    folder = settings.inbox / "x.docx"
    folder.mkdir()
    table = samples.check_table("检查表.docx", folder=folder)
    files = process(settings)
    for name, code in odd.items():
        entry = files[name]
        assert entry["status"] == "ignored", entry
        assert entry["findings"][0]["code"] == code
        assert "不是普通文件" in entry["findings"][0]["message"]
        assert os.path.lexists(settings.inbox / name)  # left where it is
        note = (settings.outbox / entry["outputs"][0]).read_text(encoding="utf-8")
        assert note.startswith(f"收件箱中的项目：{name}\n") and "仍留在收件箱中" in note
    assert files["x.docx/检查表.docx"]["status"] in ("accepted", "waiting")
    assert folder.is_dir() and not table.exists()
    assert sha256_file(outside) not in stored_shas(settings)  # the link was never followed
    assert outside.read_bytes() == b"secret outside the inbox"
    assert not any("秘密" in name for name in files)
    assert files["x.docx/检查表.docx"]["sha256"] in stored_shas(settings)
    # A second pass reports them again but writes no second note.
    notes_before = sorted((p.name, p.stat().st_mtime_ns) for p in (settings.outbox / "退回").iterdir())
    again = process(settings)
    assert {again[n]["status"] for n in odd} == {"ignored"}
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (settings.outbox / "退回").iterdir()) == notes_before


def test_unreadable_file_waits_for_its_permission(settings: Settings, samples: Samples) -> None:
    samples.lists()
    path = samples.check_table("没有权限.docx")
    data = path.read_bytes()
    path.chmod(0)
    files = process(settings, unprivileged=True)
    entry = files["没有权限.docx"]
    assert entry["status"] == "ignored" and entry["findings"][0]["code"] == "FILE_NO_PERMISSION", entry
    assert "权限" in entry["findings"][0]["message"]
    assert path.exists()
    path.chmod(0o644)
    files = process(settings, unprivileged=True)
    assert files["没有权限.docx"]["status"] in ("accepted", "waiting")
    assert not path.exists()
    assert files["没有权限.docx"]["sha256"] == data_sha(data) in stored_shas(settings)


def data_sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_an_empty_placeholder_waits_until_it_is_filled_or_old(settings: Settings, samples: Samples,
                                                            tmp_path: Path) -> None:
    samples.lists()
    placeholder = settings.inbox / "占位.docx"
    placeholder.write_bytes(b"")
    old_empty = settings.inbox / "真的是空的.docx"
    old_empty.write_bytes(b"")
    os.utime(old_empty, (time.time() - 3600, time.time() - 3600))
    files = process(settings, SHUANGSUI_EMPTY_WAIT_SECONDS="30")
    assert files["占位.docx"]["status"] == "busy" and files["占位.docx"]["findings"][0]["code"] == "FILE_BUSY"
    assert placeholder.exists() and placeholder.stat().st_size == 0
    assert files["真的是空的.docx"]["status"] == "rejected"
    assert files["真的是空的.docx"]["findings"][0]["code"] == "FILE_EMPTY"
    staged = samples.check_table("staged.docx", folder=tmp_path)
    placeholder.write_bytes(staged.read_bytes())  # the copy fills the placeholder
    files = process(settings, SHUANGSUI_EMPTY_WAIT_SECONDS="30")
    assert files["占位.docx"]["status"] in ("accepted", "waiting")
    assert files["占位.docx"]["sha256"] == data_sha(staged.read_bytes())


class ReplacingStore(OriginalsStore):
    """An originals store during whose copy the inbox file is replaced by a new version."""

    def __init__(self, root: Path, target: Path, new: bytes) -> None:
        super().__init__(root)
        self.target, self.new, self.done = target, new, False

    def put_stream(self, src: BinaryIO) -> Stored:
        stored = super().put_stream(src)
        if not self.done:
            self.done = True
            tmp = self.target.with_name(".new")
            tmp.write_bytes(self.new)
            tmp.replace(self.target)  # what a "save" over the share does: a new file under the old name
        return stored


def test_a_file_replaced_while_read_keeps_what_was_copied_and_the_new_version_waits(
        settings: Settings, samples: Samples, tmp_path: Path) -> None:
    samples.lists()
    first = samples.check_table("检查表.docx")
    old = first.read_bytes()
    second = samples.check_table("v2.docx", folder=tmp_path, company=samples.companies[1])
    new = second.read_bytes()
    ctx = open_context(settings)
    ctx = type(ctx)(ctx.settings, ctx.store, ReplacingStore(settings.originals_dir, first, new))
    try:
        outcomes = {o.name: o for o in process_inbox(ctx, paths=[first])}
        assert outcomes["检查表.docx"].sha256 == data_sha(old)
        assert first.read_bytes() == new  # the replacement was not removed with the old version
        outcomes = {o.name: o for o in process_inbox(ctx)}
        assert outcomes["检查表.docx"].sha256 == data_sha(new)
        assert outcomes["检查表.docx"].status in (FileStatus.accepted, FileStatus.waiting)
        assert not first.exists()
        rows = [(r.original_name, r.sha256) for r in ctx.store.list_files()]
        assert ("检查表.docx", data_sha(old)) in rows and ("检查表.docx", data_sha(new)) in rows
    finally:
        ctx.store.close()


def test_odd_entries_through_watch(settings: Settings, samples: Samples, tmp_path: Path) -> None:
    """A watcher meets all of them at once, reports each odd entry once, loses nothing."""
    samples.lists()
    outside = tmp_path / "外部" / "秘密.docx"
    outside.parent.mkdir()
    odd = make_odd_entries(settings, outside)
    log = tmp_path / "watch.log"
    env = cli_env(settings) | {"SHUANGSUI_EMPTY_WAIT_SECONDS": "4", "SHUANGSUI_SETTLE_SECONDS": "0.5"}
    staged_a = samples.check_table("a.docx", folder=tmp_path, company=samples.companies[0])
    staged_b = samples.check_table("b.docx", folder=tmp_path, company=samples.companies[1])
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "watch"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for_text(log, "正在监视", proc)
        placeholder = settings.inbox / "占位.docx"
        placeholder.write_bytes(b"")
        growing = settings.inbox / "慢慢写入.docx"
        data = staged_b.read_bytes()
        with growing.open("wb") as fh:  # pieces with pauses longer than nothing, shorter than settle
            for i in range(0, len(data), len(data) // 5 + 1):
                fh.write(data[i:i + len(data) // 5 + 1])
                fh.flush()
                time.sleep(0.3)
        time.sleep(1.5)
        placeholder.write_bytes(staged_a.read_bytes())
        db = settings.data_dir / "shuangsui.sqlite3"
        deadline = time.monotonic() + 90
        while placeholder.exists() or growing.exists():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        time.sleep(1.0)  # a few more scans: odd entries must not be reported again
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text(encoding="utf-8")
    assert proc.returncode == 0, text
    for name in odd:
        assert text.count(f"已忽略 {name}") == 1, text
        assert os.path.lexists(settings.inbox / name)
    con = sqlite3.connect(db)
    rows = sorted(con.execute("SELECT original_name, sha256 FROM files WHERE inbox_path NOT LIKE '名录库/%'"))
    con.close()
    # Each once, with its whole content: no torn copy of the growing file, no empty placeholder.
    assert rows == sorted([("占位.docx", data_sha(staged_a.read_bytes())), ("慢慢写入.docx", data_sha(data))])
    assert sha256_file(outside) not in stored_shas(settings)


def wait_for_text(log: Path, text: str, proc: subprocess.Popen[Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(encoding="utf-8", errors="replace"):
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
