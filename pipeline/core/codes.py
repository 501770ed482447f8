"""Status and finding codes: stable English values stored in the database, Chinese text for users."""

from __future__ import annotations

from enum import StrEnum


class FileStatus(StrEnum):
    """Outcome of one received file (the ``status`` in ``process --json``)."""

    processing = "processing"
    accepted = "accepted"
    rejected = "rejected"
    duplicate = "duplicate"
    waiting = "waiting"
    ignored = "ignored"
    busy = "busy"  # still being written when the pass looked: left in the inbox, never recorded

    @property
    def label(self) -> str:
        return _FILE_STATUS_LABELS[self]


_FILE_STATUS_LABELS = {
    FileStatus.processing: "处理中",
    FileStatus.accepted: "已受理",
    FileStatus.rejected: "已退回",
    FileStatus.duplicate: "重复文件",
    FileStatus.waiting: "待补充",
    FileStatus.ignored: "已忽略",
    FileStatus.busy: "仍在写入",
}


class CaseStatus(StrEnum):
    """Lifecycle of a case (one check of one unit)."""

    received = "received"
    incomplete = "incomplete"
    review = "review"
    publishable = "publishable"
    published = "published"
    handed_over = "handed_over"
    archived = "archived"

    @property
    def label(self) -> str:
        return _CASE_STATUS_LABELS[self]


_CASE_STATUS_LABELS = {
    CaseStatus.received: "已接收",
    CaseStatus.incomplete: "待补充",
    CaseStatus.review: "待审核",
    CaseStatus.publishable: "可公示",
    CaseStatus.published: "已公示",
    CaseStatus.handed_over: "已移交",
    CaseStatus.archived: "已归档",
}

# A case not yet published (its 公示表 may still be missing) and one that has been (or gone further).
OPEN_STATES = (CaseStatus.received, CaseStatus.incomplete, CaseStatus.review, CaseStatus.publishable)
PUBLISHED_STATES = (CaseStatus.published, CaseStatus.handed_over, CaseStatus.archived)


class Severity(StrEnum):
    """error: the file is returned; waiting: the case waits for data; review: a person decides."""

    error = "error"
    waiting = "waiting"
    review = "review"
    warning = "warning"

    @property
    def label(self) -> str:
        return {"error": "错误", "waiting": "待补充", "review": "待审核", "warning": "提示"}[self.value]


class FindingCode(StrEnum):
    """Stable codes of everything the pipeline can say about a file or a case."""

    file_empty = "FILE_EMPTY"
    file_unreadable = "FILE_UNREADABLE"
    file_unsupported = "FILE_UNSUPPORTED"
    file_encrypted = "FILE_ENCRYPTED"
    file_not_check_table = "FILE_NOT_CHECK_TABLE"
    file_too_large = "FILE_TOO_LARGE"
    file_too_complex = "FILE_TOO_COMPLEX"
    internal_error = "INTERNAL_ERROR"
    field_missing = "FIELD_MISSING"
    field_ambiguous = "FIELD_AMBIGUOUS"
    inspectors_too_few = "INSPECTORS_TOO_FEW"
    inspector_incomplete = "INSPECTOR_INCOMPLETE"
    dates_incoherent = "DATES_INCOHERENT"
    uscc_missing = "USCC_MISSING"
    task_missing = "TASK_MISSING"
    extraction_warning = "EXTRACTION_WARNING"
    result_undecided = "RESULT_UNDECIDED"
    scan_pending = "SCAN_PENDING"
    scan_ambiguous = "SCAN_AMBIGUOUS"
    review_answer_rejected = "REVIEW_ANSWER_REJECTED"
    case_ref_unknown = "CASE_REF_UNKNOWN"
    licence_unknown = "LICENCE_UNKNOWN"
    licence_name_mismatch = "LICENCE_NAME_MISMATCH"
    licence_expired = "LICENCE_EXPIRED"
    licence_format = "LICENCE_FORMAT"
    roster_missing = "ROSTER_MISSING"
    inspector_recusal = "INSPECTOR_RECUSAL"
    unit_near_match = "UNIT_NEAR_MATCH"
    uscc_invalid = "USCC_INVALID"
    not_random = "NOT_RANDOM"
    method_missing = "METHOD_MISSING"
    method_unknown = "METHOD_UNKNOWN"
    site_record_missing = "SITE_RECORD_MISSING"
    site_record_unsigned = "SITE_RECORD_UNSIGNED"
    site_record_inspectors = "SITE_RECORD_INSPECTORS"
    site_record_not_required = "SITE_RECORD_NOT_REQUIRED"
    approval_missing = "APPROVAL_MISSING"
    approval_after_check = "APPROVAL_AFTER_CHECK"
    lower_half_pending = "LOWER_HALF_PENDING"
    confirmation_missing = "CONFIRMATION_MISSING"
    lower_half_late = "LOWER_HALF_LATE"
    date_in_future = "DATE_IN_FUTURE"
    date_implausible = "DATE_IMPLAUSIBLE"
    calendar_unknown = "CALENDAR_UNKNOWN"
    penalty_flagged = "PENALTY_FLAGGED"
    evidence_pending = "EVIDENCE_PENDING"
    evidence_missing = "EVIDENCE_MISSING"
    evidence_uncertain = "EVIDENCE_UNCERTAIN"
    list_header_missing = "LIST_HEADER_MISSING"
    list_column_missing = "LIST_COLUMN_MISSING"
    pdf_pending = "PDF_PENDING"
    penalty_unmatched = "PENALTY_UNMATCHED"
    file_busy = "FILE_BUSY"
    file_not_regular = "FILE_NOT_REGULAR"
    file_no_permission = "FILE_NO_PERMISSION"

    @property
    def label(self) -> str:
        return _FINDING_LABELS.get(self, self.value)


_FINDING_LABELS = {
    FindingCode.file_empty: "空文件",
    FindingCode.file_unreadable: "文件无法读取",
    FindingCode.file_unsupported: "不支持的文件格式",
    FindingCode.file_encrypted: "文件已加密",
    FindingCode.file_not_check_table: "不是检查表",
    FindingCode.file_too_large: "文件过大",
    FindingCode.file_too_complex: "文件过于复杂",
    FindingCode.internal_error: "处理时出错",
    FindingCode.field_missing: "栏目未填写",
    FindingCode.field_ambiguous: "栏目内容不明确",
    FindingCode.inspectors_too_few: "执法人员不足两人",
    FindingCode.inspector_incomplete: "执法人员信息不全",
    FindingCode.dates_incoherent: "日期前后矛盾",
    FindingCode.uscc_missing: "缺少统一社会信用代码",
    FindingCode.task_missing: "缺少抽查任务",
    FindingCode.extraction_warning: "识别提示",
    FindingCode.result_undecided: "检查结果需人工确认",
    FindingCode.scan_pending: "扫描件待匹配",
    FindingCode.scan_ambiguous: "扫描件对应多个案卷",
    FindingCode.review_answer_rejected: "审核答案未采用",
    FindingCode.case_ref_unknown: "案卷编号不存在",
    FindingCode.licence_unknown: "执法证号不在名录库中",
    FindingCode.licence_name_mismatch: "执法证号与姓名不符",
    FindingCode.licence_expired: "执法证已过期",
    FindingCode.licence_format: "执法证号格式不符",
    FindingCode.roster_missing: "缺少执法检查人员名录库",
    FindingCode.inspector_recusal: "执法人员应当回避",
    FindingCode.unit_near_match: "企业名称近似匹配",
    FindingCode.uscc_invalid: "统一社会信用代码校验不通过",
    FindingCode.not_random: "非双随机检查",
    FindingCode.method_missing: "未填写抽查方式",
    FindingCode.method_unknown: "抽查方式不规范",
    FindingCode.site_record_missing: "缺少现场检查笔录",
    FindingCode.site_record_unsigned: "笔录未签字且未注明原因",
    FindingCode.site_record_inspectors: "笔录执法人员不足两人",
    FindingCode.site_record_not_required: "未要求现场检查笔录",
    FindingCode.approval_missing: "检查前审批不全",
    FindingCode.approval_after_check: "审批晚于检查",
    FindingCode.lower_half_pending: "待填写检查表后半部分",
    FindingCode.confirmation_missing: "检查后确认不全",
    FindingCode.lower_half_late: "后半部分填写超期",
    FindingCode.date_in_future: "日期晚于今天",
    FindingCode.date_implausible: "日期不合理",
    FindingCode.calendar_unknown: "缺少节假日数据",
    FindingCode.penalty_flagged: "涉及查处",
    FindingCode.evidence_pending: "待签字盖章凭证",
    FindingCode.evidence_missing: "扫描件上缺少签字或盖章",
    FindingCode.evidence_uncertain: "签字盖章需人工确认",
    FindingCode.list_header_missing: "名录缺少表头",
    FindingCode.list_column_missing: "名录缺少必需的列",
    FindingCode.pdf_pending: "公示表 PDF 待生成",
    FindingCode.penalty_unmatched: "处罚决定书待匹配案卷",
    FindingCode.file_busy: "文件仍在写入",
    FindingCode.file_not_regular: "不是普通文件",
    FindingCode.file_no_permission: "没有读取权限",
}
