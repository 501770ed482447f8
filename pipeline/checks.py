"""Small constructors of ``Finding``s for the pipeline's own messages (file-level problems).

The bureau's rules live in ``pipeline.rules``.
"""

from __future__ import annotations

from pipeline.codes import FindingCode, Severity
from pipeline.models import Finding


def error(code: FindingCode, field: str | None, message: str) -> Finding:
    return Finding(code.value, Severity.error.value, field, message)


def warning(code: FindingCode, field: str | None, message: str) -> Finding:
    return Finding(code.value, Severity.warning.value, field, message)
