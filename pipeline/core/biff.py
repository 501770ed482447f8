"""The shape of a legacy Excel workbook (.xls: BIFF5/BIFF8 in an OLE2 file), read record by record.

xlrd builds every sheet as a rectangle: each row padded to the widest row, stretched to cover every
merged range, whatever the ``DIMENSIONS`` record says. One cell at IV65536 costs it 16 million cells,
a few hundred megabytes. ``book_shape`` walks the records of the workbook stream with ``struct``,
building no cell, and reports what xlrd would allocate, so that ``limits.check_xls`` can refuse a
hostile workbook before xlrd opens it. The OLE2 container is unpacked by xlrd's ``compdoc`` module,
which reads only the sector chains (its work is bounded by the file's size, checked first).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

from xlrd import compdoc

__all__ = ["BookShape", "SheetShape", "book_shape", "workbook_stream"]

_BOFS = frozenset({0x0809, 0x0409, 0x0209, 0x0009})
_EOF = 0x000A
_WORKSHEET = 0x0010  # BOF substream type
_BOUNDSHEET = 0x0085
_SST = 0x00FC
_MERGEDCELLS = 0x00E5
# Records holding one cell: row and column are their first two 16-bit fields.
_CELLS = frozenset({0x0006, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x00D6, 0x0406})
_MULTI_CELLS = frozenset({0x00BD, 0x00BE})  # MULRK, MULBLANK: row, first column, …, last column
_U16 = struct.Struct("<H")
_HEADER = struct.Struct("<HH")
_RANGE = struct.Struct("<HHHH")  # first row, last row, first column, last column


@dataclass
class SheetShape:
    rows: int = 0      # as xlrd will allocate them: last row used (by a cell or a merge) + 1
    columns: int = 0
    merged_cells: int = 0  # cells covered by merged ranges

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def extend(self, row: int, column: int) -> None:
        self.rows = max(self.rows, row + 1)
        self.columns = max(self.columns, column + 1)


@dataclass
class BookShape:
    sheets: list[SheetShape] = field(default_factory=list)
    declared_sheets: int = 0  # BOUNDSHEET records: xlrd makes a sheet for each
    strings: int = 0          # unique shared strings, as the SST record declares


def workbook_stream(data: bytes) -> bytes | None:
    """The ``Workbook`` (BIFF8) or ``Book`` (BIFF5) stream of an OLE2 file; None when there is none."""
    doc = compdoc.CompDoc(data, logfile=io.StringIO())
    for name in ("Workbook", "Book"):
        mem, base, size = doc.locate_named_stream(name)
        if mem:
            return bytes(mem[base:base + size])
    return None


def book_shape(stream: bytes) -> BookShape:
    """Sheets, their extent and merged cells, shared strings: from the records, building nothing."""
    book = BookShape()
    substreams: list[SheetShape | None] = []  # a worksheet may hold embedded chart substreams
    pos, end = 0, len(stream)
    while pos + 4 <= end:
        kind, length = _HEADER.unpack_from(stream, pos)
        start = pos + 4
        pos = start + length
        if pos > end:
            break  # cut short: xlrd says what is wrong
        sheet = substreams[-1] if substreams else None
        if kind in _BOFS:
            is_sheet = length >= 4 and _U16.unpack_from(stream, start + 2)[0] == _WORKSHEET
            substreams.append(SheetShape() if is_sheet else None)
            if is_sheet:
                book.sheets.append(substreams[-1])  # type: ignore[arg-type]
        elif kind == _EOF:
            if substreams:
                substreams.pop()
        elif kind == _BOUNDSHEET:
            book.declared_sheets += 1
        elif kind == _SST and length >= 8:
            book.strings = struct.unpack_from("<I", stream, start + 4)[0]
        elif sheet is None:
            continue
        elif kind in _CELLS and length >= 4:
            sheet.extend(*_HEADER.unpack_from(stream, start))
        elif kind in _MULTI_CELLS and length >= 6:
            row, _first = _HEADER.unpack_from(stream, start)
            sheet.extend(row, _U16.unpack_from(stream, pos - 2)[0])
        elif kind == _MERGEDCELLS and length >= 2:
            (count,) = _U16.unpack_from(stream, start)
            for n in range(min(count, (length - 2) // _RANGE.size)):
                first_row, last_row, first_col, last_col = _RANGE.unpack_from(stream, start + 2 + n * _RANGE.size)
                sheet.extend(last_row, last_col)
                sheet.merged_cells += (abs(last_row - first_row) + 1) * (abs(last_col - first_col) + 1)
    return book
