"""The hand-made scans in tests/fixtures/scans/ (scripts/make_scan_fixtures.py: LibreOffice's print,
poppler's raster, Pillow's pen, seal and camera; the truth written by hand in truth.json) through the
whole pipeline: each file matched to its case by what is printed on it (page 2 alone, which shows no
unit, by a person's answer), each box read as truth says."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cases import review, scanchoice
from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.settings import Settings
from pipeline.intake.process import LISTS_FOLDER, Context, open_context, process_inbox
from pipeline.samples.demo import write_check_table, write_roster_sheet, write_tasks_sheet, write_units_sheet
from pipeline.samples.fictional import Company, Person
from tests.end_states import assert_published

FIXTURES = Path(__file__).parent / "fixtures" / "scans"
CASES = json.loads((FIXTURES / "cases.json").read_text(encoding="utf-8"))
TRUTH = json.loads((FIXTURES / "truth.json").read_text(encoding="utf-8"))["files"]


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = open_context(dataclasses.replace(settings, require_signed_scan=True))
    yield context
    context.store.close()


def _typed_cases(ctx: Context) -> list[str]:
    """The lists and the three typed check tables the scans belong to; their case numbers in order."""
    companies = [Company(**c) for c in CASES["companies"]]
    people = [Person(**{**p, "valid_until": dt.date.fromisoformat(p["valid_until"])}) for p in CASES["people"]]
    lists = ctx.settings.inbox / LISTS_FOLDER
    lists.mkdir()
    write_units_sheet(lists / "检查对象名录库.xlsx", companies)
    write_tasks_sheet(lists / "抽查任务.xlsx", companies, "民用爆炸物品销售的安全生产监督管理")
    write_roster_sheet(lists / "执法检查人员名录库.xlsx", people)
    process_inbox(ctx)
    names = [f"检查表-{c.name}.docx" for c in companies]
    for name, fields in zip(names, CASES["check_tables"], strict=True):
        write_check_table(ctx.settings.inbox / name, fields, ctx.settings)
    outcomes = {o.name: o for o in process_inbox(ctx)}
    assert all(outcomes[n].status is FileStatus.waiting for n in names)  # waiting for their signed scans
    return [str(outcomes[n].case) for n in names]


def test_hand_made_scans_find_their_cases_and_read_as_the_truth_says(ctx: Context) -> None:
    cases = _typed_cases(ctx)
    for spec in TRUTH:
        shutil.copy(FIXTURES / spec["name"], ctx.settings.inbox / spec["name"])
    outcomes = {o.name: o for o in process_inbox(ctx)}
    # Page 2 photographed alone shows no unit, only its date: a person confirms the one case of that date.
    alone = outcomes["IMG_0043.JPG"]
    assert (alone.status, alone.case) == (FileStatus.waiting, None)
    (question,) = [q for q in ctx.store.questions() if scanchoice.is_choice(q.key)]
    assert question.options == (cases[1], scanchoice.NONE_OF_THEM) and "只读出抽查时间 2026-11-17" in question.prompt
    assert review.apply_answers(ctx, [review.ReviewAnswer(question.id, cases[1], 0)], "科员").cases == [cases[1]]
    uncertain = 0
    for spec in TRUTH:
        case_id = cases[spec["company"]]
        if spec["name"] != alone.name:
            outcome = outcomes[spec["name"]]
            assert (outcome.status, outcome.case) == (FileStatus.accepted, case_id), outcome.findings
        (doc,) = [d for d in ctx.store.scan_documents(case_id) if d.file_id == _file_id(ctx, spec["name"])]
        assert (doc.form, doc.matched_by) == ("check_table", "person" if spec["name"] == alone.name else "text")
        seen = {b.box: b.present for b in ctx.store.scan_boxes(case_id) if b.scan_id == doc.id}
        assert set(seen) == set(spec["boxes"]), spec["name"]
        for box, present in seen.items():
            assert present in (spec["boxes"][box], None), (spec["name"], box)  # never a wrong answer
            if present is None:  # a person looks at the crop in 待审核 and says what is there
                uncertain += 1
                (ask,) = [q for q in ctx.store.questions() if q.key == f"EVIDENCE:{doc.id}:{box}"]
                review.apply_answers(ctx, [review.ReviewAnswer(ask.id, "已签字盖章" if spec["boxes"][box] else "未签字盖章",
                                                               0)], "科员")
    assert uncertain <= 1  # of 15 boxes
    assert_published(ctx, cases[0])  # every box signed and sealed, in one PDF
    assert_published(ctx, cases[1])  # the same, as two phone photos, one per page
    missing = ctx.store.get_case(cases[2])
    assert missing is not None and missing.status is CaseStatus.incomplete
    assert {f["field"] for f in missing.findings or [] if f["code"] == "EVIDENCE_MISSING"} == {
        "leader_approval_signature", "authority_seal"}


def _file_id(ctx: Context, name: str) -> int:
    (row,) = [f for f in ctx.store.list_files() if f.original_name == name]
    return row.id
