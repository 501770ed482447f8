"""The 网站公示 set: the page as headless Chromium sees it, escaping, neutralised CSV, no personal numbers."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from pypdf import PdfReader

from pipeline.outputs.website import TITLE, WebsiteRow, render_csv, render_index
from tests.test_public_forms import FORMULA_NAME, MARKUP_NAME, TASK, Published, published_workspace

pytestmark = pytest.mark.libreoffice


@pytest.fixture
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return published_workspace(tmp_path_factory)


class Table(HTMLParser):
    """The rows of the page's table (cell text and link targets), the title, and any script or resource."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self.external: list[str] = []
        self._cell: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []
        elif tag == "title":
            self._in_title = True
        elif tag == "a":
            self.links.append(values.get("href") or "")
        if tag in ("script", "link", "img", "iframe", "object", "embed") or "src" in values:
            self.external.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.title += data


def chromium_dom(page: Path) -> str:
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None:
        pytest.fail("找不到 chromium：请运行 scripts/install-system-deps.sh（apt-get install chromium）后再测试。")
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_the_page_in_headless_chromium_lists_every_published_case_with_its_pdf(published: Published) -> None:
    folder = published.settings.outbox / "网站公示"
    parsed = Table()
    parsed.feed(chromium_dom(folder / "index.html"))
    assert parsed.title == TITLE
    body = [row for row in parsed.rows if row]
    assert sorted(row[1] for row in body) == sorted(c.name for c in published.companies)
    for row in body:
        company = next(c for c in published.companies if c.name == row[1])
        assert row[2] == company.uscc
        assert TASK in row[3]
        assert row[4] == "2026年11月9日"
        assert row[5]  # 检查抽查结果
    assert len(parsed.links) == 3
    for link in parsed.links:
        assert (folder / unquote(link)).is_file()
        assert (folder / unquote(link)).read_bytes().startswith(b"%PDF")
    assert parsed.external == []  # self-contained: no scripts, images or linked resources


def test_the_website_set_carries_no_phone_or_licence_number(published: Published) -> None:
    folder = published.settings.outbox / "网站公示"
    texts = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.suffix in (".html", ".csv")}
    texts.update({p.name: "".join(page.extract_text() for page in PdfReader(p).pages)
                  for p in folder.glob("*.pdf")})
    assert len(texts) == 5  # index.html, 公示结果.csv and three PDFs
    for person in published.people:
        for number in (person.phone, person.licence_no):
            for name, content in texts.items():
                assert number not in content, (name, number)
    # …while the inspectors' numbers were in what came in (the check is not vacuous).
    assert published.people[0].phone and published.people[0].licence_no


def test_html_is_escaped_and_the_csv_neutralises_formulas(published: Published) -> None:
    folder = published.settings.outbox / "网站公示"
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "烟台A&amp;B&lt;科技&gt;有限公司" in page and MARKUP_NAME not in page
    rows = list(csv.reader(io.StringIO((folder / "公示结果.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["序号", "企业名称", "统一社会信用代码"]
    names = [row[1] for row in rows[1:]]
    assert "'" + FORMULA_NAME in names and FORMULA_NAME not in names


def test_hostile_values_cannot_inject_markup_or_links() -> None:
    row = WebsiteRow("SS-2026-00009", '<script>alert(1)</script>"', "@cmd", "任务", "2026年11月9日", "=2+3",
                     "2026-11-28", 'x" onclick="alert(1).pdf')
    page = render_index([row], "局")
    parsed = Table()
    parsed.feed(page)
    assert parsed.external == [] and "<script>" not in page
    assert parsed.rows[1][1] == '<script>alert(1)</script>"'
    assert parsed.links == ["x%22%20onclick%3D%22alert%281%29.pdf"]
    assert list(csv.reader(io.StringIO(render_csv([row]).lstrip("\ufeff"))))[1][2] == "'@cmd"
