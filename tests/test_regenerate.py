"""Batch regeneration: prepared templates render what docxtpl renders, in parallel as serially, and
``shuangsui regenerate`` rewrites exactly the outbox files whose content changed."""

from __future__ import annotations

import dataclasses
import io
import json
import random
import shutil
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from docx import Document
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from sqlalchemy import text

from pipeline.core.errors import BadArgsError, TemplateError
from pipeline.core.settings import Settings, load_settings
from pipeline.documents.render import (
    CHECK_TABLE_TEMPLATE,
    PUBLIC_FORM_TEMPLATE,
    SITE_RECORD_TEMPLATE,
    PreparedTemplate,
    QrImage,
    check_table_context,
    make_jinja_env,
    public_form_context,
    qr_png,
    site_record_context,
)
from pipeline.intake.process import Context, open_context, process_inbox
from pipeline.outputs.regenerate import (
    CHANGED,
    EVENT_REGENERATED,
    FAILED,
    FORM_CHECK,
    FORM_PUBLIC,
    FORM_SITE,
    NEW,
    SAME,
    RenderJob,
    Selection,
    docx_content,
    regenerate,
    render_jobs,
)
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors, site_record_fields
from tests.conftest import Samples, run_cli

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
TITLE = "检查结果公示表"
NEW_TITLE = "检查结果公示表（修订版）"
NEW_BUREAU = "烟台市工业和信息化局（机构改革后）"


def _contexts(n: int) -> list[tuple[str, dict[str, Any]]]:
    """(template, context) pairs over all three forms, with QR codes, odd characters and line breaks."""
    rng = random.Random(99)
    companies = make_companies(rng, 4)
    people = make_inspectors(rng, 3)
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(n):
        company = companies[i % 4]
        start = datetime(2026, 10, 1 + i % 20, 9, 30)
        case_id = f"SS-2026-{i + 1:05d}"
        kind = i % 3
        if kind == 0:
            out.append((PUBLIC_FORM_TEMPLATE, public_form_context(
                unit_name=f"{company.name}&<分厂{i}>", uscc=company.uscc, authority="烟台市工业和信息化局",
                task_name="2026年度工业节能监察双随机抽查", check_date=f"2026年10月{1 + i % 20}日",
                check_type="不定向抽查", result="发现问题已责令改正\n已于当日整改完毕")))
        elif kind == 1:
            fields = check_table_fields(rng, company, people[: 2 + i % 2], start)
            out.append((CHECK_TABLE_TEMPLATE, check_table_context(fields, bureau="烟台市工业和信息化局",
                                                                  case_id=case_id)))
        else:
            fields = site_record_fields(rng, company, people[:2], start)
            out.append((SITE_RECORD_TEMPLATE, site_record_context(fields, bureau="烟台市工业和信息化局",
                                                                  case_id=case_id)))
    return out


def _plain_docxtpl(template: Path, context: dict[str, Any]) -> bytes:
    """What docxtpl itself gives: a new DocxTemplate for this one document."""
    tpl = DocxTemplate(template)
    bound = {key: InlineImage(tpl, io.BytesIO(qr_png(value.payload)), width=Mm(value.width_mm))
             if isinstance(value, QrImage) else value for key, value in context.items()}
    tpl.render(bound, jinja_env=make_jinja_env(), autoescape=True)
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        return {name: z.read(name) for name in z.namelist()}


def _docx_text(path: Path) -> str:
    doc = Document(str(path))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


# --------------------------------------------------------------------------------------------------
# The prepared renderer


@pytest.mark.parametrize("index", [0, 1, 2], ids=["公示表", "检查表-QR", "现场检查笔录-QR"])
def test_prepared_template_renders_the_same_members_as_a_new_docxtemplate(index: int) -> None:
    template, context = _contexts(3)[index]
    prepared = PreparedTemplate(TEMPLATES / template)
    ours = prepared.render_bytes(context)
    theirs = _plain_docxtpl(TEMPLATES / template, context)
    ours_members, theirs_members = _members(ours), _members(theirs)
    assert sorted(ours_members) == sorted(theirs_members)
    for name, data in theirs_members.items():
        assert ours_members[name] == data, f"{name} differs from docxtpl's"
    if template != PUBLIC_FORM_TEMPLATE:
        assert any(name.startswith("word/media/") for name in ours_members), "the QR code is in the document"
    # Rendering again gives the same bytes (fixed member dates), so unchanged documents stay unchanged.
    assert prepared.render_bytes(context) == ours


def test_parallel_render_gives_the_same_documents_as_serial_and_reports_a_broken_one(tmp_path: Path) -> None:
    pairs = _contexts(18)
    broken = dict(pairs[0][1])
    del broken["uscc"]
    pairs.append((PUBLIC_FORM_TEMPLATE, broken))
    results = {}
    for workers in (1, 2):
        jobs = [RenderJob(f"doc-{i}", template, context, tmp_path / str(workers) / f"{i:02d}.docx")
                for i, (template, context) in enumerate(pairs)]
        progress: list[int] = []

        def on_progress(_stage: str, done: int, _total: int, seen: list[int] = progress) -> None:
            seen.append(done)

        failures = render_jobs(jobs, TEMPLATES, workers, on_progress=on_progress).failures
        assert list(failures) == [f"doc-{len(pairs) - 1}"]
        assert "uscc" in failures[f"doc-{len(pairs) - 1}"] and PUBLIC_FORM_TEMPLATE in failures[f"doc-{len(pairs) - 1}"]
        assert progress[-1] == len(pairs)
        results[workers] = {p.name: p.read_bytes() for p in sorted((tmp_path / str(workers)).glob("*.docx"))}
    assert len(results[1]) == len(pairs) - 1
    assert results[1] == results[2]
    unit = pairs[3][1]["unit_name"]
    assert unit in _docx_text(tmp_path / "2" / "03.docx")


# --------------------------------------------------------------------------------------------------
# shuangsui regenerate on a processed workspace


def _workspace_settings(base: Path) -> Settings:
    # Archival packages (their own LibreOffice work) are not what these tests are about.
    extra = {"archive_auto": False} if "archive_auto" in {f.name for f in dataclasses.fields(Settings)} else {}
    return load_settings(env={}, print_forms_auto=False, inbox=base / "inbox", outbox=base / "outbox", data_dir=base / "var",
                         settle_seconds=0.1, poll_seconds=0.2, require_signed_scan=False, **extra)


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two cases, processed once for the module: one on-site check with its 现场检查笔录, published
    (公示表 .docx, PDF and website copy), and one whose company is not in the lists yet (waiting)."""
    base = tmp_path_factory.mktemp("regenerate")
    settings = _workspace_settings(base)
    settings.inbox.mkdir()
    samples = Samples(settings, random.Random(4242))
    first, second = samples.companies[:2]
    samples.lists(companies=[first])
    samples.check_table("检查表-现场.docx", company=first, methods=["现场检查"])
    samples.site_record("现场检查笔录.docx", company=first)
    samples.check_table("检查表-书面.docx", company=second)
    ctx = open_context(settings)
    try:
        outcomes = process_inbox(ctx)
    finally:
        ctx.store.close()
    assert {o.status.value for o in outcomes} <= {"accepted", "waiting"}, outcomes
    # The 笔录 completes the on-site case after its check table: it is published.
    assert len(list((settings.outbox / "网站公示").glob("*.pdf"))) == 1
    return base


@pytest.fixture
def workspace(processed: Path, tmp_path: Path) -> Iterator[Context]:
    """A private copy of the processed workspace (mtimes kept) and an open context on it."""
    for folder in ("inbox", "outbox", "var"):
        shutil.copytree(processed / folder, tmp_path / folder)
    ctx = open_context(_workspace_settings(tmp_path))
    try:
        yield ctx
    finally:
        ctx.store.close()


@pytest.fixture
def revised_templates(tmp_path: Path) -> Path:
    """The templates with the 公示表's title changed (what staff might do in Word)."""
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    path = folder / PUBLIC_FORM_TEMPLATE
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in members:
            if info.filename == "word/document.xml":
                assert TITLE.encode() in data
                data = data.replace(TITLE.encode(), NEW_TITLE.encode())
            dst.writestr(info, data)
    return folder


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _count(ctx: Context, table: str) -> int:
    with ctx.store.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def _by_path(report: Any) -> dict[str, str]:
    return {c.path: c.change for c in report.changes}


@pytest.mark.libreoffice
def test_dry_run_reports_what_would_change_and_writes_nothing(workspace: Context, revised_templates: Path) -> None:
    outbox = workspace.settings.outbox
    before = _snapshot(outbox)
    events, outputs = _count(workspace, "events"), _count(workspace, "outputs")
    report = regenerate(workspace, Selection(), dry_run=True, template_dir=revised_templates)
    changes = _by_path(report)
    forms = [p for p in changes if p.startswith("公示表/")]
    assert len([p for p in forms if p.endswith(".docx")]) == 1  # the waiting case has no 公示表
    assert all(changes[p] == CHANGED for p in forms), changes  # the title changed: Word and PDF
    assert all(changes[p] == CHANGED for p in changes if p.startswith("网站公示/"))
    printed = [p for p in changes if p.startswith("打印/")]
    assert len(printed) == 3 and all(changes[p] == NEW for p in printed)  # 2 检查表 + 1 现场检查笔录
    assert report.dry_run and report.count(FAILED) == 0
    assert _snapshot(outbox) == before
    assert not (outbox / "打印").exists()
    assert (_count(workspace, "events"), _count(workspace, "outputs")) == (events, outputs)
    assert not list(workspace.settings.jobs_dir.glob("regenerate-*")), "the job folder is removed"


@pytest.mark.libreoffice
def test_run_rewrites_only_files_whose_content_changed(workspace: Context) -> None:
    outbox = workspace.settings.outbox
    published = {k: v for k, v in _snapshot(outbox).items() if k.startswith(("公示表/", "网站公示/"))}
    first = regenerate(workspace, Selection(), actor="cli:test")
    changes = _by_path(first)
    # Nothing about the 公示表 changed: Word, PDF and website copy are left alone, byte and mtime.
    assert {changes[p] for p in changes if p.startswith(("公示表/", "网站公示/"))} == {SAME}
    assert {k: v for k, v in _snapshot(outbox).items() if k in published} == published
    printed = sorted(p for p in changes if p.startswith("打印/"))
    assert {changes[p] for p in printed} == {NEW} and len(printed) == 3
    check_tables = sorted(outbox.glob("打印/*/随机抽查事项检查表.docx"))
    assert len(check_tables) == 2 and "烟台市工业和信息化局" in _docx_text(check_tables[0])
    regenerated = [e for e in workspace.store.events("case") if e.action == EVENT_REGENERATED]
    assert len(regenerated) == 2 and all(e.actor == "cli:test" for e in regenerated)  # one per case

    # The bureau is renamed: the print copies of the 检查表 change, nothing else is touched.
    before = _snapshot(outbox)
    renamed = Context(workspace.settings.replace(bureau=NEW_BUREAU), workspace.store, workspace.originals)
    second = regenerate(renamed, Selection(forms=(FORM_CHECK,)))
    assert {c.change for c in second.changes} == {CHANGED} and len(second.changes) == 2
    after = _snapshot(outbox)
    for name, (data, mtime) in before.items():
        if name.endswith("随机抽查事项检查表.docx"):
            assert after[name][0] != data
            assert NEW_BUREAU in _docx_text(outbox / name)
        else:
            assert after[name] == (data, mtime), f"{name} was touched"
    rows = [r for r in workspace.store.outputs_for_case(second.changes[0].case_id) if r.kind == "print_check_table"]
    assert len(rows) == 2  # recorded when new and when changed

    third = regenerate(renamed, Selection(forms=(FORM_CHECK,)))
    assert {c.change for c in third.changes} == {SAME}
    assert _snapshot(outbox) == after
    # The 笔录 prints the bureau too: only --form 现场检查笔录 (or all forms) rewrites it.
    fourth = regenerate(renamed, Selection(forms=(FORM_SITE,)))
    assert [(c.form, c.change) for c in fourth.changes] == [(FORM_SITE, CHANGED)]


@pytest.mark.libreoffice
def test_changed_template_republishes_word_pdf_and_website_copy(workspace: Context, revised_templates: Path) -> None:
    outbox = workspace.settings.outbox
    report = regenerate(workspace, Selection(forms=(FORM_PUBLIC,)), template_dir=revised_templates, workers=2)
    changes = _by_path(report)
    assert len(changes) == 3 and set(changes.values()) == {CHANGED}, changes  # .docx, .pdf, 网站公示 .pdf
    assert report.converted == 1
    for path in changes:
        if path.endswith(".docx"):
            assert NEW_TITLE in _docx_text(outbox / path)
            assert docx_content(outbox / path) != ()
        elif path.startswith("公示表/"):
            with pdfplumber.open(outbox / path) as pdf:
                assert "修订版" in (pdf.pages[0].extract_text() or "")
            website = outbox / "网站公示" / Path(path).name
            assert website.read_bytes() == (outbox / path).read_bytes()


@pytest.mark.libreoffice
def test_failing_files_are_reported_and_the_batch_continues(workspace: Context) -> None:
    cases = workspace.store.list_cases()
    broken = next(c for c in cases if c.status.value == "published")  # the on-site case, with its 笔录
    blocked = next(c for c in cases if c.id != broken.id)
    with workspace.store.begin() as tx:
        tx.update_case(broken.id, record=dict(broken.record or {}, dept_opinion_date="明天"))
    # A folder where the other case's print copy goes: publishing that one file fails.
    (workspace.settings.outbox / "打印" / blocked.id / "随机抽查事项检查表.docx").mkdir(parents=True)
    report = regenerate(workspace, Selection(forms=(FORM_CHECK, FORM_SITE)))
    result = {(c.case_id, c.form): c for c in report.changes}
    assert result[broken.id, FORM_CHECK].change == FAILED and "明天" in result[broken.id, FORM_CHECK].message
    assert result[blocked.id, FORM_CHECK].change == FAILED and "无法写出" in result[blocked.id, FORM_CHECK].message
    assert result[broken.id, FORM_SITE].change == NEW
    assert (workspace.settings.outbox / "打印" / broken.id / "现场检查笔录.docx").is_file()
    assert not (workspace.settings.outbox / "打印" / broken.id / "随机抽查事项检查表.docx").exists()
    regenerated = [e for e in workspace.store.events("case") if e.action == EVENT_REGENERATED]
    assert [e.entity_id for e in regenerated] == [broken.id]


@pytest.mark.libreoffice
@pytest.mark.slow
def test_cli_regenerate_dry_run_prints_json(workspace: Context) -> None:
    settings = workspace.settings
    proc = run_cli(settings, "regenerate", "--form", "检查表", "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["dry_run"] is True and report["counts"][NEW] == 2
    assert {f["form"] for f in report["files"]} == {FORM_CHECK}
    assert not (settings.outbox / "打印").exists()


@pytest.mark.libreoffice
def test_selection_by_date_and_case_and_refusals(workspace: Context) -> None:
    later = regenerate(workspace, Selection(forms=(FORM_CHECK,), since=date(2099, 1, 1)), dry_run=True)
    assert later.cases == 0 and later.changes == ()
    case_id = workspace.store.list_cases()[0].id
    one = regenerate(workspace, Selection(forms=(FORM_CHECK,), since=date(2026, 11, 9), case_ids=(case_id,)),
                     dry_run=True)
    assert one.cases == 1 and [c.case_id for c in one.changes] == [case_id]
    with pytest.raises(BadArgsError, match="SS-2026-09999 不存在"):
        regenerate(workspace, Selection(case_ids=("SS-2026-09999",)))
    with pytest.raises(BadArgsError, match="不支持的表单"):
        regenerate(workspace, Selection(forms=("通知书",)))
    assert not (workspace.settings.outbox / "打印").exists()


def test_a_template_that_is_not_a_word_file_is_a_template_error(tmp_path: Path) -> None:
    bad = tmp_path / PUBLIC_FORM_TEMPLATE
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(TemplateError, match="不是有效的 Word 文档"):
        PreparedTemplate(bad).render(_contexts(1)[0][1], tmp_path / "out.docx")
    assert not (tmp_path / "out.docx").exists()
