"""Tests of the LibreOffice converter: batching, the pool, PDF/A, timeouts, crashes, refusals.

The timeout and crash tests run a fake ``soffice`` (a Python script in ``tmp_path`` that hangs,
crashes or copies its inputs, and logs each invocation); the others run the real LibreOffice.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
import pytest

from pipeline.core.errors import ExitCode
from pipeline.core.settings import Settings
from pipeline.documents import libreoffice as convert
from pipeline.documents.libreoffice import (
    NO_OUTPUT_MESSAGE,
    PDFA2B_FILTER,
    ConversionError,
    Converter,
    ConverterPool,
    LibreOfficeMissing,
    find_soffice,
)
from pipeline.documents.render import public_form_context, render_public_form
from tests.system_deps import require_soffice

TEMPLATES = Settings().templates_dir
COMPANIES = [f"烟台恒信第{n}精密机械有限公司" for n in range(1, 7)]

# A stand-in for soffice: logs every invocation (pid, profile, whether the profile was fresh) to
# LOG, then behaves as MODE says and otherwise "converts" by copying each input to the output.
FAKE_SOFFICE = """\
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
from urllib.parse import unquote, urlparse

LOG, MODE = Path({log!r}), {mode!r}
args = sys.argv[1:]
uri = next(a for a in args if a.startswith("-env:UserInstallation=")).split("=", 1)[1]
profile = Path(unquote(urlparse(uri).path))
out = Path(args[args.index("--outdir") + 1])
ext = args[args.index("--convert-to") + 1].split(":")[0]
inputs = [Path(a) for a in args[args.index("--outdir") + 2 :]]
calls = len(LOG.read_text().splitlines()) if LOG.exists() else 0
entry = {{"pid": os.getpid(), "profile": str(profile), "fresh": not (profile / "used").exists()}}
profile.mkdir(parents=True, exist_ok=True)
(profile / "used").touch()
if MODE == "hang-once" and calls == 0:
    entry["child"] = subprocess.Popen(["sleep", "60"]).pid  # a helper, as soffice.bin is
if MODE == "hang-on-marker":
    entry["inputs"] = [p.read_bytes().decode() for p in inputs]
with LOG.open("a") as fh:
    fh.write(json.dumps(entry) + "\\n")


def hang():
    # Tells the test's HangAwarePopen that this run hangs now: its timeout fires on that event.
    (LOG.parent / f"hanging-{{os.getpid()}}").touch()
    time.sleep(60)


if MODE == "hang-once" and calls == 0:
    hang()
if MODE == "crash-once" and calls == 0:
    os.kill(os.getpid(), signal.SIGSEGV)
if MODE == "no-output":
    print("Error: source file could not be loaded")
    sys.exit(0)
out.mkdir(parents=True, exist_ok=True)
for path in inputs:
    if MODE == "hang-on-marker" and b"HANG" in path.read_bytes():
        hang()
    shutil.copyfile(path, out / f"{{path.stem}}.{{ext}}")
"""


class HangAwarePopen(subprocess.Popen[bytes]):
    """Popen whose ``wait(timeout)`` expires when the fake soffice says it hangs, not on the clock.

    A real one-second timeout races with a loaded machine (the fake script's interpreter may take
    longer than that to start); here a normal run is waited for however long it takes, and a hung
    one times out at once.
    """

    markers: Path

    def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            return super().wait()
        deadline = time.monotonic() + 120  # a safety net only: never reached by a working test
        while time.monotonic() < deadline:
            if self.poll() is not None:
                return self.returncode
            if (self.markers / f"hanging-{self.pid}").exists():
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.02)
        raise AssertionError("the fake soffice neither finished nor said it hangs")


@pytest.fixture
def hang_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The converter's timeouts fire on the fake soffice's hang marker (see ``HangAwarePopen``)."""
    popen = type("Popen", (HangAwarePopen,), {"markers": tmp_path})
    monkeypatch.setattr(convert, "subprocess", types.SimpleNamespace(**{**vars(subprocess), "Popen": popen}))


def fake_soffice(tmp_path: Path, mode: str) -> tuple[str, Path]:
    """A fake soffice script behaving as ``mode``, and the log it writes."""
    log = tmp_path / "fake-soffice.log"
    script = tmp_path / "fake-soffice"
    script.write_text(f"#!{sys.executable}\n" + FAKE_SOFFICE.format(log=str(log), mode=mode), encoding="utf-8")
    script.chmod(0o755)
    return str(script), log


def log_entries(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def is_gone(pid: int) -> bool:
    """True when ``pid`` has exited (no process, or a zombie waiting for its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if is_gone(pid):
            return True
        time.sleep(0.05)
    return is_gone(pid)


def source(folder: Path, name: str, content: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


# --- finding LibreOffice -----------------------------------------------------------------------


def test_find_soffice(tmp_path: Path) -> None:
    script, _ = fake_soffice(tmp_path, "copy")
    assert find_soffice(script) == script
    assert find_soffice(str(tmp_path / "no-such-soffice")) is None
    assert find_soffice("no-such-soffice-command") is None
    assert find_soffice("  ") is None
    not_executable = source(tmp_path, "soffice-text", "not a program")
    assert find_soffice(str(not_executable)) is None


def test_missing_soffice_says_how_to_install(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-soffice")
    with pytest.raises(LibreOfficeMissing) as info:
        Converter(missing)
    assert info.value.exit_code == ExitCode.missing_dependency
    message = str(info.value)
    assert f"找不到 LibreOffice（设置项 soffice = “{missing}”）" in message
    assert "sudo apt-get install libreoffice-writer-nogui libreoffice-calc-nogui" in message
    with pytest.raises(LibreOfficeMissing):
        ConverterPool(2, missing)


# --- timeouts, crashes, files without output (fake soffice) ---------------------------------------


def test_timeout_kills_the_process_group_and_retries_with_a_fresh_profile(
        tmp_path: Path, hang_events: None) -> None:
    script, log = fake_soffice(tmp_path, "hang-once")
    src = source(tmp_path / "store", "0123abcd", "内容")
    with Converter(script, timeout=1.0) as converter:
        result = converter.convert(src, "docx", tmp_path / "out", suffix=".doc")
        assert (converter.invocations, converter.resets) == (2, 1)
    assert result == tmp_path / "out" / "0123abcd.docx"
    assert result.read_text(encoding="utf-8") == "内容"
    first, second = log_entries(log)
    assert first["profile"] == second["profile"]
    assert second["fresh"], "the retry must not reuse the profile of the killed run"
    assert wait_gone(first["pid"]), "soffice itself is killed"
    assert wait_gone(first["child"]), "and so is every process it started (the whole group)"


def test_crash_is_retried_once(tmp_path: Path) -> None:
    script, log = fake_soffice(tmp_path, "crash-once")
    src = source(tmp_path / "store", "检查表.rtf", "{\\rtf1 x}")
    with Converter(script) as converter:
        result = converter.convert(src, "docx", tmp_path / "out")
        assert (converter.invocations, converter.resets) == (2, 1)
    assert result.name == "检查表.docx"
    assert [e["fresh"] for e in log_entries(log)] == [True, True]


def test_a_file_that_always_hangs_is_given_up_and_the_others_convert(tmp_path: Path, hang_events: None) -> None:
    script, log = fake_soffice(tmp_path, "hang-on-marker")
    store = tmp_path / "store"
    good1, bad, good2 = source(store, "a", "A"), source(store, "b", "HANG"), source(store, "c", "C")
    with Converter(script, timeout=1.0) as converter:
        outputs = converter.convert_many([good1, bad, good2], "docx", tmp_path / "out", suffix=".doc")
        # one batch; the hung file is tried twice, then the rest goes on without it
        assert converter.invocations == 3
        assert [e["inputs"] for e in log_entries(log)] == [["A", "HANG", "C"], ["HANG", "C"], ["C"]]
        assert {s: p.read_text() for s, p in outputs.items()} == {good1: "A", good2: "C"}
        with pytest.raises(ConversionError) as info:
            converter.convert(bad, "docx", tmp_path / "out", suffix=".doc")
    assert info.value.code == "FILE_UNREADABLE"
    assert "超过 1 秒仍未完成（已重试一次）" in info.value.message


def test_no_output_is_a_conversion_error(tmp_path: Path) -> None:
    script, log = fake_soffice(tmp_path, "no-output")
    src = source(tmp_path / "store", "x", "x")
    with Converter(script) as converter, pytest.raises(ConversionError) as info:
        converter.convert(src, "docx", tmp_path / "out")
    assert len(log_entries(log)) == 1, "a file LibreOffice cannot load is not retried"
    assert info.value.code == "FILE_UNREADABLE"
    assert info.value.field == "file"
    assert info.value.message == NO_OUTPUT_MESSAGE
    assert NO_OUTPUT_MESSAGE == (
        "LibreOffice 无法打开此文件，文件可能已损坏。请在 Word/WPS 中打开确认后另存为 .docx 再放入。"
    )


def test_same_stems_get_distinct_outputs(tmp_path: Path) -> None:
    script, _ = fake_soffice(tmp_path, "copy")
    one, two = source(tmp_path / "a", "检查表.doc", "1"), source(tmp_path / "b", "检查表.doc", "2")
    with Converter(script) as converter:
        outputs = converter.convert_many([one, two, one], "docx", tmp_path / "out")
        assert converter.invocations == 1
    assert {p.name: p.read_text() for p in outputs.values()} == {"检查表.docx": "1", "检查表-1.docx": "2"}


def test_profile_folder_is_removed_on_close_unless_given(tmp_path: Path) -> None:
    script, _ = fake_soffice(tmp_path, "copy")
    src = source(tmp_path / "store", "x", "x")
    with Converter(script) as converter:
        converter.convert(src, "docx", tmp_path / "out")
        temporary = converter.profile_root
        assert (converter.profile_dir / "used").exists()
    assert not temporary.exists()
    kept = tmp_path / "lo"
    with Converter(script, profile_root=kept) as converter:
        converter.convert(src, "docx", tmp_path / "out")
    assert (kept / "profile" / "used").exists(), "a given profile folder is kept for the next run"


def test_a_soffice_left_running_on_the_profile_by_a_killed_run_is_killed_first(tmp_path: Path) -> None:
    """After kill -9 of the pipeline its soffice (own session) runs on; the next holder of the profile
    lock kills it, instead of handing its files to it. A soffice on another profile is left alone."""
    script, log = fake_soffice(tmp_path, "copy")
    root = tmp_path / "lo"
    converter = Converter(script, profile_root=root)
    other = tmp_path / "other" / "profile"
    strays = {
        profile: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)",
                                   f"-env:UserInstallation={profile.resolve().as_uri()}"], start_new_session=True)
        for profile in (converter.profile_dir, other)
    }
    try:
        converter.convert(source(tmp_path / "store", "x", "x"), "docx", tmp_path / "out")
        assert wait_gone(strays[converter.profile_dir].pid), "the stray on this profile was killed"
        assert strays[converter.profile_dir].wait() == -signal.SIGKILL
        assert strays[other].poll() is None, "a soffice on another profile is not touched"
        assert (tmp_path / "out" / "x.docx").read_text(encoding="utf-8") == "x"
        assert len(log_entries(log)) == 1
    finally:
        for proc in strays.values():
            proc.kill()
            proc.wait()


# --- the real LibreOffice: a pool of two converting 公示表 to PDF/A --------------------------------


@pytest.fixture(scope="module")
def pdf_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Six 公示表 (content-addressed: no extension) converted to PDF/A by a pool of two."""
    real = require_soffice()
    base = tmp_path_factory.mktemp("pdf")
    store = base / "store"
    store.mkdir()
    sources: list[Path] = []
    for n, company in enumerate(COMPANIES):
        context = public_form_context(
            unit_name=company,
            uscc="91370600MA3C00000X",
            authority="烟台市工业和信息化局",
            task_name="2026年度民用爆炸物品销售的安全生产监督管理双随机抽查",
            check_date="2026年11月9日",
            check_type="不定向抽查",
            result="未发现问题。",
        )
        path = store / f"{n:02d}{'ab' * 8}"
        render_public_form(context, path.with_suffix(".docx"), template_dir=TEMPLATES)
        path.with_suffix(".docx").rename(path)
        sources.append(path)
    before = sorted(p.name for p in store.iterdir())
    # A wrapper around the real soffice that logs when each invocation starts and ends. It starts
    # soffice only once both invocations have started (a barrier, given up after 60 s): the pool
    # is proven parallel by that event, not by hoping that two runs happen to overlap in time.
    log = base / "soffice.log"
    wrapper = base / "soffice-wrapper"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "start $(date +%s.%N) $1" >> "{log}"\n'
        "n=0\n"
        f'while [ "$(grep -c ^start "{log}")" -lt 2 ]; do\n'
        '  n=$((n + 1)); [ "$n" -gt 1200 ] && exit 3\n'
        "  sleep 0.05\n"
        "done\n"
        f'"{real}" "$@"\nrc=$?\n'
        f'echo "end $(date +%s.%N) $1" >> "{log}"\n'
        "exit $rc\n",
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    with ConverterPool(2, str(wrapper)) as pool:
        outputs = pool.convert_many(sources, "pdf", base / "out", PDFA2B_FILTER, suffix=".docx")
        profiles = [c.profile_dir for c in pool.converters]
        invocations = [c.invocations for c in pool.converters]
        profile_made = [(p / "user").is_dir() for p in profiles]
    return {
        "sources": sources,
        "outputs": outputs,
        "log": log.read_text().splitlines(),
        "profiles": profiles,
        "invocations": invocations,
        "profile_made": profile_made,
        "store_before": before,
        "store_after": sorted(p.name for p in store.iterdir()),
    }


@pytest.mark.libreoffice
def test_pool_converts_in_parallel_with_distinct_profiles(pdf_run: dict[str, Any]) -> None:
    sources, outputs = pdf_run["sources"], pdf_run["outputs"]
    assert set(outputs) == set(sources)
    assert {p.name for p in outputs.values()} == {f"{s.name}.pdf" for s in sources}
    assert pdf_run["invocations"] == [1, 1], "each worker converts its three files in one soffice run"
    assert len(set(pdf_run["profiles"])) == 2 and all(pdf_run["profile_made"])
    runs: dict[str, dict[str, float]] = {}
    for line in pdf_run["log"]:
        event, stamp, profile = line.split(" ", 2)
        runs.setdefault(profile, {})[event] = float(stamp)
    assert len(runs) == 2, "two invocations on two different profiles"
    (a, b) = runs.values()
    assert a["start"] < b["end"] and b["start"] < a["end"], "the two workers ran at the same time"
    assert pdf_run["store_after"] == pdf_run["store_before"], "nothing is written next to the originals"


@pytest.mark.libreoffice
def test_pdf_is_pdfa2b_with_embedded_fonts(pdf_run: dict[str, Any]) -> None:
    for src, pdf in pdf_run["outputs"].items():
        reader = pypdf.PdfReader(pdf)
        xmp = reader.xmp_metadata
        assert xmp is not None
        assert (xmp.pdfaid_part, xmp.pdfaid_conformance) == ("2", "B")
        fonts = 0
        for page in reader.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                if font["/Subtype"] == "/Type0":
                    font = font["/DescendantFonts"][0].get_object()
                descriptor = font["/FontDescriptor"].get_object()
                assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
                fonts += 1
        assert fonts > 0
        with pdfplumber.open(pdf) as doc:
            page = doc.pages[0]
            text = page.extract_text() or ""
            # a long name wraps inside its cell: compare the cell's text without the line breaks
            cells = {"".join(c.split()) for table in page.extract_tables() for row in table for c in row if c}
        assert "“双随机、一公开”检查结果公示表" in text
        assert COMPANIES[pdf_run["sources"].index(src)] in cells


def test_pool_convert_uses_a_free_worker(tmp_path: Path) -> None:
    script, log = fake_soffice(tmp_path, "copy")
    src = source(tmp_path / "store", "x", "x")
    with ConverterPool(2, script) as pool:
        assert pool.convert(src, "odt", tmp_path / "out").read_text() == "x"
        assert sum(c.invocations for c in pool.converters) == 1
    assert len(log_entries(log)) == 1
