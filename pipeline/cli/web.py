"""``shuangsui serve``: the office page; ``serve --set-password`` sets its password."""

from __future__ import annotations

import argparse
import getpass
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.cli.common import console, folder_args, out, settings_from, with_context
from pipeline.core.errors import BadArgsError
from pipeline.core.settings import CONFIG_ENV, DEFAULT_CONFIG_NAME
from pipeline.web.app import WebConfig
from pipeline.web.security import hash_password
from pipeline.web.server import serve

_HASH_LINE = re.compile(r"(?m)^\s*web_password_hash\s*=.*$")


def register(sub: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add this module's sub-parsers to ``sub``; return their handlers by command name."""
    p = sub.add_parser("serve", help="启动办公网页（案卷、期限、待审核问题、打印表单）",
                       description="在浏览器中查看所有案卷和期限、回答待审核问题、打印带二维码的表单。"
                                   "缺省只允许本机访问（127.0.0.1）；用 --host 0.0.0.0 对局域网开放前必须先设置密码。")
    folder_args(p)
    p.add_argument("--host", help="监听地址（缺省：设置 web_host，即 127.0.0.1）")
    p.add_argument("--port", type=int, help="端口（缺省：设置 web_port，即 8080）")
    p.add_argument("--read-only", action="store_true", help="只读：不能在网页上回答问题或生成表单")
    p.add_argument("--set-password", action="store_true",
                   help="设置网页密码（写入配置文件 shuangsui.toml 的 web_password_hash），然后退出")
    return {"serve": cmd_serve}


def cmd_serve(args: argparse.Namespace) -> int:
    if args.set_password:
        return set_password(args)
    settings = settings_from(args)
    host, port = args.host or settings.web_host, args.port or settings.web_port
    ctx = with_context(args)
    try:
        console.print(f"办公网页：http://{host}:{port}/  （按 Ctrl-C 停止）")
        serve(ctx, host, port, WebConfig(read_only=args.read_only, password_hash=settings.web_password_hash or None))
        return 0
    finally:
        ctx.close()


def set_password(args: argparse.Namespace) -> int:
    password = getpass.getpass("新密码：")
    if password != getpass.getpass("再输入一次："):
        raise BadArgsError("两次输入的密码不一致，未修改。")
    line = f'web_password_hash = "{hash_password(password)}"'
    path = Path(args.config or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    # Top-level keys come before any [table] in TOML: a new key goes first.
    text = _HASH_LINE.sub(line, text) if _HASH_LINE.search(text) else f"{line}\n{text}"
    path.write_text(text, encoding="utf-8")
    out.print(f"已设置网页密码（写入 {path}）。重新启动 shuangsui serve 后生效。")
    return 0
