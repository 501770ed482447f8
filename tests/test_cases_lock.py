"""Every edit of cases waits for the cases lock on a shared PostgreSQL database (issue 14).

A helper process holds ``exclusive(CASES_LOCK)`` on its own connection, as a worker does through its
end of pass. Meanwhile an answer from the office page, two ``review`` answers (one of them the same
answer to the same question as the page's), a ``case`` edit and a ``forms`` run are started. Each
must wait: the helper lets go only once PostgreSQL shows all of them waiting for an advisory lock,
and records an event just before; every edit's event must come after it, and each edit is recorded
exactly once. Then the same with a real worker stopped inside its end of pass (``finish_pass``).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from pipeline.cases.context import Context
from pipeline.core.settings import Settings
from pipeline.intake.process import open_context, process_inbox
from pipeline.outputs.regenerate import EVENT_REGENERATED
from pipeline.store import EventRow
from pipeline.store.outbox import PRINT
from pipeline.web.app import WebConfig, create_app
from pipeline.web.security import csrf_token
from tests.conftest import Samples, cli_env
from tests.pg_cluster import Cluster

pytestmark = pytest.mark.slow

# Holds the cases lock until ``waiters`` other sessions wait for an advisory lock (or a minute has
# passed: then the edits did not wait, and the order asserted below is wrong), records that it lets
# go, and exits.
HOLDER = """
import sys, time
from sqlalchemy import text
from pipeline.store import open_store
from pipeline.store.claims import CASES_LOCK
url, waiters = sys.argv[1], int(sys.argv[2])
store = open_store(url)
with store.exclusive(CASES_LOCK):
    print("held", flush=True)
    deadline = time.monotonic() + 60
    with store.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                        " AND NOT granted")).scalar_one()
            conn.commit()
            if waiting >= waiters:
                break
            time.sleep(0.05)
    with store.begin() as tx:
        tx.log("test", "holder", "released", {"waiting": waiting})
store.close()
"""


def _started(args: list[str], settings: Settings, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(args, env=cli_env(settings), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_answers_case_edits_and_forms_wait_for_the_cases_lock_and_apply_once(
        settings: Settings, samples: Samples, pg_cluster: Cluster, tmp_path: Path) -> None:
    settings = dataclasses.replace(settings, database_url=pg_cluster.new_database())
    samples.settings = settings
    samples.lists()
    samples.check_table("甲.docx", company=samples.companies[0], situation="已对企业进行检查。", handling="另行研究。")
    samples.check_table("乙.docx", company=samples.companies[1], situation="已对企业进行检查。", handling="另行研究。")
    ctx = open_context(settings)
    try:
        outcomes = {o.name: o.case for o in process_inbox(ctx)}
        first, second = outcomes["甲.docx"], outcomes["乙.docx"]
        assert first and second
        [q1] = ctx.store.questions(case_id=first)
        [q2] = ctx.store.questions(case_id=second)
        before = ctx.store.last_event_id()

        holder = _started([sys.executable, "-c", HOLDER, settings.database_url, "5"], settings, tmp_path)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held", holder.stderr
        cli = [sys.executable, "-m", "pipeline"]
        edits = [_started([*cli, "review", str(q1.id), q1.options[0]], settings, tmp_path),
                 _started([*cli, "review", str(q2.id), q2.options[0]], settings, tmp_path),
                 _started([*cli, "case", first, "--pause-days", "3"], settings, tmp_path),
                 _started([*cli, "forms", second], settings, tmp_path)]
        # The page's answer is the fifth waiter; it returns once the holder has let go.
        config = WebConfig()
        web = TestClient(create_app(ctx, config))
        page = web.post(f"/questions/{q1.id}", data={"answer": q1.options[0], "case": first,
                                                     "csrf": csrf_token(config.secret, f"/questions/{q1.id}")},
                        follow_redirects=False)
        assert page.status_code == 303
        for proc in [holder, *edits]:
            _out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err

        events = [e for e in ctx.store.events() if e.id > before]
        [released] = [e for e in events if e.action == "released"]
        assert released.detail is not None and released.detail["waiting"] >= 5  # every edit was waiting, not done before
        after = [e for e in events if e.id > released.id]

        def once(case_id: str, action: str) -> EventRow:
            found = [e for e in events if e.entity_id == case_id and e.action == action]
            assert len(found) == 1, (case_id, action, found)
            assert found[0] in after, f"{action} of {case_id} did not wait for the cases lock"
            return found[0]

        # The same answer to q1 from the page and from review: recorded once; q2 once.
        assert once(first, "question_answered").detail == {"key": q1.key, "answer": q1.options[0]}
        assert once(second, "question_answered").detail == {"key": q2.key, "answer": q2.options[0]}
        assert once(first, "overrides").detail == {"pause_days": 3}
        once(second, EVENT_REGENERATED)
        assert {q.id: q.answer for q in ctx.store.questions(status=None)} == {q1.id: q1.options[0],
                                                                              q2.id: q2.options[0]}
        printed = {p.suffix for p in (settings.outbox / PRINT / second).iterdir()}
        assert printed == {".docx", ".pdf"}
    finally:
        ctx.close()


# A real worker whose end of pass stops in its receipts step until the gate file exists; the step then
# records that it goes on (inside ``finish_pass``, under the cases lock).
IN_FINISH_PASS = """
import sys, time
from pathlib import Path
from pipeline.cli.main import main
from pipeline.intake import process
here, gate, real = Path(sys.argv[1]), Path(sys.argv[2]), process.write_receipts
def parked(ctx):
    here.touch()
    while not gate.exists():
        time.sleep(0.02)
    with ctx.store.begin() as tx:
        tx.log("test", "worker", "finish_pass_goes_on")
    return real(ctx)
process.write_receipts = parked
sys.exit(main(sys.argv[3:]))
"""


def test_an_answer_waits_for_a_worker_in_its_end_of_pass(
        settings: Settings, samples: Samples, pg_cluster: Cluster, tmp_path: Path) -> None:
    settings = dataclasses.replace(settings, database_url=pg_cluster.new_database())
    samples.settings = settings
    samples.lists()
    samples.check_table("甲.docx", situation="已对企业进行检查。", handling="另行研究。")
    ctx = open_context(settings)
    try:
        [outcome] = [o for o in process_inbox(ctx) if o.name == "甲.docx"]
        assert outcome.case
        [question] = ctx.store.questions(case_id=outcome.case)
        samples.check_table("乙.docx", company=samples.companies[1])
        here, gate = tmp_path / "in-finish-pass", tmp_path / "gate"
        worker = _started([sys.executable, "-c", IN_FINISH_PASS, str(here), str(gate), "process"], settings, tmp_path)
        deadline = time.monotonic() + 120
        while not here.exists():
            assert worker.poll() is None and time.monotonic() < deadline, worker.communicate()
            time.sleep(0.02)
        answer = _started([sys.executable, "-m", "pipeline", "review", str(question.id), question.options[0]],
                          settings, tmp_path)
        while _waiting(ctx) < 1:  # the answer waits for the worker's cases lock
            assert answer.poll() is None, answer.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert ctx.store.questions(case_id=outcome.case) == [question]  # not answered yet
        gate.touch()
        for proc in (worker, answer):
            _out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
        events = list(ctx.store.events())
        [goes_on] = [e for e in events if e.action == "finish_pass_goes_on"]
        answered = [e for e in events if e.action == "question_answered"]
        assert len(answered) == 1 and answered[0].id > goes_on.id
        assert ctx.store.questions(case_id=outcome.case) == []  # answered, once
    finally:
        ctx.close()


def _waiting(ctx: Context) -> int:
    """Sessions waiting for an advisory lock on this database's server."""
    with ctx.store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
                   .scalar_one())
