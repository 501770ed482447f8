"""Signed scans in the pipeline: match each form in a scan to its case, record its box evidence.

Matching order (issue 5): the QR code printed by the pipeline (case number); then the file or
folder name (the typed file's name, the company name, or its 统一社会信用代码); then printed text
read from the scan by OCR (``pipeline.cases.scanmatch``: unit name or 统一社会信用代码, date, inspectors;
several candidate cases are never guessed between: a person chooses, ``pipeline.cases.scanchoice``). A form that matches nothing waits in ``outbox/待匹配/``
and is tried again at the end of every pass, so a scan dropped before its typed file finds it later.
The analysis itself (QR codes, registration, ink and seal shares) lives in ``pipeline.scan``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cases.context import Context
from pipeline.cases.scanchoice import chosen_case, question_key, text_match, unit_of_uscc
from pipeline.core.codes import OPEN_STATES, FileStatus, FindingCode
from pipeline.core.evidence import CHECK_TABLE, ELECTRONIC, FORM_LABELS, ScanBoxRow
from pipeline.core.models import Finding
from pipeline.core.names import portable_name
from pipeline.core.text import company_key
from pipeline.store import CaseRow, NewScanBox, StoreTx
from pipeline.store.outbox import UNMATCHED

if TYPE_CHECKING:
    from pipeline.scan import ScanAnalysis

SCAN_KINDS = ("image", "pdf")
# A typed file whose name a scan may carry: one in its case's record.
_ATTACHED = (FileStatus.accepted, FileStatus.waiting)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
_USCC = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
# Words people add to a scan's name; stripped before comparing it with the typed file's name.
_NAME_NOISE = re.compile(r"(签字盖章|签字|盖章|扫描件|扫描|已签|scan(ned)?|signed|copy|副本|\(\d+\)|（\d+）|[-_ .]+)",
                         re.IGNORECASE)


@dataclass(frozen=True)
class PlannedBox:
    box: str
    present: bool | None
    score: float
    page: int
    bbox: tuple[int, int, int, int] | None
    crop: str | None  # path of the saved crop (uncertain boxes), for the 待审核 material


@dataclass(frozen=True)
class PlannedScan:
    seq: int
    form: str | None
    pages: tuple[int, ...]
    qr_case: str | None
    case_id: str | None
    matched_by: str | None
    hints: Mapping[str, str]
    boxes: tuple[PlannedBox, ...]
    warnings: tuple[str, ...]


def looks_like_scan(path: Path) -> bool:
    """By name only (for ordering a pass): an image, or a file named as a signed copy."""
    return path.suffix.lower() in IMAGE_SUFFIXES or any(w in path.stem for w in ("签字", "扫描", "盖章"))


def is_scan_candidate(kind: str) -> bool:
    return kind in SCAN_KINDS


def plan_scans(analysis: ScanAnalysis, *, name: str, rel: str, sha256: str, ctx: Context,
               default_case: str | None = None) -> list[PlannedScan]:
    """Each form in the scan, matched (or not) to a case, with its boxes; crops saved for a person."""
    planned = []
    for seq, doc in enumerate(analysis.documents):
        case_id, how, warnings = match_document(qr_case=doc.case_id, hints=doc.fields, name=name, rel=rel,
                                                ctx=ctx)
        if case_id is None and default_case is not None:
            case_id, how = default_case, "text"  # a mixed PDF: its typed pages name the case
        form = doc.form or (_form_of_typed_match(ctx, name, rel) if case_id else None)
        boxes = tuple(PlannedBox(e.box, e.present, float(e.score), e.page, e.bbox or None,
                                 _save_crop(ctx, sha256, seq, e.box, e.crop_png))
                      for e in doc.evidence.values())
        planned.append(PlannedScan(seq, form, tuple(doc.pages), doc.case_id, case_id, how, dict(doc.fields),
                                   boxes, tuple(doc.warnings) + tuple(warnings)))
    return planned


def electronic_scan(evidence: Mapping[str, Mapping[str, object]]) -> PlannedScan | None:
    """The 电子签章 found in a typed check table's cells, recorded like a scan of its form (source
    electronic); its case is the typed file's, set by the caller."""
    boxes = tuple(PlannedBox(box, True, float(str(e.get("score") or 0.0)), 0, None, None)
                  for box, e in evidence.items() if e.get("source") == ELECTRONIC and e.get("present") is True)
    return PlannedScan(0, CHECK_TABLE, (), None, None, ELECTRONIC, {}, boxes, ()) if boxes else None


def box_rows(planned: PlannedScan, file_name: str) -> list[ScanBoxRow]:
    """The boxes of a planned scan as the store will give them back (for an evaluation before the commit)."""
    source = ELECTRONIC if planned.matched_by == ELECTRONIC else "scan"
    return [ScanBoxRow(0, planned.form or "", file_name, b.box, b.present, b.score, b.page, b.crop, source)
            for b in planned.boxes]


def match_document(*, qr_case: str | None, hints: Mapping[str, str], name: str, rel: str,
                   ctx: Context) -> tuple[str | None, str | None, list[str]]:
    """(case id, how it was matched, warnings) for one form of a scan, on first sight and when
    tried again: its QR code, then the file or folder name, then printed text read from it."""
    warnings: list[str] = []
    if qr_case:
        if ctx.store.get_case(qr_case) is not None:
            return qr_case, "qr", warnings
        warnings.append(f"扫描件二维码上的案卷编号 {qr_case} 在本系统中不存在，改按文件名匹配。")
    case_id = match_by_name(ctx, name, rel)
    if case_id:
        return case_id, "name", warnings
    # Printed text (OCR of a form without a QR code): one open case or none, never a guess.
    found = text_match(ctx, hints)
    if found.case_id is not None:
        return found.case_id, "text", warnings
    if found.candidates:
        warnings.append(f"扫描件上读出的企业名称或日期符合案卷 {'、'.join(found.candidates)}，无法自动确定："
                        "已列入发件箱的“待审核.xlsx”，请在其中选择所属案卷后放回收件箱"
                        "（或把扫描件改名为对应电子版检查表的文件名后重新放入）。")
    return None, None, warnings


def match_by_name(ctx: Context, name: str, rel: str) -> str | None:
    """A case named by the scan's file or folder name: a typed file's name, a company, a USCC."""
    parts = [Path(name).stem, *Path(rel).parts[:-1]]
    keys = [k for k in (_name_key(p) for p in parts) if len(k) >= 4]
    typed = [f for f in ctx.store.typed_files() if f.case_id is not None and f.status in _ATTACHED]
    # The typed file's own name first; a name that only starts like several typed files
    # (检查表-某公司 vs 检查表-某公司-查处) names none of them.
    typed_keys = [(_name_key(Path(row.original_name).stem), str(row.case_id)) for row in typed]
    exact = {case for key, case in typed_keys if key in keys}
    if len(exact) == 1:
        return exact.pop()
    prefix = {case for key, case in typed_keys
              if len(key) >= 4 and any(k.startswith(key) or key.startswith(k) for k in keys)}
    if len(prefix) == 1:
        return prefix.pop()
    for part in parts:
        for code in _USCC.findall(part.upper()):
            unit = unit_of_uscc(ctx, code)
            if unit and (case := _only_open_case(ctx, company_key(unit))) is not None:
                return case.id
    for key in keys:
        for case in _open_cases(ctx):
            if case.unit_key and len(case.unit_key) >= 4 and case.unit_key in key:
                same_unit = [c for c in _open_cases(ctx) if c.unit_key == case.unit_key]
                return case.id if len(same_unit) == 1 else None
    return None


def _name_key(stem: str) -> str:
    return company_key(_NAME_NOISE.sub("", stem))


def _open_cases(ctx: Context) -> list[CaseRow]:
    return [c for c in ctx.store.list_cases() if c.status in OPEN_STATES]


def _only_open_case(ctx: Context, unit_key: str) -> CaseRow | None:
    cases = [c for c in _open_cases(ctx) if c.unit_key == unit_key]
    return cases[0] if len(cases) == 1 else None



def _form_of_typed_match(ctx: Context, name: str, rel: str) -> str | None:
    """A scan with no QR code matched by the typed file's name is that file's form."""
    key = _name_key(Path(name).stem)
    typed = [(_name_key(Path(r.original_name).stem), str(r.form)) for r in ctx.store.typed_files()]
    exact = {form for typed_key, form in typed if typed_key == key}
    prefix = {form for typed_key, form in typed
              if len(typed_key) >= 4 and (key.startswith(typed_key) or typed_key.startswith(key))}
    for found in (exact, prefix):
        if len(found) == 1:
            return found.pop()
    return None


def _save_crop(ctx: Context, sha256: str, seq: int, box: str, png: bytes | None) -> str | None:
    if not png:
        return None
    folder = ctx.settings.data_dir / "crops"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha256[:16]}-{seq}-{box}.png"
    path.write_bytes(png)
    return str(path)


def scan_findings(planned: Sequence[PlannedScan], name: str) -> list[Finding]:
    out = []
    for p in planned:
        label = FORM_LABELS.get(p.form or "", "表单")
        pages = "、".join(str(i + 1) for i in p.pages)
        if p.case_id is None:
            out.append(Finding(FindingCode.scan_pending.value, "waiting", "file",
                               f"扫描件“{name}”第 {pages} 页（{label}）无法确定属于哪个案卷：没有本系统打印的二维码，"
                               "文件名也未写明企业名称或对应电子版的文件名。请把扫描件改名为对应电子版检查表的文件名"
                               "（或企业名称）后重新放入；对应电子版放入后也会自动再次匹配。", None))
        elif p.form is None:
            out.append(Finding(FindingCode.scan_pending.value, "waiting", "file",
                               f"扫描件“{name}”第 {pages} 页无法识别是检查表还是现场检查笔录，签字盖章无法核对。"
                               "请打印 发件箱/打印/案卷编号/ 中带二维码的表单（办公网页上也可打印），签字后重新扫描。", None))
        out.extend(Finding(FindingCode.extraction_warning.value, "warning", None, w, None) for w in p.warnings)
    return out


def record_scans(tx: StoreTx, file_id: int, planned: Iterable[PlannedScan]) -> None:
    """Inside the file's commit transaction. A form of unknown kind waits unmatched (its boxes
    cannot be checked against a form)."""
    for p in planned:
        matched = p.case_id if p.form else None
        tx.add_scan_document(file_id, p.seq, case_id=matched, form=p.form, pages=p.pages, qr_case=p.qr_case,
                             matched_by=p.matched_by if p.form else None, hints=dict(p.hints),
                             boxes=[NewScanBox(b.box, b.present, b.score, b.page, b.bbox, b.crop) for b in p.boxes])
        if matched:
            tx.log("case", matched, "scan_attached", {"file": file_id, "form": p.form, "pages": list(p.pages),
                                                      "matched_by": p.matched_by})


def note_name(original_name: str) -> str:
    return f"{UNMATCHED}/{portable_name(original_name)}.说明.txt"


def rematch_unmatched(ctx: Context) -> list[str]:
    """Try every waiting scan form again (a typed file or a list may have arrived); the cases it
    joins are returned for evaluation."""
    touched: list[str] = []
    for scan, file in ctx.store.unmatched_scans():
        how: str | None = "person"
        case_id = chosen_case(ctx, scan.id)  # a 待审核 answer naming the case
        if case_id is None:
            case_id, how, _ = match_document(qr_case=scan.qr_case, hints=scan.hints, name=file.original_name,
                                             rel=file.inbox_path, ctx=ctx)
        if case_id is None or how is None:
            continue
        form = scan.form or _form_of_typed_match(ctx, file.original_name, file.inbox_path)
        if form is None:
            continue
        with ctx.store.begin() as tx:
            tx.withdraw_questions(question_key(scan.id))  # a question left on a case published meanwhile
            if tx.match_scan_document(scan.id, case_id, form, how) == 0:
                tx.accept_scan_file(file.id, case_id)
                (ctx.settings.outbox / note_name(file.original_name)).unlink(missing_ok=True)
            tx.log("case", case_id, "scan_attached", {"file": file.id, "form": form, "matched_by": how,
                                                      "later": True})
        touched.append(case_id)
    return sorted(set(touched))
