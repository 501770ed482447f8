"""The office page (``shuangsui serve``): cases and deadlines, one case, answers, printing, and its guards.

The workspace is processed once by the real pipeline; the page is read through Starlette's test client,
through a real uvicorn server driven by Debian's Chromium (Playwright), and through the CLI.
"""

from __future__ import annotations

import base64
import random
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from pypdf import PdfReader
from starlette.testclient import TestClient

from pipeline.cases.context import Context
from pipeline.core.codes import CaseStatus
from pipeline.core.errors import BadArgsError
from pipeline.core.settings import Settings, load_settings
from pipeline.intake.process import open_context, process_inbox
from pipeline.web.app import WebConfig, create_app
from pipeline.web.security import check_password, hash_password, inside
from pipeline.web.server import check_bind, start_in_thread
from tests.conftest import ROOT, Samples, cli_env

ARTIFACTS = ROOT / "test-artifacts"
HOSTILE_NAME = "检查表<img src=x onerror=alert(1)>.docx"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass
class Office:
    ctx: Context
    review_case: str
    published_case: str
    hostile_case: str


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    root = tmp_path_factory.mktemp("office")
    settings = load_settings(env={}, print_forms_auto=False, inbox=root / "inbox", outbox=root / "outbox", data_dir=root / "var",
                             settle_seconds=0.1, poll_seconds=0.2, require_signed_scan=False, archive_auto=False,
                             bundle_interval="off")
    settings.inbox.mkdir()
    samples = Samples(settings, random.Random(4242))
    samples.lists()
    samples.check_table("待审核的检查表.docx", situation="已对企业进行检查。", handling="另行研究。")
    samples.check_table("完整的检查表.docx", company=samples.companies[1])
    samples.check_table(HOSTILE_NAME, company=samples.companies[2])
    ctx = open_context(settings)
    outcomes = {o.name: o for o in process_inbox(ctx)}
    cases = {name: outcomes[name].case for name in ("待审核的检查表.docx", "完整的检查表.docx", HOSTILE_NAME)}
    assert all(cases.values()), outcomes
    yield Office(ctx, cases["待审核的检查表.docx"] or "", cases["完整的检查表.docx"] or "", cases[HOSTILE_NAME] or "")
    ctx.store.close()


def client(office: Office, **config: object) -> TestClient:
    return TestClient(create_app(office.ctx, WebConfig(**config)))  # type: ignore[arg-type]


def test_index_lists_every_case_coloured_and_filtered(office: Office) -> None:
    page = client(office).get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for case in (office.review_case, office.published_case, office.hostile_case):
        assert f'href="/cases/{case}"' in page.text
    assert "共 3 个案卷，显示 3 个" in page.text
    assert "抽查计划完成情况" in page.text and "民用爆炸物品销售的安全生产监督管理" in page.text
    only_review = client(office).get("/", params={"state": CaseStatus.review.value})
    assert office.review_case in only_review.text and office.published_case not in only_review.text
    searched = client(office).get("/", params={"q": office.published_case})
    assert "显示 1 个" in searched.text
    assert "显示 0 个" in client(office).get("/", params={"month": "1999-01"}).text


def test_case_page_names_its_files_outputs_findings_and_history(office: Office) -> None:
    page = client(office).get(f"/cases/{office.review_case}")
    assert page.status_code == 200
    assert "待审核的检查表.docx" in page.text and "/originals/" in page.text
    assert "检查抽查结果" in page.text or "抽查结果" in page.text  # the open question
    assert "建立案卷" in page.text  # the event history, in Chinese
    published = client(office).get(f"/cases/{office.published_case}").text
    assert "公示表/" in published and ".pdf" in published
    original = client(office).get(re.search(r'href="(/originals/\d+)"', page.text)[1])  # type: ignore[index]
    stored = next(f for f in office.ctx.store.case_files(office.review_case))
    assert original.content == office.ctx.originals.path_for(stored.sha256).read_bytes()
    assert client(office).get("/cases/SS-1999-00001").status_code == 404


def test_every_value_is_escaped(office: Office) -> None:
    page = client(office).get(f"/cases/{office.hostile_case}").text
    assert "<img src=x" not in page
    assert "检查表&lt;img src=x onerror=alert(1)&gt;.docx" in page


def test_nothing_outside_the_folders_can_be_fetched(office: Office, tmp_path: Path) -> None:
    outbox = office.ctx.settings.outbox
    secret = tmp_path / "secret.txt"
    secret.write_text("机密", encoding="utf-8")
    (outbox / "link-out.txt").symlink_to(secret)
    web = client(office)
    for path in ("/outbox/../var/shuangsui.sqlite3", "/outbox/%2e%2e/var/shuangsui.sqlite3",
                 "/outbox/..%2fvar%2fshuangsui.sqlite3", "/outbox//etc/passwd", "/outbox/link-out.txt",
                 "/data/crops/../shuangsui.sqlite3", "/outbox/%00", "/originals/999999",
                 f"/cases/{office.published_case}/打印/..%2f..%2fvar%2fshuangsui.sqlite3"):
        response = web.get(path)
        assert response.status_code == 404, path
        assert "机密" not in response.text and "SQLite" not in response.text
    assert inside(outbox, "../var/shuangsui.sqlite3") is None and inside(outbox, "link-out.txt") is None
    summary = next(outbox.rglob("*.docx"))
    assert web.get("/outbox/" + summary.relative_to(outbox).as_posix()).content == summary.read_bytes()


def test_an_answer_needs_the_form_token_and_read_only_refuses(office: Office) -> None:
    [question] = office.ctx.store.questions(status="open", case_id=office.review_case)
    web = client(office)
    forged = web.post(f"/questions/{question.id}", data={"answer": question.options[0], "case": office.review_case,
                                                       "csrf": "0" * 64})
    assert forged.status_code == 403
    read_only = client(office, read_only=True)
    assert "只读" in read_only.get(f"/cases/{office.review_case}").text
    assert read_only.post(f"/questions/{question.id}", data={"answer": "x"}).status_code == 403
    assert office.ctx.store.questions(status="open", case_id=office.review_case) == [question]


def test_a_password_guards_every_page_but_healthz(office: Office) -> None:
    stored = hash_password("烟台工信2026")
    assert stored.startswith("scrypt$") and check_password("烟台工信2026", stored)
    assert not check_password("烟台工信2025", stored) and not check_password("x", "garbage")
    with pytest.raises(BadArgsError, match="密码至少"):
        hash_password("short")
    with pytest.raises(BadArgsError, match="必须先设置密码"):
        check_bind("0.0.0.0", "")
    check_bind("127.0.0.1", "")
    guarded = client(office, password_hash=stored)
    assert guarded.get("/").status_code == 401
    wrong = base64.b64encode("办公室:nope".encode()).decode()
    assert guarded.get("/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    right = base64.b64encode("办公室:烟台工信2026".encode()).decode()
    assert guarded.get("/", headers={"Authorization": f"Basic {right}"}).status_code == 200
    assert guarded.get("/healthz").json()["status"] == "ok"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_in_chromium_filter_open_a_case_answer_and_print(office: Office) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("找不到 chromium：请运行 scripts/install-system-deps.sh（apt-get install chromium）后再测试。")
    port = _free_port()
    server, thread = start_in_thread(office.ctx, "127.0.0.1", port, WebConfig())
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
            page.goto(f"http://127.0.0.1:{port}/")
            assert page.locator("#cases tbody tr").count() >= 2
            page.screenshot(path=str(ARTIFACTS / "网页-案卷列表.png"), full_page=True)
            page.select_option("#state", CaseStatus.review.value)
            page.click("button[type=submit]")
            rows = page.locator("#cases tbody tr")
            assert rows.count() == 1 and office.review_case in rows.first.inner_text()
            page.click(f"text={office.review_case}")
            assert page.locator("h1").inner_text().startswith(office.review_case)
            page.screenshot(path=str(ARTIFACTS / "网页-案卷.png"), full_page=True)
            page.select_option("#questions select", index=0)
            page.click("#questions button")
            assert "已记录问题" in page.locator("#message").inner_text()
            with page.expect_download() as download:
                page.evaluate("""url => { const a = document.createElement('a'); a.href = url; a.download = '';
                                          document.body.appendChild(a); a.click(); }""",
                              page.locator("#print a").first.get_attribute("href"))
            pdf = ARTIFACTS / "网页-打印的检查表.pdf"
            download.value.save_as(pdf)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert office.ctx.store.questions(status="open", case_id=office.review_case) == []
    text = "".join(page.extract_text() or "" for page in PdfReader(str(pdf)).pages).replace("\n", "")
    case = office.ctx.store.get_case(office.review_case)
    assert case is not None and (case.unit_name or "")[:6] in text


def test_serve_command_binds_loopback_answers_healthz_and_refuses_an_open_host(office: Office) -> None:
    settings: Settings = office.ctx.settings
    refused = subprocess.run([sys.executable, "-m", "pipeline", "serve", "--host", "0.0.0.0"], env=cli_env(settings),
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "必须先设置密码" in refused.stderr
    port = _free_port()
    with subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--port", str(port)], env=cli_env(settings),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            body = _poll(f"http://127.0.0.1:{port}/healthz", proc)
            assert '"status":"ok"' in body and '"cases":3' in body
            listing = _poll(f"http://127.0.0.1:{port}/", proc)
            assert office.published_case in listing
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert proc.returncode in (0, -15)


def _poll(url: str, proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode("utf-8"))
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {timeout} s")


