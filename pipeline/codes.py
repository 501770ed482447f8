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


class Severity(StrEnum):
    error = "error"
    warning = "warning"

    @property
    def label(self) -> str:
        return "错误" if self is Severity.error else "提示"


class FindingCode(StrEnum):
    """Stable codes of everything the pipeline can say about a file or a case."""

    file_empty = "FILE_EMPTY"
    file_unreadable = "FILE_UNREADABLE"
    file_unsupported = "FILE_UNSUPPORTED"
    file_encrypted = "FILE_ENCRYPTED"
    file_not_check_table = "FILE_NOT_CHECK_TABLE"
    file_too_large = "FILE_TOO_LARGE"
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
    case_ref_unknown = "CASE_REF_UNKNOWN"
    list_header_missing = "LIST_HEADER_MISSING"
    list_column_missing = "LIST_COLUMN_MISSING"

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
    FindingCode.case_ref_unknown: "案卷编号不存在",
    FindingCode.list_header_missing: "名录缺少表头",
    FindingCode.list_column_missing: "名录缺少必需的列",
}
