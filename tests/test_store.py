"""The store on SQLite and on PostgreSQL (each test runs on both): numbered migrations, an append-only event
log, case numbering, the rows callers read back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import text

from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.errors import StoreError
from pipeline.store import Ask, NewScanBox, SqlStore, StoreTx
from tests.pg_cluster import Cluster

OpenDb = Callable[[str], SqlStore]


def test_migrations_apply_once_in_order(store_url: str, open_db: OpenDb) -> None:
    url = store_url
    store = open_db(url)
    with store.engine.connect() as conn:
        versions = [r[0] for r in conn.execute(text("SELECT version FROM schema_migrations ORDER BY version"))]
    assert versions == list(range(1, 10))
    assert store.migrate() == []
    store.close()
    assert open_db(url).migrate() == []


def test_event_log_is_append_only(store_url: str, open_db: OpenDb) -> None:
    store = open_db(store_url)
    with store.begin() as tx:
        tx.log("case", "SS-2026-00001", "created", {"unit": "烟台某某有限公司"})
    [event] = list(store.events("case", "SS-2026-00001"))
    assert event.detail == {"unit": "烟台某某有限公司"}
    for sql in ("UPDATE events SET action='x'", "DELETE FROM events"):
        with pytest.raises(StoreError, match="append-only"), store.begin() as tx:
            tx.conn.execute(text(sql))
    assert len(list(store.events())) == 1


def test_case_numbers_count_per_year_and_changes_are_logged(store_url: str, open_db: OpenDb) -> None:
    store = open_db(store_url)
    with store.begin() as tx:
        ids = [tx.next_case_id("SS", 2026), tx.next_case_id("SS", 2026), tx.next_case_id("SS", 2027)]
        tx.create_case(ids[0], unit_name="烟台某某有限公司", unit_key="烟台某某有限公司", check_date="2026-11-09",
                       status=CaseStatus.incomplete, record={"a": 1})
        tx.update_case(ids[0], status=CaseStatus.publishable)
    assert ids == ["SS-2026-00001", "SS-2026-00002", "SS-2027-00001"]
    case = store.get_case(ids[0])
    assert case is not None and case.status is CaseStatus.publishable and case.record == {"a": 1}
    assert [e.action for e in store.events("case", ids[0])] == ["created", "updated"]


def test_failed_transaction_records_nothing(store_url: str, open_db: OpenDb) -> None:
    store = open_db(store_url)
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


def test_case_evaluation_overrides_and_findings_read_back_after_reopening(store_url: str, open_db: OpenDb) -> None:
    url = store_url
    store = open_db(url)
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
    store = open_db(url)
    case = store.get_case("SS-2026-00001")
    assert case is not None
    assert (case.penalty, case.due_lower_half, case.due_publish, case.due_penalty, case.due_certain) == (
        True, "2026-11-16", "2026-11-30", "2026-12-01", False)
    assert case.findings == [other] and case.overrides == {"pause_days": 3, "targeted": True}
    untouched = store.get_case("SS-2026-00003")
    assert untouched is not None and untouched.findings == [pending, other] and untouched.overrides is None
    # Latest check first; a case without the flag is not listed.
    assert [c.id for c in store.penalty_cases()] == ["SS-2026-00003", "SS-2026-00001"]


def test_case_files_fields_scans_and_events(store_url: str, open_db: OpenDb) -> None:
    store = open_db(store_url)
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


def test_questions_penalties_lists_and_archives(store_url: str, open_db: OpenDb) -> None:
    store = open_db(store_url)
    case_id = "SS-2026-00001"
    ask = Ask("UNIT:unit", "UNIT_NOT_IN_LIST", "inspected_unit", "名录库中没有该单位，是否照常公示？", "某某公司", ("是", "否"))
    with store.begin() as tx:
        tx.create_case(case_id, unit_name="烟台某某有限公司", unit_key="烟台某某", check_date="2026-11-09",
                       status=CaseStatus.review, record=None)
        tx.set_case_evaluation(case_id, penalty=True, due_lower_half=None, due_publish=None, due_certain=True,
                               findings=[])
        tx.sync_questions(case_id, [ask])
        decided = _file(tx, "决定书.docx", status=FileStatus.waiting, form="penalty_decision", case_id=None)
        undated = _file(tx, "决定书2.docx", status=FileStatus.waiting, form="penalty_decision", case_id=None)
        tx.add_penalty(decided, None, {"decision_no": "烟工信罚〔2026〕1号", "decision_date": "2026-11-20"})
        tx.add_penalty(undated, None, {"decision_no": None})
        version = tx.add_list_version("units", None, [(2, {"名称": "烟台某某有限公司"}), (3, {"名称": "乙"})],
                                      effective_from="2026-01-01", source_name="名录.xlsx", sha256="ab")
        assert tx.take_archive_number("Z001", 2026, "D30", "ZHK", 1)
        assert not tx.take_archive_number("Z001", 2026, "D30", "ZHK", 1)
        assert tx.take_archive_number("Z001", 2026, "D30", "ZHK", 2)
        assert not tx.take_archive_number("Z001", 2026, "D30", "ZHK", 4)
    [question] = store.questions(case_id=case_id)
    with store.begin() as tx:
        tx.answer_question(question.id, "是", "张三")
        tx.sync_questions(case_id, [])  # an answered question keeps its answer
    assert store.answers_for(case_id) == {"UNIT:unit": "是"} and store.questions() == []
    with store.begin() as tx:  # a question about a scan another case's evaluation settled
        tx.sync_questions(case_id, [dataclasses.replace(ask, key="SCAN_MATCH:7")])
        tx.withdraw_questions("SCAN_MATCH:7")
    assert store.questions() == [] and store.answers_for(case_id) == {"UNIT:unit": "是"}
    # An undated decision first (NULLs sort first on both databases).
    penalties = store.penalties()
    assert [p.decision_no for p in penalties] == [None, "烟工信罚〔2026〕1号"]
    assert [f.id for f in store.unrecorded_penalty_files()] == []
    with store.begin() as tx:
        tx.attach_penalty(penalties[1], case_id)
        tx.mark_penalties_exported([penalties[1].id])
        tx.mark_penalties_bundled([penalties[1].id])
    [attached] = store.penalties(case_id=case_id)
    assert attached.exported_at and attached.bundled_at and store.penalties(matched=False) == [penalties[0]]
    assert store.list_version_rows(version) == [{"名称": "烟台某某有限公司"}, {"名称": "乙"}]
    assert store.list_rows("units") == store.list_version_rows(version) and store.list_rows("tasks") == []
    assert store.archive_counter("Z001", 2026, "D30", "ZHK") == 2
    with store.begin() as tx:
        tx.update_case(case_id, status=CaseStatus.archived)
    last = store.last_event_id()
    with store.begin() as tx:
        assert tx.add_archive(case_id, archive_code="Z001-WS·2026-D30-ZHK-0001", fonds="Z001", category="WS",
                              year=2026, retention="D30", org_code="ZHK", item_no=1, package_path="归档/a.zip",
                              sha256="cd", last_event_id=last) == 1
        tx.mark_archive_published(case_id, 1)
    [latest] = store.archived_latest()
    assert (latest.item_no, latest.version, latest.published_at is not None) == (1, 1, True)
    assert store.archive_item_nos("Z001", 2026, "D30", "ZHK") == {1}
    assert store.events_after_archives() == []
    with store.begin() as tx:
        tx.log("case", case_id, "updated", {"note": "after the package"})
    assert [e.action for e in store.events_after_archives()] == ["updated"]


def test_claims_lease_heartbeat_and_takeover(store_url: str, open_db: OpenDb) -> None:
    first, second = open_db(store_url), open_db(store_url)
    assert first.claim("inbox:a.docx", "A", 30, now=1000)
    assert not second.claim("inbox:a.docx", "B", 30, now=1010), "A's lease runs"
    assert first.claim("inbox:a.docx", "A", 30, now=1010), "the owner may claim again"
    assert first.renew_claims("A", 30, now=1035) == 1  # heartbeat: the lease now ends at 1065
    assert not second.claim("inbox:a.docx", "B", 30, now=1050)
    assert second.claim("inbox:a.docx", "B", 30, now=1070), "an expired lease is taken over"
    assert second.claim_owner("inbox:a.docx") == "B" and first.renew_claims("A", 30) == 0
    first.release_claims("A", ["inbox:a.docx"])  # not A's any more
    assert first.claim_owner("inbox:a.docx") == "B"
    second.release_claims("B", ["inbox:a.docx"])
    assert first.claim_owner("inbox:a.docx") is None and first.claim("inbox:a.docx", "A", 30, now=1071)
    assert first.shared is (not store_url.startswith("sqlite"))


def test_exclusive_sections_wait_for_each_other_on_postgresql(pg_cluster: Cluster, open_db: OpenDb) -> None:
    url = pg_cluster.new_database()
    first, second = open_db(url), open_db(url)
    entered = threading.Event()

    def other_worker() -> None:
        with second.exclusive("汇总"):
            entered.set()

    def advisory(granted: bool) -> int:
        with first.engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM pg_locks WHERE locktype='advisory' AND granted=:g"),
                                    {"g": granted}).scalar_one())

    with first.exclusive("汇总"):
        assert advisory(True) == 1
        thread = threading.Thread(target=other_worker)
        thread.start()
        while advisory(False) == 0:  # the other worker is now waiting for the lock
            assert thread.is_alive() and not entered.is_set()
        assert not entered.is_set()
        with second.exclusive("网站公示"):  # another name is not excluded
            pass
    thread.join(timeout=30)
    assert entered.is_set() and advisory(True) == 0 and advisory(False) == 0


def test_marks_shared_by_workers(store_url: str, open_db: OpenDb) -> None:
    first, second = open_db(store_url), open_db(store_url)
    assert first.mark("finish_pass") is None
    first.set_mark("finish_pass", 41)
    second.set_mark("finish_pass", 42)
    assert first.mark("finish_pass") == 42


def test_the_list_version_in_effect_on_a_date(store_url: str, open_db: OpenDb) -> None:
    """The newest version in effect on the day (the later import on a tie); before every version, the
    earliest; no day, the newest import."""
    store = open_db(store_url)
    ids = {}
    with store.begin() as tx:
        for name, effective in (("a", "2026-01-01"), ("b", "2026-06-01"), ("c", "2026-06-01"), ("d", "2026-01-01")):
            ids[name] = tx.add_list_version("units", None, [(2, {"名称": name})], effective_from=effective,
                                            source_name=f"{name}.xlsx", sha256=name * 4)
    on = {day: store.list_version_on("units", dt.date.fromisoformat(day)) for day in
          ("2025-12-01", "2026-01-01", "2026-03-01", "2026-06-01", "2027-01-01")}
    assert {day: row.id if row else None for day, row in on.items()} == {
        "2025-12-01": ids["d"], "2026-01-01": ids["d"], "2026-03-01": ids["d"], "2026-06-01": ids["c"],
        "2027-01-01": ids["c"]}
    newest = store.list_version_on("units")
    assert newest is not None and newest.id == ids["d"]
    assert store.list_version_on("tasks", dt.date(2026, 1, 1)) is None
