"""What goes into a case's package, read from the store: the originals, the generated outputs and
the event log (without the packaging's own events, so that repackaging an unchanged case gives the
same bytes; without phone numbers and 执法证号 in the log's free text)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.archive.model import Document
from pipeline.cases.context import Context
from pipeline.core.codes import CaseStatus
from pipeline.extract import detect_kind
from pipeline.store import CaseRow, OutputRow
from pipeline.store.originals import sha256_file
from pipeline.store.outbox import ARCHIVE, safe_filename

# Notes that only describe a passing state; they are replaced or removed as the case moves on.
_TRANSIENT_OUTPUTS = frozenset({"waiting_note", "scan_note"})

_FORM_TITLES = {"check_table": "随机抽查事项检查表", "site_record": "现场检查笔录", "scan": "检查文书扫描件"}
_OUTPUT_TITLES = {"public_form_docx": "检查结果公示表", "public_form_pdf": "检查结果公示表（PDF）",
                  "website_pdf": "检查结果公示表（网站公示版）"}

# Actions the packaging itself logs; left out of the package's event log (see the module docstring).
ARCHIVE_ACTIONS = frozenset({"archived", "archive_republished"})

_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:0\d{2,3}-?\d{7,8}|1[3-9]\d{9})(?![0-9A-Za-z])")
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{7,}(?![0-9A-Za-z])")
_PRIVATE_KEYS = frozenset({"phone", "licence_no", "licence", "联系电话", "执法证号"})


class Category:
    """What kind of document an entry is (文件目录 类别), used by the integrity check."""

    CHECK_TABLE = "检查表"
    SITE_RECORD = "现场检查笔录"
    PUBLIC_FORM = "公示表"
    SCAN = "扫描件"
    OTHER = "其他"


@dataclass(frozen=True)
class CaseContent:
    case: CaseRow
    documents: tuple[Document, ...]
    categories: tuple[str, ...]                 # per document, same order
    events: tuple[dict[str, Any], ...]
    completed_on: str                           # YYYY-MM-DD: when the case was published / handed over
    problems: tuple[str, ...]                   # found while collecting (authenticity)


def collect(ctx: Context, case: CaseRow) -> CaseContent:
    """Every document of ``case`` in package order: originals by arrival, then outputs by creation."""
    files = ctx.store.case_files(case.id, with_scans=True)
    scan_forms: dict[int, set[str]] = {}
    for scan in ctx.store.scan_documents(case.id):
        scan_forms.setdefault(scan.file_id, set()).add(scan.form or "")
    outputs = ctx.store.outputs_for_case(case.id)
    problems: list[str] = []
    docs: list[Document] = []
    cats: list[str] = []
    for f in files:
        stored = ctx.originals.path_for(f.sha256)
        if not stored.is_file():
            problems.append(f"原件“{f.original_name}”（SHA-256 {f.sha256[:12]}…）不在原件库中。")
            continue
        form = f.form or ("scan" if f.kind == "image" else "")
        title = (case.unit_name or "") + _FORM_TITLES.get(form, Path(f.original_name).stem)
        if f.id in scan_forms and form == "scan":
            # A signed scan: named for the forms found in it (by their QR codes).
            signed = "、".join(_FORM_TITLES[k] for k in ("check_table", "site_record") if k in scan_forms[f.id])
            title = (case.unit_name or "") + (signed or "检查文书") + "（签字盖章扫描件）"
        date = (case.check_date if form in ("check_table", "site_record") and case.check_date
                else f.received_at[:10])
        seq = len(docs) + 1
        docs.append(Document(seq=seq, role="original", title=title, date=date.replace("-", ""),
                             kind=f.kind or "unknown", source=stored,
                             name=f"{seq:02d}-{safe_filename(f.original_name)}", sha256=f.sha256, size=f.size))
        cats.append({"check_table": Category.CHECK_TABLE, "site_record": Category.SITE_RECORD,
                     "scan": Category.SCAN}.get(form, Category.OTHER))
    latest: dict[str, OutputRow] = {}
    for o in outputs:
        if o.kind not in _TRANSIENT_OUTPUTS and not o.path.startswith(f"{ARCHIVE}/"):
            latest[o.path] = o
    for o in sorted(latest.values(), key=lambda r: r.id or 0):
        path = ctx.settings.outbox / o.path
        if not path.is_file():
            problems.append(f"生成文件 {o.path} 已不在发件箱中。")
            continue
        sha = sha256_file(path)
        if sha != o.sha256:
            problems.append(f"发件箱中的 {o.path} 与生成时登记的 SHA-256 不符（生成后被修改过）。")
        seq = len(docs) + 1
        docs.append(Document(seq=seq, role="output", title=(case.unit_name or "") + _OUTPUT_TITLES.get(
            o.kind, Path(o.path).stem), date=(o.created_at or "")[:10].replace("-", ""), kind=_kind_of(path),
            source=path, name=f"{seq:02d}-{safe_filename(Path(o.path).name)}", sha256=sha,
            size=path.stat().st_size))
        cats.append(Category.PUBLIC_FORM if o.kind.startswith("public_form") else Category.OTHER)
    events = case_events(ctx, case.id, [f.id for f in files])
    return CaseContent(case, tuple(docs), tuple(cats), tuple(events), completed_on(events, case), tuple(problems))


def _kind_of(path: Path) -> str:

    return detect_kind(path)


def case_events(ctx: Context, case_id: str, file_ids: list[int]) -> list[dict[str, Any]]:
    """Events of the case and its files, in order, as JSON-ready dicts (private numbers masked)."""
    out = []
    for e in ctx.store.case_events(case_id, file_ids):
        if is_archive_event(e.action, e.detail):
            continue
        out.append({"id": e.id, "at": e.at, "actor": e.actor, "entity": e.entity, "entity_id": e.entity_id,
                    "action": e.action, "detail": _mask(e.detail)})
    return out


def is_archive_event(action: str, detail: dict[str, Any] | None) -> bool:
    if action in ARCHIVE_ACTIONS:
        return True
    return action == "updated" and detail is not None and detail == {"status": CaseStatus.archived.value}


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("已隐去" if k in _PRIVATE_KEYS and v else _mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str):
        return _LONG_NUMBER.sub("已隐去", _PHONE.sub("已隐去", value))
    return value


def completed_on(events: list[dict[str, Any]] | tuple[dict[str, Any], ...], case: CaseRow) -> str:
    """The day the case was last published or handed over (its Bagging-Date); else its last change."""
    done = (CaseStatus.published.value, CaseStatus.handed_over.value)
    for e in reversed(events):
        if e["action"] in ("updated", "created") and (e["detail"] or {}).get("status") in done:
            return str(e["at"])[:10]
    return (events[-1]["at"] if events else case.updated_at)[:10]


def events_jsonl(events: tuple[dict[str, Any], ...]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in events)
