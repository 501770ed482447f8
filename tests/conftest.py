"""Shared fixtures: a throw-away workspace (inbox, outbox, data) and sample documents (fixed seed)."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.core.settings import Settings, load_settings
from pipeline.documents.libreoffice import Converter
from pipeline.intake.process import LISTS_FOLDER, Context, open_context
from pipeline.samples.demo import (
    write_check_table,
    write_roster_sheet,
    write_site_record,
    write_tasks_sheet,
    write_units_sheet,
)
from pipeline.samples.fictional import (
    Company,
    check_table_fields,
    make_companies,
    make_inspectors,
    site_record_fields,
)
from pipeline.samples.scan_synth import FormPdfs
from pipeline.store import SqlStore, open_store
from tests.pg_cluster import INSTALL_HINT as PG_INSTALL_HINT
from tests.pg_cluster import Cluster, find_pg_bin

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the whole session, started when a test first asks."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.fail(f"找不到 PostgreSQL（initdb）：{PG_INSTALL_HINT}")
    cluster = Cluster(bin_dir)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database of each kind the store runs on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite3'}"
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database()


@pytest.fixture
def open_db() -> Iterator[Callable[[str], SqlStore]]:
    """``open_store`` for a test: every store it opened is closed after the test (no pool left behind)."""
    opened: list[SqlStore] = []

    def open_db(url: str) -> SqlStore:
        opened.append(open_store(url))
        return opened[-1]

    yield open_db
    for store in opened:
        store.close()


@pytest.fixture
def rng() -> random.Random:
    return random.Random(4242)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The typed-form rules are tested on their own: the signed-scan rule (test_scan_pipeline,
    # test_evidence_rules), automatic archiving (test_archive) and the periodic 综合科 bundle
    # (test_bundle) and the forms printed for every open case (test_print_forms) switch themselves on.
    s = load_settings(env={}, inbox=tmp_path / "inbox", outbox=tmp_path / "outbox", data_dir=tmp_path / "var",
                      settle_seconds=0.1, poll_seconds=0.2, require_signed_scan=False, archive_auto=False,
                      bundle_interval="off", print_forms_auto=False,
                      empty_wait_seconds=0)
    s.inbox.mkdir()
    return s


class Samples:
    """Builds sample inputs in a workspace's inbox."""

    def __init__(self, settings: Settings, rng: random.Random) -> None:
        self.settings = settings
        self.rng = rng
        self.companies = make_companies(rng, 6)
        self.people = make_inspectors(rng, 4)

    def fields(self, company: Company | None = None, inspectors: int = 2, team: list[dict[str, Any]] | None = None,
               **overrides: Any) -> dict[str, Any]:
        """``inspectors`` takes the first N sample people; ``team`` gives the inspector dicts outright."""
        company = company or self.companies[0]
        fields = check_table_fields(self.rng, company, self.people[:inspectors], dt.datetime(2026, 11, 9, 9, 30))
        # A written check by default: an on-site check also needs its 现场检查笔录 (see site_record).
        fields["methods"] = ["书面检查"]
        if team is not None:
            fields["inspectors"] = team
        fields.update(overrides)
        return fields

    def site_record(self, name: str, company: Company | None = None, refused: bool = False,
                    folder: Path | None = None, **overrides: Any) -> Path:
        path = (folder or self.settings.inbox) / name
        fields = site_record_fields(self.rng, company or self.companies[0], self.people[:2],
                                    dt.datetime(2026, 11, 9, 9, 30), refused=refused)
        fields.update(overrides)
        write_site_record(path, fields, self.settings)
        return path

    def check_table(self, name: str, folder: Path | None = None, **kwargs: Any) -> Path:
        path = (folder or self.settings.inbox) / name
        write_check_table(path, self.fields(**kwargs), self.settings)
        return path

    def lists(self, companies: list[Company] | None = None, folder: Path | None = None) -> tuple[Path, Path, Path]:
        companies = self.companies if companies is None else companies
        target = (folder or self.settings.inbox) / LISTS_FOLDER
        target.mkdir(parents=True, exist_ok=True)
        units, tasks, roster = target / "检查对象名录库.xlsx", target / "抽查任务.xlsx", target / "执法检查人员名录库.xlsx"
        write_units_sheet(units, companies)
        write_tasks_sheet(tasks, companies, "民用爆炸物品销售的安全生产监督管理")
        write_roster_sheet(roster, self.people)
        return units, tasks, roster


@pytest.fixture
def samples(settings: Settings, rng: random.Random) -> Samples:
    return Samples(settings, rng)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    """An open context on the workspace (modules that need other settings define their own)."""
    context = open_context(settings)
    yield context
    context.close()


@pytest.fixture(scope="module")
def form_pdfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FormPdfs]:
    """The printed forms of cases as LibreOffice PDFs with their box geometry, cached per test module."""
    converter = Converter()
    try:
        yield FormPdfs(converter, tmp_path_factory.mktemp("forms"), ROOT / "templates")
    finally:
        converter.close()


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUANGSUI_")}
    env.update({"SHUANGSUI_INBOX": str(settings.inbox), "SHUANGSUI_OUTBOX": str(settings.outbox),
                "SHUANGSUI_DATA_DIR": str(settings.data_dir), "SHUANGSUI_SETTLE_SECONDS": "0.1",
                "SHUANGSUI_POLL_SECONDS": "0.2", "PYTHONPATH": str(ROOT),
                "SHUANGSUI_REQUIRE_SIGNED_SCAN": "1" if settings.require_signed_scan else "0",
                "SHUANGSUI_ARCHIVE_AUTO": "1" if settings.archive_auto else "0",
                "SHUANGSUI_BUNDLE_INTERVAL": settings.bundle_interval,
                "SHUANGSUI_PRINT_FORMS_AUTO": "1" if settings.print_forms_auto else "0",
                "SHUANGSUI_EMPTY_WAIT_SECONDS": str(settings.empty_wait_seconds),
                "SHUANGSUI_DATABASE_URL": settings.database_url,
                "SHUANGSUI_CLAIM_LEASE_SECONDS": str(settings.claim_lease_seconds)})
    return env


def run_cli(settings: Settings, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=cli_env(settings),
                          cwd=settings.data_dir.parent, capture_output=True, text=True, timeout=timeout)


def process_json(settings: Settings) -> list[dict[str, Any]]:
    proc = run_cli(settings, "process", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["files"]
