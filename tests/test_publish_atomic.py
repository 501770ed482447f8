"""Publishing into the outbox is atomic even when the job folder is on another file system (issue 14:
the outbox on an SMB/NFS share, the work on a local disk): the temporary copy is made beside the
destination and renamed there, never renamed across file systems.

The job folder is on /dev/shm (tmpfs) and the outbox on the disk. Every rename is recorded through
Python's audit hook (``os.rename`` is raised by ``os.rename`` and ``os.replace``); a reader in
another process reads the destination over and over while it is replaced and must only ever see
whole versions.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.core.settings import Settings
from pipeline.intake.recovery import clear_leftovers
from pipeline.store.outbox import publish, publish_folder

RENAMES: list[tuple[str, str]] = []
_RECORDING: list[bool] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "os.rename" and _RECORDING:
        RENAMES.append((os.fsdecode(args[0]), os.fsdecode(args[1])))


sys.addaudithook(_audit)  # cannot be removed: it records only while a test asks (``_RECORDING``)


@pytest.fixture
def renames() -> Iterator[list[tuple[str, str]]]:
    RENAMES.clear()
    _RECORDING.append(True)
    try:
        yield RENAMES
    finally:
        _RECORDING.clear()


@pytest.fixture
def job() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="shuangsui-job-", dir="/dev/shm") as folder:
        yield Path(folder)


READER = """
import hashlib, sys
from pathlib import Path
dest, stop = Path(sys.argv[1]), Path(sys.argv[2])
seen = set()
print("ready", flush=True)
while not stop.exists():
    try:
        seen.add(hashlib.sha256(dest.read_bytes()).hexdigest())
    except FileNotFoundError:
        seen.add("absent")
print("\\n".join(sorted(seen)))
"""


def test_a_file_is_copied_beside_its_destination_and_renamed_there(
        settings: Settings, job: Path, renames: list[tuple[str, str]]) -> None:
    outbox = settings.outbox / "公示表"
    outbox.mkdir(parents=True)
    assert job.stat().st_dev != outbox.stat().st_dev, "the job folder and the outbox must be two file systems"
    versions = [bytes([65 + n]) * (8 << 20) for n in range(2)]  # 8 MB each: a copy takes a while
    sources = []
    for n, data in enumerate(versions):
        sources.append(job / f"v{n}.docx")
        sources[-1].write_bytes(data)
    dest = outbox / "某公司-2026-11-09.docx"
    stop = settings.outbox.parent / "stop"
    with subprocess.Popen([sys.executable, "-c", READER, str(dest), str(stop)], stdout=subprocess.PIPE,
                          text=True) as reader:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
        for n in range(12):
            digest = publish(sources[n % 2], dest)
            assert digest == hashlib.sha256(versions[n % 2]).hexdigest()
        stop.touch()
        seen = set(reader.stdout.read().split())
    whole = {hashlib.sha256(v).hexdigest() for v in versions}
    assert seen <= whole | {"absent"}, "a reader saw a half-written file"
    assert seen & whole, "the reader never saw the file"
    assert dest.read_bytes() == versions[1]
    assert all(s.exists() for s in sources)  # copied from the job folder, never moved out of it
    assert len(renames) == 12
    for src, dst in renames:
        assert Path(src).parent == Path(dst).parent == outbox and Path(dst) == dest
        assert Path(src).name.startswith(".") and Path(src).name.endswith(".part")
    assert sorted(p.name for p in outbox.iterdir()) == [dest.name]  # no partial file left


def test_a_folder_is_copied_beside_its_destination_and_replaced_whole(
        settings: Settings, job: Path, renames: list[tuple[str, str]]) -> None:
    built = job / "bundle"
    (built / "检查表").mkdir(parents=True)
    (built / "移交清单.xlsx").write_bytes(b"first")
    (built / "检查表" / "甲.docx").write_bytes(b"a")
    dest = settings.outbox / "综合科" / "2026-11"
    publish_folder(built, dest)
    (built / "移交清单.xlsx").write_bytes(b"second")
    (built / "检查表" / "甲.docx").unlink()
    publish_folder(built, dest)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == ["检查表", "移交清单.xlsx"]
    assert (dest / "移交清单.xlsx").read_bytes() == b"second"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["2026-11"]
    assert (built / "移交清单.xlsx").exists()
    for src, dst in renames:
        assert Path(src).parent == Path(dst).parent == dest.parent, (src, dst)
    assert [Path(d).name for _s, d in renames] == ["2026-11", ".2026-11.old", "2026-11"]


def test_partial_files_and_folders_of_a_killed_run_are_cleared(settings: Settings) -> None:
    folder = settings.outbox / "归档" / "2026"
    (folder / ".Z001-WS-2026-D30-ZHK-0001.part" / "data").mkdir(parents=True)
    (folder / ".Z001-WS-2026-D30-ZHK-0002.old").mkdir()
    (folder / ".Z001-WS-2026-D30-ZHK-0003.zip.part").write_bytes(b"half")
    (folder / "Z001-WS-2026-D30-ZHK-0004").mkdir()
    (folder / ".kept-by-staff.old.txt").write_bytes(b"x")
    removed = clear_leftovers(settings, started=float("inf"), jobs=False)
    assert len(removed) == 3
    assert sorted(p.name for p in folder.iterdir()) == [".kept-by-staff.old.txt", "Z001-WS-2026-D30-ZHK-0004"]
