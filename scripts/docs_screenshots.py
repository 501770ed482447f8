"""Take the pictures of docs/使用说明.md: the office page and the documents a clerk reads, as small PNGs in docs/图片/.

Run ``.venv/bin/python scripts/docs_screenshots.py`` (or ``make docs-screenshots``) after the page or a document
changes. It processes the demo inbox (fictional units and people, fixed seeds) in a temporary workspace, serves
the office page on a free loopback port and photographs it and a returned file's 错误说明.html with Debian's
Chromium (Playwright, nothing downloaded); the 公示表, the printed check table and the 移交清单 of the month's
综合科 bundle are rendered from their PDFs with pdfium. The PNGs are cut to a palette so that git stays small.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdfium2
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from pipeline.core.codes import OPEN_STATES
from pipeline.core.settings import Settings, load_settings
from pipeline.intake.process import Context, open_context, process_inbox
from pipeline.outputs.bundle import HANDOVER_NAME, build_bundle
from pipeline.samples.demo import fill_demo_inbox
from pipeline.web.app import WebConfig
from pipeline.web.server import start_in_thread

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "docs" / "图片"
WIDTH = 1200  # CSS pixels of the browser window
MAX_WIDTH = 1000  # pixels of a stored picture
COLOURS = 64
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

PAGE_LIST = "网页-案卷列表.png"
PAGE_CASE = "网页-案卷.png"
DOC_PUBLIC_FORM = "公示表.png"
DOC_PRINTED = "打印的检查表.png"
DOC_RETURNED = "退回的错误说明.png"
DOC_HANDOVER = "移交清单.png"
PICTURES = (PAGE_LIST, PAGE_CASE, DOC_PUBLIC_FORM, DOC_PRINTED, DOC_RETURNED, DOC_HANDOVER)
BUNDLE_PERIOD = "2026-11"  # the demo's checks are in November 2026


def save_small(image: Image.Image, out: Path) -> Path:
    """``image`` at most ``MAX_WIDTH`` wide, in a ``COLOURS`` palette, as an optimised PNG."""
    image = image.convert("RGB")
    if image.width > MAX_WIDTH:
        image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)), Image.Resampling.LANCZOS)
    image.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out


def pdf_page(pdf: Path, out: Path, *, scale: float = 1.4) -> Path:
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        return save_small(document[0].render(scale=scale).to_pil(), out)
    finally:
        document.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _workspace() -> Iterator[Context]:
    with tempfile.TemporaryDirectory(prefix="shuangsui-docs-") as tmp:
        root = Path(tmp)
        settings: Settings = load_settings(env={}, inbox=root / "inbox", outbox=root / "outbox",
                                           data_dir=root / "var", settle_seconds=0, print_forms_auto=True,
                                           archive_auto=False, bundle_interval="off")
        settings.inbox.mkdir()
        ctx = open_context(settings)
        try:
            fill_demo_inbox(settings, ctx.store)
            process_inbox(ctx)
            yield ctx
        finally:
            ctx.close()


def _shoot(page: Page, out: Path) -> Path:
    """The page as the browser shows it, cut at two screens."""
    height = min(page.evaluate("document.documentElement.scrollHeight"), 1600)
    shot = out.with_suffix(".raw.png")
    page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": WIDTH, "height": height})
    try:
        return save_small(Image.open(shot), out)
    finally:
        shot.unlink()


def take(out_dir: Path, chromium: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with _workspace() as ctx:
        outbox = ctx.settings.outbox
        # A case still waiting shows the most of the case page: what it waits for, its files, its history.
        cases = ctx.store.list_cases()
        case = max(cases, key=lambda c: (c.status in OPEN_STATES, len(c.findings or []), c.id))
        port = _free_port()
        server, thread = start_in_thread(ctx, "127.0.0.1", port, WebConfig())
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": WIDTH, "height": 800})
                page.goto(f"http://127.0.0.1:{port}/")
                written.append(_shoot(page, out_dir / PAGE_LIST))
                page.goto(f"http://127.0.0.1:{port}/cases/{case.id}")
                written.append(_shoot(page, out_dir / PAGE_CASE))
                # The explanation beside a returned file, as the clerk opens it from the share.
                returned = sorted((outbox / "退回").glob("*.错误说明.html"))[0]
                page.goto(returned.as_uri())
                written.append(_shoot(page, out_dir / DOC_RETURNED))
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        public = sorted((outbox / "公示表").glob("*.pdf"))[0]
        written.append(pdf_page(public, out_dir / DOC_PUBLIC_FORM))
        printed = sorted((outbox / "打印").glob("*/随机抽查事项检查表.pdf"))[0]
        written.append(pdf_page(printed, out_dir / DOC_PRINTED))
        bundle = build_bundle(ctx, BUNDLE_PERIOD, force=True)
        handover = ctx.run.converter_pool(ctx.settings).convert(bundle.folder / HANDOVER_NAME, "pdf",
                                                                 ctx.settings.jobs_dir / "docs-pictures")
        written.append(pdf_page(handover, out_dir / DOC_HANDOVER))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="生成 docs/图片/ 中的办公网页截图和文书图片。")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR, help="输出目录（默认 docs/图片/）")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("找不到 chromium：请运行 scripts/install-system-deps.sh（apt-get install chromium）。", file=sys.stderr)
        return 4
    for path in take(args.out_dir, chromium):
        print(f"已生成 {path}（{path.stat().st_size // 1024} KB）")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
