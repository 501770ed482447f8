"""The analysis of one received file: everything that parses what came from outside, and nothing else.

``analyse_file`` reads the stored copy (sniffing, list sheets, the 待审核 sheet, check tables, site
records, decisions, scans, LibreOffice conversion of old formats; or, for ``shuangsui extract``, any
file named on the command line) and returns plain picklable data, or
the ``InputFileError`` that explains the file. It touches neither the database nor the outbox, so that
it can run in a worker process with memory and time limits (``intake.worker``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.cases import lists, review, scanwork
from pipeline.cases.review import ReviewAnswer
from pipeline.core.codes import FindingCode
from pipeline.core.errors import InputFileError
from pipeline.core.limits import check_input
from pipeline.core.models import Extraction
from pipeline.core.settings import Settings
from pipeline.extract import extract_file
from pipeline.extract.scan import extract_scan
from pipeline.scan import ScanAnalysis, analyse_scan, is_scan


@dataclass(frozen=True)
class AnalysisTask:
    path: Path               # the stored copy (originals store), never the inbox file
    name: str                # the name staff gave it
    kind: str                # sniffed content kind
    is_list: bool            # dropped into inbox/名录库/
    extract_only: bool = False  # ``shuangsui extract``: the form's fields, a scan's evidence, nothing else
    limits_only: bool = False   # only the checks before parsing (role intake, before a queued conversion)


@dataclass(frozen=True)
class Analysed:
    """What a file turned out to be: exactly one of the fields is set, or ``refusal`` explains it (none: a
    ``limits_only`` task passed its checks)."""

    imported_list: lists.ImportedList | None = None
    answers: tuple[ReviewAnswer, ...] | None = None
    scan: ScanAnalysis | None = None
    extraction: Extraction | None = None   # with ``scan``: the typed pages of a mixed PDF
    refusal: Refusal | None = None


@dataclass(frozen=True)
class Refusal:
    """An ``InputFileError`` as plain data (exceptions with keyword arguments do not pickle whole)."""

    message: str
    field: str | None
    code: str

    @classmethod
    def of(cls, exc: InputFileError) -> Refusal:
        return cls(exc.message, exc.field, exc.code)

    def error(self) -> InputFileError:
        return InputFileError(self.message, field=self.field, code=self.code)


def analyse_file(task: AnalysisTask, settings: Settings) -> Analysed:
    try:
        # Before any reader (lists, review sheets, scans, forms) sees the file.
        check_input(task.path, task.kind, max_image_pixels=settings.scan_max_pixels)
        if task.limits_only:
            return Analysed()
        if task.extract_only:
            return Analysed(extraction=_extract(task, settings))
        if task.is_list:
            return Analysed(imported_list=lists.read_list(task.path, display_name=task.name))
        if task.kind == "xlsx" and review.is_review_sheet(task.path):
            return Analysed(answers=tuple(review.read_review_sheet(task.path)))
        if scanwork.is_scan_candidate(task.kind) and is_scan(task.path):
            analysis = analyse_scan(task.path, settings)
            if not analysis.text_pages:
                return Analysed(scan=analysis)
            # A PDF with typed pages and scanned pages: the typed pages are the form.
            return Analysed(scan=analysis, extraction=extract_file(task.path, display_name=task.name, limits_checked=True))
        return Analysed(extraction=extract_file(task.path, display_name=task.name, limits_checked=True))
    except InputFileError as exc:
        return Analysed(refusal=Refusal.of(exc))


def _extract(task: AnalysisTask, settings: Settings) -> Extraction:
    try:
        return extract_file(task.path, display_name=task.name, limits_checked=True)
    except InputFileError as exc:
        if exc.code != FindingCode.scan_pending.value:
            raise
    return extract_scan(task.path, settings)  # an image-only PDF: its evidence, like an image's
