"""``shuangsui verify``: a package tampered with in any way is caught, and each problem names the file.

Works on copies of the packaged case of ``test_archive.packaged_workspace`` (built once per session).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfWriter

from pipeline.archive import verify_package
from pipeline.archive.bag import write_bag
from pipeline.archive.fourchecks import security
from pipeline.core.errors import ExitCode
from pipeline.intake.process import open_context
from tests.conftest import cli_env
from tests.test_archive import Workspace, copy_workspace, packaged_workspace

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return packaged_workspace(tmp_path_factory)


@pytest.fixture
def bag(ws: Workspace, tmp_path: Path) -> Path:
    """A copy of the bag folder, free to tamper with."""
    copy = tmp_path / ws.bag_dir.name
    shutil.copytree(ws.bag_dir, copy)
    return copy


def test_an_untouched_package_verifies_with_and_without_the_database(ws: Workspace, bag: Path) -> None:
    alone = verify_package(bag)
    assert alone.ok and alone.code == ws.result.code and alone.checks is not None and alone.checks.passed
    assert any("数据库无法访问" in n for n in alone.notes)
    ctx = open_context(ws.settings)
    try:
        recorded = verify_package(ws.zip_path, ctx)
    finally:
        ctx.store.close()
    assert recorded.ok, recorded.problems
    assert any("与登记的第 1 版归档包一致" in n for n in recorded.notes)


def test_a_changed_byte_is_named(bag: Path) -> None:
    target = next((bag / "data" / "原件").glob("01-*"))
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = verify_package(bag)
    assert not result.ok
    assert any(p.startswith(f"data/原件/{target.name} 被修改过") for p in result.problems), result.problems


def test_a_missing_file_is_named(bag: Path) -> None:
    target = next((bag / "data" / "规范化PDF").glob("02-*"))
    target.unlink()
    problems = verify_package(bag).problems
    assert f"缺少文件 data/规范化PDF/{target.name}（manifest-sha256.txt 中登记了它）。" in problems
    assert any(f"缺少文件 规范化PDF/{target.name}" in p for p in problems)  # the catalogue says so too


def test_an_extra_file_is_named(bag: Path) -> None:
    (bag / "data" / "原件" / "补充.txt").write_text("后来放进去的", encoding="utf-8")
    (bag / "说明.txt").write_text("x", encoding="utf-8")
    problems = verify_package(bag).problems
    assert "多出文件 data/原件/补充.txt：不在清单中。" in problems
    assert "多出文件 说明.txt：不在清单中。" in problems


def test_an_edited_bag_info_is_caught(ws: Workspace, bag: Path) -> None:
    info = bag / "bag-info.txt"
    info.write_text(info.read_text(encoding="utf-8").replace("件号: 0001", "件号: 0007"), encoding="utf-8")
    problems = verify_package(bag).problems
    assert "bag-info.txt 被修改过：SHA-256 与 tagmanifest-sha256.txt 中登记的不符。" in problems
    assert any(p.startswith("bag-info.txt 中的件号“0007”与档号") for p in problems)


def test_a_consistently_rebagged_forgery_is_caught_by_the_four_checks(ws: Workspace, bag: Path) -> None:
    """Someone swaps an original and rewrites the BagIt manifests: the bag is valid, the 四性检测 is not."""
    target = next((bag / "data" / "原件").glob("02-*"))
    target.write_bytes(target.read_bytes() + b"\0")
    for name in ("manifest-sha256.txt", "tagmanifest-sha256.txt", "bag-info.txt", "bagit.txt"):
        (bag / name).unlink()
    info = {"档号": ws.result.code, "全宗号": "Z001", "门类代码": "WS", "年度": "2026", "保管期限": "D30",
            "机构代码": "ZHK", "件号": "0001", "External-Identifier": ws.result.code}
    write_bag(bag, info)
    result = verify_package(bag)
    assert f"真实性：原件/{target.name} 的 SHA-256 与文件目录登记的不符（内容被改动过）。" in result.problems
    assert not any("清单" in p for p in result.problems)


def test_a_tampered_zip_fails_the_command_with_its_exit_code(ws: Workspace, tmp_path: Path) -> None:
    copy = copy_workspace(ws, tmp_path)
    members = []
    with zipfile.ZipFile(copy.zip_path) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            if info.filename.endswith("说明文件.TXT"):
                data = data.replace("定期30年".encode(), "永久".encode())
            members.append((info, data))
    with zipfile.ZipFile(copy.zip_path, "w") as zf:
        for info, data in members:
            zf.writestr(info, data)
    proc = subprocess.run([sys.executable, "-m", "pipeline", "verify", str(copy.zip_path)], env=cli_env(copy.settings),
                          cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert proc.returncode == ExitCode.package_invalid == 9, proc.stdout + proc.stderr
    assert "data/说明文件.TXT 被修改过" in proc.stdout
    assert "不是同一个文件" in proc.stdout and "校验未通过" in proc.stderr


def test_a_file_that_is_not_a_package_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    assert "不是有效的 zip 文件" in verify_package(tmp_path / "x.zip").problems[0]
    assert "找不到 bagit.txt" in verify_package(tmp_path).problems[0]
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.txt", "x")
    assert "不安全的路径" in verify_package(evil).problems[0]
    assert not (tmp_path.parent / "outside.txt").exists()


def test_security_check_flags_macros_and_encryption(tmp_path: Path) -> None:
    macro = tmp_path / "宏.docm"
    with zipfile.ZipFile(macro, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
        zf.writestr("word/vbaProject.bin", b"\0" * 16)
    locked = tmp_path / "加密.pdf"
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("secret")
    with locked.open("wb") as fh:
        writer.write(fh)
    plain = tmp_path / "普通.pdf"
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    with plain.open("wb") as fh:
        writer.write(fh)
    check = security(tmp_path, sorted([macro, locked, plain]))
    assert not check.passed
    assert sorted(check.problems) == sorted(["宏.docm 含有宏。", "加密.pdf 是加密的 PDF。"])


def test_the_summary_agrees_with_the_details(ws: Workspace, bag: Path, tmp_path: Path) -> None:
    """A changed 说明文件.TXT (caught by BagIt, not by the 四性检测 of the payload) fails 真实性 and the 结论."""
    assert verify_package(bag).verdicts() == [("真实性", "通过"), ("完整性", "通过"), ("可用性", "通过"),
                                              ("安全性", "通过")]
    target = bag / "data" / "说明文件.TXT"
    target.write_bytes(target.read_bytes().replace("定期30年".encode(), "永久".encode()))
    result = verify_package(bag)
    assert not result.ok and result.verdict == "未通过"
    assert ("真实性", "未通过") in result.verdicts()
    (bag / "data" / "原件" / "补充.txt").write_text("后来放进去的", encoding="utf-8")
    assert ("完整性", "未通过") in verify_package(bag).verdicts()

    copy = copy_workspace(ws, tmp_path / "ws")
    members = []
    with zipfile.ZipFile(copy.zip_path) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            if info.filename.endswith("说明文件.TXT"):
                data = data.replace("定期30年".encode(), "永久".encode())
            members.append((info, data))
    with zipfile.ZipFile(copy.zip_path, "w") as zf:
        for info, data in members:
            zf.writestr(info, data)
    proc = subprocess.run([sys.executable, "-m", "pipeline", "verify", str(copy.zip_path)], env=cli_env(copy.settings),
                          cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 9
    assert "真实性：未通过" in proc.stdout and "真实性：通过" not in proc.stdout, proc.stdout
    assert "结论：未通过" in proc.stdout and "data/说明文件.TXT 被修改过" in proc.stdout
