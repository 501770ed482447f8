"""The one error hierarchy of shuangsui.

Every error a user can meet carries an exit code and a Chinese message that says how to fix the
problem. The CLI edge (``pipeline.cli.main``) is the only place that turns them into exit codes; a
traceback is shown only with ``-v``. Modelled on OCRmyPDF's ``exceptions.py``.
"""

from __future__ import annotations

import logging
from enum import IntEnum


class ExitCode(IntEnum):
    ok = 0
    bad_args = 2
    input_file = 3
    missing_dependency = 4
    invalid_config = 5
    store = 6
    output = 7
    template = 8
    package_invalid = 9
    data_folder_busy = 10
    inbox_unavailable = 11
    ctrl_c = 130
    other_error = 15


class ShuangsuiError(Exception):
    """Base error: ``message`` is Chinese and tells the user what to do."""

    exit_code = ExitCode.other_error
    message = "发生未知错误。请加 -v 重新运行以查看详细信息，并联系信息化人员。"
    log_level = logging.WARNING  # how a pass logs it when it leaves the file for the next pass

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        if message:
            self.message = message

    def __str__(self) -> str:
        return self.message


class BadArgsError(ShuangsuiError):
    exit_code = ExitCode.bad_args
    message = "命令参数有误。请运行 shuangsui --help 查看用法。"


class InputFileError(ShuangsuiError):
    """A dropped file cannot be read as a form; the file goes to 退回 with this message."""

    exit_code = ExitCode.input_file
    message = "文件无法识别。请另存为 .docx 后重新放入收件箱。"

    def __init__(self, message: str | None = None, *, field: str | None = None, code: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.code = code or "FILE_UNREADABLE"


class MissingDependencyError(ShuangsuiError):
    exit_code = ExitCode.missing_dependency
    message = "缺少必需的软件组件。请运行 shuangsui doctor 查看缺少什么以及如何安装。"


class ConfigError(ShuangsuiError):
    exit_code = ExitCode.invalid_config
    message = "配置有误。请检查 shuangsui.toml 或 SHUANGSUI_* 环境变量。"


class StoreError(ShuangsuiError):
    exit_code = ExitCode.store
    message = "数据库无法访问。请检查数据目录的权限和磁盘空间。"


class DatabaseUnavailableError(StoreError):
    """The database cannot be used at all (locked by another program, read-only, disk full, I/O error):
    every file would fail the same way, each after the busy timeout, so the pass stops."""

    message = "数据库暂时无法使用。"


def database_unavailable(reason: object) -> DatabaseUnavailableError:
    return DatabaseUnavailableError(
        f"数据库暂时无法使用（{reason}）：可能正被其他程序（备份、数据库工具）占用，或数据目录只读、磁盘已满。"
        "本轮处理已停止，未处理的文件留在收件箱，下一轮自动继续。")


class OutputError(ShuangsuiError):
    exit_code = ExitCode.output
    message = "无法写出结果文件。请检查发件箱目录的权限和磁盘空间。"


class ConversionPending(OutputError):
    """An old-format file waits for a converter (role intake): it stays in the inbox, taken again next pass."""

    message = ("旧格式文件（.doc/.wps/.et 等）正在等待转换机器用 LibreOffice 转换，文件留在收件箱中，"
               "转换完成后自动继续处理。")
    log_level = logging.INFO  # expected while no converter runs, and retried every few seconds: not a warning


class TemplateError(ShuangsuiError):
    exit_code = ExitCode.template
    message = "模板有误。请检查 templates/ 中的模板，或运行 make templates 重新生成。"


class PackageInvalidError(ShuangsuiError):
    """An archival package failed ``shuangsui verify`` (BagIt fixity or the 四性检测)."""

    exit_code = ExitCode.package_invalid
    message = "归档包校验未通过。请查看上面列出的问题，从原件重新生成归档包（shuangsui archive 案卷编号 --force）。"


class DataFolderBusyError(ShuangsuiError):
    """Another ``watch`` or ``process`` holds the data folder's lock (one writer per data folder)."""

    exit_code = ExitCode.data_folder_busy
    message = "另一个 shuangsui 程序正在使用这个数据目录。请先停止它，或等它处理完再运行。"


class InboxUnavailableError(ShuangsuiError):
    """The inbox is missing, or the share it lives on is not mounted."""

    exit_code = ExitCode.inbox_unavailable
    message = "收件箱不可用。请检查共享盘是否已挂载。"
