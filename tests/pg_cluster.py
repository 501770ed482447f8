"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, a free port on 127.0.0.1,
the unix socket in that folder, fsync off. Started once per test session (``conftest.pg_cluster``); each
test gets a database of its own (``Cluster.new_database``).

initdb refuses to run as root (CI runs ``make test`` as root), so as root the cluster runs as the
``postgres`` user the Debian package creates (else ``nobody``). A missing PostgreSQL fails the test with
the fix-it message, like a missing LibreOffice (``system_deps``).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

INSTALL_HINT = "请运行 scripts/install-system-deps.sh（apt-get install postgresql）后再测试。"


def find_pg_bin() -> Path | None:
    """The newest Debian PostgreSQL bin folder, else the folder of an ``initdb`` on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="shuangsui-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = next(u for u in ("postgres", "nobody") if _user_exists(u))
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode:
            log = self.root / "log"
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stdout}{done.stderr}"
                               f"{log.read_text(errors='replace') if log.exists() else ''}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options)

    def url(self, database: str = "postgres") -> str:
        # Through the unix socket: on a busy machine a round trip costs a fraction of TCP's.
        return f"postgresql://postgres@/{database}?host={self.root}&port={self.port}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"t{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data))
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
