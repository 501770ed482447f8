"""Archival packages per case: BagIt bags with 文件目录.XML, 说明文件.TXT, the 四性检测 and a merged
reading copy; ``shuangsui archive`` and ``shuangsui verify``. See README, "Archival packages"."""

from pipeline.archive.model import ArchiveCode
from pipeline.archive.package import PackageResult, archive_ready_cases, package_case
from pipeline.archive.verify import Verification, verify_package

__all__ = ["ArchiveCode", "PackageResult", "Verification", "archive_ready_cases", "package_case",
           "verify_package"]
