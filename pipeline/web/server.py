"""Running the office page: uvicorn in the foreground (``serve``) or in a thread (``watch --serve``)."""

from __future__ import annotations

import threading
import time

import uvicorn

from pipeline.cases.context import Context
from pipeline.core.errors import BadArgsError
from pipeline.web.app import WebConfig, create_app
from pipeline.web.security import is_loopback

STARTUP_TIMEOUT_S = 10.0


def check_bind(host: str, password_hash: str) -> None:
    """Anything but loopback is reachable from the office network: it needs a password."""
    if not is_loopback(host) and not password_hash:
        raise BadArgsError(f"监听地址 {host} 可被局域网访问，必须先设置密码：运行 shuangsui serve --set-password，"
                           "或只在本机访问（不加 --host）。")


def make_server(ctx: Context, host: str, port: int, config: WebConfig) -> uvicorn.Server:
    check_bind(host, config.password_hash or "")
    return uvicorn.Server(uvicorn.Config(create_app(ctx, config), host=host, port=port, log_level="warning",
                                         access_log=False, lifespan="off"))


def serve(ctx: Context, host: str, port: int, config: WebConfig) -> None:
    """Serve until Ctrl-C or SIGTERM."""
    make_server(ctx, host, port, config).run()


def start_in_thread(ctx: Context, host: str, port: int, config: WebConfig) -> tuple[uvicorn.Server, threading.Thread]:
    """Start serving in a daemon thread; returns once the socket listens (the caller sets ``should_exit``)."""
    server = make_server(ctx, host, port, config)
    thread = threading.Thread(target=server.run, name="shuangsui-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise BadArgsError(f"办公网页无法在 {host}:{port} 启动（端口被占用？）。请换一个端口（设置 web_port）。")
    return server, thread
