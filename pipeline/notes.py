"""The Chinese explanation files written next to a returned or waiting file."""

from __future__ import annotations

from pipeline.codes import Severity
from pipeline.models import FIELD_LABELS, Finding


def _lines(findings: list[Finding]) -> list[str]:
    out = []
    for n, f in enumerate(findings, start=1):
        where = FIELD_LABELS.get(f.field or "", f.field or "")
        kind = Severity(f.severity).label
        out.append(f"{n}. 【{kind}】{where + '：' if where else ''}{f.message}（代码 {f.code}）")
    return out


def rejection_note(name: str, received_at: str, findings: list[Finding]) -> str:
    return "\n".join([
        f"文件：{name}",
        f"接收时间：{received_at}",
        "处理结果：已退回。原文件未作任何改动，放在本说明旁边。",
        "",
        "需要修改的问题：",
        *_lines(findings),
        "",
        "请按上述说明修改后，把修改好的文件重新放入收件箱（inbox）。",
        "",
    ])


def waiting_note(name: str, case_id: str, findings: list[Finding]) -> str:
    return "\n".join([
        f"文件：{name}",
        f"案卷编号：{case_id}",
        "处理结果：检查表已受理，但生成公示表还缺少以下信息，案卷等待补充：",
        *_lines(findings),
        "",
        "补充方法：把含有该企业的“检查对象名录库”和“抽查任务”Excel 表放入收件箱的“名录库”文件夹，",
        "系统会自动重新处理等待中的案卷。",
        "",
    ])


def scan_note(name: str, received_at: str, finding: Finding) -> str:
    return "\n".join([
        f"文件：{name}",
        f"接收时间：{received_at}",
        "处理结果：已收存，等待与案卷匹配。原件已完整保存在系统原件库中，不会退回。",
        "",
        *_lines([finding]),
        "",
    ])
