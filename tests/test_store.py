"""The SQLite store: numbered migrations, an append-only event log, case numbering."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline.core.codes import CaseStatus
from pipeline.core.errors import StoreError
from pipeline.store import open_store


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
