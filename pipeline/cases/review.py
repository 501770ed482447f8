"""The 待审核 loop: open questions go out as ``outbox/待审核.xlsx``; staff answer them and drop it back.

``write_review_sheet`` lists every open question, one row each, with a drop-down of the allowed
answers in the 确认 column. Staff fill 确认, save, and put the file into the inbox; the pipeline
recognises it by content (``is_review_sheet``), reads the answers (``read_review_sheet``) and
records them (``apply_answers``): each answer is checked against the question's options, recorded
with the person's name in the event log, the touched cases are evaluated again, and the sheet is
written anew. The same can be done from the command line (``print_questions``, ``answer_from_cli``).

When nothing is open the sheet is still written and says so in one line, so that a stale sheet in
the outbox never lists questions that were answered in the meantime.
"""

from __future__ import annotations

import io
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.drawing.image import Image as XLImage
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from pipeline.cases import casework, scanchoice, scanwork
from pipeline.core.errors import BadArgsError, InputFileError
from pipeline.core.evidence import CROP_PREFIX
from pipeline.core.models import FIELD_LABELS
from pipeline.store import Question
from pipeline.store.outbox import publish

if TYPE_CHECKING:
    from pipeline.cases.context import Context
    from pipeline.store import Store

REVIEW_SHEET = "待审核.xlsx"  # in the outbox
SHEET_TITLE = "待审核"
NO_QUESTIONS = "目前没有待审核的问题。"
OPTION_SEP = "／"
REMARK_EVENT = "answer_refused"  # an event on a question: why the answer given was not taken
MAX_LIST_VALIDATION = 255  # Excel's limit for an inline list of a data validation

# (header, column width); the reader finds columns by these headers, not by position.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("问题编号", 10), ("案卷编号", 16), ("企业名称", 28), ("栏目", 16), ("问题", 50),
    ("发现的内容", 34), ("可选答案", 30), ("确认", 22), ("备注", 30),
)
ID_COL, ANSWER_COL, FOUND_COL = "问题编号", "确认", "发现的内容"
HEADER_ROW, FIRST_ROW = 2, 3
INSTRUCTION = ("填写方法：在“确认”一列从下拉列表中选择答案（只能选“可选答案”中的一项），保存后把本文件放入收件箱（inbox）。"
               "不要修改“问题编号”一列。详见“填写说明”工作表。")
HELP_LINES = (
    "待审核问题填写说明",
    "",
    "1. 本表列出系统无法自行判断、需要工作人员确认的问题，每行一个问题。",
    "2. 在“确认”一列点击单元格，从下拉列表中选择一个答案；答案必须是“可选答案”一列中的一项。",
    "3. 不确定的问题可以留空，下次再填；留空的行不会被处理。",
    "4. 不要修改“问题编号”一列，也不要删除表头；可以在“备注”一列写说明（仅供参考，系统不保存）。",
    "5. 填好后保存（保持 .xlsx 格式），把本文件放入收件箱（inbox）。系统记录答案和填写人，",
    "   并重新处理相关案卷；发件箱中的“待审核.xlsx”随即更新，只列出仍未回答的问题。",
    "6. 答案不在可选答案中的行不会被采用，原因写在新表该问题的“备注”一列，请重新选择后再放入。",
)

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_ANSWER_FILL = PatternFill("solid", fgColor="FFF2CC")
_WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class ReviewAnswer:
    """One filled 确认 cell: the question, the answer as written (NFKC, stripped), the sheet row."""

    question_id: int
    answer: str
    row: int


@dataclass(frozen=True)
class ReviewResult:
    """``applied``: the recorded answers (as the exact option); ``rejected``: (row, Chinese message)."""

    applied: list[ReviewAnswer] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)  # the cases evaluated again
    outputs: list[str] = field(default_factory=list)  # outputs of that evaluation, relative to the outbox


# --- writing ---------------------------------------------------------------------------------------

def write_review_sheet(store: Store, path: Path, remarks: dict[int, str] | None = None) -> int:
    """Write the sheet of open questions to ``path`` atomically; returns the number of questions.

    ``remarks`` (question id → text) go into 备注, e.g. why the last answer was not taken; remarks
    recorded earlier (``REMARK_EVENT``) stay there until the question is answered.
    """
    remarks = {**recorded_remarks(store), **(remarks or {})}
    open_questions = store.questions(status="open")
    names: dict[str, str] = {}
    for q in open_questions:
        if q.case_id not in names:
            case = store.get_case(q.case_id)
            names[q.case_id] = (case.unit_name if case else None) or ""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET_TITLE
    last = get_column_letter(len(COLUMNS))
    ws.cell(1, 1, INSTRUCTION).font = Font(bold=True, color="C00000")
    ws.merge_cells(f"A1:{last}1")
    ws.row_dimensions[1].height = 32
    ws.cell(1, 1).alignment = Alignment(wrap_text=True, vertical="center")
    for col, (header, width) in enumerate(COLUMNS, start=1):
        cell = ws.cell(HEADER_ROW, col, header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = f"A{FIRST_ROW}"
    answer_col = [h for h, _ in COLUMNS].index(ANSWER_COL) + 1
    validations: dict[str, DataValidation] = {}
    for row, q in enumerate(open_questions, start=FIRST_ROW):
        values: tuple[Any, ...] = (
            q.id, q.case_id, names[q.case_id], FIELD_LABELS.get(q.field or "", q.field or ""), q.prompt,
            q.found or "", OPTION_SEP.join(q.options), "", (remarks or {}).get(q.id, ""))
        for col, value in enumerate(values, start=1):
            _put(ws.cell(row, col), value)
        ws.cell(row, answer_col).fill = _ANSWER_FILL
        _embed_crop(ws, row, q.found)
        formula = _list_formula(q.options)
        if formula is not None:
            if formula not in validations:
                validations[formula] = _validation(formula)
                ws.add_data_validation(validations[formula])
            validations[formula].add(ws.cell(row, answer_col).coordinate)
    if not open_questions:
        ws.cell(FIRST_ROW, 1, NO_QUESTIONS)
        ws.merge_cells(f"A{FIRST_ROW}:{last}{FIRST_ROW}")
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{max(HEADER_ROW, ws.max_row)}"
    help_ws = wb.create_sheet("填写说明")
    help_ws.column_dimensions["A"].width = 100
    for n, line in enumerate(HELP_LINES, start=1):
        help_ws.cell(n, 1, line)
    help_ws.cell(1, 1).font = Font(bold=True, size=14)
    with tempfile.TemporaryDirectory(prefix="shuangsui-review-") as tmp:
        work = Path(tmp) / REVIEW_SHEET
        wb.save(work)
        publish(work, path)
    return len(open_questions)


_CROP_MAX = (260, 90)  # pixels: a box crop fits a row without hiding the next one


def _embed_crop(ws: Any, row: int, found: str | None) -> None:
    """An uncertain signature/seal box: show its crop beside the question (the path stays as text)."""
    if not found or not found.startswith(CROP_PREFIX):
        return
    path = Path(found.removeprefix(CROP_PREFIX))
    if not path.is_file():
        return
    image = XLImage(str(path))
    scale = min(_CROP_MAX[0] / image.width, _CROP_MAX[1] / image.height, 1.0)
    image.width, image.height = int(image.width * scale), int(image.height * scale)
    col = [h for h, _ in COLUMNS].index(FOUND_COL) + 1
    ws.add_image(image, f"{get_column_letter(col)}{row}")
    ws.row_dimensions[row].height = max(ws.row_dimensions[row].height or 15, image.height * 0.75 + 6)


def _put(cell: Cell, value: Any) -> None:
    """Write a value; text is always stored as text (a name such as ``=1+1`` never runs as a formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if value[:1] in ("=", "+", "-", "@"):
            cell.quotePrefix = True  # Excel keeps it text even when the cell is edited
        cell.alignment = _WRAP


def _list_formula(options: Iterable[str]) -> str | None:
    """The inline list for a drop-down, or None when the options cannot be one (comma, quote, too long)."""
    opts = list(options)
    joined = ",".join(opts)
    if not opts or any("," in o or '"' in o for o in opts) or len(joined) > MAX_LIST_VALIDATION:
        return None
    return f'"{joined}"'


def _validation(formula: str) -> DataValidation:
    return DataValidation(
        type="list", formula1=formula, allow_blank=True, showDropDown=False, showErrorMessage=True,
        errorTitle="答案不在可选范围内", error="请从下拉列表中选择一个答案。",
        showInputMessage=True, promptTitle="请选择", prompt="点击右侧箭头，从下拉列表中选择答案。")


# --- reading ---------------------------------------------------------------------------------------

def is_review_sheet(path: Path) -> bool:
    """True when ``path`` is an .xlsx whose header row has 问题编号 and 确认 (by content, not by name)."""
    try:
        # From bytes: the originals store keeps files without their extension, which openpyxl refuses.
        wb = load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=True)
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception:  # any unreadable or non-xlsx file is simply not a review sheet
        return False
    try:
        return any(_find_header(ws) is not None for ws in wb.worksheets)
    finally:
        wb.close()


def read_review_sheet(path: Path) -> list[ReviewAnswer]:
    """The rows whose 确认 is filled. A row whose 问题编号 cannot be read gets question id 0."""
    try:
        # From bytes: the originals store keeps files without their extension, which openpyxl refuses.
        wb = load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=True)
    except MemoryError:
        raise  # over file_memory_mb: the worker says 文件过于复杂, not 文件已损坏
    except Exception as exc:
        raise InputFileError(f"无法打开待审核表：{exc}。请用 Excel 或 WPS 另存为 .xlsx 后重新放入收件箱。") from exc
    try:
        for ws in wb.worksheets:
            found = _find_header(ws)
            if found is None:
                continue
            header_row, columns = found
            id_col, answer_col = columns[ID_COL], columns[ANSWER_COL]
            out = []
            for n, row in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True),
                                    start=header_row + 1):
                answer = _text(row[answer_col] if answer_col < len(row) else None)
                if answer:
                    raw_id = row[id_col] if id_col < len(row) else None
                    out.append(ReviewAnswer(_question_id(raw_id), answer, n))
            return out
    finally:
        wb.close()
    raise InputFileError("待审核表中找不到含“问题编号”和“确认”的表头。请使用发件箱中最新的“待审核.xlsx”填写。")


def _find_header(ws: Any) -> tuple[int, dict[str, int]] | None:
    for n, row in enumerate(ws.iter_rows(min_row=1, max_row=10, values_only=True), start=1):
        columns = {_text(v): i for i, v in enumerate(row) if _text(v)}
        if ID_COL in columns and ANSWER_COL in columns:
            return n, columns
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _question_id(value: Any) -> int:
    text = _text(value)
    return int(text) if text.isdigit() else 0


# --- applying --------------------------------------------------------------------------------------

def apply_answers(ctx: Context, answers: list[ReviewAnswer], actor: str) -> ReviewResult:
    """Check and record the answers, evaluate the touched cases again, and rewrite the sheet."""

    store = ctx.store
    known = {q.id: q for q in store.questions(status=None)}
    applied: list[ReviewAnswer] = []
    rejected: list[tuple[int, str]] = []
    remarks: dict[int, str] = {}
    first_row: dict[int, ReviewAnswer] = {}
    for a in answers:
        q = known.get(a.question_id)
        option = _match(a.answer, q.options) if q else None
        if q is not None and a.question_id in first_row:
            earlier = first_row[a.question_id]
            if option != earlier.answer:
                rejected.append((a.row, f"第 {a.row} 行：问题 {q.id} 在表中填写了两次，"
                                        f"已采用第 {earlier.row} 行的答案“{earlier.answer}”。"))
            continue
        problem = _problem(q, a, option)
        if problem is not None:
            rejected.append((a.row, f"第 {a.row} 行：{problem}"))
            if q is not None and q.status == "open":
                remarks[q.id] = f"上次填写的“{a.answer}”未被采用：{problem}"
            continue
        if q is None or option is None or q.status != "open":
            continue  # the same answer again: already recorded, nothing to do
        recorded = ReviewAnswer(q.id, option, a.row)
        first_row[q.id] = recorded
        applied.append(recorded)
    if applied or remarks:
        with store.begin() as tx:
            for a in applied:
                tx.answer_question(a.question_id, a.answer, actor)
            for question_id, remark in remarks.items():
                # Kept, so that every later copy of the sheet says why (the pass rewrites the sheet).
                tx.log("question", str(question_id), REMARK_EVENT, {"remark": remark}, actor=actor)
    cases = {known[a.question_id].case_id for a in applied}
    if any(scanchoice.is_choice(known[a.question_id].key) for a in applied):
        cases.update(scanwork.rematch_unmatched(ctx))  # the scans a person placed join their case now
    outputs: list[str] = []
    for case_id in sorted(cases):
        done = casework.reevaluate_case(ctx, case_id)
        outputs += list(getattr(done, "outputs", None) or ())
    write_review_sheet(ctx.store, ctx.settings.outbox / REVIEW_SHEET, remarks)
    return ReviewResult(applied, rejected, sorted(cases), outputs)


def recorded_remarks(store: Store) -> dict[int, str]:
    """Question id → the latest recorded remark (why an answer was not taken)."""
    out: dict[int, str] = {}
    for event in store.events("question"):
        if event.action == REMARK_EVENT and event.detail and event.entity_id.isdigit():
            out[int(event.entity_id)] = str(event.detail.get("remark") or "")
    return out


def _problem(q: Question | None, a: ReviewAnswer, option: str | None) -> str | None:
    """Why an answer cannot be taken (Chinese, without the row), or None."""
    if q is None:
        if a.question_id == 0:
            return "没有可识别的问题编号，无法对应到问题。请不要修改“问题编号”一列。"
        return f"问题编号 {a.question_id} 不存在。请使用发件箱中最新的“待审核.xlsx”填写。"
    if q.status == "withdrawn":
        return f"问题 {q.id} 已不需要回答（案卷情况已有变化），本次填写未采用。"
    if q.status == "answered":
        if option == q.answer:
            return None
        return (f"问题 {q.id} 已于 {q.answered_at} 回答为“{q.answer}”，不能再次回答。"
                "如确需更改，请联系系统管理员。")
    if option is None:
        return (f"答案“{a.answer}”不在可选答案（{OPTION_SEP.join(q.options)}）中，请从下拉列表中选择。")
    return None


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _match(answer: str, options: Iterable[str]) -> str | None:
    """The option ``answer`` stands for (ignoring width and spaces), or None."""
    wanted = _norm(answer)
    return next((o for o in options if _norm(o) == wanted), None)


# --- command line ------------------------------------------------------------------------------------



def answer_from_cli(ctx: Context, question_id: int, answer: str, actor: str) -> str:
    """Record one answer given on the command line; returns a Chinese confirmation."""
    q = next((q for q in ctx.store.questions(status=None) if q.id == question_id), None)
    text = _text(answer)
    if q is not None and q.status == "open" and _match(text, q.options) is None:
        example = f"shuangsui review {q.id} {q.options[0]}" if q.options else f"shuangsui review {q.id} 答案"
        raise BadArgsError(f"答案“{text}”不在可选答案（{OPTION_SEP.join(q.options)}）中。"
                           f"请用其中之一，如：{example}")
    result = apply_answers(ctx, [ReviewAnswer(question_id, text, 0)], actor)
    if result.rejected:
        message = result.rejected[0][1].removeprefix("第 0 行：")
        raise BadArgsError(message + " 运行 shuangsui review 查看待审核的问题。")
    if not result.applied:
        return f"问题 {question_id} 已经是这个答案，无需再次回答。"
    recorded = result.applied[0]
    assert q is not None
    case = ctx.store.get_case(q.case_id)
    state = f"，当前状态：{case.status.label}" if case else ""
    return f"已记录问题 {question_id} 的答案“{recorded.answer}”。案卷 {q.case_id} 已重新处理{state}。"
