"""The website publication set in ``outbox/网站公示/``: the 公示表 PDFs, ``index.html`` and ``公示结果.csv``.

The page lists every published case (企业名称, 统一社会信用代码, 抽查任务名称, 检查日期, 检查抽查结果 and a
link to its PDF). It is self-contained (inline CSS, no scripts, no external resources) so that the
web editor can upload the folder as it is, every value is HTML-escaped, and the CSV's cells are
neutralised against formulas. Only the 公示表 values are used: inspectors' phone numbers and
执法证号 never reach this set. The PDFs are copied here by ``public_forms.settle_publication``;
this module writes the page and the CSV whole, and only when their text changed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from pipeline.cases.context import Context
from pipeline.cases.public_forms import PUBLISHED_STATES, recorded_forms
from pipeline.core.cells import neutralise
from pipeline.store.outbox import WEBSITE, publish

INDEX_NAME = "index.html"
CSV_NAME = "公示结果.csv"
TITLE = "“双随机、一公开”检查结果公示"
COLUMNS = ("序号", "企业名称", "统一社会信用代码", "抽查任务名称", "检查日期", "检查抽查结果", "公示日期", "公示表")

_CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "SimSun", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; text-align: center; }
p.meta { text-align: center; color: #555; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
th { background: #e8eef7; }
tr:nth-child(even) td { background: #f7f7f7; }
""".strip()


@dataclass(frozen=True)
class WebsiteRow:
    case_id: str
    unit_name: str
    uscc: str
    task_name: str
    check_date: str
    result: str
    published_on: str  # YYYY-MM-DD
    pdf_name: str  # file name inside 网站公示/


def website_rows(ctx: Context) -> list[WebsiteRow]:
    """Every published case, newest publication first (then by case number)."""
    forms = recorded_forms(ctx)
    rows = []
    for case in ctx.store.list_cases():
        form, published = forms.get(case.id, (None, None))
        if case.status not in PUBLISHED_STATES or form is None or published is None:
            continue
        pdf = str(published.get("website_pdf") or "").rsplit("/", 1)[-1]
        rows.append(WebsiteRow(case.id, form.unit_name, form.uscc, form.task_name, form.check_date, form.result,
                               str(published["at"])[:10], pdf))
    rows.sort(key=lambda r: r.case_id)
    rows.sort(key=lambda r: r.published_on, reverse=True)
    return rows


def render_index(rows: list[WebsiteRow], bureau: str) -> str:
    """The listing page (no timestamps: the same rows give the same bytes)."""
    body = "\n".join(
        "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in (
            str(n), r.unit_name, r.uscc, r.task_name, r.check_date, r.result, r.published_on))
        + f'<td><a href="{escape(quote(r.pdf_name))}">{escape(r.pdf_name) or "（无）"}</a></td></tr>'
        for n, r in enumerate(rows, start=1))
    head = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(TITLE)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        f"<h1>{escape(TITLE)}</h1>\n<p class=\"meta\">{escape(bureau)} · 共 {len(rows)} 条</p>\n"
        f"<table id=\"results\">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"
        "</body>\n</html>\n")


def render_csv(rows: list[WebsiteRow]) -> str:
    """The same rows as CSV (Excel opens UTF-8 with a BOM; formula-looking cells neutralised)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for n, r in enumerate(rows, start=1):
        writer.writerow([neutralise(v) for v in (
            str(n), r.unit_name, r.uscc, r.task_name, r.check_date, r.result, r.published_on, r.pdf_name)])
    return "\ufeff" + buf.getvalue()


def write_website(ctx: Context) -> list[str]:
    """Write ``网站公示/index.html`` and ``公示结果.csv`` when their text changed; returns the paths written."""
    rows = website_rows(ctx)
    folder = ctx.settings.outbox / WEBSITE
    if not rows and not (folder / INDEX_NAME).exists():
        return []
    job = ctx.settings.jobs_dir / "website"
    job.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in ((INDEX_NAME, render_index(rows, ctx.settings.bureau)), (CSV_NAME, render_csv(rows))):
        dest = folder / name
        if dest.is_file() and dest.read_text(encoding="utf-8") == content:
            continue
        draft = job / name
        draft.write_text(content, encoding="utf-8")
        publish(draft, dest)
        draft.unlink()
        written.append(f"{WEBSITE}/{name}")
    return written
