"""``shuangsui verify``: is a package (bag folder or zip) whole and unchanged, and does it pass the 四性检测?

Every problem names the file and what is wrong with it. With a database (``ctx``) the package is
also compared with what was recorded: the originals store, the case's files, the 件号 sequence and
the SHA-256 of the published zip.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import bagit

from pipeline.archive import registry
from pipeline.archive.bag import TAGMANIFEST, bag_info_of
from pipeline.archive.catalogue import CATALOGUE, read_catalogue
from pipeline.archive.fourchecks import FourChecks, run_checks
from pipeline.archive.model import ArchiveCode
from pipeline.cases.context import Context
from pipeline.store.originals import sha256_file

_CODE_FIELDS = (("全宗号", "fonds"), ("门类代码", "category"), ("年度", "year"), ("保管期限", "retention"),
                ("机构代码", "org_code"), ("件号", "item_no"))


AUTHENTICITY, INTEGRITY = "真实性", "完整性"
CHECK_NAMES = (AUTHENTICITY, INTEGRITY, "可用性", "安全性")


@dataclass(frozen=True)
class Verification:
    path: Path
    code: str = ""
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    checks: FourChecks | None = field(default=None)
    # Problems found outside the 四性检测 (BagIt fixity, bag-info, the recorded zip), by the check
    # they make fail: a changed byte is an authenticity failure whatever found it.
    package_problems: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def verdicts(self) -> list[tuple[str, str]]:
        """(check, 通过/未通过/未检测) for each of the four checks, agreeing with ``problems``."""
        failed = {name for name, _ in self.package_problems}
        ran = {c.name: c.passed for c in self.checks.checks} if self.checks is not None else {}
        out = []
        for name in CHECK_NAMES:
            if name in failed or ran.get(name) is False:
                out.append((name, "未通过"))
            else:
                out.append((name, "通过" if name in ran else "未检测"))
        if not self.ok and all(v != "未通过" for _, v in out):
            # Every problem fails some check: one not classified above is an integrity problem.
            out[1] = (INTEGRITY, "未通过")
        return out

    @property
    def verdict(self) -> str:
        return "通过" if self.ok else "未通过"


def verify_package(path: Path, ctx: Context | None = None) -> Verification:
    if path.is_file():
        try:
            with tempfile.TemporaryDirectory(prefix="shuangsui-verify-") as tmp:
                root, problems = _unzip(path, Path(tmp))
                if root is None:
                    return Verification(path, problems=tuple(problems))
                result = replace(_verify_bag(root, ctx), path=path)
                return _with_zip_record(result, path, ctx)
        except zipfile.BadZipFile as exc:
            return Verification(path, problems=(f"{path.name} 不是有效的 zip 文件：{exc}",))
    if not path.is_dir():
        return Verification(path, problems=(f"找不到 {path}。请给出归档包目录或 .zip 文件。",))
    root = _bag_root(path)
    if root is None:
        return Verification(path, problems=(f"{path} 不是 BagIt 归档包（找不到 bagit.txt）。",))
    return _verify_bag(root, ctx)


def _unzip(path: Path, into: Path) -> tuple[Path | None, list[str]]:
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            parts = PurePosixPath(name).parts
            if name.startswith(("/", "\\")) or ".." in parts or ":" in name:
                return None, [f"{path.name} 中有不安全的路径 {name}，拒绝解压。"]
        zf.extractall(into)
    root = _bag_root(into)
    if root is None:
        return None, [f"{path.name} 中没有 BagIt 归档包（找不到 bagit.txt）。"]
    return root, []


def _bag_root(folder: Path) -> Path | None:
    if (folder / "bagit.txt").is_file():
        return folder
    subs = [p for p in folder.iterdir() if p.is_dir() and (p / "bagit.txt").is_file()]
    return subs[0] if len(subs) == 1 else None


def _verify_bag(root: Path, ctx: Context | None) -> Verification:
    problems: list[str] = []
    notes: list[str] = []
    try:
        bag = bagit.Bag(str(root))
    except bagit.BagError as exc:
        return Verification(root, problems=(f"BagIt 结构有误：{exc}",))
    fixity = _fixity(root, bag)
    problems += [p for _check, p in fixity]
    if not problems:
        try:
            bag.validate()
        except bagit.BagError as exc:
            problems.append(f"BagIt 校验未通过：{exc}")
    info = bag_info_of(root)
    code_text = info.get("档号", "")
    problems += _code_fields(root, info)
    cat = None
    try:
        cat = read_catalogue(root / "data" / CATALOGUE)
    except ValueError as exc:
        problems.append(str(exc))
    checks = None
    if cat is not None:
        if code_text and cat.code != code_text:
            problems.append(f"{CATALOGUE} 中的档号 {cat.code} 与 bag-info.txt 中的 {code_text} 不一致。")
        checks = run_checks(root / "data", cat, ctx)
        problems += checks.problems
    if ctx is None:
        notes.append("数据库无法访问：真实性只核对了包内的 SHA-256，未与原件库和登记记录比对。")
    four = set(checks.problems) if checks is not None else set()
    classified = dict((p, c) for c, p in fixity)
    package = tuple((classified.get(p, INTEGRITY), p) for p in problems if p not in four)
    return Verification(root, code_text, tuple(problems), tuple(notes), checks, package)


def _fixity(root: Path, bag: bagit.Bag) -> list[tuple[str, str]]:
    """Changed, missing and extra files, each named (payload and tag files alike), with the check
    each failure belongs to (a changed file: authenticity; a missing or extra one: integrity)."""
    problems: list[tuple[str, str]] = []
    for rel, hashes in sorted(bag.entries.items()):
        path = root / rel
        expected = hashes.get("sha256")
        listed_in = "manifest-sha256.txt" if rel.startswith("data/") else TAGMANIFEST
        if not path.is_file():
            problems.append((INTEGRITY, f"缺少文件 {rel}（{listed_in} 中登记了它）。"))
        elif expected and sha256_file(path) != expected:
            problems.append((AUTHENTICITY, f"{rel} 被修改过：SHA-256 与 {listed_in} 中登记的不符。"))
    listed = {bagit.normalize_unicode(k) for k in bag.entries}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if bagit.normalize_unicode(rel) not in listed and not (rel.startswith("tagmanifest-") and "/" not in rel):
            problems.append((INTEGRITY, f"多出文件 {rel}：不在清单中。"))
    if not any(k.startswith("data/") for k in bag.entries):
        problems.append((INTEGRITY, "manifest-sha256.txt 缺失或为空。"))
    return problems


def _code_fields(root: Path, info: dict[str, str]) -> list[str]:
    text = info.get("档号", "")
    code = ArchiveCode.parse(text)
    if code is None:
        return [f"bag-info.txt 中的档号“{text}”缺失或格式不对。"]
    problems = []
    for label, attr in _CODE_FIELDS:
        value = getattr(code, attr)
        expected = f"{value:04d}" if attr == "item_no" else str(value)
        if info.get(label) != expected:
            problems.append(f"bag-info.txt 中的{label}“{info.get(label, '')}”与档号 {code} 不一致（应为 {expected}）。")
    if info.get("External-Identifier") != text:
        problems.append(f"bag-info.txt 中的 External-Identifier 与档号 {code} 不一致。")
    if root.name != text:
        problems.append(f"包目录名 {root.name} 与档号 {code} 不一致。")
    return problems


def _with_zip_record(result: Verification, path: Path, ctx: Context | None) -> Verification:
    if ctx is None or not result.code:
        return result
    rows = registry.by_code(ctx.store, result.code)
    if not rows:
        return result  # the integrity check already says the 档号 is not recorded
    digest = sha256_file(path)
    match = next((r for r in rows if r.sha256 == digest), None)
    problems, notes = list(result.problems), list(result.notes)
    package = result.package_problems
    if match is None:
        problem = f"{path.name} 与登记的归档包（第 {rows[-1].version} 版，SHA-256 {rows[-1].sha256[:12]}…）不是同一个文件。"
        problems.append(problem)
        package += ((AUTHENTICITY, problem),)
    elif match.version != rows[-1].version:
        notes.append(f"这是第 {match.version} 版；已有更新的第 {rows[-1].version} 版。")
    else:
        notes.append(f"与登记的第 {match.version} 版归档包一致。")
    return replace(result, problems=tuple(problems), notes=tuple(notes), package_problems=package)
