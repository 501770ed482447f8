"""The 档号 (DA/T 22-2015) and the small records an archival package is built from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import ConfigError

# 保管期限 codes of DA/T 22-2015: 永久, 定期30年, 定期10年.
RETENTION_LABELS: dict[str, str] = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}

# The middle dot between 门类代码 and 年度 is part of the standard's notation.
_CODE = re.compile(r"^(?P<fonds>[^-·]+)-(?P<category>[^-·]+)·(?P<year>\d{4})-(?P<retention>[^-·]+)"
                   r"-(?P<org>[^-·]+)-(?P<item>\d{4,})$")
_SAFE_PART = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]+$")


@dataclass(frozen=True)
class ArchiveCode:
    """全宗号-门类代码·年度-保管期限-机构(问题)代码-件号, e.g. ``Z001-WS·2026-D30-ZHK-0001``."""

    fonds: str
    category: str
    year: int
    retention: str
    org_code: str
    item_no: int

    def __str__(self) -> str:
        return (f"{self.fonds}-{self.category}·{self.year}-{self.retention}-{self.org_code}"
                f"-{self.item_no:04d}")

    @property
    def retention_label(self) -> str:
        return RETENTION_LABELS.get(self.retention, self.retention)

    def bag_info(self) -> dict[str, str]:
        """The 档号 fields as bag-info.txt labels (Chinese, as archivists read them)."""
        return {"档号": str(self), "全宗号": self.fonds, "门类代码": self.category, "年度": str(self.year),
                "保管期限": self.retention, "机构代码": self.org_code, "件号": f"{self.item_no:04d}"}

    @classmethod
    def parse(cls, text: str) -> ArchiveCode | None:
        m = _CODE.match(text.strip())
        if not m:
            return None
        return cls(m["fonds"], m["category"], int(m["year"]), m["retention"], m["org"], int(m["item"]))


def check_code_settings(fonds: str, category: str, retention: str, org_code: str) -> None:
    """Each part must be plain letters/digits/汉字: the 档号 is also a folder and file name."""
    for name, value in (("archive_fonds", fonds), ("archive_category", category),
                        ("archive_org_code", org_code)):
        if not _SAFE_PART.match(value):
            raise ConfigError(f"设置项 {name} 的值“{value}”不能为空，也不能含有 - · / 等符号。请改为字母、数字或汉字。")
    if retention not in RETENTION_LABELS:
        raise ConfigError(f"设置项 archive_retention 的值“{retention}”不是 DA/T 22-2015 的保管期限代码。"
                          "请填写 Y（永久）、D30（定期30年）或 D10（定期10年）。")


@dataclass(frozen=True)
class Document:
    """One document of the case as it goes into the package.

    ``source`` is the file to copy (the originals store or the outbox); ``name`` its name inside the
    bag (under ``role``'s folder); ``pdf`` the normalised PDF (None when the format has none).
    """

    seq: int                    # 顺序号 inside the item, 1…N without gaps
    role: str                   # original | output
    title: str                  # 题名
    date: str                   # YYYYMMDD (DA/T 22 date form)
    kind: str                   # content kind (docx, pdf, image, …)
    source: Path
    name: str
    sha256: str
    size: int
    pdf: Path | None = None
    pages: int = 0
    note: str = ""              # why there is no normalised PDF, etc.

    @property
    def folder(self) -> str:
        return "原件" if self.role == "original" else "生成文件"

    @property
    def bag_path(self) -> str:
        return f"{self.folder}/{self.name}"

    @property
    def pdf_bag_path(self) -> str | None:
        if self.pdf is None:
            return None
        # A PDF is its own 版式文件: not copied twice.
        return self.bag_path if self.pdf == self.source else f"规范化PDF/{Path(self.name).stem}.pdf"
