"""Convert documents with LibreOffice in headless mode (``soffice --convert-to``).

Used to read the old and foreign formats staff drop (.doc/.wps/.et/.rtf/.odt/.ods/HTML, through
``pipeline.extract.legacy``) and to export 公示表 as PDF/A (``PDFA2B_FILTER``).

How LibreOffice is run:

* Each ``Converter`` owns ONE LibreOffice user profile (``-env:UserInstallation=file:///…``),
  created on first use and reused. Two soffice processes on one profile would not run side by
  side: the second hands its work to the first and returns at once. A converter therefore runs one
  soffice at a time (a thread lock, and an ``flock`` on ``<profile_root>/profile.lock`` against
  other processes sharing a ``profile_root``).
* One soffice invocation converts a whole batch (soffice takes many input files, but only one
  ``--convert-to`` target per invocation). Inputs are linked into a private staging folder under
  numbered names with the extension the caller names (files of the originals store have none), so
  that odd names never reach the command line and LibreOffice's lock files never land next to the
  originals.
* Every invocation runs in its own process group and is killed as a group after ``timeout``
  seconds. After a timeout or a crash the profile is thrown away and the files not yet converted
  are tried once more with a fresh profile; a file that fails again is given up.
* soffice runs with ``FONTCONFIG_FILE`` = ``<profile_root>/fonts.conf`` (``pipeline.documents.fonts``), so that
  the forms' 宋体 comes out in a serif Simplified Chinese face and their digits in the same family.
* soffice exits with 0 even when it cannot load a file: a file without output is reported by
  ``Converter.convert`` as ``ConversionError`` (code ``FILE_UNREADABLE``).

``ConverterPool`` holds N converters (each with its own profile) for use from threads and spreads
``convert_many`` over them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from pipeline.core.errors import InputFileError, MissingDependencyError
from pipeline.documents.fonts import write_fontconfig

__all__ = [
    "DEFAULT_POOL_SIZE",
    "DEFAULT_TIMEOUT",
    "PDFA2B_FILTER",
    "ConversionError",
    "Converter",
    "ConverterPool",
    "Converting",
    "LibreOfficeMissing",
    "find_soffice",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
# Files per soffice invocation: one start (1–2 s) per batch of up to this many, not one per file or per
# twenty. A batch's time limit grows with it: ``timeout`` for every TIMEOUT_FILES files.
DEFAULT_BATCH_SIZE = 100
TIMEOUT_FILES = 20
DEFAULT_POOL_SIZE = max(1, os.cpu_count() or 1)  # one converter (profile, soffice) per core

# Writer's PDF export as PDF/A-2b (SelectPdfVersion 2). The JSON form of filter options is
# understood by ``--convert-to`` since LibreOffice 7.4; use with ``target="pdf"``.
PDFA2B_FILTER = 'writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'

# Where LibreOffice lives when ``soffice`` is not on PATH.
_KNOWN_LOCATIONS = (
    "/usr/lib/libreoffice/program/soffice",
    "/usr/lib64/libreoffice/program/soffice",
    "/opt/libreoffice/program/soffice",
    "/snap/bin/libreoffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
)
_INSTALL_HINT = "sudo apt-get install libreoffice-writer-nogui libreoffice-calc-nogui"

# At most this many failed invocations per batch (each file gets one retry; this bounds the time
# spent when LibreOffice itself is broken rather than a file).
_MAX_FAILED_RUNS = 4

_FIX = "请在 Word/WPS 中打开确认后另存为 .docx 再放入。"
NO_OUTPUT_MESSAGE = "LibreOffice 无法打开此文件，文件可能已损坏。" + _FIX


def find_soffice(setting: str) -> str | None:
    """The LibreOffice executable named by the ``soffice`` setting, or None when it is missing.

    ``setting`` is a command name looked up on PATH or a path; for the default ``soffice`` the
    ``libreoffice`` command and the usual install folders are tried too.
    """
    setting = setting.strip()
    if setting.startswith("~"):
        setting = str(Path(setting).expanduser())
    if not setting:
        return None
    found = shutil.which(setting)
    if found or setting != "soffice":
        return found
    for candidate in ("libreoffice", *_KNOWN_LOCATIONS):
        found = shutil.which(candidate)
        if found:
            return found
    return None


class LibreOfficeMissing(MissingDependencyError):
    """LibreOffice (soffice) cannot be found or started."""

    def __init__(self, setting: str = "soffice", detail: str = "") -> None:
        super().__init__(
            f"找不到 LibreOffice（设置项 soffice = “{setting}”）{detail}。PDF 转换和读取旧版格式"
            f"（.doc/.xls/.wps/.et/.rtf/.odt）需要它。请安装：{_INSTALL_HINT}；"
            "如已安装在其他位置，请在设置项 soffice 中写明 soffice 的完整路径。运行 shuangsui doctor 可检查。"
        )


class ConversionError(InputFileError):
    """LibreOffice produced no output for a file (it cannot open it, or crashed or hung on it)."""

    message = NO_OUTPUT_MESSAGE

    def __init__(self, message: str | None = None, *, code: str = "FILE_UNREADABLE") -> None:
        super().__init__(message, field="file", code=code)


@dataclass(frozen=True)
class _Item:
    """One file of a batch: the caller's path and the name of its output in ``out_dir``."""

    source: Path
    name: str


@dataclass(frozen=True)
class _Request:
    """What to do with every file of one ``convert_many`` call."""

    convert_to: str  # the argument of --convert-to, e.g. "docx" or "pdf:writer_pdf_Export:{…}"
    ext: str  # extension of the outputs, e.g. "docx"
    out_dir: Path
    infilter: str | None
    suffix: str | None  # extension of the inputs (".doc"), None for the sources' own


# What converting a batch gives: source → output, source → why it has none.
_Results = tuple[dict[Path, Path], dict[Path, str]]


def _request(target: str, out_dir: Path, filter: str | None, infilter: str | None, suffix: str | None) -> _Request:
    ext = target.split(":", 1)[0].strip().lower()
    if not ext:
        raise ValueError(f"bad conversion target {target!r}")
    convert_to = target
    if filter:
        convert_to = filter if filter.startswith(f"{ext}:") else f"{ext}:{filter}"
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    return _Request(convert_to, ext, out_dir, infilter, suffix)


def _items(sources: Sequence[Path], ext: str) -> list[_Item]:
    """Sources (without repeats) with distinct output names ``<stem>.<ext>``."""
    items: list[_Item] = []
    used: set[str] = set()
    for source in dict.fromkeys(sources):
        stem = source.stem or source.name
        name, n = f"{stem}.{ext}", 1
        while name.casefold() in used:
            name, n = f"{stem}-{n}.{ext}", n + 1
        used.add(name.casefold())
        items.append(_Item(source, name))
    return items


class _Converting:
    """The conversion API of ``Converter`` and ``ConverterPool``: each converts a batch of items
    (``_convert_items``) its own way."""

    def convert(
        self,
        source: Path,
        target: str,
        out_dir: Path,
        filter: str | None = None,
        *,
        infilter: str | None = None,
        suffix: str | None = None,
    ) -> Path:
        """Convert ``source`` into ``out_dir/<stem>.<target>``; return that path.

        Raises ``ConversionError`` (``FILE_UNREADABLE``) when LibreOffice produces no output.
        """
        request = _request(target, out_dir, filter, infilter, suffix)
        outputs, failures = self._convert_items(_items([source], request.ext), request)
        if source in outputs:
            return outputs[source]
        raise ConversionError(failures.get(source, NO_OUTPUT_MESSAGE))

    def convert_many(
        self,
        sources: Sequence[Path],
        target: str,
        out_dir: Path,
        filter: str | None = None,
        *,
        infilter: str | None = None,
        suffix: str | None = None,
    ) -> dict[Path, Path]:
        """Convert ``sources`` in as few soffice invocations as possible.

        ``target`` is the output extension (``"docx"``, ``"xlsx"``, ``"pdf"``; ``"docx:MS Word 2007
        XML"`` names the export filter too); ``filter`` an export filter with options
        (``PDFA2B_FILTER``, with or without the leading ``"pdf:"``); ``infilter`` an import filter
        for all inputs (``"HTML (StarCalc)"``); ``suffix`` the extension the inputs get for
        LibreOffice (``".doc"``; default: each source's own). Outputs are ``out_dir/<stem>.<ext>``
        (``<stem>-1.<ext>`` … on clashes; existing files are replaced). Returns source → output
        for the files converted; files without output are left out (``convert`` says why).
        """
        return self.convert_report(sources, target, out_dir, filter, infilter=infilter, suffix=suffix)[0]

    def convert_report(
        self,
        sources: Sequence[Path],
        target: str,
        out_dir: Path,
        filter: str | None = None,
        *,
        infilter: str | None = None,
        suffix: str | None = None,
    ) -> tuple[dict[Path, Path], dict[Path, str]]:
        """``convert_many``, and why each file without output has none (source → Chinese reason)."""
        request = _request(target, out_dir, filter, infilter, suffix)
        return self._convert_items(_items(sources, request.ext), request)

    def _convert_items(self, items: list[_Item], request: _Request) -> _Results:
        """Convert ``items``; return (source → output, source → why it failed)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


Converting = _Converting  # what callers type a converter as: the local ones and the queue (conversion_queue)


class Converter(_Converting):
    """One LibreOffice worker with its own profile (see the module docstring).

    ``profile_root`` holds the profile and its lock file; by default a private temporary folder,
    removed by ``close()``. A given ``profile_root`` is kept (the profile is reused by later runs).
    Each soffice invocation converts at most ``batch_size`` files within ``timeout`` seconds for every
    ``TIMEOUT_FILES`` of them.
    Raises ``LibreOfficeMissing`` when ``soffice`` cannot be found.
    """

    def __init__(
        self,
        soffice: str = "soffice",
        *,
        profile_root: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        exe = find_soffice(soffice)
        if exe is None:
            raise LibreOfficeMissing(soffice)
        self.setting = soffice
        self.exe = exe
        self.timeout = timeout
        self.batch_size = max(1, batch_size)
        if profile_root is None:
            self.profile_root = Path(tempfile.mkdtemp(prefix="shuangsui-libreoffice-"))
            self._cleanup: weakref.finalize | None = weakref.finalize(
                self, shutil.rmtree, str(self.profile_root), ignore_errors=True
            )
        else:
            self.profile_root = profile_root
            self.profile_root.mkdir(parents=True, exist_ok=True)
            self._cleanup = None
        self._lock = threading.Lock()
        self.invocations = 0  # soffice processes started (for tests and logs)
        self.resets = 0  # profiles thrown away after a timeout or crash

    @property
    def profile_dir(self) -> Path:
        """The LibreOffice user profile (created by soffice on first use)."""
        return self.profile_root / "profile"

    @property
    def fontconfig(self) -> Path:
        """The fontconfig file soffice runs with (``pipeline.documents.fonts``: 宋体 as a serif SC face)."""
        return self.profile_root / "fonts.conf"

    def close(self) -> None:
        """Remove the profile folder if this converter created it."""
        with self._lock:
            if self._cleanup is not None:
                self._cleanup()

    # -- work ---------------------------------------------------------------------------------
    def _convert_items(self, items: list[_Item], request: _Request) -> _Results:
        """Convert ``items`` in batches; return (source → output, source → why it failed)."""
        outputs: dict[Path, Path] = {}
        failures: dict[Path, str] = {}
        if not items:
            return outputs, failures
        request.out_dir.mkdir(parents=True, exist_ok=True)
        with self._lock, self._profile_lock():
            for start in range(0, len(items), self.batch_size):
                done, failed = self._batch(items[start : start + self.batch_size], request)
                outputs.update(done)
                failures.update(failed)
        return outputs, failures

    @contextlib.contextmanager
    def _profile_lock(self) -> Iterator[None]:
        """Exclusive use of the profile, also against other processes sharing ``profile_root``."""
        self.profile_root.mkdir(parents=True, exist_ok=True)
        with (self.profile_root / "profile.lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                kill_strays(self.profile_dir)
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _batch(self, items: list[_Item], request: _Request) -> _Results:
        outputs: dict[Path, Path] = {}
        failures: dict[Path, str] = {}
        retried: set[Path] = set()
        failed_runs = 0
        pending = items
        while pending:
            error, produced = self._invoke(pending, request)
            for item, path in produced.items():
                outputs[item.source] = path
            remaining = [item for item in pending if item not in produced]
            if error is None:
                for item in remaining:
                    failures[item.source] = NO_OUTPUT_MESSAGE
                break
            failed_runs += 1
            self._reset_profile()
            if not remaining:
                break
            # soffice converts in order: the first file without output is the one it failed on.
            culprit = remaining[0]
            if culprit.source in retried:
                failures[culprit.source] = error
                remaining = remaining[1:]
            else:
                retried.add(culprit.source)
            if failed_runs >= _MAX_FAILED_RUNS:
                for item in remaining:
                    failures[item.source] = error
                break
            pending = remaining
        return outputs, failures

    def _invoke(self, items: list[_Item], request: _Request) -> tuple[str | None, dict[_Item, Path]]:
        """Run soffice once on ``items``; return (why it failed or None, item → output in out_dir)."""
        with tempfile.TemporaryDirectory(prefix="job-", dir=self.profile_root) as tmp:
            work = Path(tmp)
            in_dir, out_dir = work / "in", work / "out"
            in_dir.mkdir()
            staged: dict[_Item, Path] = {}
            for number, item in enumerate(items):
                staged[item] = _stage(item.source, in_dir / f"{number:04d}{request.suffix or item.source.suffix}")
            command = [
                self.exe,
                f"-env:UserInstallation={self.profile_dir.resolve().as_uri()}",
                "--headless",
                "--invisible",
                "--nologo",
                "--nodefault",
                "--norestore",
                "--nolockcheck",
                *([f"--infilter={request.infilter}"] if request.infilter else []),
                "--convert-to",
                request.convert_to,
                "--outdir",
                str(out_dir),
                *(str(path) for path in staged.values()),
            ]
            if not self.fontconfig.is_file():
                write_fontconfig(self.fontconfig)
            offline_profile(self.profile_dir)
            error = self._run(command, work, self.timeout * -(-len(items) // TIMEOUT_FILES))
            produced: dict[_Item, Path] = {}
            for item, path in staged.items():
                result = out_dir / f"{path.stem}.{request.ext}"
                if result.is_file() and result.stat().st_size > 0:
                    final = request.out_dir / item.name
                    shutil.move(result, final)
                    produced[item] = final
            return error, produced

    def _run(self, command: list[str], work: Path, timeout: float) -> str | None:
        """Run one soffice process group; None when it exits normally, else why it failed."""
        log_path = work / "soffice.log"
        self.invocations += 1
        with log_path.open("wb") as out:
            try:
                proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=work,
                    env={**os.environ, "FONTCONFIG_FILE": str(self.fontconfig)},
                    start_new_session=True,  # its own process group, killed as a whole
                    preexec_fn=_lift_address_space_limit if _address_space_limited() else None,
                )
            except OSError as exc:
                raise LibreOfficeMissing(self.setting, f"（{self.exe} 无法运行：{exc}）") from exc
            try:
                returncode = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                log.warning("soffice timed out after %s s, killed: %s", timeout, _tail(log_path))
                return (
                    f"LibreOffice 转换此文件超过 {timeout:g} 秒仍未完成（已重试一次），"
                    "文件可能已损坏或过于复杂。" + _FIX
                )
        if returncode != 0:
            _kill_group(proc)  # helpers it may have left behind
            log.warning("soffice exited with %s: %s", returncode, _tail(log_path))
            return f"LibreOffice 转换此文件时异常退出（代码 {returncode}，已重试一次），文件可能已损坏。" + _FIX
        log.debug("soffice: %s", _tail(log_path))
        return None

    def _reset_profile(self) -> None:
        """Throw the profile away (after a timeout or crash it may be damaged or still locked)."""
        self.resets += 1
        shutil.rmtree(self.profile_dir, ignore_errors=True)


# Documents from outside may link pictures, style sheets or templates on the web; opening them must not
# fetch anything (it would tell the sender the file was opened, and from where). Links from documents
# are blocked, every web request goes to a proxy on a closed local port, and macros never run.
_OFFLINE_MARK = "shuangsui-offline"
_OFFLINE_ITEMS = [
    ("/org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks", "true"),
    ("/org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution", "true"),
    ("/org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "3"),
    ("/org.openoffice.Inet/Settings", "ooInetProxyType", "1"),
    *[("/org.openoffice.Inet/Settings", f"ooInet{kind}ProxyName", "127.0.0.1") for kind in ("HTTP", "HTTPS", "FTP")],
    *[("/org.openoffice.Inet/Settings", f"ooInet{kind}ProxyPort", "9") for kind in ("HTTP", "HTTPS", "FTP")],
    ("/org.openoffice.Inet/Settings", "ooInetNoProxy", ""),
]


def offline_profile(profile_dir: Path) -> None:
    """Make the profile's settings keep soffice off the network (written before its first start)."""
    xcu = profile_dir / "user" / "registrymodifications.xcu"
    text = xcu.read_text(encoding="utf-8", errors="replace") if xcu.is_file() else ""
    if _OFFLINE_MARK in text:
        return
    items = "".join(f'<item oor:path="{path}"><prop oor:name="{name}" oor:op="fuse"><value>{value}</value>'
                    f"</prop></item>\n" for path, name, value in _OFFLINE_ITEMS)
    if "</oor:items>" in text:
        text = text.replace("</oor:items>", f"<!-- {_OFFLINE_MARK} -->\n{items}</oor:items>", 1)
    else:
        text = ('<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
                'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
                f"<!-- {_OFFLINE_MARK} -->\n{items}</oor:items>\n")
    xcu.parent.mkdir(parents=True, exist_ok=True)
    tmp = xcu.with_name(f"{xcu.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(xcu)


def _stage(source: Path, link: Path) -> Path:
    """``link`` pointing at ``source`` (a symlink, or a copy where links are not possible)."""
    try:
        link.symlink_to(source.resolve())
    except OSError:
        shutil.copyfile(source, link)
    return link


def _address_space_limited() -> bool:
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    return soft != resource.RLIM_INFINITY


def _lift_address_space_limit() -> None:
    # In the analysis worker (intake.worker) the soft RLIMIT_AS bounds Python's parsing; LibreOffice
    # has its own timeout and is not bounded by it. Runs only there, where no other thread exists.
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def kill_strays(profile_dir: Path) -> list[int]:
    """Kill every soffice still running on ``profile_dir``; returns their pids.

    Called with the profile lock held, so such a process belongs to a holder that was killed (kill -9,
    the OOM killer) while converting: its soffice, in a session of its own, runs on. A new soffice on the
    same profile would hand its files to that one and wait on it, up to its timeout, for nothing.
    """
    marker = f"-env:UserInstallation={profile_dir.resolve().as_uri()}".encode()
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if marker in args:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
    if killed:
        log.warning("killed LibreOffice left running on %s by a stopped run: %s", profile_dir, killed)
    return killed


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process group of ``proc`` (soffice's wrapper, oosplash, soffice.bin) and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:].strip()
    except OSError:
        return ""


class ConverterPool(_Converting):
    """``size`` converters, each with its own profile, shared by threads.

    ``convert`` runs on whichever converter is free; ``convert_many`` splits the files into one
    share per converter and converts the shares in parallel (same arguments and result as
    ``Converter.convert_many``). ``profile_root`` (default: a temporary folder) holds
    ``worker-<n>`` for each converter.
    """

    def __init__(
        self,
        size: int = DEFAULT_POOL_SIZE,
        soffice: str = "soffice",
        *,
        profile_root: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one converter")
        self.converters: tuple[Converter, ...] = tuple(
            Converter(
                soffice,
                profile_root=None if profile_root is None else profile_root / f"worker-{n}",
                timeout=timeout,
                batch_size=batch_size,
            )
            for n in range(size)
        )
        self._idle: queue.SimpleQueue[Converter] = queue.SimpleQueue()
        for converter in self.converters:
            self._idle.put(converter)

    @contextlib.contextmanager
    def _worker(self) -> Iterator[Converter]:
        converter = self._idle.get()
        try:
            yield converter
        finally:
            self._idle.put(converter)

    def _convert_items(self, items: list[_Item], request: _Request) -> _Results:
        """One share of ``items`` per converter, converted in parallel (a single share on the calling
        thread, by whichever converter is free)."""
        shares = [items[n :: len(self.converters)] for n in range(len(self.converters))]
        shares = [share for share in shares if share]

        def run(share: list[_Item]) -> _Results:
            with self._worker() as converter:
                return converter._convert_items(share, request)

        if len(shares) <= 1:
            return run(shares[0]) if shares else ({}, {})
        outputs: dict[Path, Path] = {}
        failures: dict[Path, str] = {}
        with ThreadPoolExecutor(max_workers=len(shares), thread_name_prefix="soffice") as executor:
            for done, failed in executor.map(run, shares):
                outputs.update(done)
                failures.update(failed)
        return outputs, failures

    def close(self) -> None:
        """Remove the profile folders the converters created."""
        for converter in self.converters:
            converter.close()
