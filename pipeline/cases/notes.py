"""The Chinese explanation files written next to a returned or waiting file.

A returned file gets a plain-text note and a self-contained HTML page (``rejection_html``) that also
shows what was read from the file, with the fields that have problems highlighted.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2

from pipeline.core.codes import Severity
from pipeline.core.models import FIELD_LABELS, SITE_RECORD_FIELDS, SITE_RECORD_LABELS, Finding
from pipeline.core.names import visible_name


def _lines(findings: list[Finding]) -> list[str]:
    out = []
    for n, f in enumerate(findings, start=1):
        where = FIELD_LABELS.get(f.field or "", f.field or "")
        kind = Severity(f.severity).label
        out.append(f"{n}. 【{kind}】{where + '：' if where else ''}{f.message}（代码 {f.code}）")
    return out


def rejection_note(name: str, received_at: str, findings: list[Finding]) -> str:
    return "\n".join([
        f"文件：{visible_name(name)}",
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
        f"文件：{visible_name(name)}",
        f"案卷编号：{case_id}",
        "处理结果：检查表已受理，但生成公示表还缺少以下信息，案卷等待补充：",
        *_lines(findings),
        "",
        "补充方法：把含有该企业的“检查对象名录库”和“抽查任务”Excel 表放入收件箱的“名录库”文件夹，",
        "系统会自动重新处理等待中的案卷。",
        "",
    ])


def scan_note(name: str, received_at: str, *findings: Finding) -> str:
    return "\n".join([
        f"文件：{visible_name(name)}",
        f"接收时间：{received_at}",
        "处理结果：已收存，等待与案卷匹配。原件已完整保存在系统原件库中，不会退回。",
        "",
        *_lines(list(findings)),
        "",
    ])


EMPTY = "（未填写）"
INSPECTOR_LABELS = {"name": "姓名", "title": "职务", "licence_no": "执法证号", "phone": "联系电话"}

_PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""\
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>退回说明：{{ name }}</title>
<style>
body { font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "SimSun", sans-serif;
       margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; line-height: 1.6; }
h1 { font-size: 1.5em; border-bottom: 2px solid #c00000; padding-bottom: .3em; }
h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border: 1px solid #bbb; padding: .35em .6em; text-align: left; vertical-align: top; }
th { background: #eef3f8; white-space: nowrap; }
.sev-error { color: #c00000; font-weight: bold; }
.sev-warning { color: #8a6d00; }
tr.problem > th, tr.problem > td { background: #fff2cc; }
.empty { color: #999; }
.code { font-family: monospace; color: #666; white-space: nowrap; }
.meta td:first-child { width: 8em; }
.todo { background: #f3f8ee; border-left: 4px solid #5a9e2f; padding: .6em 1em; }
</style>
</head>
<body>
<h1>文件已退回</h1>
<table class="meta">
<tr><td>文件</td><td>{{ name }}</td></tr>
<tr><td>接收时间</td><td>{{ received_at }}</td></tr>
<tr><td>处理结果</td><td>已退回。原文件未作任何改动，放在本说明旁边。</td></tr>
</table>
<h2>需要修改的问题</h2>
<table>
<tr><th>序号</th><th>类别</th><th>栏目</th><th>问题和修改方法</th><th>代码</th></tr>
{% for f in findings %}
<tr><td>{{ loop.index }}</td><td class="sev-{{ f.severity }}">{{ f.kind }}</td><td>{{ f.where }}</td>
<td>{{ f.message }}{% if f.article %}（{{ f.article }}）{% endif %}</td><td class="code">{{ f.code }}</td></tr>
{% endfor %}
</table>
{% if rows %}
<h2>系统从文件中读取到的内容</h2>
<p>标黄的栏目有问题，请对照修改。</p>
<table>
{% for r in rows %}
<tr{% if r.problem %} class="problem"{% endif %}><th>{{ r.label }}</th><td>
{%- if r.table is not none -%}
<table>
<tr>{% for h in r.table.headers %}<th>{{ h }}</th>{% endfor %}</tr>
{% for cells in r.table.rows %}<tr>{% for c in cells %}<td{% if c is none %} class="empty"{% endif %}>\
{{ empty if c is none else c }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{%- elif r.value is none -%}<span class="empty">{{ empty }}</span>
{%- else -%}{{ r.value }}{%- endif -%}
</td></tr>
{% endfor %}
</table>
{% endif %}
<p class="todo">请按上述说明修改后，把修改好的文件重新放入收件箱（inbox）。</p>
</body>
</html>
""")

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def rejection_html(name: str, received_at: str, findings: list[Finding], fields: dict[str, Any] | None) -> str:
    """A self-contained HTML page (inline CSS, every value escaped) explaining why a file was returned."""
    site_record = fields is not None and set(fields) == set(SITE_RECORD_FIELDS)
    labels = {**FIELD_LABELS, **SITE_RECORD_LABELS} if site_record else {**SITE_RECORD_LABELS, **FIELD_LABELS}
    problems = {f.field for f in findings if f.field}
    rows = []
    for key, value in (fields or {}).items():
        table = None
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            table = {"headers": [INSPECTOR_LABELS.get(k, k) for k in keys],
                     "rows": [[_shown(v.get(k)) for k in keys] for v in value]}
        rows.append({"label": labels.get(key, key), "value": _shown(value), "table": table,
                     "problem": key in problems})
    items = [{"kind": Severity(f.severity).label, "severity": f.severity, "code": f.code,
              "where": labels.get(f.field or "", f.field or ""), "message": f.message,
              "article": f.article if f.article and f.article not in f.message else None}
             for f in findings]
    return _PAGE.render(name=visible_name(name), received_at=received_at, findings=items, rows=rows, empty=EMPTY)


def _shown(value: Any) -> str | None:
    """A field value as text; None for an empty value (shown as （未填写）)."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        return value.replace("T", " ")
    return str(value)
