"""The bureau's rules (烟台市工业和信息化局“双随机、一公开”工作细则), as plain functions over ``Facts``.

Each rule yields ``Finding``s with a stable code, a severity, the field, a Chinese message that says
what is wrong and how to fix it, and the article it comes from. Severities decide what happens:
``error`` returns the file to staff, ``waiting`` makes the case wait for data (a list, a site record,
the lower half), ``review`` asks a person (待审核), ``warning`` is only said.

``evaluate(facts)`` runs every rule and also derives what the 公示表 needs (统一社会信用代码, task,
check type, result) and the due dates in Chinese working days.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from pipeline.core import evidence as ev
from pipeline.core.codes import FindingCode, Severity
from pipeline.core.models import FIELD_LABELS, Finding
from pipeline.core.settings import Settings
from pipeline.core.text import company_key
from pipeline.rules.result import RESULT_CATEGORIES, derive_result, mentions_penalty
from pipeline.rules.workdays import Deadline, WorkCalendar
from pipeline.store.base import Ask

METHODS = ("书面检查", "现场检查", "网络监测", "检验检测")  # 第九条
NATIONAL_METHODS = ("实地核查", "第三方验证")  # known to national systems, accepted with a note
TARGETED_WORDS = ("投诉", "举报", "交办", "移送", "转办", "隐患整改", "复查", "非双随机")
NEAR_MATCH_RATIO = 0.85
YES, NO = "是", "否"
CONFIRM_OK, CONFIRM_BAD = "代码无误", "代码有误，需更正名录库"
APPROVAL_DATES = (("dept_opinion_date", "执法科室意见（盖章）"), ("leader_approval_date", "分管领导批准签字"),
                  ("authority_opinion_date", "抽查执法主体意见（盖章）"))
CONFIRMATION_DATES = (("leader_confirmation_date", "分管领导确认签字"), ("authority_seal_date", "抽查执法主体盖章"))
LOWER_HALF = ("situation", "check_start", "handling")


@dataclass(frozen=True)
class Facts:
    """Everything the rules look at for one case."""

    check: Mapping[str, Any]
    settings: Settings
    calendar: WorkCalendar
    today: date
    site_records: Sequence[Mapping[str, Any]] = ()
    roster: Sequence[Mapping[str, Any]] = ()
    directory: Sequence[Mapping[str, Any]] = ()
    tasks: Sequence[Mapping[str, Any]] = ()
    answers: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    evidence: ev.CaseEvidence = field(default_factory=ev.CaseEvidence)

    @property
    def unit(self) -> str:
        return str(self.check.get("inspected_unit") or "")

    @property
    def start(self) -> date | None:
        return _day(self.check.get("check_start"))

    @property
    def end(self) -> date | None:
        return _day(self.check.get("check_end")) or self.start

    @property
    def lower_half_filled(self) -> bool:
        return any(self.check.get(k) for k in LOWER_HALF)

    @property
    def inspectors(self) -> list[Mapping[str, Any]]:
        return [i for i in self.check.get("inspectors") or [] if i.get("name")]

    @property
    def targeted(self) -> bool:
        """A check on a specific target (第二条): marked by staff, or named so in 抽查依据/范围."""
        if "targeted" in self.overrides:
            return bool(self.overrides["targeted"])
        text = f"{self.check.get('basis') or ''}{self.check.get('scope') or ''}"
        return any(w in text for w in TARGETED_WORDS)


@dataclass(frozen=True)
class Evaluation:
    findings: tuple[Finding, ...]
    asks: tuple[Ask, ...]
    uscc: str | None
    task_name: str | None
    check_type: str | None
    result: str | None
    penalty: bool
    due_lower_half: Deadline | None
    due_publish: Deadline | None
    # The unit's name as listed in 检查对象名录库 (found exactly, or a near match a person confirmed), else None.
    unit_name: str | None = None

    def has(self, severity: Severity) -> bool:
        return any(f.severity == severity.value for f in self.findings)


def _day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _f(code: FindingCode, severity: Severity, field: str | None, message: str, article: str | None) -> Finding:
    return Finding(code.value, severity.value, field, message, article)


def _split(text: Any) -> list[str]:
    return [t for t in re.split(r"[、,，;；/\s]+", str(text or "")) if t]


# --- rules on the check table itself (errors return the file) -----------------------------------

def rule_required(f: Facts) -> Iterator[Finding]:
    if not f.unit:
        yield _f(FindingCode.field_missing, Severity.error, "inspected_unit",
                 "“被抽查单位”未填写。请填写被检查企业的全称（与检查对象名录库一致）。", None)
    if f.lower_half_filled and not f.check.get("check_start"):
        yield _f(FindingCode.field_missing, Severity.error, "check_start",
                 "“抽查时间”未填写或无法识别。请按“2026年3月5日9时30分至11时00分”的格式填写。", "第十一条")


def rule_inspectors(f: Facts) -> Iterator[Finding]:
    people = f.inspectors
    if len(people) < 2:
        yield _f(FindingCode.inspectors_too_few, Severity.error, "inspectors",
                 f"抽查执法人员只有 {len(people)} 人，现场检查的执法检查人员不得少于两人（第十条）。"
                 "请补填第二名执法人员的姓名、职务、执法证号和联系电话。", "第十条")
    for n, person in enumerate(people, start=1):
        absent = [label for key, label in (("title", "职务"), ("licence_no", "执法证号"), ("phone", "联系电话"))
                  if not person.get(key)]
        if absent:
            yield _f(FindingCode.inspector_incomplete, Severity.error, "inspectors",
                     f"第 {n} 名执法人员（{person['name']}）缺少{'、'.join(absent)}。请补填后重新放入。", "第十条")


def rule_licences(f: Facts) -> Iterator[Finding]:
    """Each 执法证号 is in the roster, belongs to the person named, and is valid on the check date."""
    pattern = f.settings.licence_pattern
    for person in f.inspectors:
        licence = str(person.get("licence_no") or "")
        if licence and pattern and not re.fullmatch(pattern, licence):
            yield _f(FindingCode.licence_format, Severity.warning, "inspectors",
                     f"{person['name']}的执法证号“{licence}”不符合设定的格式（{pattern}），请核对。", "第六条")
    if not f.roster:
        yield _f(FindingCode.roster_missing, Severity.waiting, "inspectors",
                 "尚未导入执法检查人员名录库，无法核对执法证号。请把名录库 Excel 表放入收件箱的“名录库”文件夹。",
                 "第六条")
        return
    by_licence = {str(r.get("执法证号") or "").strip(): r for r in f.roster}
    on = f.start or f.today
    for person in f.inspectors:
        licence = str(person.get("licence_no") or "")
        if not licence:
            continue
        entry = by_licence.get(licence)
        if entry is None:
            yield _f(FindingCode.licence_unknown, Severity.error, "inspectors",
                     f"{person['name']}的执法证号“{licence}”不在执法检查人员名录库中（第六条）。"
                     "请核对证号；如是新取得执法证的人员，请先更新名录库。", "第六条")
            continue
        if str(entry.get("姓名") or "").replace(" ", "") != str(person["name"]).replace(" ", ""):
            yield _f(FindingCode.licence_name_mismatch, Severity.error, "inspectors",
                     f"执法证号“{licence}”在名录库中属于{entry.get('姓名')}，而检查表上写的是{person['name']}。"
                     "请核对姓名和证号。", "第六条")
        valid_until = _day(entry.get("执法证有效期至"))
        if valid_until is not None and valid_until < on:
            yield _f(FindingCode.licence_expired, Severity.error, "inspectors",
                     f"{person['name']}的执法证（{licence}）有效期至 {valid_until}，早于检查日期 {on}（第十六条）。"
                     "过期人员不得参加检查，请更换执法人员或核对年审情况。", "第十六条")


def rule_recusal(f: Facts) -> Iterator[Finding]:
    """An inspector whose 回避单位 includes the inspected unit must be replaced (第七条)."""
    unit_key = company_key(f.unit)
    codes = {str(d.get("统一社会信用代码") or "") for d in f.directory if company_key(str(d.get("企业名称") or "")) == unit_key}
    by_name = {str(r.get("姓名") or ""): r for r in f.roster}
    by_licence = {str(r.get("执法证号") or ""): r for r in f.roster}
    for person in f.inspectors:
        entry = by_licence.get(str(person.get("licence_no") or "")) or by_name.get(str(person["name"]))
        if entry is None:
            continue
        avoid = _split(entry.get("回避单位"))
        if any(company_key(a) == unit_key or a in codes for a in avoid):
            yield _f(FindingCode.inspector_recusal, Severity.error, "inspectors",
                     f"{person['name']}与“{f.unit}”有利害关系（名录库回避单位），应当回避（第七条）。"
                     "请通过平台重新随机抽取执法检查人员后重新填写。", "第七条")


def rule_methods(f: Facts) -> Iterator[Finding]:
    methods = list(f.check.get("methods") or [])
    if not methods:
        yield _f(FindingCode.method_missing, Severity.error, "methods",
                 "未填写抽查方式。请勾选书面检查、现场检查、网络监测、检验检测中的一种或几种（第九条）。", "第九条")
        return
    for m in methods:
        if m in NATIONAL_METHODS:
            yield _f(FindingCode.method_unknown, Severity.warning, "methods",
                     f"抽查方式“{m}”不在细则第九条所列方式中（国家系统可用），请确认。", "第九条")
        elif m not in METHODS:
            yield _f(FindingCode.method_unknown, Severity.error, "methods",
                     f"抽查方式“{m}”不规范。请从书面检查、现场检查、网络监测、检验检测中选择（第九条）。", "第九条")


def rule_approvals(f: Facts) -> Iterator[Finding]:
    """Before the check: the three approvals, dated on or before the check start (第十一条)."""
    start = f.start
    for key, label in APPROVAL_DATES:
        when = _day(f.check.get(key))
        if when is None:
            yield _f(FindingCode.approval_missing, Severity.error, key,
                     f"“{label}”没有日期。检查表应在检查开始前报批（第十一条），请补填签批日期。", "第十一条")
        elif start is not None and when > start:
            yield _f(FindingCode.approval_after_check, Severity.error, key,
                     f"“{label}”的日期 {when} 晚于检查开始 {start}。检查表应在检查开始前报批（第十一条），请核对日期。",
                     "第十一条")


def rule_dates(f: Facts) -> Iterator[Finding]:
    start, end = f.check.get("check_start"), f.check.get("check_end")
    if start and end and str(end) < str(start):
        yield _f(FindingCode.dates_incoherent, Severity.error, "check_end",
                 f"抽查时间的结束（{end}）早于开始（{start}）。请核对抽查时间。", None)
    keys = ("check_start", "check_end", *(k for k, _ in APPROVAL_DATES + CONFIRMATION_DATES))
    for key in keys:
        when = _day(f.check.get(key))
        if when is None:
            continue
        label = FIELD_LABELS.get(key, key)
        if when.year < 2016 or when.year > f.today.year + 1:
            yield _f(FindingCode.date_implausible, Severity.error, key,
                     f"“{label}”的年份 {when.year} 不合理，请核对。", None)
        elif when > f.today:
            yield _f(FindingCode.date_in_future, Severity.error, key,
                     f"“{label}”的日期 {when} 晚于今天（{f.today}）。请核对日期后重新放入。", None)


def rule_lower_half(f: Facts) -> Iterator[Finding]:
    """After the check: confirmation and seal, within 5 working days of the check end (第十一条)."""
    if not f.lower_half_filled:
        yield _f(FindingCode.lower_half_pending, Severity.waiting, "situation",
                 "检查表后半部分（抽查情况、抽查时间、处理意见和建议）尚未填写。检查结束后 5 个工作日内填写后"
                 "重新放入（第十一条）。", "第十一条")
        return
    missing = [label for key, label in CONFIRMATION_DATES if not f.check.get(key)]
    if missing:
        yield _f(FindingCode.confirmation_missing, Severity.error, CONFIRMATION_DATES[0][0],
                 f"“{'、'.join(missing)}”没有日期。检查结束后须经分管领导确认并由抽查执法主体盖章（第十一条），"
                 "请补填后重新放入。", "第十一条")
        return
    due = lower_half_deadline(f)
    if due is None:
        return
    done = max(d for d in (_day(f.check.get(k)) for k, _ in CONFIRMATION_DATES) if d is not None)
    if due.certain and done > due.due:
        yield _f(FindingCode.lower_half_late, Severity.warning, "leader_confirmation_date",
                 f"检查表后半部分于 {done} 完成，超过检查结束后 5 个工作日的期限（{due.due}，第十一条）。"
                 "如有检验、检测、鉴定、专家评审时间，请在待审核表或 shuangsui case 中登记天数。", "第十一条")


def rule_site_record(f: Facts) -> Iterator[Finding]:
    """现场检查 needs a 现场检查笔录, signed by the party or with the reason noted (第十条)."""
    if "现场检查" not in (f.check.get("methods") or []) or not f.lower_half_filled:
        return
    if not f.site_records and not f.settings.require_site_record:
        # A bureau that keeps the 笔录 on paper publishes from the check table; the note says so.
        yield _f(FindingCode.site_record_not_required, Severity.warning, "methods",
                 "抽查方式含现场检查，本局设置不要求提交现场检查笔录（require_site_record = false），"
                 "未核对笔录；笔录纸质原件请按规定存档（第十条）。", "第十条")
        return
    if not f.site_records:
        yield _f(FindingCode.site_record_missing, Severity.waiting, "methods",
                 "抽查方式含现场检查，但尚未收到本案的现场检查笔录（第十条）。请把笔录（电子版或签字扫描件）放入收件箱。",
                 "第十条")
        return
    if not any(site_record_signed_or_explained(r) for r in f.site_records):
        yield _f(FindingCode.site_record_unsigned, Severity.waiting, "methods",
                 "现场检查笔录既没有当事人签字（盖章），也没有注明未签字原因（第十条）。请补签或注明原因后重新放入笔录。",
                 "第十条")


def site_record_signed_or_explained(record: Mapping[str, Any]) -> bool:
    return bool(record.get("party_signed")) or bool(record.get("refusal_reason"))


def site_record_findings(record: Mapping[str, Any]) -> list[Finding]:
    """Checks of a 现场检查笔录 on its own (errors return it)."""
    out = []
    if not site_record_signed_or_explained(record):
        out.append(_f(FindingCode.site_record_unsigned, Severity.error, "party_signed",
                      "现场检查笔录既没有当事人签字（盖章），也没有注明未签字（盖章）原因（第十条）。"
                      "无法取得签字或盖章的，请在“未签字（盖章）原因”栏注明原因，必要时请见证人签字。", "第十条"))
    people = [i for i in record.get("inspectors") or [] if i.get("name")]
    if len(people) < 2:
        out.append(_f(FindingCode.site_record_inspectors, Severity.error, "inspectors",
                      f"现场检查笔录只列了 {len(people)} 名检查人员，执法检查人员不得少于两人（第十条）。请补填。", "第十条"))
    return out


# --- signatures and seals on the signed scans ---------------------------------------------------

SEEN, NOT_SEEN = "已签字盖章", "未签字盖章"


def rule_evidence(f: Facts, out: dict[str, Any]) -> Iterator[Finding]:
    """The paper form is the binding copy: its signatures and seals must be seen on a scan, or a
    reason noted (第十条; the boxes of the 检查表). Uncertain boxes go to a person with a crop."""
    if not f.settings.require_signed_scan:
        return
    boxes = ev.CHECK_TABLE_UPPER + (ev.CHECK_TABLE_LOWER if f.lower_half_filled else ())
    yield from _form_evidence(f, out, ev.CHECK_TABLE, boxes, "检查表（表内签字、盖章栏）")
    on_site = "现场检查" in (f.check.get("methods") or []) and f.lower_half_filled
    if on_site and (f.site_records or f.settings.require_site_record):
        yield from _form_evidence(f, out, ev.SITE_RECORD, ("inspector_signatures",), "第十条")
        yield from _party_evidence(f, out)


def _box_answer(f: Facts, scan: ev.ScanSeen, box: str) -> bool | None:
    """What a person said about a box of this scan, if anything."""
    answer = f.answers.get(f"EVIDENCE:{scan.boxes[box].scan_id}:{box}") if box in scan.boxes else None
    return None if answer is None else answer == SEEN


def _ask_box(out: dict[str, Any], scan: ev.ScanSeen, box: str) -> Finding:
    state = scan.boxes[box]
    prompt = (f"{scan.where(box)}的“{ev.BOX_LABELS[box]}”栏无法可靠判断是否已签字或盖章（得分 {state.score or 0:.2f}），"
              "请查看截图或原件后选择。")
    out.setdefault("asks", []).append(Ask(f"EVIDENCE:{state.scan_id}:{box}", FindingCode.evidence_uncertain.value,
                                          box, prompt, f"{ev.CROP_PREFIX}{state.crop}" if state.crop else scan.where(box),
                                          (SEEN, NOT_SEEN)))
    return _f(FindingCode.evidence_uncertain, Severity.review, box, prompt, None)


def _missing(scan: ev.ScanSeen, box: str, article: str) -> Finding:
    return _f(FindingCode.evidence_missing, Severity.waiting, box,
              f"{scan.where(box)}上“{ev.BOX_LABELS[box]}”栏未见签字或盖章。请补签（盖章）后重新扫描放入收件箱。",
              article)


def _form_evidence(f: Facts, out: dict[str, Any], form: str, boxes: tuple[str, ...],
                   article: str) -> Iterator[Finding]:
    scan = f.evidence.of(form)
    label = ev.FORM_LABELS[form]
    if scan is None:
        yield _f(FindingCode.evidence_pending, Severity.waiting, None,
                 f"尚未收到签字盖章后的{label}扫描件。请打印 发件箱/打印/案卷编号/ 中带二维码的{label}（办公网页上也可打印），"
                 "签字盖章后扫描放入收件箱（扫描件与电子版同名也可自动匹配）。", article)
        return
    for box in boxes:
        state = scan.boxes.get(box)
        if state is None and all(s.source == ev.ELECTRONIC for s in scan.boxes.values()):
            yield _f(FindingCode.evidence_pending, Severity.waiting, box,
                     f"电子版{label}的“{ev.BOX_LABELS[box]}”栏没有电子签章，也尚未收到签字盖章后的扫描件。"
                     "请加盖电子签章后重新放入电子版，或打印签字盖章后扫描放入收件箱。", article)
            continue
        if state is None:
            yield _f(FindingCode.evidence_pending, Severity.waiting, box,
                     f"已收到的{label}扫描件中没有“{ev.BOX_LABELS[box]}”栏所在的那一页。请把该页扫描后放入收件箱。", article)
            continue
        seen = _box_answer(f, scan, box)
        if seen is None:
            seen = state.present
            if seen is None:
                yield _ask_box(out, scan, box)
                continue
        if not seen:
            yield _missing(scan, box, article)


def _party_evidence(f: Facts, out: dict[str, Any]) -> Iterator[Finding]:
    """The party signs or seals the 笔录; if neither can be had, the reason is noted (第十条)."""
    scan = f.evidence.of(ev.SITE_RECORD)
    if scan is None:
        return  # already asked for by _form_evidence
    seen = {box: _box_answer(f, scan, box) for box in ev.SITE_RECORD_PARTY}
    seen = {box: answer if answer is not None else (scan.boxes[box].present if box in scan.boxes else False)
            for box, answer in seen.items()}
    if any(v is True for v in seen.values()):
        return
    uncertain = [box for box, v in seen.items() if v is None]
    if uncertain:
        for box in uncertain:
            yield _ask_box(out, scan, box)
        return
    yield _f(FindingCode.evidence_missing, Severity.waiting, "party_signature",
             f"{scan.where('party_signature')}上既没有当事人签字或盖章，也没有注明未签字（盖章）原因（第十条）。"
             "请补签，或注明原因（必要时请见证人签字）后重新扫描放入收件箱。", "第十条")


# --- what the 公示表 needs ------------------------------------------------------------------------

def find_unit(f: Facts) -> tuple[Mapping[str, Any] | None, Ask | None]:
    """The directory entry of the inspected unit: exact key, or a near match a person confirms."""
    key = company_key(f.unit)
    for entry in f.directory:
        if company_key(str(entry.get("企业名称") or "")) == key:
            return entry, None
    scored = sorted(((difflib.SequenceMatcher(None, key, company_key(str(e.get("企业名称") or ""))).ratio(), i)
                     for i, e in enumerate(f.directory)), reverse=True)
    if not scored or scored[0][0] < NEAR_MATCH_RATIO:
        return None, None
    entry = f.directory[scored[0][1]]
    ask_key = f"UNIT_NEAR_MATCH:{entry.get('企业名称')}"
    if f.answers.get(ask_key) == YES:
        return entry, None
    if f.answers.get(ask_key) == NO:
        return None, None
    return None, Ask(ask_key, FindingCode.unit_near_match.value, "inspected_unit",
                     f"检查表上的“{f.unit}”与名录库中的“{entry.get('企业名称')}”相近，是否为同一企业？",
                     f"{entry.get('企业名称')}（{entry.get('统一社会信用代码')}）", (YES, NO))


def rule_publication(f: Facts, out: dict[str, Any]) -> Iterator[Finding]:
    """Fill ``out`` with uscc, task_name, check_type; say what is missing."""
    entry, ask = find_unit(f)
    if ask is not None:
        out.setdefault("asks", []).append(ask)
        yield _f(FindingCode.unit_near_match, Severity.review, "inspected_unit", ask.prompt, "第六条")
    elif entry is None:
        yield _f(FindingCode.uscc_missing, Severity.waiting, "uscc",
                 f"检查对象名录库中没有“{f.unit}”，无法填写公示表的统一社会信用代码。"
                 "请核对企业名称，或把含有该企业的检查对象名录库放入收件箱的“名录库”文件夹。", "第六条")
    # A confirmed near match stands for the listed unit: its name, its code and its tasks.
    listed = str(entry.get("企业名称") or "").strip() if entry else ""
    if listed:
        out["unit_name"] = listed
    uscc = str(entry.get("统一社会信用代码") or "").strip().upper() if entry else ""
    if uscc:
        try:
            stdnum_uscc.validate(uscc)
            out["uscc"] = uscc
        except ValidationError as exc:
            ask_key = f"USCC_INVALID:{uscc}"
            why = "校验位不符" if isinstance(exc, InvalidChecksum) else "格式不符（应为 18 位，前 8 位为数字）"
            if f.answers.get(ask_key) == CONFIRM_OK:
                out["uscc"] = uscc
            else:
                ask2 = Ask(ask_key, FindingCode.uscc_invalid.value, "uscc",
                           f"名录库中“{entry.get('企业名称') if entry else f.unit}”的统一社会信用代码 {uscc} {why}"
                           "（GB 32100-2015）。早期登记的代码可能如此，请核对营业执照后确认。", uscc,
                           (CONFIRM_OK, CONFIRM_BAD))
                out.setdefault("asks", []).append(ask2)
                yield _f(FindingCode.uscc_invalid, Severity.review, "uscc", ask2.prompt, None)
    if f.targeted:
        yield _f(FindingCode.not_random, Severity.warning, "basis",
                 "本次检查针对特定对象（投诉举报、交办移送、复查等），不属于“双随机”抽查（第二条）：予以登记，"
                 "不生成双随机公示表。如判断有误，请在 shuangsui case 中更正。", "第二条")
        return
    on = f.start
    unit_key = company_key(listed or f.unit)
    for task in f.tasks:
        if company_key(str(task.get("企业名称") or "")) != unit_key:
            continue
        begin, finish = _day(task.get("计划开始日期")), _day(task.get("计划结束日期"))
        if on is None or ((begin is None or begin <= on) and (finish is None or on <= finish)):
            out["task_name"], out["check_type"] = task.get("任务名称"), task.get("抽查类型")
            break
    else:
        if f.settings.default_task_name and f.settings.default_check_type:
            out["task_name"], out["check_type"] = f.settings.default_task_name, f.settings.default_check_type
        else:
            yield _f(FindingCode.task_missing, Severity.waiting, "task_name",
                     f"抽查任务表中没有“{listed or f.unit}”在 {on or '检查日期'} 所属的抽查任务，无法填写抽查任务名称和抽查检查类型。"
                     "请把平台导出的抽查任务表放入收件箱的“名录库”文件夹。", "第七条")


def rule_result(f: Facts, out: dict[str, Any]) -> Iterator[Finding]:
    """检查抽查结果 from 抽查情况 and 处理意见和建议; a person decides when the text does not."""
    if not f.lower_half_filled:
        return
    situation, handling = f.check.get("situation"), f.check.get("handling")
    if mentions_penalty(situation, handling):
        out["penalty"] = True
        yield _f(FindingCode.penalty_flagged, Severity.warning, "handling",
                 "处理意见涉及查处：检查表复印件须报送综合科（表注1），处理决定作出后 7 个工作日内上传并公开（第十五条）。",
                 "第十五条")
    ask_key = "RESULT_UNDECIDED"
    result = f.answers.get(ask_key) or derive_result(situation, handling)
    if result is None:
        ask = Ask(ask_key, FindingCode.result_undecided.value, "situation",
                  "无法从“抽查情况”和“处理意见和建议”判断检查抽查结果，请选择。",
                  f"抽查情况：{situation or '（空）'}；处理意见：{handling or '（空）'}", RESULT_CATEGORIES)
        out.setdefault("asks", []).append(ask)
        yield _f(FindingCode.result_undecided, Severity.review, "situation", ask.prompt, "第十三条")
    out["result"] = result


# --- deadlines --------------------------------------------------------------------------------------

def clock_start(f: Facts) -> date | None:
    """The check end, or for a combined check the date the last single-item result was fixed (第十一条)."""
    return _day(f.overrides.get("last_result_date")) or f.end


def lower_half_deadline(f: Facts) -> Deadline | None:
    start = clock_start(f)
    if start is None:
        return None
    return f.calendar.add_working_days(start, f.settings.days_lower_half,
                                       pause_days=int(f.overrides.get("pause_days") or 0))


def publish_deadline(f: Facts) -> Deadline | None:
    start = clock_start(f)
    if start is None:
        return None
    return f.calendar.add_working_days(start, f.settings.days_publish,
                                       pause_days=int(f.overrides.get("pause_days") or 0))


def rule_calendar(f: Facts) -> Iterator[Finding]:
    for due in (lower_half_deadline(f), publish_deadline(f)):
        if due is not None and not due.certain and due.warning:
            yield _f(FindingCode.calendar_unknown, Severity.warning, None, due.warning, None)
            return


FILE_RULES: tuple[Callable[[Facts], Iterator[Finding]], ...] = (
    rule_required, rule_inspectors, rule_licences, rule_recusal, rule_methods, rule_approvals, rule_dates,
    rule_lower_half, rule_site_record, rule_calendar,
)


def evaluate(f: Facts) -> Evaluation:
    findings: list[Finding] = []
    for rule in FILE_RULES:
        findings.extend(rule(f))
    out: dict[str, Any] = {}
    findings.extend(rule_evidence(f, out))
    if f.unit:
        findings.extend(rule_publication(f, out))
        findings.extend(rule_result(f, out))
    return Evaluation(
        findings=tuple(findings), asks=tuple(out.get("asks", ())), uscc=out.get("uscc"),
        task_name=out.get("task_name"), check_type=out.get("check_type"), result=out.get("result"),
        penalty=bool(out.get("penalty")), due_lower_half=lower_half_deadline(f) if f.lower_half_filled else None,
        due_publish=publish_deadline(f), unit_name=out.get("unit_name"),
    )
