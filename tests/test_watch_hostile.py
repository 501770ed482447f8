"""Parser bombs dropped into a running ``watch`` (issue #10): each goes to 退回 byte for byte with a
Chinese 错误说明, the good check table dropped after them is published, and the watcher runs on."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.core.settings import Settings
from tests.conftest import Samples, cli_env
from tests.hostile_files import (
    CORPUS,
    MIB,
    billion_laughs_docx,
    cycle_pdf,
    members_of,
    repeated,
    write_zip,
    xlsx,
)
from tests.system_deps import require_soffice

pytestmark = pytest.mark.slow


def zip_bomb_xlsx(path: Path) -> Path:
    """A workbook whose sheet inflates to 1 GiB (about 1 MB on disk)."""
    plain = xlsx(path.with_suffix(".plain"))
    head = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    bomb = repeated("xl/worksheets/sheet1.xml", head, b" " * MIB, 1024, b"</sheetData></worksheet>")
    write_zip(path, members_of(plain, {"xl/worksheets/sheet1.xml": bomb}))
    plain.unlink()
    return path


def _wait(proc: subprocess.Popen[bytes], done: object, what: str, timeout: float = 180) -> None:
    """Until ``done()`` holds; fails at once if the watcher exits."""
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        assert proc.poll() is None, f"the watcher exited ({proc.returncode}) waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} in {timeout:g} s"
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.1)



@contextlib.contextmanager
def _watching(settings: Settings, cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A running ``shuangsui watch``, stopped with Ctrl-C afterwards; it must exit 0."""
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "watch"], env=cli_env(settings), cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        _wait(proc, lambda: "正在监视" in log.read_text(encoding="utf-8"), "start")
        yield proc
        assert proc.poll() is None, "the watcher is still running"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text(encoding="utf-8")


def test_parser_bombs_through_watch_are_returned_and_the_good_file_behind_them_is_published(
        settings: Settings, samples: Samples, tmp_path: Path) -> None:
    require_soffice()
    samples.lists()
    base = samples.check_table("检查表.docx", folder=tmp_path)
    staged = tmp_path / "staged"
    staged.mkdir()
    hostile = {
        "炸弹.xlsx": zip_bomb_xlsx(staged / "炸弹.xlsx"),
        "实体炸弹.docx": billion_laughs_docx(base, staged / "实体炸弹.docx"),
        "页面循环.pdf": staged / "页面循环.pdf",
    }
    hostile["页面循环.pdf"].write_bytes(cycle_pdf())
    log = tmp_path / "watch.log"
    returned, forms = settings.outbox / "退回", settings.outbox / "公示表"
    with _watching(settings, tmp_path, log) as proc:
        for name, path in hostile.items():
            (settings.inbox / name).write_bytes(path.read_bytes())
        (settings.inbox / "检查表.docx").write_bytes(base.read_bytes())  # right behind them
        _wait(proc, lambda: all((returned / f"{n}.错误说明.txt").is_file() for n in hostile), "错误说明")
        _wait(proc, lambda: forms.is_dir() and any(forms.glob("*.pdf")), "公示表")
        # The last file's note is published before its outcome is recorded and it leaves the inbox:
        # stopped in between (Ctrl-C), it would be resumed by the next start, not lost.
        _wait(proc, lambda: not any((settings.inbox / n).exists() for n in [*hostile, "检查表.docx"]), "inbox emptied")
    notes = {name: (returned / f"{name}.错误说明.txt").read_text(encoding="utf-8") for name in hostile}
    assert "文件过于复杂" in notes["炸弹.xlsx"] and "解压后 1024 MB" in notes["炸弹.xlsx"]
    assert "实体" in notes["实体炸弹.docx"]
    assert "循环引用" in notes["页面循环.pdf"]
    for name, path in hostile.items():
        assert (returned / name).read_bytes() == path.read_bytes()
        assert not (settings.inbox / name).exists()
    assert len(list(forms.glob("*.docx"))) == 1 and len(list(forms.glob("*.pdf"))) == 1
    assert not (settings.inbox / "检查表.docx").exists()
    assert "Traceback" not in log.read_text(encoding="utf-8")


def _tree(root: Path, skip: set[Path]) -> set[str]:
    """Every path under ``root`` except the folders the pipeline may write to."""
    found: set[str] = set()
    for path in root.rglob("*"):
        if not any(path == s or s in path.parents for s in skip):
            found.add(str(path.relative_to(root)))
    return found


def test_the_whole_hostile_corpus_through_watch_each_file_returned_with_its_message(
        settings: Settings, samples: Samples, tmp_path: Path) -> None:
    """The process test (test_hostile_parse) through the watcher instead: every class of hostile file
    returned with its code and message, byte for byte, and nothing written outside inbox/outbox/data."""
    require_soffice()
    samples.lists()
    (tmp_path / "staged").mkdir()
    base = samples.check_table("检查表.docx", folder=tmp_path / "staged")
    originals: dict[str, bytes] = {}
    for hostile in CORPUS:
        path = tmp_path / "staged" / hostile.name
        hostile.build(base, path)
        originals[hostile.name] = path.read_bytes()
    log = tmp_path / "watch.log"
    log.touch()
    writable = {settings.inbox, settings.outbox, settings.data_dir}
    root = settings.data_dir.parent
    before = _tree(root, writable)
    returned = settings.outbox / "退回"
    with _watching(settings, root, log) as proc:
        for name, data in originals.items():
            (settings.inbox / name).write_bytes(data)
        _wait(proc, lambda: all((returned / f"{n}.错误说明.txt").is_file() for n in originals), "错误说明", 300)
        _wait(proc, lambda: not any((settings.inbox / n).exists() for n in originals), "inbox emptied")
    for hostile in CORPUS:
        note = (returned / f"{hostile.name}.错误说明.txt").read_text(encoding="utf-8")
        assert hostile.message in note, (hostile.name, note)
        assert (returned / hostile.name).read_bytes() == originals[hostile.name]
        assert not (settings.inbox / hostile.name).exists()
    assert _tree(root, writable) == before, "written outside inbox/outbox/data"
    assert "Traceback" not in log.read_text(encoding="utf-8")
