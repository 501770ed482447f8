"""An ``argparse`` parser that speaks Chinese: usage, section titles, help and every error message.

argparse builds its texts with ``gettext``; rather than patching the standard library, this parser
sets its own titles and translates the few error messages argparse produces.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

# argparse's error texts (Python 3.11–3.13) → Chinese; the captured groups keep the names and values.
_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"^the following arguments are required: (.+)$", r"缺少参数：\1"),
    (r"^unrecognized arguments: (.+)$", r"无法识别的参数：\1"),
    (r"^argument (.+?): invalid choice: (.+?) \(choose from (.+)\)$", r"参数 \1：无效的选项 \2（可选：\3）"),
    (r"^argument (.+?): invalid int value: (.+)$", r"参数 \1：\2 不是整数"),
    (r"^argument (.+?): invalid float value: (.+)$", r"参数 \1：\2 不是数字"),
    (r"^argument (.+?): invalid (\w+) value: (.+)$", r"参数 \1：\3 格式不对"),
    (r"^argument (.+?): expected one argument$", r"参数 \1 后面需要一个值"),
    (r"^argument (.+?): expected at least one argument$", r"参数 \1 后面至少需要一个值"),
    (r"^argument (.+?): not allowed with argument (.+)$", r"参数 \1 不能和 \2 一起用"),
    (r"^argument (.+?): ignored explicit argument (.+)$", r"参数 \1 不接受值 \2"),
    (r"^ambiguous option: (.+?) could match (.+)$", r"选项 \1 不明确，可能是：\2"),
    (r"^one of the arguments (.+) is required$", r"必须给出其中一个参数：\1"),
))


def translate(message: str) -> str:
    for pattern, chinese in _ERRORS:
        if pattern.match(message):
            return pattern.sub(chinese, message)
    return message


class HelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix="用法：" if prefix is None else prefix)


class ChineseParser(argparse.ArgumentParser):
    """``ArgumentParser`` with Chinese titles, help option and errors (exit code 2, as argparse's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        add_help = kwargs.pop("add_help", True)
        kwargs["add_help"] = False  # our own -h, with Chinese help
        super().__init__(*args, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"错误：{translate(message)}\n运行 {self.prog} -h 查看用法。\n")
