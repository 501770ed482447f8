"""文件目录.XML (one entry per document) and 说明文件.TXT of a package, and reading the catalogue back.

Element names are Chinese, as in the archive-management systems the package goes to. Paths in the
catalogue are relative to the bag's ``data/`` folder.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline import __version__
from pipeline.archive.model import ArchiveCode, Document
from pipeline.store.originals import sha256_file

CATALOGUE = "文件目录.XML"
DESCRIPTION = "说明文件.TXT"
EVENT_LOG = "事件日志.jsonl"
REPORT_TXT = "四性检测报告.txt"
REPORT_JSON = "四性检测报告.json"


@dataclass(frozen=True)
class Entry:
    """One 文件 of the catalogue, as written and as read back."""

    item_no: str            # 件号
    seq: int                # 顺序号
    title: str              # 题名
    category: str           # 类别
    date: str               # 日期 YYYYMMDD
    pages: int              # 页数
    file: str               # 文件名 (path under data/)
    format: str             # 格式
    sha256: str
    pdf: str                # 版式文件 (path under data/), "" when none
    pdf_sha256: str


@dataclass(frozen=True)
class Catalogue:
    code: str                       # 档号
    case_id: str
    unit: str
    check_date: str
    methods: tuple[str, ...]
    merged: str                     # the reading copy's path under data/
    entries: tuple[Entry, ...]


def entries_for(code: ArchiveCode, documents: Sequence[Document], categories: Sequence[str],
                data_dir: Path) -> tuple[Entry, ...]:
    out = []
    for doc, cat in zip(documents, categories, strict=True):
        pdf = doc.pdf_bag_path or ""
        out.append(Entry(item_no=f"{code.item_no:04d}", seq=doc.seq, title=doc.title, category=cat,
                         date=doc.date, pages=doc.pages, file=doc.bag_path, format=doc.kind,
                         sha256=doc.sha256, pdf=pdf, pdf_sha256=sha256_file(data_dir / pdf) if pdf else ""))
    return tuple(out)


def write_catalogue(path: Path, code: ArchiveCode, cat: Catalogue, bureau: str) -> None:
    root = ET.Element("文件目录", {"档号": str(code), "案卷编号": cat.case_id})
    head = ET.SubElement(root, "案卷")
    for tag, value in (*code.bag_info().items(), ("保管期限名称", code.retention_label), ("责任者", bureau),
                       ("被检查单位", cat.unit), ("抽查日期", cat.check_date),
                       ("抽查方式", "、".join(cat.methods)), ("合并阅读本", cat.merged),
                       ("文件数", str(len(cat.entries)))):
        ET.SubElement(head, tag).text = value
    for e in cat.entries:
        node = ET.SubElement(root, "文件")
        for tag, value in (("件号", e.item_no), ("顺序号", str(e.seq)), ("题名", e.title), ("类别", e.category),
                           ("日期", e.date), ("页数", str(e.pages)), ("文件名", e.file), ("格式", e.format),
                           ("SHA256", e.sha256), ("版式文件", e.pdf), ("版式文件SHA256", e.pdf_sha256)):
            ET.SubElement(node, tag).text = value
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n")


def read_catalogue(path: Path) -> Catalogue:
    """Raises ``ValueError`` (Chinese message) when the file is not a catalogue this program wrote."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ValueError(f"{CATALOGUE} 无法解析：{exc}") from exc
    head = root.find("案卷")
    if root.tag != "文件目录" or head is None:
        raise ValueError(f"{CATALOGUE} 不是归档文件目录（缺少 <文件目录>/<案卷>）。")

    def val(node: ET.Element, tag: str) -> str:
        return (node.findtext(tag) or "").strip()

    entries = []
    for node in root.findall("文件"):
        try:
            seq, pages = int(val(node, "顺序号")), int(val(node, "页数") or 0)
        except ValueError as exc:
            raise ValueError(f"{CATALOGUE} 中的顺序号或页数不是数字：{exc}") from exc
        entries.append(Entry(val(node, "件号"), seq, val(node, "题名"), val(node, "类别"), val(node, "日期"), pages,
                             val(node, "文件名"), val(node, "格式"), val(node, "SHA256"), val(node, "版式文件"),
                             val(node, "版式文件SHA256")))
    return Catalogue(code=root.get("档号", ""), case_id=root.get("案卷编号", ""), unit=val(head, "被检查单位"),
                     check_date=val(head, "抽查日期"),
                     methods=tuple(m for m in val(head, "抽查方式").split("、") if m),
                     merged=val(head, "合并阅读本"), entries=tuple(entries))


def write_description(path: Path, code: ArchiveCode, cat: Catalogue, bureau: str, completed_on: str,
                      events: int) -> None:
    originals = sum(1 for e in cat.entries if e.file.startswith("原件/"))
    lines = [
        "归档包说明",
        "",
        f"本包是“双随机、一公开”抽查案卷 {cat.case_id} 的电子归档包，按 BagIt（RFC 8493）封装，"
        "载荷在 data/ 目录，manifest-sha256.txt 记录每个文件的 SHA-256。",
        "",
        f"档号：{code}",
        f"全宗号：{code.fonds}    门类代码：{code.category}    年度：{code.year}",
        f"保管期限：{code.retention}（{code.retention_label}）    机构（问题）代码：{code.org_code}    件号：{code.item_no:04d}",
        f"责任者：{bureau}",
        f"被检查单位：{cat.unit}",
        f"抽查日期：{cat.check_date}",
        f"办结日期：{completed_on}",
        "",
        f"文件：共 {len(cat.entries)} 份（原件 {originals} 份，系统生成 {len(cat.entries) - originals} 份），"
        f"目录见 {CATALOGUE}；版式文件（PDF）在 规范化PDF/，合并阅读本为 {cat.merged}。",
        f"事件日志：{EVENT_LOG}，{events} 条（联系电话、执法证号等号码已隐去）。",
        f"四性检测（真实性、完整性、可用性、安全性）结果见 {REPORT_TXT} 和 {REPORT_JSON}。",
        "",
        f"生成软件：shuangsui {__version__}",
        "校验方法：shuangsui verify <本包目录或 zip 文件>",
    ]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
