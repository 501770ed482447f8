"""A 300-file inbox for the kill -9 tests, made cheaply and known in advance.

A handful of check tables are rendered once per session; the rest are byte-level variants of them
(the unit name rewritten inside ``word/document.xml``), so every input has its own content and its
own case, and the test knows each file's expected end state:

* ``published``: units in the 检查对象名录库 — 公示表 .docx and PDF;
* ``waiting``: units missing from the lists — 待补充 (no LibreOffice, so the batch stays fast);
* ``rejected``: damaged files (random bytes, a cut-off zip, plain text named .docx) — 退回.
"""

from __future__ import annotations

import datetime as dt
import random
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pipeline.core.codes import FileStatus
from pipeline.core.settings import Settings
from pipeline.samples.demo import write_check_table
from pipeline.samples.fictional import Company, check_table_fields, make_companies, make_inspectors


@dataclass(frozen=True)
class BatchFile:
    name: str
    data: bytes
    status: FileStatus
    unit: str | None = None


@dataclass(frozen=True)
class Batch:
    files: tuple[BatchFile, ...]
    companies: tuple[Company, ...]  # the units in the lists
    people: tuple[object, ...]

    def by_status(self, status: FileStatus) -> list[BatchFile]:
        return [f for f in self.files if f.status is status]


def _with_unit(docx: bytes, old: str, new: str) -> bytes:
    """The same check table for another unit: the name replaced in the document part, zip rewritten."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(docx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                assert old.encode() in data, "the unit name is in one run of the rendered table"
                data = data.replace(old.encode(), new.encode())
            dst.writestr(info, data)
    return out.getvalue()


def build_batch(settings: Settings, work: Path, *, published: int = 12, waiting: int = 240,
                rejected: int = 48, seed: int = 1010) -> Batch:
    rng = random.Random(seed)
    companies = make_companies(rng, published)
    people = make_inspectors(rng, 3)
    files: list[BatchFile] = []
    bases: list[tuple[str, bytes]] = []
    work.mkdir(parents=True, exist_ok=True)
    for n, company in enumerate(companies):
        path = work / f"base-{n}.docx"
        fields = check_table_fields(rng, company, people[:2], dt.datetime(2026, 11, 9, 9, 30))
        fields["methods"] = ["书面检查"]  # a written check needs no 现场检查笔录: the case is complete
        write_check_table(path, fields, settings)
        data = path.read_bytes()
        bases.append((company.name, data))
        files.append(BatchFile(f"检查表-{n:03d}.docx", data, FileStatus.accepted, company.name))
    for n in range(waiting):
        old, data = bases[n % len(bases)]
        unit = f"烟台未入库第{n:03d}号贸易有限公司"
        files.append(BatchFile(f"检查表-待补充-{n:03d}.docx", _with_unit(data, old, unit), FileStatus.waiting, unit))
    for n in range(rejected):
        kind = n % 3
        if kind == 0:
            data = rng.randbytes(2000 + n)
        elif kind == 1:
            whole = bases[n % len(bases)][1]
            data = whole[: len(whole) // 2] + n.to_bytes(2, "big")
        else:
            data = f"这不是检查表，第 {n} 号。\n".encode()
        files.append(BatchFile(f"损坏-{n:03d}.docx", data, FileStatus.rejected))
    return Batch(tuple(files), tuple(companies), tuple(people))
