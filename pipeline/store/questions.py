"""Questions for a person (待审核): stored per case, answered from 待审核.xlsx or ``shuangsui review``.

A question is keyed per case (``key``) so that re-evaluating a case updates it instead of asking
again; an answered question keeps its answer; a question the evaluation no longer raises is
withdrawn. Every change is in the event log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from pipeline.store.sql import SqlTx, now_iso


@dataclass(frozen=True)
class Question:
    id: int
    case_id: str
    key: str
    code: str
    field: str | None
    prompt: str
    found: str | None
    options: tuple[str, ...]
    answer: str | None
    answered_by: str | None
    answered_at: str | None
    status: str


@dataclass(frozen=True)
class Ask:
    """A question an evaluation wants asked."""

    key: str
    code: str
    field: str | None
    prompt: str
    found: str | None
    options: tuple[str, ...]


def _row(r: Any) -> Question:
    return Question(r.id, r.case_id, r.key, r.code, r.field, r.prompt, r.found, tuple(json.loads(r.options)),
                    r.answer, r.answered_by, r.answered_at, r.status)


def sync_questions(tx: SqlTx, case_id: str, asks: list[Ask]) -> None:
    """Open or update the questions ``asks``; withdraw open ones no longer asked."""
    existing = {r.key: r for r in tx.conn.execute(
        text("SELECT * FROM questions WHERE case_id=:c"), {"c": case_id})}
    wanted = {a.key for a in asks}
    for ask in asks:
        row = existing.get(ask.key)
        options = json.dumps(list(ask.options), ensure_ascii=False)
        if row is None:
            tx.conn.execute(text(
                "INSERT INTO questions (case_id, key, code, field, prompt, found, options, status, created_at)"
                " VALUES (:c, :k, :code, :f, :p, :found, :o, 'open', :at)"),
                {"c": case_id, "k": ask.key, "code": ask.code, "f": ask.field, "p": ask.prompt,
                 "found": ask.found, "o": options, "at": now_iso()})
            tx.log("case", case_id, "question_opened", {"key": ask.key, "prompt": ask.prompt})
        elif row.status == "withdrawn" or (row.status == "open" and (row.prompt, row.found) != (ask.prompt, ask.found)):
            tx.conn.execute(text(
                "UPDATE questions SET prompt=:p, found=:found, options=:o, status='open' WHERE id=:id"),
                {"p": ask.prompt, "found": ask.found, "o": options, "id": row.id})
    for key, row in existing.items():
        if key not in wanted and row.status == "open":
            tx.conn.execute(text("UPDATE questions SET status='withdrawn' WHERE id=:id"), {"id": row.id})
            tx.log("case", case_id, "question_withdrawn", {"key": key})


def answer_question(tx: SqlTx, question_id: int, answer: str, actor: str) -> Question:
    """Record an answer (it must be one of the options); the caller re-evaluates the case."""
    row = tx.conn.execute(text("SELECT * FROM questions WHERE id=:id"), {"id": question_id}).one_or_none()
    if row is None:
        raise KeyError(question_id)
    q = _row(row)
    if answer not in q.options:
        raise ValueError(answer)
    tx.conn.execute(text(
        "UPDATE questions SET answer=:a, answered_by=:by, answered_at=:at, status='answered' WHERE id=:id"),
        {"a": answer, "by": actor, "at": now_iso(), "id": question_id})
    tx.log("case", q.case_id, "question_answered", {"key": q.key, "answer": answer}, actor=actor)
    return q


def questions(store: Any, *, status: str | None = "open", case_id: str | None = None) -> list[Question]:
    sql = "SELECT * FROM questions WHERE 1=1"
    params: dict[str, Any] = {}
    if status is not None:
        sql += " AND status=:s"
        params["s"] = status
    if case_id is not None:
        sql += " AND case_id=:c"
        params["c"] = case_id
    with store.engine.connect() as conn:
        return [_row(r) for r in conn.execute(text(sql + " ORDER BY case_id, id"), params)]


def answers_for(store: Any, case_id: str) -> dict[str, str]:
    """key → answer of the case's answered questions (the evaluation reads these)."""
    return {q.key: q.answer for q in questions(store, status="answered", case_id=case_id) if q.answer}
