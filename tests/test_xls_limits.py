"""Limits on legacy .xls workbooks, checked before xlrd builds them (issue #10; ``core/biff.py``).

The hostile workbooks are made the honest way: an .xlsx written with openpyxl, saved as .xls by
LibreOffice. xlrd would pad the sheet with one cell at IV65536 to 16 million cells.
"""

from __future__ import annotations

import datetime as dt
import random
import resource
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.core import limits
from pipeline.core.biff import book_shape, workbook_stream
from pipeline.core.errors import InputFileError
from pipeline.core.limits import check_input
from pipeline.core.settings import Settings
from pipeline.core.sniff import detect_kind
from pipeline.documents.libreoffice import ConverterPool
from pipeline.extract import extract_file
from pipeline.samples.fictional import check_table_fields, make_companies, make_inspectors
from pipeline.samples.xlsx import write_check_table_xlsx
from tests.system_deps import require_soffice

pytestmark = pytest.mark.libreoffice


def _far_corner(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet["A1"] = "被抽查单位"
    sheet["IV65536"] = 1  # the last cell of a BIFF8 sheet
    book.save(path)
    return path


def _many_sheets(path: Path) -> Path:
    """Five sheets: the test lowers the limit (LibreOffice takes a minute to write hundreds)."""
    book = Workbook()
    for n in range(4):
        book.create_sheet(f"表{n}")["A1"] = n
    book.save(path)
    return path


def _merged(path: Path) -> Path:
    book = Workbook()
    book.active.merge_cells("A1:IV5000")  # 1.28 million cells covered
    book.save(path)
    return path


def _check_table(path: Path) -> Path:
    rng = random.Random(77)
    fields = check_table_fields(rng, make_companies(rng, 1)[0], make_inspectors(rng, 2), dt.datetime(2026, 11, 9, 9, 30))
    write_check_table_xlsx(path, fields, bureau=Settings().bureau)
    return path


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require_soffice()
    base = tmp_path_factory.mktemp("xls")
    sources = [build(base / f"{name}.xlsx") for name, build in
               (("角落", _far_corner), ("多表", _many_sheets), ("合并", _merged), ("检查表", _check_table))]
    with ConverterPool(1) as pool:
        made = pool.convert_many(sources, "xls", base / "xls")
    return {source.stem: made[source] for source in sources}


@pytest.mark.parametrize("name, message", [
    ("角落", "65536 行 × 256 列"),
    ("多表", "工作簿有 5 个工作表，上限为 3 个"),
    ("合并", "超过 1000000 个单元格"),
])
def test_a_hostile_xls_is_refused_before_xlrd_reads_it(workbooks: dict[str, Path], name: str, message: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_SHEETS", 3)
    path = workbooks[name]
    assert detect_kind(path) == "xls"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(InputFileError) as info:
        extract_file(path)
    assert info.value.code == "FILE_TOO_COMPLEX"
    assert message in info.value.message, info.value.message
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"peak memory grew by {grown_mb:.0f} MB: xlrd built the sheet"


def test_the_shape_is_what_xlrd_would_build(workbooks: dict[str, Path]) -> None:
    corner = book_shape(workbook_stream(workbooks["角落"].read_bytes()) or b"")
    assert [(s.rows, s.columns) for s in corner.sheets] == [(65536, 256)]
    many = book_shape(workbook_stream(workbooks["多表"].read_bytes()) or b"")
    assert len(many.sheets) == many.declared_sheets == 5
    merged = book_shape(workbook_stream(workbooks["合并"].read_bytes()) or b"")
    assert merged.sheets[0].merged_cells == 256 * 5000


def test_an_ordinary_xls_check_table_passes_and_is_read(workbooks: dict[str, Path]) -> None:
    path = workbooks["检查表"]
    check_input(path, "xls")
    shape = book_shape(workbook_stream(path.read_bytes()) or b"")
    assert 0 < shape.sheets[0].cells < 10_000
    assert extract_file(path, display_name="检查表.xls").form == "check_table"
