"""The extractor interface, and the refusals shared by all extractors.

An extractor reads one kind of file (``kinds`` are content kinds from ``pipeline.core.sniff``)
and returns an ``Extraction``. Files that cannot be read raise ``InputFileError`` whose Chinese
message tells staff what is wrong and how to fix it; ``error_for_kind`` builds the message for a
file whose kind no extractor handles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from pipeline.core.errors import InputFileError
from pipeline.core.models import Extraction
from pipeline.core.sniff import KIND_LABELS

__all__ = ["Extractor", "Reader", "error_for_kind"]


@runtime_checkable
class Extractor(Protocol):
    """Reads one form out of a file of one of ``kinds``."""

    name: str
    kinds: frozenset[str]

    def extract(self, path: Path, *, display_name: str | None = None) -> Extraction:
        """Read ``path``; ``display_name`` (default ``path.name``) is what provenance shows."""
        ...


class Reader(Protocol):
    """What an extractor that converts first (the legacy one) needs of the registry it sits in."""

    def extract_file(self, path: Path, display_name: str | None = None) -> Extraction: ...

    def get_extractor(self, kind: str) -> Extractor | None: ...


_SAVE_AS_DOCX = "请在 Word/WPS 中另存为 .docx 后重新放入收件箱。"

# kind → (error code, message). Codes are ``pipeline.core.codes.FindingCode`` values.
_REFUSALS: dict[str, tuple[str, str]] = {
    "empty": ("FILE_EMPTY", "文件为空（0 字节）。请确认文件已完整保存后重新放入收件箱。"),
    "encrypted_ooxml": ("FILE_ENCRYPTED", "文件已加密（设置了打开密码）。请取消密码后重新放入。"),
    "ole2": ("FILE_UNSUPPORTED", "暂不支持旧版格式，请在 Word/WPS 中另存为 .docx 后重新放入。"),
    "zip": (
        "FILE_UNREADABLE",
        "文件是压缩包或已损坏，无法作为 Word 文档打开。如是压缩包，请解压后逐个放入；"
        "如是 Word 文件，请在 Word/WPS 中打开确认无误后重新另存为 .docx。",
    ),
    "text": (
        "FILE_UNSUPPORTED",
        "文件是纯文本，不是 Word 文档（可能只是改了扩展名）。请用局统一的检查表模板填写并保存为 .docx。",
    ),
    "unknown": ("FILE_UNREADABLE", "文件格式无法识别。" + _SAVE_AS_DOCX),
    "unreadable": (
        "FILE_UNREADABLE",
        "文件无法读取（可能正被其他程序占用或已被移走）。请关闭打开它的程序后重新放入收件箱。",
    ),
}
_CORRUPT_DOCX = (
    "FILE_UNREADABLE",
    "文件已损坏，无法作为 Word 文档打开。请在 Word/WPS 中打开确认无误后重新另存为 .docx，再放入收件箱。",
)


def error_for_kind(kind: str) -> InputFileError:
    """The ``InputFileError`` for a file of ``kind`` that cannot be extracted.

    ``kind`` is a sniffed kind, ``"corrupt_docx"`` for a Word file that fails to open, or
    ``"unreadable"`` when the file cannot be read at all (``OSError``). Raise it
    ``from`` the library's exception so that ``-v`` shows the technical reason.
    """
    if kind == "corrupt_docx":
        code, message = _CORRUPT_DOCX
    elif kind in _REFUSALS:
        code, message = _REFUSALS[kind]
    else:
        label = KIND_LABELS.get(kind, kind)
        code, message = "FILE_UNSUPPORTED", f"暂不支持此格式（{label}），请另存为 .docx。"
    return InputFileError(message, field="file", code=code)
