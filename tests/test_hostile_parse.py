"""Hostile files through the extract API and through ``shuangsui process --json`` (issue #10).

Each file of ``tests/hostile_files.CORPUS`` must be refused with its code and Chinese message; in
the pipeline it goes back byte for byte to ``outbox/退回/`` with its 错误说明, and the whole pass
costs little CPU (a generous bound on the child process's CPU time, not a timing).
"""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from pipeline.core.errors import InputFileError
from pipeline.core.settings import Settings
from pipeline.extract import extract_file
from tests.conftest import Samples, run_cli
from tests.hostile_files import CORPUS, Hostile, plain_pdf

# Generous: the pass, imports included, costs a few seconds; an unbounded reader costs minutes.
MAX_PASS_CPU_S = 20.0


def encrypted_pdf(base: Path, path: Path) -> object:
    """A PDF with an opening password (pypdf writes it; the pipeline reads with pdfminer/pdfium)."""
    del base
    source = path.with_suffix(".plain")
    source.write_bytes(plain_pdf())
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password="x", owner_password="owner", algorithm="AES-256")
    with path.open("wb") as fh:
        writer.write(fh)
    source.unlink()
    return path


ALL: tuple[Hostile, ...] = (*CORPUS, Hostile("加密.pdf", encrypted_pdf, "FILE_ENCRYPTED", "密码"))


@pytest.fixture(autouse=True)
def pillow_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """``check_image`` sets Pillow's process-wide limit to the setting; restore it for later tests."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


@pytest.fixture
def base(samples: Samples, tmp_path: Path) -> Path:
    return samples.check_table("检查表.docx", folder=tmp_path)


@pytest.mark.parametrize("hostile", ALL, ids=[h.name for h in ALL])
def test_extract_api_refuses_each_hostile_file(hostile: Hostile, base: Path, tmp_path: Path) -> None:
    path = tmp_path / hostile.name
    hostile.build(base, path)
    with pytest.raises(InputFileError) as info:
        extract_file(path)
    assert info.value.code == hostile.code, info.value.message
    assert hostile.message in info.value.message


def test_a_check_table_with_the_wrong_extension_is_read_by_its_content(base: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "检查表.xlsx"
    renamed.write_bytes(base.read_bytes())
    assert extract_file(renamed).form == "check_table"


@pytest.mark.slow
def test_process_returns_each_hostile_file_quickly_with_its_message(
        settings: Settings, base: Path) -> None:
    originals: dict[str, bytes] = {}
    for hostile in ALL:
        path = settings.inbox / hostile.name
        hostile.build(base, path)
        originals[hostile.name] = path.read_bytes()
    (settings.inbox / "检查表-改名.pdf").write_bytes(base.read_bytes())  # a good file among them

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = run_cli(settings, "process", "--json")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert proc.returncode == 0, proc.stderr

    files = {f["name"]: f for f in json.loads(proc.stdout)["files"]}
    assert files["检查表-改名.pdf"]["status"] != "rejected", files["检查表-改名.pdf"]
    returned = settings.outbox / "退回"
    for hostile in ALL:
        result = files[hostile.name]
        assert result["status"] == "rejected", result
        assert [f["code"] for f in result["findings"]] == [hostile.code], result
        assert hostile.message in result["findings"][0]["message"]
        assert (returned / hostile.name).read_bytes() == originals[hostile.name]
        note = (returned / f"{hostile.name}.错误说明.txt").read_text(encoding="utf-8")
        assert hostile.message in note
        assert not (settings.inbox / hostile.name).exists()
    # 退回 holds exactly the hostile files and their notes: nothing half-parsed was written beside them.
    expected = {f"{h.name}{suffix}" for h in ALL for suffix in ("", ".错误说明.txt", ".错误说明.html")}
    assert {p.name for p in returned.iterdir()} == expected
    assert cpu < MAX_PASS_CPU_S, f"the pass took {cpu:.1f} s of CPU"
