"""The README and the guides in docs/ stay true: settings, commands, Makefile targets, links, size."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from pipeline.cli.main import build_parser
from pipeline.core.codes import FindingCode
from pipeline.core.settings import Settings, setting_docs
from scripts.docs_screenshots import MAX_WIDTH, PICTURES

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
OPS_GUIDE = DOCS / "运维.md"
STAFF_GUIDE = DOCS / "使用说明.md"
MAX_README_BYTES = 20_000

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
# ``shuangsui <sub-command>`` as a command line, not ``sudo -u shuangsui git`` or ``/opt/shuangsui``.
COMMAND = re.compile(r"(?<![\w.:=/-])(?<!-u )(?<!-g )(?:\S*/bin/)?shuangsui[ \t]+(?:-v[ \t]+)?([a-z][a-z-]*)")


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def code_of(text: str) -> list[str]:
    """Every fenced block and inline code span: where commands are written to be run."""
    blocks = FENCE.findall(text)
    prose = FENCE.sub("", text)
    return blocks + INLINE_CODE.findall(prose)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(text):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def default_text(default: str) -> str:
    """A default as the settings table writes it."""
    if default in ("", "."):
        return "（空）"
    if default in ("True", "False"):
        return f"`{default.lower()}`"
    return f"`{default}`"


def test_the_guides_and_references_exist() -> None:
    for name in ("使用说明.md", "运维.md", "reference/formats.md", "reference/rules.md",
                 "reference/contracts.md", "reference/benchmarks.md", "reference/architecture.md"):
        assert (DOCS / name).is_file(), name


def test_every_setting_is_documented_in_the_ops_guide() -> None:
    text = OPS_GUIDE.read_text(encoding="utf-8")
    table = text[text.index("## 设置一览"):]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", table, re.M)}
    docs = setting_docs()
    assert len(docs) == len(Settings.__dataclass_fields__)
    for name, default, doc in docs:
        assert doc, name
        assert name in rows, f"设置项 {name} 没有写进 docs/运维.md 的设置一览"
        row = rows[name]
        assert f"`SHUANGSUI_{name.upper()}`" in row, name
        assert f"| {default_text(default)} |" in row, f"{name}: 缺省值应为 {default!r}"
    assert set(rows) <= {name for name, _, _ in docs}, set(rows) - {name for name, _, _ in docs}


def test_every_finding_code_is_explained_to_staff() -> None:
    text = STAFF_GUIDE.read_text(encoding="utf-8")
    for code in FindingCode:
        row = next((line for line in text.splitlines() if line.startswith(f"| `{code.value}` |")), None)
        assert row is not None, code.value
        assert f"| {code.label} |" in row, code.value


def test_readme_is_at_most_20_kb() -> None:
    assert len(README.read_bytes()) <= MAX_README_BYTES


def test_readme_first_two_commands_are_make_targets_that_do_what_it_says() -> None:
    commands = [line.strip() for block in FENCE.findall(README.read_text(encoding="utf-8"))
                for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert commands[:2] == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = {m.group(1): (m.group(2).split(), m.group(3))
               for m in re.finditer(r"^([\w-]+):([^=\n]*)\n((?:\t.*\n?)*)", makefile, re.M)}
    run_deps, run_recipe = targets["run"]
    assert "setup" in run_deps
    assert "shuangsui watch --demo-if-empty" in run_recipe
    test_deps, _ = targets["test"]
    assert {"system-deps", "setup", "lint", "typecheck", "pytest"} <= set(test_deps)
    assert re.search(r"/pytest\b", targets["pytest"][1])


def named_commands() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in markdown_files():
        for code in code_of(path.read_text(encoding="utf-8")):
            for name in COMMAND.findall(code):
                found.setdefault(name, path)
    return found


def test_the_docs_name_the_commands() -> None:
    assert {"watch", "process", "extract", "status", "review", "forms", "regenerate", "verify"} <= set(
        named_commands())


@pytest.mark.parametrize("command", sorted(named_commands()))
def test_every_command_in_the_docs_exists(command: str) -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert command in (sub.choices or {}), f"{command} (named in {named_commands()[command].name})"
    run = subprocess.run([sys.executable, "-m", "pipeline", command, "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert command in run.stdout


def test_every_relative_link_resolves() -> None:
    checked = 0
    for path in markdown_files():
        text = FENCE.sub("", path.read_text(encoding="utf-8"))
        text = INLINE_CODE.sub("", text)
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.relative_to(ROOT)} → {target}"
            assert dest.exists(), where
            if anchor:
                assert dest.suffix == ".md", where
                assert anchor in anchors(dest), where
            checked += 1
    assert checked >= 20


MAX_PICTURE_BYTES = 200_000


def test_pictures_in_the_staff_guide_are_shown_small_and_real() -> None:
    shown = {Path(target).name for target in LINK.findall(STAFF_GUIDE.read_text(encoding="utf-8"))
             if target.startswith("图片/")}
    stored = {p.name for p in (DOCS / "图片").glob("*.png")}
    assert shown == stored == set(PICTURES)  # every picture the script takes, each shown, none left over
    for name in stored:
        path = DOCS / "图片" / name
        assert path.stat().st_size <= MAX_PICTURE_BYTES, name
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width <= MAX_WIDTH and image.height >= 300, name
