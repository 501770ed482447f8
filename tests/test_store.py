"""The SQLite store: numbered migrations, an append-only event log, case numbering, the rows callers read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.errors import StoreError
from pipeline.store import NewScanBox, StoreTx, open_store


def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    store = open_store(url)
    with store.engine.connect() as conn:
        versions = [r[0] for r in conn.execute(text("SELECT version FROM schema_migrations ORDER BY version"))]
    assert versions == [1, 2, 3, 4, 5, 6, 7]
    assert store.migrate() == []
    store.close()
    assert open_store(url).migrate() == []


def test_event_log_is_append_only(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with store.begin() as tx:
        tx.log("case", "SS-2026-00001", "created", {"unit": "烟台某某有限公司"})
    [event] = list(store.events("case", "SS-2026-00001"))
    assert event.detail == {"unit": "烟台某某有限公司"}
    for sql in ("UPDATE events SET action='x'", "DELETE FROM events"):
        with pytest.raises(StoreError, match="append-only"), store.begin() as tx:
            tx.conn.execute(text(sql))
    assert len(list(store.events())) == 1


def test_case_numbers_count_per_year_and_changes_are_logged(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with store.begin() as tx:
        ids = [tx.next_case_id("SS", 2026), tx.next_case_id("SS", 2026), tx.next_case_id("SS", 2027)]
        tx.create_case(ids[0], unit_name="烟台某某有限公司", unit_key="烟台某某有限公司", check_date="2026-11-09",
                       status=CaseStatus.incomplete, record={"a": 1})
        tx.update_case(ids[0], status=CaseStatus.publishable)
    assert ids == ["SS-2026-00001", "SS-2026-00002", "SS-2027-00001"]
    case = store.get_case(ids[0])
    assert case is not None and case.status is CaseStatus.publishable and case.record == {"a": 1}
    assert [e.action for e in store.events("case", ids[0])] == ["created", "updated"]


def test_failed_transaction_records_nothing(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with pytest.raises(RuntimeError), store.begin() as tx:
        tx.add_file(sha256="ab", original_name="x.docx", inbox_path="x.docx", size=1, mtime_ns=1, kind="docx")
        raise RuntimeError("crash")
    assert store.list_files() == []
    assert list(store.events()) == []


def _file(tx: StoreTx, name: str, *, status: FileStatus, form: str | None, case_id: str | None) -> int:
    file_id = tx.add_file(sha256=name.encode().hex(), original_name=name, inbox_path=name, size=1, mtime_ns=1,
                          kind="docx")
    tx.finish_file(file_id, status=status, form=form, case_id=case_id)
    return file_id


def test_case_evaluation_overrides_and_findings_read_back_after_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    store = open_store(url)
    pending = {"code": "PDF_PENDING", "severity": "warning", "field": None, "message": "PDF 未生成", "article": None}
    other = {"code": "UNIT_NOT_IN_LIST", "severity": "review", "field": "inspected_unit", "message": "名录库中没有",
             "article": "第五条"}
    with store.begin() as tx:
        for case_id, day in (("SS-2026-00001", "2026-11-09"), ("SS-2026-00002", None), ("SS-2026-00003", "2026-11-20")):
            tx.create_case(case_id, unit_name="烟台某某有限公司", unit_key="烟台某某", check_date=day,
                           status=CaseStatus.review, record=None)
            tx.set_case_evaluation(case_id, penalty=case_id != "SS-2026-00002", due_lower_half="2026-11-16",
                                   due_publish="2026-11-30", due_certain=False, findings=[pending, other])
        assert tx.merge_case_overrides("SS-2026-00001", {"pause_days": 3}) == {"pause_days": 3}
        assert tx.merge_case_overrides("SS-2026-00001", {"targeted": True}) == {"pause_days": 3, "targeted": True}
        tx.drop_case_findings("SS-2026-00001", "PDF_PENDING")
        tx.set_case_due_penalty("SS-2026-00001", "2026-12-01")
        assert tx.case_status("SS-2026-00001") is CaseStatus.review and tx.case_status("SS-2026-09999") is None
    store.close()
    store = open_store(url)
    case = store.get_case("SS-2026-00001")
    assert case is not None
    assert (case.penalty, case.due_lower_half, case.due_publish, case.due_penalty, case.due_certain) == (
        True, "2026-11-16", "2026-11-30", "2026-12-01", False)
    assert case.findings == [other] and case.overrides == {"pause_days": 3, "targeted": True}
    untouched = store.get_case("SS-2026-00003")
    assert untouched is not None and untouched.findings == [pending, other] and untouched.overrides is None
    # Latest check first; a case without the flag is not listed.
    assert [c.id for c in store.penalty_cases()] == ["SS-2026-00003", "SS-2026-00001"]


def test_case_files_fields_scans_and_events(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    case_id = "SS-2026-00001"
    with store.begin() as tx:
        tx.create_case(case_id, unit_name="烟台某某有限公司", unit_key="烟台某某", check_date="2026-11-09",
                       status=CaseStatus.incomplete, record=None)
        table = _file(tx, "检查表.docx", status=FileStatus.accepted, form="check_table", case_id=case_id)
        record = _file(tx, "笔录.docx", status=FileStatus.waiting, form="site_record", case_id=case_id)
        _file(tx, "检查表(1).docx", status=FileStatus.duplicate, form="check_table", case_id=case_id)
        scan = _file(tx, "扫描件.pdf", status=FileStatus.waiting, form=None, case_id=None)
        tx.add_fields(record, case_id, [("party_signed", True, None, None), ("inspectors", ["张三"], None, None)])
        first = tx.add_scan_document(scan, 0, case_id=case_id, form="check_table", pages=[0], qr_case=case_id,
                                     matched_by="qr", hints={},
                                     boxes=[NewScanBox("authority_seal", True, 0.9, 0, (1, 2, 3, 4), None),
                                            NewScanBox("party_signature", None, 0.4, 0, None, "/tmp/c.png")])
        second = tx.add_scan_document(scan, 1, case_id=None, form=None, pages=[1, 2], qr_case=None, matched_by=None,
                                      hints={"inspected_unit": "烟台某某有限公司"}, boxes=[])
    assert [f.id for f in store.case_files(case_id)] == [table, record]
    assert [f.id for f in store.case_files(case_id, form="site_record")] == [record]
    assert [f.id for f in store.case_files(case_id, with_scans=True)] == [table, record, scan]
    assert [f.original_name for f in store.typed_files()] == ["检查表(1).docx", "笔录.docx", "检查表.docx"]
    assert store.file_fields(record) == {"party_signed": True, "inspectors": ["张三"]}
    assert [(b.scan_id, b.box, b.present) for b in store.scan_boxes(case_id)] == [
        (first, "authority_seal", True), (first, "party_signature", None)]
    [(waiting, file)] = store.unmatched_scans()
    assert (waiting.id, waiting.pages, waiting.hints, file.id) == (
        second, (1, 2), {"inspected_unit": "烟台某某有限公司"}, scan)
    with store.begin() as tx:
        assert tx.match_scan_document(second, case_id, "site_record", "text") == 0
        tx.accept_scan_file(scan, case_id)
    scanned = store.get_file(scan)
    assert scanned is not None and (scanned.status, scanned.case_id) == (FileStatus.accepted, case_id)
    assert [s.form for s in store.scan_documents(case_id)] == ["check_table", "site_record"]
    assert store.unmatched_scans() == []
    events = store.case_events(case_id, [table])
    assert {(e.entity, e.entity_id) for e in events} == {("case", case_id), ("file", str(table))}
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert store.last_event_id("case", case_id) == max(e.id for e in events if e.entity == "case") > 0
    assert store.last_event_id() == max(e.id for e in store.events()) > events[-1].id
    assert store.last_event_id("case", "SS-2026-09999") == 0
