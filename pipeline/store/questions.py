"""Questions for a person (待审核): stored per case, answered from 待审核.xlsx or ``shuangsui review``.

A question is keyed per case (``key``) so that re-evaluating a case updates it instead of asking
again; an answered question keeps its answer; a question the evaluation no longer raises is
withdrawn. Every change is in the event log. ``QuestionReads`` and ``QuestionWrites`` are the SQL
behind the ``Store`` and ``StoreTx`` methods of the same names.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.store.base import Ask, Question
from pipeline.store.sqlcore import SqlReads, SqlWrites, now_iso

__all__ = ["Ask", "Question", "QuestionReads", "QuestionWrites"]


def _row(r: Any) -> Question:
    return Question(r.id, r.case_id, r.key, r.code, r.field, r.prompt, r.found, tuple(json.loads(r.options)),
                    r.answer, r.answered_by, r.answered_at, r.status)


class QuestionReads(SqlReads):
    def questions(self, *, status: str | None = "open", case_id: str | None = None) -> list[Question]:
        sql = "SELECT * FROM questions WHERE 1=1"
        params: dict[str, Any] = {}
        if status is not None:
            sql += " AND status=:s"
            params["s"] = status
        if case_id is not None:
            sql += " AND case_id=:c"
            params["c"] = case_id
        return [_row(r) for r in self._rows(sql + " ORDER BY case_id, id", **params)]

    def answers_for(self, case_id: str) -> dict[str, str]:
        return {q.key: q.answer for q in self.questions(status="answered", case_id=case_id) if q.answer}


class QuestionWrites(SqlWrites):
    def sync_questions(self, case_id: str, asks: list[Ask]) -> None:
        existing = {r.key: r for r in self._exec("SELECT * FROM questions WHERE case_id=:c", c=case_id)}
        wanted = {a.key for a in asks}
        for ask in asks:
            row = existing.get(ask.key)
            options = json.dumps(list(ask.options), ensure_ascii=False)
            if row is None:
                self._exec(
                    "INSERT INTO questions (case_id, key, code, field, prompt, found, options, status, created_at)"
                    " VALUES (:c, :k, :code, :f, :p, :found, :o, 'open', :at)",
                    c=case_id, k=ask.key, code=ask.code, f=ask.field, p=ask.prompt, found=ask.found, o=options,
                    at=now_iso())
                self.log("case", case_id, "question_opened", {"key": ask.key, "prompt": ask.prompt})
            elif row.status == "withdrawn" or (row.status == "open"
                                               and (row.prompt, row.found) != (ask.prompt, ask.found)):
                self._exec("UPDATE questions SET prompt=:p, found=:found, options=:o, status='open' WHERE id=:id",
                           p=ask.prompt, found=ask.found, o=options, id=row.id)
        for key, row in existing.items():
            if key not in wanted and row.status == "open":
                self._exec("UPDATE questions SET status='withdrawn' WHERE id=:id", id=row.id)
                self.log("case", case_id, "question_withdrawn", {"key": key})

    def answer_question(self, question_id: int, answer: str, actor: str) -> Question:
        row = self._exec("SELECT * FROM questions WHERE id=:id", id=question_id).one_or_none()
        if row is None:
            raise KeyError(question_id)
        q = _row(row)
        if answer not in q.options:
            raise ValueError(answer)
        self._exec("UPDATE questions SET answer=:a, answered_by=:by, answered_at=:at, status='answered' WHERE id=:id",
                   a=answer, by=actor, at=now_iso(), id=question_id)
        self.log("case", q.case_id, "question_answered", {"key": q.key, "answer": answer}, actor=actor)
        return q

    def withdraw_questions(self, key: str) -> None:
        for row in self._exec("SELECT id, case_id FROM questions WHERE key=:k AND status='open'", k=key).all():
            self._exec("UPDATE questions SET status='withdrawn' WHERE id=:id", id=row.id)
            self.log("case", row.case_id, "question_withdrawn", {"key": key})
