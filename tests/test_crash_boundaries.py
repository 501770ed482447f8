"""A run killed at each effect boundary of ``process.py``, injected in-process; the restart finishes.

The effects of one file, in order (see the ``process`` module docstring): the original is stored, the
file is registered as ``processing``, the work is done in a job folder, the outputs are published to
the outbox, one transaction records the outcome, the inbox copy is removed; then its case is
evaluated (its 公示表 or 待补充 note published and recorded) and, at the end of the pass, the 公示表
PDF made and recorded. A ``Killed`` (a BaseException, as nothing in the pipeline may catch it) is
raised right after one effect; the test checks that the run really stopped there, then restarts the
way ``process`` does after a kill (leftovers cleared, a new context) and checks that every input is
accounted for exactly once (``tests/accounting.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from pipeline.cases import casework, public_forms
from pipeline.core.codes import FileStatus
from pipeline.core.settings import Settings
from pipeline.intake import process
from pipeline.intake.process import open_context, process_inbox
from pipeline.intake.recovery import clear_leftovers
from pipeline.store.originals import OriginalsStore
from pipeline.store.outbox import RETURNED
from tests.accounting import Expected, assert_accounted
from tests.conftest import Samples


class Killed(BaseException):
    """The process dies here (not an Exception: no handler in the pipeline may swallow it)."""


@dataclass
class Run:
    settings: Settings
    target: str
    current: str = ""  # the inbox file being processed
    publishes: int = 0  # publish calls made for the target so far

    def of_target(self) -> bool:
        return self.current == self.target


@contextmanager
def dying_rename() -> Iterator[None]:
    """Inside ``publish``: the partial file is written, the process dies before the rename."""
    with mock.patch.object(Path, "replace", side_effect=Killed):
        yield


# --- the crash points: each patches one function so that it dies right after (or inside) its effect --

def after_store(run: Run, mp: pytest.MonkeyPatch) -> None:
    real = OriginalsStore.put_stream

    def put_stream(self: OriginalsStore, src: Any) -> Any:
        stored = real(self, src)
        if run.of_target():
            raise Killed
        return stored

    mp.setattr(OriginalsStore, "put_stream", put_stream)


def after_register(run: Run, mp: pytest.MonkeyPatch) -> None:
    real = process.analyse

    def analyse(ctx: Any, received: Any) -> Any:
        if received.name == run.target:
            raise Killed
        return real(ctx, received)

    mp.setattr(process, "analyse", analyse)


def after_plan(run: Run, mp: pytest.MonkeyPatch) -> None:
    real = process.commit

    def commit(received: Any, plan: Any, ctx: Any) -> Any:
        if received.name == run.target:
            assert any((ctx.settings.jobs_dir / str(received.file_id)).iterdir()) or not plan.outputs
            raise Killed
        return real(received, plan, ctx)

    mp.setattr(process, "commit", commit)


def _publishing(module: Any, run: Run, mp: pytest.MonkeyPatch, *, die_after: int | None, inside: bool) -> None:
    """``module.publish`` dies inside the n-th call for the target (before the rename) or after it."""
    real = module.publish

    def publish(src: Path, dest: Path) -> str:
        if not run.of_target():
            return real(src, dest)
        run.publishes += 1
        if inside:
            with dying_rename():
                real(src, dest)
        digest = real(src, dest)
        if die_after is not None and run.publishes >= die_after:
            raise Killed
        return digest

    mp.setattr(module, "publish", publish)


def inside_publish(module: Any) -> Callable[[Run, pytest.MonkeyPatch], None]:
    return lambda run, mp: _publishing(module, run, mp, die_after=None, inside=True)


def after_publish(module: Any, n: int = 1) -> Callable[[Run, pytest.MonkeyPatch], None]:
    return lambda run, mp: _publishing(module, run, mp, die_after=n, inside=False)


def after_record(run: Run, mp: pytest.MonkeyPatch) -> None:
    real = process._remove_from_inbox

    def remove(path: Path) -> None:
        if path.name == run.target:
            raise Killed
        real(path)

    mp.setattr(process, "_remove_from_inbox", remove)


def after_remove(run: Run, mp: pytest.MonkeyPatch) -> None:
    real = casework.reevaluate_case

    def reevaluate(ctx: Any, case_id: str) -> Any:
        if run.of_target():
            assert not (ctx.settings.inbox / run.target).exists()
            raise Killed
        return real(ctx, case_id)

    mp.setattr(casework, "reevaluate_case", reevaluate)


def after_pdf(run: Run, mp: pytest.MonkeyPatch) -> None:
    real = public_forms.publish

    def publish(src: Path, dest: Path) -> str:
        digest = real(src, dest)
        if dest.suffix == ".pdf":
            raise Killed  # the 公示表 pair is out, its outputs are not recorded
        return digest

    mp.setattr(public_forms, "publish", publish)


GOOD, WAITING, BAD = "检查表.docx", "检查表-未入库.docx", "损坏.docx"
ID = {GOOD: "good", WAITING: "waiting", BAD: "bad"}

# (crash point, the file it hits): every boundary for the complete check table (published with its
# PDF), the rejected file (three outputs published by commit) and the case waiting for its unit.
POINTS: list[tuple[str, Callable[[Run, pytest.MonkeyPatch], None], str]] = [
    ("stored", after_store, GOOD),
    ("stored", after_store, BAD),
    ("registered", after_register, GOOD),
    ("registered", after_register, BAD),
    ("planned", after_plan, GOOD),
    ("planned", after_plan, BAD),
    ("inside-publish", inside_publish(process), BAD),
    ("published-first-of-three", after_publish(process, 1), BAD),
    ("published-all-three", after_publish(process, 3), BAD),
    ("recorded", after_record, GOOD),
    ("recorded", after_record, BAD),
    ("removed", after_remove, GOOD),
    ("removed", after_remove, WAITING),
    ("inside-publish-of-the-case", inside_publish(casework), GOOD),
    ("inside-publish-of-the-case", inside_publish(casework), WAITING),
    ("case-published-not-recorded", after_publish(casework), GOOD),
    ("case-published-not-recorded", after_publish(casework), WAITING),
    ("pdf-published-not-recorded", after_pdf, GOOD),
]


def drop(samples: Samples, target: str) -> Expected:
    inbox = samples.settings.inbox
    if target == BAD:
        (inbox / BAD).write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)  # a zip cut off at its first header
    elif target == WAITING:
        samples.check_table(WAITING, company=samples.companies[5])  # not in the lists
    else:
        samples.check_table(GOOD, company=samples.companies[0])
    status = {GOOD: FileStatus.accepted, WAITING: FileStatus.waiting, BAD: FileStatus.rejected}[target]
    return Expected(target, (inbox / target).read_bytes(), status)


@pytest.mark.parametrize(("point", "inject", "target"), POINTS, ids=[f"{p}-{ID[t]}" for p, _i, t in POINTS])
def test_killed_at_a_boundary_the_restart_accounts_for_every_file_once(
        settings: Settings, samples: Samples, monkeypatch: pytest.MonkeyPatch,
        point: str, inject: Callable[[Run, pytest.MonkeyPatch], None], target: str) -> None:
    lists = samples.lists(companies=samples.companies[:5])
    expected = [Expected(p.relative_to(settings.inbox).as_posix(), p.read_bytes(), FileStatus.accepted)
                for p in lists]
    ctx = open_context(settings)
    process_inbox(ctx)
    for p in lists:  # as staff keep them: the lists are taken from the inbox once imported
        assert not p.exists()
    expected.append(drop(samples, target))

    run = Run(settings, target)
    real_process_file = process.process_file

    def tracking(path: Path, c: Any) -> Any:
        run.current = path.name
        return real_process_file(path, c)

    monkeypatch.setattr(process, "process_file", tracking)
    inject(run, monkeypatch)
    with pytest.raises(Killed):
        process_inbox(ctx)
    ctx.store.close()
    monkeypatch.undo()

    parts = sorted(settings.outbox.rglob(".*.part"))
    if point.startswith("inside-publish"):
        assert len(parts) == 1, "killed between writing the partial file and renaming it"
    else:
        assert parts == []
    if point in ("stored", "registered", "planned", "inside-publish", "published-first-of-three",
                 "published-all-three", "recorded"):
        assert (settings.inbox / target).exists(), "killed before the inbox copy was removed"
    if point.startswith("published-"):
        assert (settings.outbox / RETURNED / BAD).exists(), "published but not recorded"

    # The restart, as ``shuangsui process`` does it: leftovers of the killed run, then a pass.
    removed = clear_leftovers(settings, started=time.time() + 1)
    assert set(parts) <= set(removed)
    again = open_context(settings)
    try:
        process_inbox(again)
    finally:
        again.store.close()
    assert_accounted(settings, expected)


def test_leftovers_of_a_killed_run_are_cleared_and_live_writers_left_alone(settings: Settings) -> None:
    import os
    import subprocess
    import sys

    folder = settings.outbox / RETURNED
    folder.mkdir(parents=True)
    old_part, fresh_part = folder / ".旧.docx.part", folder / ".新.docx.part"
    old_part.write_bytes(b"half")
    os.utime(old_part, (time.time() - 60, time.time() - 60))
    started = time.time() - 30
    fresh_part.write_bytes(b"being written now")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    settings.originals_dir.mkdir(parents=True)
    gone = settings.originals_dir / f".incoming-{dead}-1"
    mine = settings.originals_dir / f".incoming-{os.getpid()}-1"
    gone.write_bytes(b"x")
    mine.write_bytes(b"x")
    job = settings.jobs_dir / "17"
    job.mkdir(parents=True)
    os.utime(job, (time.time() - 60, time.time() - 60))

    assert sorted(clear_leftovers(settings, started=started)) == sorted([old_part, gone, job])
    assert fresh_part.exists() and mine.exists()
