"""The signature/seal evidence rule: what a scan must show before a case may be published."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from pipeline.core import evidence as ev
from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.settings import Settings
from pipeline.intake.process import open_context, process_inbox
from pipeline.rules.bureau import NOT_SEEN, SEEN, Facts, evaluate
from pipeline.rules.workdays import WorkCalendar
from tests.conftest import Samples

ALL_CHECK_BOXES = ev.CHECK_TABLE_UPPER + ev.CHECK_TABLE_LOWER


def scan(form: str, seen: dict[str, bool | None], scan_id: int = 7) -> ev.ScanSeen:
    boxes = {box: ev.BoxState(box, present, 0.5 if present is None else 0.9, 0, "/tmp/crop.png" if present is None
                              else None, scan_id, "检查表-签字.jpg") for box, present in seen.items()}
    return ev.ScanSeen(form, boxes)


def facts(settings: Settings, samples: Samples, scans: list[ev.ScanSeen], answers: dict[str, str] | None = None,
          **overrides: Any) -> Facts:
    return Facts(check=samples.fields(**overrides), settings=dataclasses.replace(settings, require_signed_scan=True),
                 calendar=WorkCalendar.load(None), today=dt.date(2026, 11, 28), answers=answers or {},
                 evidence=ev.CaseEvidence({s.form: s for s in scans}))


def evidence_codes(f: Facts) -> list[tuple[str, str, str | None]]:
    return [(x.code, x.severity, x.field) for x in evaluate(f).findings if x.code.startswith("EVIDENCE")]


def test_a_typed_check_table_waits_for_its_signed_scan(settings: Settings, samples: Samples) -> None:
    settings = dataclasses.replace(settings, require_signed_scan=True)
    ctx = open_context(settings)
    samples.lists()
    process_inbox(ctx)
    samples.check_table("检查表.docx")
    outcome = {o.name: o for o in process_inbox(ctx)}["检查表.docx"]
    assert outcome.status is FileStatus.waiting
    pending = [f for f in outcome.findings if f.code == "EVIDENCE_PENDING"]
    assert pending and pending[0].severity == "waiting" and "扫描件" in pending[0].message
    case = ctx.store.get_case(outcome.case or "")
    assert case is not None and case.status is CaseStatus.incomplete
    assert not list((settings.outbox / "公示表").glob("*.docx"))


def test_every_box_seen_on_the_scan_satisfies_the_rule(settings: Settings, samples: Samples) -> None:
    f = facts(settings, samples, [scan(ev.CHECK_TABLE, dict.fromkeys(ALL_CHECK_BOXES, True))])
    assert evidence_codes(f) == []


def test_a_box_not_seen_makes_the_case_wait_and_names_the_box(settings: Settings, samples: Samples) -> None:
    seen: dict[str, bool | None] = dict.fromkeys(ALL_CHECK_BOXES, True)
    seen["authority_seal"] = False
    f = facts(settings, samples, [scan(ev.CHECK_TABLE, seen)])
    assert evidence_codes(f) == [("EVIDENCE_MISSING", "waiting", "authority_seal")]
    message = next(x.message for x in evaluate(f).findings if x.code == "EVIDENCE_MISSING")
    assert "抽查执法主体盖章" in message and "检查表-签字.jpg" in message


def test_an_uncertain_box_is_asked_with_its_crop_and_the_answer_decides(settings: Settings,
                                                                         samples: Samples) -> None:
    seen: dict[str, bool | None] = dict.fromkeys(ALL_CHECK_BOXES, True)
    seen["leader_confirmation_signature"] = None
    f = facts(settings, samples, [scan(ev.CHECK_TABLE, seen)])
    assert evidence_codes(f) == [("EVIDENCE_UNCERTAIN", "review", "leader_confirmation_signature")]
    (ask,) = evaluate(f).asks
    assert ask.key == "EVIDENCE:7:leader_confirmation_signature" and ask.options == (SEEN, NOT_SEEN)
    assert ask.found == f"{ev.CROP_PREFIX}/tmp/crop.png"
    assert evidence_codes(dataclasses.replace(f, answers={ask.key: SEEN})) == []
    assert evidence_codes(dataclasses.replace(f, answers={ask.key: NOT_SEEN})) == [
        ("EVIDENCE_MISSING", "waiting", "leader_confirmation_signature")]


def test_a_page_not_yet_scanned_is_asked_for_by_its_box(settings: Settings, samples: Samples) -> None:
    f = facts(settings, samples, [scan(ev.CHECK_TABLE, dict.fromkeys(ev.CHECK_TABLE_UPPER, True))])
    pending = [x for x in evaluate(f).findings if x.code == "EVIDENCE_PENDING"]
    assert {x.field for x in pending} == set(ev.CHECK_TABLE_LOWER)
    assert all(x.severity == "waiting" and "那一页" in x.message for x in pending)


def test_the_lower_half_boxes_are_not_required_before_the_check(settings: Settings, samples: Samples) -> None:
    f = facts(settings, samples, [scan(ev.CHECK_TABLE, dict.fromkeys(ev.CHECK_TABLE_UPPER, True))],
              situation=None, check_start=None, check_end=None, handling=None, leader_confirmation_date=None,
              authority_seal_date=None)
    assert not f.lower_half_filled
    assert evidence_codes(f) == []


def test_a_site_record_needs_the_party_or_a_noted_reason(settings: Settings, samples: Samples) -> None:
    table = scan(ev.CHECK_TABLE, dict.fromkeys(ALL_CHECK_BOXES, True), scan_id=1)
    refused = scan(ev.SITE_RECORD, {"party_signature": False, "party_seal": False, "refusal_reason": True,
                                    "inspector_signatures": True}, scan_id=2)
    f = facts(settings, samples, [table, refused], methods=["现场检查"])
    assert evidence_codes(f) == []
    unsigned = scan(ev.SITE_RECORD, {"party_signature": False, "party_seal": False, "refusal_reason": False,
                                     "inspector_signatures": True}, scan_id=3)
    f = facts(settings, samples, [table, unsigned], methods=["现场检查"])
    assert evidence_codes(f) == [("EVIDENCE_MISSING", "waiting", "party_signature")]
    assert "第十条" in next(x.article or "" for x in evaluate(f).findings if x.code == "EVIDENCE_MISSING")


def test_an_on_site_check_without_a_scanned_record_waits_for_it(settings: Settings, samples: Samples) -> None:
    table = scan(ev.CHECK_TABLE, dict.fromkeys(ALL_CHECK_BOXES, True))
    f = facts(settings, samples, [table], methods=["现场检查"])
    pending = [x for x in evaluate(f).findings if x.code == "EVIDENCE_PENDING"]
    assert len(pending) == 1 and "现场检查笔录" in pending[0].message


def test_switching_the_setting_off_drops_the_rule(settings: Settings, samples: Samples) -> None:
    f = facts(settings, samples, [])
    assert evidence_codes(f)
    assert evidence_codes(dataclasses.replace(f, settings=settings)) == []
