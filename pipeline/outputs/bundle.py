"""The 综合科 bundle: what the inspecting sections hand to 综合科 for a period (表注1, 第十三条, 第十五条).

``outbox/综合科/<period>/`` and ``outbox/综合科/<period>.zip`` (period ``2026-11`` or ``2026-W47``) hold:

* ``公示表汇总.xlsx`` — ``pipeline.outputs.summary.write_summary`` for the period's month (a week: the month
  its last day falls in);
* ``检查表副本/<案卷编号>-<企业名称>.pdf`` — the check table of every case with a penalty whose check
  ended in the period, converted by LibreOffice to PDF/A (a PDF original is copied; when conversion
  is impossible the original is included as it is and the handover list says so);
* ``处罚结果上传清单.xlsx`` — the 行政处罚决定书 dated in the period, with their due dates for the upload
  to the 行政处罚与行政强制权力网络运行系统 (7 working days, 第十五条) and whether they are overdue;
* ``移交清单.docx`` — every file with its count or pages, a seal area for each side and the 移交人/接收人
  signature and date lines (``pipeline.outputs.handover``);
* ``manifest-sha256.txt`` — ``sha256sum`` lines for every other file (check with ``sha256sum -c``).

Everything is built in a job folder; the folder appears in the outbox by one rename and the zip
through ``pipeline.store.outbox.publish``. The zip is deterministic (``normalize_zip``). An existing bundle
is not rewritten unless ``force``. After each pass ``auto_bundle`` builds the bundle of the period
that ended last (``bundle_interval``: month, week or off) when it does not exist yet and the period
had cases or decisions.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline.cases.context import Context
from pipeline.cases.penalty import PenaltyRow, penalties, sync_penalties
from pipeline.core.cells import neutralise
from pipeline.core.errors import BadArgsError
from pipeline.core.ziputil import normalize_zip
from pipeline.documents.libreoffice import ConversionError, Converting, LibreOfficeMissing
from pipeline.outputs.handover import HandoverItem, write_handover
from pipeline.outputs.publicity import latest_per_decision
from pipeline.outputs.summary import write_summary
from pipeline.store import FileRow
from pipeline.store.outbox import GENERAL_OFFICE, publish, publish_folder, safe_filename

SUMMARY_NAME = "公示表汇总.xlsx"
COPIES_FOLDER = "检查表副本"
UPLOAD_LIST_NAME = "处罚结果上传清单.xlsx"
HANDOVER_NAME = "移交清单.docx"
MANIFEST_NAME = "manifest-sha256.txt"
HANDOVER_CONTENT = "“双随机、一公开”公示表汇总、查处案卷检查表副本、行政处罚结果上传清单"

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_WEEK = re.compile(r"(\d{4})-[Ww](\d{1,2})")
# LibreOffice export filters (PDF/A-2b) by the kind of original.
_WRITER_PDFA = 'writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
_CALC_PDFA = 'calc_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
_SUFFIX_OF_KIND = {"docx": ".docx", "xlsx": ".xlsx", "xls": ".xls", "odt": ".odt", "ods": ".ods",
                   "rtf": ".rtf", "ole2": ".doc", "html": ".html"}
_SHEETS = {"xlsx", "xls", "ods"}


@dataclass(frozen=True)
class Period:
    """A month (``2026-11``) or an ISO week (``2026-W47``), both ends included."""

    name: str
    start: date
    end: date

    @property
    def label(self) -> str:
        if "W" in self.name:
            return f"{self.start.year}年第{int(self.name.split('W')[1])}周（{self.start}至{self.end}）"
        return f"{self.start.year}年{self.start.month}月"

    def contains(self, day: str | None) -> bool:
        return bool(day) and self.start.isoformat() <= str(day)[:10] <= self.end.isoformat()


def parse_period(spec: str) -> Period:
    """``2026-11`` → the month, ``2026-W47`` → the ISO week; a clear message otherwise."""
    spec = spec.strip()
    if m := _WEEK.fullmatch(spec):
        year, week = int(m.group(1)), int(m.group(2))
        try:
            start = date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise BadArgsError(f"期间“{spec}”不对：{year} 年没有第 {week} 周。") from exc
        return Period(f"{year}-W{week:02d}", start, start + timedelta(days=6))
    if (m := _MONTH.fullmatch(spec)) and 1 <= int(m.group(2)) <= 12:
        year, month = int(m.group(1)), int(m.group(2))
        start = date(year, month, 1)
        end = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
        return Period(f"{year}-{month:02d}", start, end)
    raise BadArgsError(f"期间“{spec}”格式不对。请写成 年-月（如 2026-11）或 年-W周（如 2026-W47）。")


def last_ended_period(interval: str, today: date) -> Period:
    """The month or week before the one ``today`` is in."""
    if interval == "week":
        last = today - timedelta(days=today.isoweekday())
        year, week, _ = last.isocalendar()
        return parse_period(f"{year}-W{week}")
    last = today.replace(day=1) - timedelta(days=1)
    return parse_period(f"{last.year}-{last.month}")


@dataclass(frozen=True)
class BundleResult:
    period: Period
    folder: Path
    zip_path: Path
    files: list[str] = field(default_factory=list)  # relative to the bundle folder
    built: bool = True  # False: it existed already and was left alone
    notes: list[str] = field(default_factory=list)


# --- what goes in ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Case:
    id: str
    unit: str
    check_end: str | None


def _penalty_cases(ctx: Context, period: Period) -> list[_Case]:
    out = []
    for r in sorted(ctx.store.penalty_cases(), key=lambda c: c.id):
        record = r.record or {}
        end = (record.get("check_end") or record.get("check_start") or r.check_date or "")[:10] or None
        if period.contains(end):
            out.append(_Case(r.id, r.unit_name or "", end))
    return out


def _period_has_cases(ctx: Context, period: Period) -> bool:
    return any(period.contains(c.check_date) for c in ctx.store.list_cases())


def _decisions(ctx: Context, period: Period) -> list[PenaltyRow]:

    return latest_per_decision([r for r in penalties(ctx, matched=True) if period.contains(r.decision_date)])


def _check_table_file(ctx: Context, case_id: str) -> FileRow | None:
    """The case's latest check table file."""
    files = ctx.store.case_files(case_id, form="check_table")
    return files[-1] if files else None


def _copy_check_tables(ctx: Context, cases: list[_Case], folder: Path) -> tuple[list[Path], list[str]]:
    """PDF copies of the cases' check tables (LibreOffice PDF/A); originals when conversion fails."""

    folder.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    notes: list[str] = []
    converter: Converting | None = None  # the context's pool, or the queue (role intake); not ours to close
    for case in cases:
        row = _check_table_file(ctx, case.id)
        if row is None:
            notes.append(f"案卷 {case.id} 没有检查表文件，未附副本。")
            continue
        original = ctx.originals.path_for(row.sha256)
        stem = safe_filename(f"{case.id}-{case.unit}")
        target = folder / f"{stem}.pdf"
        if row.kind == "pdf":
            shutil.copyfile(original, target)
            made.append(target)
            continue
        try:
            if converter is None:
                converter = ctx.converter()
            pdf_filter = _CALC_PDFA if row.kind in _SHEETS else _WRITER_PDFA
            tmp = folder / ".convert"
            produced = converter.convert(original, "pdf", tmp, pdf_filter,
                                         suffix=_SUFFIX_OF_KIND.get(row.kind or "", ".docx"))
            produced.replace(target)
            shutil.rmtree(tmp, ignore_errors=True)
            made.append(target)
        except (LibreOfficeMissing, ConversionError) as exc:
            fallback = folder / f"{stem}{Path(row.original_name).suffix.lower()}"
            shutil.copyfile(original, fallback)
            made.append(fallback)
            notes.append(f"案卷 {case.id} 的检查表未能转换为 PDF（{exc.message}），已附原件 {fallback.name}。")
    return made, notes


_FIXED_CORE = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)")


def _fixed_times(name: str, data: bytes) -> bytes:
    # openpyxl and python-docx stamp the save time; a bundle built twice should differ only by content.
    return _FIXED_CORE.sub(rb"\g<1>2026-01-01T00:00:00Z\g<2>", data) if name == "docProps/core.xml" else data


def write_upload_list(rows: list[PenaltyRow], cases: dict[str, str], out: Path, today: date) -> Path:
    """处罚结果上传清单.xlsx: one row per decision with its 第十五条 due date (real date cells)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "处罚结果上传清单"
    headers = ("序号", "案卷编号", "企业名称", "统一社会信用代码", "行政处罚决定书文号", "处罚类别", "罚款金额（万元）",
               "处罚决定日期", "上传公开期限", "期限为暂定", "是否逾期")
    ws.append(headers)
    for n, row in enumerate(rows, start=1):
        due = date.fromisoformat(row.due_date) if row.due_date else None
        overdue = ("是" if due < today else "否") if due else ""  # as of the handover day
        fine = row.fields.get("fine_wan")
        ws.append([n, row.case_id, neutralise(cases.get(row.case_id or "", row.party_name or "")),
                   neutralise(row.uscc), neutralise(row.decision_no),
                   neutralise("；".join(row.fields.get("categories") or [])), float(fine) if fine else None,
                   date.fromisoformat(row.decision_date) if row.decision_date else None, due,
                   "" if row.due_certain else "是", overdue])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for r in range(2, ws.max_row + 1):
        ws.cell(r, 8).number_format = ws.cell(r, 9).number_format = "yyyy-mm-dd"
        ws.cell(r, 7).number_format = "0.0000"
    for c, width in enumerate((6, 16, 30, 22, 22, 20, 12, 14, 14, 10, 10), start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = "A2"
    wb.save(out)
    normalize_zip(out, _fixed_times)
    return out


def _pdf_pages(path: Path) -> int | None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return len(PdfReader(path).pages)
    except (PdfReadError, OSError, ValueError):
        return None


def _describe(path: Path, root: Path, counts: dict[str, str]) -> tuple[str, str]:
    rel = path.relative_to(root).as_posix()
    if rel in counts:
        return rel, counts[rel]
    if path.suffix.lower() == ".pdf":
        pages = _pdf_pages(path)
        return rel, f"{pages} 页" if pages else "1 份"
    return rel, "1 份"


def handover_items(files: list[Path], root: Path, counts: dict[str, str]) -> list[HandoverItem]:
    """The rows of 移交清单: each file of the bundle with its count or pages and what it is."""
    explain = {SUMMARY_NAME: "公示表汇总（第十三条）", UPLOAD_LIST_NAME: "处罚结果上传清单（第十五条，7个工作日）",
               MANIFEST_NAME: "SHA-256 校验值"}
    items = []
    for path in files:
        rel, count = _describe(path, root, counts)
        items.append(HandoverItem(rel, count, explain.get(rel, "检查表副本（表注1）" if rel.startswith(COPIES_FOLDER) else "")))
    return items


def write_manifest(root: Path, out: Path) -> Path:
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p != out):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(root).as_posix()}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _zip_folder(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    normalize_zip(out)
    return out


# --- the bundle --------------------------------------------------------------------------------------

def build_bundle(ctx: Context, period: Period | str, *, force: bool = False, today: date | None = None) -> BundleResult:
    """Build the 综合科 bundle of ``period`` (see the module docstring); an existing one is kept
    unless ``force``."""

    period = parse_period(period) if isinstance(period, str) else period
    today = today or date.today()
    settings = ctx.settings
    base = settings.outbox / GENERAL_OFFICE
    dest, zip_dest = base / period.name, base / f"{period.name}.zip"
    if zip_dest.exists() and not force:
        return BundleResult(period, dest, zip_dest, built=False)
    sync_penalties(ctx)
    job = settings.jobs_dir / f"bundle-{period.name}"
    shutil.rmtree(job, ignore_errors=True)
    root = job / period.name
    root.mkdir(parents=True)
    try:
        summary_month = f"{period.end.year}-{period.end.month:02d}"
        write_summary(ctx, root / SUMMARY_NAME, summary_month)
        normalize_zip(root / SUMMARY_NAME, _fixed_times)
        cases = _penalty_cases(ctx, period)
        copies, notes = _copy_check_tables(ctx, cases, root / COPIES_FOLDER)
        decisions = _decisions(ctx, period)
        names = {c.id: c.unit for c in cases}
        for row in decisions:
            if row.case_id and row.case_id not in names:
                case = ctx.store.get_case(row.case_id)
                names[row.case_id] = (case.unit_name if case else None) or row.party_name or ""
        write_upload_list(decisions, names, root / UPLOAD_LIST_NAME, today)
        listed = [root / SUMMARY_NAME, *sorted(copies), root / UPLOAD_LIST_NAME]
        counts = {UPLOAD_LIST_NAME: f"{len(decisions)} 条", SUMMARY_NAME: "1 份"}
        write_handover(handover_items([*listed, root / MANIFEST_NAME], root, {**counts, MANIFEST_NAME: "1 份"}),
                       root / HANDOVER_NAME, giver=f"{settings.bureau}（执法科室）", receiver=settings.section_general,
                       period=period.label, content=HANDOVER_CONTENT, notes=notes, fix_zip=_fixed_times)
        write_manifest(root, root / MANIFEST_NAME)
        zipped = _zip_folder(root, job / f"{period.name}.zip")
        files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        publish_folder(root, dest)
        publish(zipped, zip_dest)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    with ctx.store.begin() as tx:
        tx.mark_penalties_bundled(row.id for row in decisions)
        tx.log("bundle", period.name, "bundle_written", {"files": files, "cases": [c.id for c in cases],
                                                        "decisions": [r.decision_no for r in decisions]})
    return BundleResult(period, dest, zip_dest, files, True, notes)


def auto_bundle(ctx: Context, today: date | None = None) -> list[str]:
    """After a pass: the bundle of the period that ended last, once, when that period had any work."""
    interval = ctx.settings.bundle_interval
    if interval == "off":
        return []
    today = today or date.today()
    period = last_ended_period(interval, today)
    if (ctx.settings.outbox / GENERAL_OFFICE / f"{period.name}.zip").exists():
        return []
    if not (_period_has_cases(ctx, period) or _decisions(ctx, period)):
        return []
    result = build_bundle(ctx, period, today=today)
    return [f"{GENERAL_OFFICE}/{period.name}.zip"] if result.built else []
