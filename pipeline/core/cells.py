"""Cell values that spreadsheets would not run as formulas (CSV/formula injection, OWASP).

Every text value that we write into an .xlsx or .csv someone else opens goes through ``neutralise``:
a leading ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return, which some programs strip before
looking) would make Excel or LibreOffice evaluate the cell. A leading apostrophe keeps the text
visible as written and makes it inert; numbers, dates and ``None`` pass through unchanged.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    """True for text that a spreadsheet would treat as the start of a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def neutralise(value: T) -> T:
    """``value`` made inert for spreadsheets: formula-looking text gets a leading apostrophe."""
    if is_formula_like(value):
        return "'" + value  # type: ignore[operator,return-value]
    return value
