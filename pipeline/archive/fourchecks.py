"""四性检测 (DA/T 70-2018) of a package's payload: authenticity, integrity, usability, security.

Run once when the package is built (the report goes into the bag) and again by ``shuangsui verify``.
The report carries no time stamp, so that an unchanged case gives the same bytes. Authenticity is
checked against the originals store and the database only when a context is given.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from pypdf import PdfReader

from pipeline.archive.catalogue import CATALOGUE, DESCRIPTION, EVENT_LOG, REPORT_JSON, REPORT_TXT, Catalogue
from pipeline.archive.model import ArchiveCode
from pipeline.cases.context import Context
from pipeline.store.originals import sha256_file

REPORT_FILES = frozenset({REPORT_TXT, REPORT_JSON})

# Macro storage in OLE2 (legacy Office/WPS) files, as UTF-16LE directory entry names.
_OLE_MACROS = tuple(name.encode("utf-16-le") for name in ("_VBA_PROJECT", "Macros", "VBA"))


@dataclass(frozen=True)
class Check:
    """One of the four checks: its name, whether it passed, the problems found and what was done."""

    name: str
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class FourChecks:
    code: str
    checks: tuple[Check, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def problems(self) -> list[str]:
        return [f"{c.name}：{p}" for c in self.checks for p in c.problems]

    def as_json(self) -> dict[str, Any]:
        return {"档号": self.code, "结论": "通过" if self.passed else "未通过",
                "检测项": [{"名称": c.name, "结果": "通过" if c.passed else "未通过", "问题": list(c.problems),
                          "说明": list(c.notes)} for c in self.checks]}

    def as_text(self) -> str:
        lines = [f"四性检测报告（DA/T 70-2018）  档号 {self.code}", ""]
        for c in self.checks:
            lines.append(f"【{c.name}】{'通过' if c.passed else '未通过'}")
            lines += [f"  × {p}" for p in c.problems]
            lines += [f"  · {n}" for n in c.notes]
            lines.append("")
        lines.append(f"结论：{'通过' if self.passed else '未通过'}")
        return "\r\n".join(lines) + "\r\n"

    def write(self, data_dir: Path) -> None:
        (data_dir / REPORT_TXT).write_text(self.as_text(), encoding="utf-8")
        (data_dir / REPORT_JSON).write_text(
            json.dumps(self.as_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def run_checks(data_dir: Path, cat: Catalogue, ctx: Context | None = None,
               extra_authenticity: Iterable[str] = (), *, building: bool = False) -> FourChecks:
    """The four checks of the payload in ``data_dir`` (the report files themselves excluded).

    ``building``: the package is not recorded yet, so its 档号 may still be unregistered."""
    files = sorted(p for p in data_dir.rglob("*") if p.is_file() and p.relative_to(data_dir).as_posix()
                   not in REPORT_FILES)
    return FourChecks(cat.code, (authenticity(data_dir, cat, ctx, list(extra_authenticity)),
                                 integrity(data_dir, cat, ctx, building), usability(data_dir, files),
                                 security(data_dir, files)))


def authenticity(data_dir: Path, cat: Catalogue, ctx: Context | None, problems: list[str]) -> Check:
    notes = []
    for e in cat.entries:
        for rel, expected in ((e.file, e.sha256), (e.pdf, e.pdf_sha256)):
            path = data_dir / rel
            if rel and path.is_file() and sha256_file(path) != expected:
                problems.append(f"{rel} 的 SHA-256 与文件目录登记的不符（内容被改动过）。")
    if ctx is None:
        notes.append("未连接数据库：只核对了文件与文件目录登记的 SHA-256，未与原件库比对。")
        return Check("真实性", tuple(problems), tuple(notes))
    outputs = {o.sha256 for o in ctx.store.outputs_for_case(cat.case_id)}
    for e in cat.entries:
        if e.file.startswith("原件/"):
            if not ctx.store.files_with_sha(e.sha256):
                problems.append(f"{e.file} 不是本系统收到的文件（数据库中没有这个 SHA-256）。")
            elif not ctx.originals.verify(e.sha256):
                problems.append(f"{e.file} 在原件库中的原件缺失或已损坏。")
        elif e.sha256 not in outputs:
            problems.append(f"{e.file} 不是本系统为案卷 {cat.case_id} 生成的文件（没有登记这个 SHA-256）。")
    notes.append(f"已与原件库和数据库核对 {len(cat.entries)} 个文件的 SHA-256。")
    return Check("真实性", tuple(problems), tuple(notes))


def integrity(data_dir: Path, cat: Catalogue, ctx: Context | None, building: bool = False) -> Check:
    problems: list[str] = []
    code = ArchiveCode.parse(cat.code)
    if code is None:
        problems.append(f"档号“{cat.code}”不符合 全宗号-门类代码·年度-保管期限-机构代码-件号 的格式。")
    seqs = [e.seq for e in cat.entries]
    if seqs != list(range(1, len(seqs) + 1)):
        problems.append(f"顺序号应为 1 到 {len(seqs)} 连续编号，实际为 {seqs}。")
    for e in cat.entries:
        if code is not None and e.item_no != f"{code.item_no:04d}":
            problems.append(f"第 {e.seq} 份文件的件号 {e.item_no} 与档号中的件号 {code.item_no:04d} 不一致。")
        for rel in (e.file, e.pdf):
            if rel and not (data_dir / rel).is_file():
                problems.append(f"缺少文件 {rel}（第 {e.seq} 份：{e.title}）。")
    categories = {e.category for e in cat.entries}
    required = ["检查表", "公示表"] + (["现场检查笔录"] if "现场检查" in cat.methods else [])
    for need in required:
        if need not in categories and not (need == "现场检查笔录" and "扫描件" in categories):
            problems.append(f"缺少应归档的{need}。")
    for rel in (CATALOGUE, DESCRIPTION, EVENT_LOG, cat.merged):
        if not rel or not (data_dir / rel).is_file():
            problems.append(f"缺少 {rel or '合并阅读本'}。")
    notes = [f"文件目录共 {len(cat.entries)} 份文件，应归档：{'、'.join(required)}。"]
    if ctx is not None and code is not None:
        problems += _database_integrity(ctx, cat, code, building)
        notes.append("已与数据库核对案卷的全部文件和件号。")
    return Check("完整性", tuple(problems), tuple(notes))


def _database_integrity(ctx: Context, cat: Catalogue, code: ArchiveCode, building: bool) -> list[str]:
    problems = []
    in_package = {e.sha256 for e in cat.entries}
    attached = ctx.store.case_files(cat.case_id)
    numbers = sorted(ctx.store.archive_item_nos(code.fonds, code.year, code.retention, code.org_code))
    owners = ctx.store.archives_with_code(str(code))
    owner = owners[0].case_id if owners else None
    for f in attached:
        if f.sha256 not in in_package:
            problems.append(f"案卷的文件“{f.original_name}”不在包中。")
    if building:
        numbers = sorted({*numbers, code.item_no})
    if numbers != list(range(1, len(numbers) + 1)):
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        problems.append(f"{code.fonds}-{code.category}·{code.year}-{code.retention}-{code.org_code} 的件号不连续，"
                        f"缺少 {'、'.join(f'{n:04d}' for n in missing)}。")
    if owner is None and not building:
        problems.append(f"档号 {code} 没有在数据库中登记。")
    elif owner is not None and owner != cat.case_id:
        problems.append(f"档号 {code} 在数据库中属于案卷 {owner}，不是 {cat.case_id}。")
    return problems


_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"GIF8", b"BM")
_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def detect_kind(path: Path) -> str:
    """The few kinds the checks tell apart, from the first bytes (lighter than ``pipeline.extract``,
    which loads every extractor: ``shuangsui verify`` should start fast)."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        return "empty"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(_OLE2_MAGIC):
        data = path.read_bytes()
        return "encrypted_ooxml" if "EncryptionInfo".encode("utf-16-le") in data else "ole2"
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            return "zip"
        return "docx" if "word/document.xml" in names else "xlsx" if "xl/workbook.xml" in names else "zip"
    if head.startswith(_IMAGE_MAGIC):
        return "image"
    return "unknown"


def usability(data_dir: Path, files: list[Path]) -> Check:
    problems = []
    for path in files:
        why = _unusable(path)
        if why:
            problems.append(f"{path.relative_to(data_dir).as_posix()} 无法打开：{why}")
    return Check("可用性", tuple(problems), (f"已逐个打开 {len(files)} 个文件。",))


def _unusable(path: Path) -> str | None:
    kind = detect_kind(path)
    name = path.name
    try:
        if kind == "pdf":
            reader = PdfReader(path)
            if reader.is_encrypted:
                return None  # reported by the security check
            if len(reader.pages) == 0:
                return "PDF 没有页面。"
            reader.pages[0].get_contents()
        elif kind in ("docx", "xlsx", "odt", "ods", "zip"):
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
                if bad:
                    return f"压缩包中的 {bad} 已损坏。"
        elif kind == "image":
            with Image.open(path) as im:
                im.verify()
        elif name.endswith((".XML", ".xml")):
            import xml.etree.ElementTree as ET

            ET.parse(path)
        elif name.endswith(".json"):
            json.loads(path.read_text(encoding="utf-8"))
        elif name.endswith(".jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                json.loads(line)
        elif name.endswith((".txt", ".TXT")):
            path.read_text(encoding="utf-8")
        elif kind in ("empty", "unknown"):
            return "无法识别的文件格式。" if kind == "unknown" else "文件为空。"
    except Exception as exc:  # any failure to open is the finding itself
        return f"{type(exc).__name__}: {exc}"
    return None


def security(data_dir: Path, files: list[Path]) -> Check:
    problems = []
    for path in files:
        rel = path.relative_to(data_dir).as_posix()
        kind = detect_kind(path)
        if kind == "encrypted_ooxml":
            problems.append(f"{rel} 已加密（带密码）。")
        elif kind == "pdf":
            try:
                reader = PdfReader(path)
                encrypted = reader.is_encrypted
                active = not encrypted and _pdf_active(reader)
            except Exception:
                encrypted = active = False  # unreadable: reported by the usability check
            if encrypted:
                problems.append(f"{rel} 是加密的 PDF。")
            if active:
                problems.append(f"{rel} 含有脚本、自动动作或嵌入文件。")
        elif kind in ("docx", "xlsx", "zip"):
            try:
                with zipfile.ZipFile(path) as zf:
                    if any(n.lower().endswith("vbaproject.bin") for n in zf.namelist()):
                        problems.append(f"{rel} 含有宏。")
            except zipfile.BadZipFile:
                pass  # reported by the usability check
        elif kind in ("ole2", "xls"):
            data = path.read_bytes()
            if any(marker in data for marker in _OLE_MACROS):
                problems.append(f"{rel} 含有宏。")
    return Check("安全性", tuple(problems), (f"已检查 {len(files)} 个文件有无宏、加密和脚本。",))


def _pdf_active(reader: PdfReader) -> bool:
    """Document-level JavaScript, embedded files, or actions run on opening."""
    root: Any = reader.trailer["/Root"].get_object()
    names: Any = root.get("/Names")
    names = names.get_object() if names is not None else {}
    opens = "/OpenAction" in root and _is_script(root["/OpenAction"])
    return "/JavaScript" in names or "/EmbeddedFiles" in names or opens or "/AA" in root


def _is_script(action: Any) -> bool:
    action = action.get_object() if hasattr(action, "get_object") else action
    return isinstance(action, dict) and action.get("/S") in ("/JavaScript", "/Launch")
