"""Archival packages: a real case (check table + 现场检查笔录 through the pipeline, published) packaged
as a BagIt bag with 文件目录.XML, 说明文件.TXT, the 四性检测 and a merged reading copy.

One packaged workspace is built per test session (``packaged_workspace``, LibreOffice once) and shared
with ``test_verify.py``; tests that change things work on a copy of it (``copy_workspace``).
"""

from __future__ import annotations

import json
import random
import shutil
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bagit
import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import text

from pipeline.archive import ArchiveCode, archive_ready_cases, package_case, registry
from pipeline.archive.package import PackageResult
from pipeline.cli.main import main
from pipeline.core.codes import CaseStatus, FileStatus
from pipeline.core.errors import BadArgsError, PackageInvalidError
from pipeline.core.settings import Settings, load_settings
from pipeline.intake.process import Context, open_context, process_inbox
from pipeline.store import OutputRow
from pipeline.store.originals import sha256_file
from tests.conftest import Samples
from tests.end_states import assert_published

pytestmark = pytest.mark.libreoffice


@dataclass(frozen=True)
class Workspace:
    settings: Settings
    case_id: str
    result: PackageResult
    people: tuple[dict[str, Any], ...]

    @property
    def zip_path(self) -> Path:
        return self.settings.outbox / self.result.zip_path

    @property
    def bag_dir(self) -> Path:
        return self.settings.outbox / self.result.bag_path


def workspace_settings(root: Path) -> Settings:
    return load_settings(env={}, print_forms_auto=False, inbox=root / "inbox", outbox=root / "outbox", data_dir=root / "var",
                         settle_seconds=0.1, poll_seconds=0.2, require_signed_scan=False)


_BUILT: dict[str, Workspace] = {}


def packaged_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Lists, an on-site check table and its 笔录 processed by the real pipeline; the case is
    published (公示表) and packaged once. Built on first use in the session."""
    if "ws" in _BUILT:
        return _BUILT["ws"]
    settings = workspace_settings(tmp_path_factory.mktemp("archive-ws"))
    settings.inbox.mkdir(parents=True)
    samples = Samples(settings, random.Random(4242))
    samples.lists()
    samples.check_table("检查表.docx", methods=["现场检查", "书面检查"])
    samples.site_record("现场检查笔录.docx")
    # One pass of the real pipeline publishes the case (archiving and the 综合科 bundle off for that pass, so that the
    # package below is made by package_case and the tests see its result).
    ctx = open_context(settings.replace(archive_auto=False, bundle_interval="off"))
    try:
        outcomes = process_inbox(ctx)
        # The on-site check table waits for its 笔录, which comes after it in the pass and completes the case.
        assert {o.name: o.status for o in outcomes} == {
            "名录库/检查对象名录库.xlsx": FileStatus.accepted, "名录库/抽查任务.xlsx": FileStatus.accepted,
            "名录库/执法检查人员名录库.xlsx": FileStatus.accepted, "检查表.docx": FileStatus.waiting,
            "现场检查笔录.docx": FileStatus.accepted}
        [case] = ctx.store.list_cases()
        assert_published(ctx, case.id)
        result = package_case(ctx, case.id)
    finally:
        ctx.store.close()
    people = tuple(p.as_inspector() for p in samples.people[:2])
    _BUILT["ws"] = Workspace(settings, case.id, result, people)
    return _BUILT["ws"]


def copy_workspace(ws: Workspace, dest: Path) -> Workspace:
    for name in ("outbox", "var"):
        shutil.copytree(ws.settings.outbox.parent / name, dest / name)
    (dest / "inbox").mkdir()
    return Workspace(workspace_settings(dest), ws.case_id, ws.result, ws.people)


def context(ws: Workspace) -> Context:
    return open_context(ws.settings)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return packaged_workspace(tmp_path_factory)


def test_the_package_is_a_valid_bag_named_by_its_archive_code(ws: Workspace) -> None:
    code = ArchiveCode.parse(ws.result.code)
    assert code is not None and code.item_no == 1 and (code.fonds, code.category, code.retention) == ("Z001", "WS", "D30")
    assert ws.result.zip_path == f"归档/2026/{code}.zip" and ws.bag_dir.name == str(code)
    bag = bagit.Bag(str(ws.bag_dir))
    bag.validate()
    assert bag.info["档号"] == str(code) and bag.info["件号"] == "0001" and bag.info["年度"] == "2026"
    assert bag.info["全宗号"] == "Z001" and bag.info["保管期限"] == "D30" and bag.info["机构代码"] == "ZHK"
    assert bag.info["案卷编号"] == ws.case_id
    manifest = (ws.bag_dir / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines()
    assert manifest == sorted(manifest, key=lambda line: line.split("  ", 1)[1])
    for line in manifest:
        digest, rel = line.split("  ", 1)
        assert sha256_file(ws.bag_dir / rel) == digest


def test_bagging_date_is_the_day_the_case_was_published_not_today(ws: Workspace) -> None:
    ctx = context(ws)
    try:
        published = [e for e in ctx.store.events("case", ws.case_id)
                     if (e.detail or {}).get("status") == CaseStatus.published.value]
    finally:
        ctx.store.close()
    assert published
    info = bagit.Bag(str(ws.bag_dir)).info
    assert info["Bagging-Date"] == published[-1].at[:10]


def test_catalogue_lists_every_document_with_hash_pages_and_gap_free_numbers(ws: Workspace) -> None:
    data = ws.bag_dir / "data"
    root = ET.parse(data / "文件目录.XML").getroot()
    assert root.get("档号") == ws.result.code and root.get("案卷编号") == ws.case_id
    entries = root.findall("文件")
    assert [int(e.findtext("顺序号") or 0) for e in entries] == list(range(1, len(entries) + 1))
    assert {e.findtext("件号") for e in entries} == {"0001"}
    categories = [e.findtext("类别") for e in entries]
    assert categories[:2] == ["检查表", "现场检查笔录"] and "公示表" in categories
    for e in entries:
        path = data / (e.findtext("文件名") or "")
        assert sha256_file(path) == e.findtext("SHA256")
        pdf = data / (e.findtext("版式文件") or "")
        assert PdfReader(pdf).pages and len(PdfReader(pdf).pages) == int(e.findtext("页数") or 0)
        assert e.findtext("题名", "").startswith("烟台") and len(e.findtext("日期") or "") == 8
    originals = [e for e in entries if (e.findtext("文件名") or "").startswith("原件/")]
    assert [Path(e.findtext("文件名") or "").name for e in originals] == ["01-检查表.docx", "02-现场检查笔录.docx"]
    text = (data / "说明文件.TXT").read_text(encoding="utf-8")
    assert ws.result.code in text and "shuangsui" in text and f"共 {len(entries)} 份" in text


def test_four_checks_report_passes_each_check(ws: Workspace) -> None:
    data = ws.bag_dir / "data"
    report = json.loads((data / "四性检测报告.json").read_text(encoding="utf-8"))
    assert report["结论"] == "通过" and report["档号"] == ws.result.code
    assert [c["名称"] for c in report["检测项"]] == ["真实性", "完整性", "可用性", "安全性"]
    assert all(c["结果"] == "通过" and not c["问题"] for c in report["检测项"])
    assert "原件库" in " ".join(report["检测项"][0]["说明"])
    assert "【安全性】通过" in (data / "四性检测报告.txt").read_text(encoding="utf-8")


def test_merged_reading_copy_has_one_bookmark_per_document(ws: Workspace) -> None:
    merged = ws.bag_dir / "data" / f"{ws.result.code}-合并阅读本.pdf"
    reader = PdfReader(merged)
    titles = [o.title for o in reader.outline]
    assert titles[0].endswith("随机抽查事项检查表") and titles[1].endswith("现场检查笔录")
    assert any("公示表" in t for t in titles)
    starts = [reader.get_destination_page_number(o) for o in reader.outline]
    assert starts[0] == 0 and starts == sorted(starts) and len(set(starts)) == len(starts)
    root = ET.parse(ws.bag_dir / "data" / "文件目录.XML").getroot()
    pages = {e.findtext("题名"): int(e.findtext("页数") or 0) for e in root.findall("文件")}
    assert len(reader.pages) == sum(pages[t.split(". ", 1)[1]] for t in titles)


def test_zip_holds_the_bag_under_its_code_with_fixed_times(ws: Workspace) -> None:
    with zipfile.ZipFile(ws.zip_path) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) and i.external_attr >> 16 == 0o100644 for i in infos)
        bag_files = sorted(f"{ws.result.code}/{p.relative_to(ws.bag_dir).as_posix()}"
                           for p in ws.bag_dir.rglob("*") if p.is_file())
        assert names == bag_files
        assert zf.read(f"{ws.result.code}/bag-info.txt") == (ws.bag_dir / "bag-info.txt").read_bytes()
    assert sha256_file(ws.zip_path) == ws.result.sha256


def test_case_is_archived_and_the_package_recorded(ws: Workspace) -> None:
    ctx = context(ws)
    try:
        case = ctx.store.get_case(ws.case_id)
        last = registry.latest(ctx.store, ws.case_id)
    finally:
        ctx.store.close()
    assert case is not None and case.status is CaseStatus.archived
    assert last is not None and str(last.code) == ws.result.code and last.version == 1
    assert last.sha256 == ws.result.sha256 and last.package_path == ws.result.zip_path


def test_texts_written_for_the_package_carry_no_phone_or_licence_numbers(ws: Workspace) -> None:
    data = ws.bag_dir / "data"
    written = "".join((data / n).read_text(encoding="utf-8") for n in
                      ("事件日志.jsonl", "文件目录.XML", "说明文件.TXT", "四性检测报告.json"))
    for person in ws.people:
        assert person["name"] and person["phone"] not in written and person["licence_no"] not in written
    assert [json.loads(line)["id"] for line in (data / "事件日志.jsonl").read_text(encoding="utf-8").splitlines()]


def test_the_same_case_packaged_again_gives_identical_zip_bytes(ws: Workspace, tmp_path: Path) -> None:
    copy = copy_workspace(ws, tmp_path)
    before = copy.zip_path.read_bytes()
    shutil.rmtree(copy.bag_dir)
    copy.zip_path.unlink()
    ctx = context(copy)
    try:
        again = package_case(ctx, copy.case_id, force=True)
        last = registry.latest(ctx.store, copy.case_id)
    finally:
        ctx.store.close()
    assert again.code == ws.result.code and again.version == 1 and not again.changed
    assert copy.zip_path.read_bytes() == before
    assert bagit.Bag(str(copy.bag_dir)).is_valid()
    assert last is not None and last.version == 1


def test_a_later_change_makes_a_new_version_with_the_same_code(ws: Workspace, tmp_path: Path) -> None:
    copy = copy_workspace(ws, tmp_path)
    ctx = context(copy)
    try:
        assert archive_ready_cases(ctx) == []  # nothing changed since it was packaged
        extra = copy.settings.outbox / "综合科" / "移交清单.pdf"
        extra.parent.mkdir(parents=True)
        writer = PdfWriter()
        writer.add_blank_page(595, 842)
        with extra.open("wb") as fh:
            writer.write(fh)
        with ctx.store.begin() as tx:
            tx.add_output(OutputRow(copy.case_id, None, "handover_list", "综合科/移交清单.pdf", sha256_file(extra)))
        done = archive_ready_cases(ctx)
        assert [(r.case_id, r.code, r.version, r.changed) for r in done] == [(copy.case_id, ws.result.code, 2, True)]
        assert archive_ready_cases(ctx) == []
        case = ctx.store.get_case(copy.case_id)
    finally:
        ctx.store.close()
    assert case is not None and case.status is CaseStatus.archived
    assert sha256_file(copy.zip_path) == done[0].sha256 != ws.result.sha256
    root = ET.parse(copy.bag_dir / "data" / "文件目录.XML").getroot()
    assert root.findall("文件")[-1].findtext("文件名") == f"生成文件/{len(root.findall('文件')):02d}-移交清单.pdf"


def test_automatic_packaging_can_be_turned_off(ws: Workspace, tmp_path: Path) -> None:
    copy = copy_workspace(ws, tmp_path)
    ctx = context(copy)
    try:
        with ctx.store.begin() as tx:
            tx.log("case", copy.case_id, "note", {"text": "补充说明"})
        off = Context(copy.settings.replace(archive_auto=False), ctx.store, ctx.originals)
        assert archive_ready_cases(off) == []
        assert [r.version for r in archive_ready_cases(ctx)] == [2]
    finally:
        ctx.store.close()


def test_item_numbers_are_taken_without_gaps_in_the_recording_transaction(ws: Workspace, tmp_path: Path) -> None:
    copy = copy_workspace(ws, tmp_path)
    ctx = context(copy)
    try:
        with ctx.store.begin() as tx:
            for n in (2, 3):
                tx.create_case(f"SS-2026-9000{n}", unit_name=f"单位{n}", unit_key=f"单位{n}", check_date="2026-11-10",
                               status=CaseStatus.published, record={})
        code = ArchiveCode.parse(ws.result.code)
        assert code is not None
        assert registry.next_item_no(ctx.store, "Z001", 2026, "D30", "ZHK") == 2
        three = ArchiveCode("Z001", "WS", 2026, "D30", "ZHK", 3)
        with pytest.raises(registry.NumberTaken):  # would leave 0002 unused
            registry.record(ctx.store, "SS-2026-90002", three, "x.zip", "0" * 64, 0, new_number=True)
        with pytest.raises(registry.NumberTaken):  # taken already
            registry.record(ctx.store, "SS-2026-90002", code, "x.zip", "0" * 64, 0, new_number=True)
        two = ArchiveCode("Z001", "WS", 2026, "D30", "ZHK", 2)
        assert registry.record(ctx.store, "SS-2026-90002", two, "x.zip", "0" * 64, 0, new_number=True) == 1
        assert registry.next_item_no(ctx.store, "Z001", 2026, "D30", "ZHK") == 3
        # A case whose package fails its 四性检测 (no documents at all) takes no number.
        with pytest.raises(PackageInvalidError, match="完整性"):
            package_case(ctx, "SS-2026-90003")
        assert registry.next_item_no(ctx.store, "Z001", 2026, "D30", "ZHK") == 3
        assert not list((copy.settings.outbox / "归档" / "2026").glob("*0003*"))
    finally:
        ctx.store.close()


def test_a_case_not_yet_published_is_refused_with_a_chinese_message(ws: Workspace, tmp_path: Path) -> None:
    copy = copy_workspace(ws, tmp_path)
    ctx = context(copy)
    try:
        with ctx.store.begin() as tx:
            tx.create_case("SS-2026-90009", unit_name="单位", unit_key="单位", check_date="2026-11-10",
                           status=CaseStatus.review, record={})
        with pytest.raises(BadArgsError, match="待审核"):
            package_case(ctx, "SS-2026-90009")
        with pytest.raises(BadArgsError, match="不存在"):
            package_case(ctx, "SS-2026-99999")
    finally:
        ctx.store.close()


def cli(ws: Workspace, *args: str) -> list[str]:
    """``shuangsui`` in this process, with the workspace's folders."""
    s = ws.settings
    return [args[0], "--inbox", str(s.inbox), "--outbox", str(s.outbox), "--data", str(s.data_dir), *args[1:]]


def test_archive_and_verify_commands(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = copy_workspace(ws, tmp_path)
    assert main(cli(copy, "archive", copy.case_id, "--force")) == 0
    printed = capsys.readouterr().out
    assert ws.result.code in printed and "无变化" in printed and "安全性：通过" in printed
    assert copy.zip_path.read_bytes() == ws.zip_path.read_bytes()
    assert main(cli(copy, "verify", str(copy.zip_path))) == 0
    printed = capsys.readouterr().out
    assert "校验通过" in printed and "与登记的第 1 版归档包一致" in printed
    assert main(cli(copy, "archive")) == 2
    assert "案卷编号" in capsys.readouterr().err
    assert main(cli(copy, "archive", "--all")) == 0
    assert f"{copy.case_id}  档号 {ws.result.code}  第 1 版（无变化）" in capsys.readouterr().out


def test_a_package_recorded_but_not_published_before_a_crash_is_published_by_the_next_pass(
        ws: Workspace, tmp_path: Path) -> None:
    copy = copy_workspace(ws, tmp_path)
    shutil.rmtree(copy.bag_dir)
    copy.zip_path.unlink()
    ctx = context(copy)
    try:
        with ctx.store.begin() as tx:
            tx.conn.execute(text("UPDATE archives SET published_at = NULL"))
        done = archive_ready_cases(ctx)
        assert [(r.code, r.version, r.changed) for r in done] == [(ws.result.code, 1, False)]
        assert archive_ready_cases(ctx) == []
    finally:
        ctx.store.close()
    assert copy.zip_path.read_bytes() == ws.zip_path.read_bytes() and bagit.Bag(str(copy.bag_dir)).is_valid()


def test_a_pass_over_the_inbox_packages_a_case_that_reached_published(ws: Workspace, tmp_path: Path) -> None:
    copy = copy_workspace(ws, tmp_path)
    ctx = context(copy)
    try:
        with ctx.store.begin() as tx:  # e.g. published again after a corrected check table
            tx.update_case(copy.case_id, status=CaseStatus.published)
        process_inbox(ctx)
        case = ctx.store.get_case(copy.case_id)
        last = registry.latest(ctx.store, copy.case_id)
    finally:
        ctx.store.close()
    assert case is not None and case.status is CaseStatus.archived
    assert last is not None and str(last.code) == ws.result.code and last.version == 2
    assert sha256_file(copy.zip_path) == last.sha256


def test_a_case_that_fails_its_checks_is_reported_and_retried_only_after_a_change(
        ws: Workspace, tmp_path: Path) -> None:
    copy = copy_workspace(ws, tmp_path)
    ctx = context(copy)
    try:
        with ctx.store.begin() as tx:
            tx.create_case("SS-2026-90011", unit_name="单位", unit_key="单位", check_date="2026-11-10",
                           status=CaseStatus.published, record={})
        [failed] = archive_ready_cases(ctx)
        assert failed.case_id == "SS-2026-90011" and "缺少应归档的检查表" in failed.error and not failed.code
        assert archive_ready_cases(ctx) == []
        with ctx.store.begin() as tx:
            tx.log("case", "SS-2026-90011", "note", {"text": "补充"})
        assert [r.case_id for r in archive_ready_cases(ctx)] == ["SS-2026-90011"]
        case = ctx.store.get_case("SS-2026-90011")
    finally:
        ctx.store.close()
    assert case is not None and case.status is CaseStatus.published
