"""Small constructors of ``Finding``s for the pipeline's own messages (file-level problems).

The bureau's rules live in ``pipeline.rules.bureau``.
"""

from __future__ import annotations

from pipeline.core.codes import FindingCode, Severity
from pipeline.core.models import Finding


def error(code: FindingCode, field: str | None, message: str) -> Finding:
    return Finding(code.value, Severity.error.value, field, message)


def warning(code: FindingCode, field: str | None, message: str) -> Finding:
    return Finding(code.value, Severity.warning.value, field, message)
