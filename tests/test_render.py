"""Tests of ``pipeline.documents.render``: filters, QR codes, contexts and real renders of both templates."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import jinja2
import pdfplumber
import pytest
import zxingcpp
from docx import Document
from docx.oxml.ns import qn
from lxml import etree
from PIL import Image

from pipeline.core.errors import TemplateError
from pipeline.core.models import CHECK_TABLE_FIELDS
from pipeline.documents.render import (
    BLANK_DATE,
    CHECK_TABLE_TEMPLATE,
    PUBLIC_FORM_TEMPLATE,
    PreparedTemplate,
    QrImage,
    check_table_context,
    cn_date,
    cn_period,
    make_jinja_env,
    methods_text,
    parse_qr_payload,
    prepared_template,
    public_form_context,
    qr_payload,
    qr_png,
    render_check_table,
    render_public_form,
)
from tests.system_deps import require_soffice

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
BUREAU = "烟台市工业和信息化局"
COMPANY = "烟台A&B<科技>有限公司"

INSPECTORS: list[dict[str, Any]] = [
    {"name": "张三", "title": "科长", "licence_no": "37060012345", "phone": "13800000001"},
    {"name": "李四", "title": "科员", "licence_no": "37060012346", "phone": None},
    {"name": "王五", "title": "副科长", "licence_no": "37060012347", "phone": "0535-6000000"},
    {"name": "赵六", "title": "四级主任科员", "licence_no": "37060012348", "phone": "13800000004"},
    {"name": "钱七", "title": None, "licence_no": "37060012349", "phone": "13800000005"},
]


def _fields(inspectors: list[dict[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = dict.fromkeys(CHECK_TABLE_FIELDS)
    fields.update(
        inspected_unit=COMPANY,
        basis="《中华人民共和国节约能源法》第十二条",
        scope="能源利用状况",
        methods=["现场检查", "书面检查"],
        inspectors=inspectors,
        situation="经检查，制度基本健全。\n发现问题：计量器具配备不全。",
        check_start="2026-03-05T09:30",
        check_end="2026-03-05T11:00",
        handling="责令限期整改。",
        dept_opinion_date="2026-03-01",
        leader_approval_date=None,
        authority_opinion_date=dt.date(2026, 3, 2),
    )
    return fields


def _public_context(**overrides: str) -> dict[str, str]:
    values = {
        "unit_name": COMPANY,
        "uscc": "91370600MA3C00000X",
        "authority": BUREAU,
        "task_name": "2026年节能监察双随机抽查",
        "check_date": "2026年3月5日",
        "check_type": "定向抽查",
        "result": "未发现问题。",
    }
    values.update(overrides)
    return public_form_context(**values)


def _decode_media(path: Path) -> set[str]:
    """Texts of all QR codes among the document's images."""
    texts: set[str] = set()
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("word/media/"):
                image = Image.open(io.BytesIO(zf.read(name)))
                texts.update(result.text for result in zxingcpp.read_barcodes(image))
    return texts


def _check_xml_well_formed(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith((".xml", ".rels")):
                etree.fromstring(zf.read(name))  # raises XMLSyntaxError when malformed
        return zf.read("word/document.xml")


# --------------------------------------------------------------------------------------------------
# Filters


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-05", "2026年3月5日"),
        (dt.date(2026, 12, 25), "2026年12月25日"),
        (dt.datetime(2026, 1, 9, 8, 0), "2026年1月9日"),
        ("2026-03-05T09:30", "2026年3月5日"),
        (None, "　　年　　月　　日"),
        ("", "　　年　　月　　日"),
    ],
)
def test_cn_date(value: Any, expected: str) -> None:
    assert cn_date(value) == expected


def test_cn_date_rejects_garbage() -> None:
    with pytest.raises(jinja2.exceptions.FilterArgumentError):
        cn_date("3月5日")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-03-05T09:30", "2026-03-05T11:00", "2026年3月5日9时30分至11时00分"),
        ("2026-03-05T09:05", "2026-03-06T11:00", "2026年3月5日9时05分至2026年3月6日11时00分"),
        (dt.datetime(2026, 3, 5, 14, 0), dt.datetime(2026, 3, 5, 16, 7), "2026年3月5日14时00分至16时07分"),
        (None, None, "　　年　　月　　日　　时　　分至　　时　　分"),
        ("2026-03-05T09:30", None, "2026年3月5日9时30分至　　时　　分"),
        ("2026-03-05", "2026-03-05", "2026年3月5日　　时　　分至　　时　　分"),
    ],
)
def test_cn_period(start: Any, end: Any, expected: str) -> None:
    assert cn_period(start, end) == expected


def test_jinja_env_is_strict_and_escapes() -> None:
    env = make_jinja_env()
    assert env.from_string("{{ x|cn_date }}").render(x="2026-03-05") == "2026年3月5日"
    assert env.from_string("{{ x }}").render(x="A&B<C>") == "A&amp;B&lt;C&gt;"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()


# --------------------------------------------------------------------------------------------------
# QR codes and contexts


def test_qr_payload_round_trip() -> None:
    payload = qr_payload("2026-0001", "check_table", 2)
    assert payload == "SHUANGSUI:1;CASE=2026-0001;FORM=check_table;PAGE=2"
    assert parse_qr_payload(payload) == ("2026-0001", "check_table", 2)
    assert parse_qr_payload("https://example.com") is None
    assert parse_qr_payload("SHUANGSUI:1;CASE=x;FORM=check_table;PAGE=two") is None


def test_qr_png_decodes() -> None:
    payload = qr_payload("C-7", "check_table", 1)
    image = Image.open(io.BytesIO(qr_png(payload)))
    assert image.format == "PNG"
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [payload]


def test_methods_text_fixed_order() -> None:
    assert methods_text(["现场检查"]) == "☐书面检查　☑现场检查　☐网络监测　☐检验检测"
    assert methods_text(["检验检测", "书面检查"]) == "☑书面检查　☐现场检查　☐网络监测　☑检验检测"
    assert methods_text(None) == "☐书面检查　☐现场检查　☐网络监测　☐检验检测"
    assert methods_text("现场检查、网络监测") == "☐书面检查　☑现场检查　☑网络监测　☐检验检测"


def test_check_table_context_pads_inspectors_and_blanks_none() -> None:
    context = check_table_context(_fields(INSPECTORS[:2]), bureau=BUREAU, case_id=None)
    assert len(context["inspectors"]) == 3
    assert context["inspectors"][1]["phone"] == ""
    assert context["inspectors"][2] == {"name": "", "title": "", "licence_no": "", "phone": ""}
    assert context["qr_p1"] == "" and context["qr_p2"] == "" and context["case_id"] == ""
    assert context["methods_text"].startswith("☑书面检查　☑现场检查")
    with_case = check_table_context(_fields(INSPECTORS), bureau=BUREAU, case_id="C-1")
    assert len(with_case["inspectors"]) == 5
    assert with_case["qr_p2"] == QrImage(qr_payload("C-1", "check_table", 2))


def test_public_form_context_none_is_blank() -> None:
    context = public_form_context(
        unit_name=None,
        uscc=None,
        authority="局",
        task_name=None,
        check_date=None,
        check_type=None,
        result="无\x0c问题",
    )
    assert context["unit_name"] == "" and context["authority"] == "局"
    assert context["result"] == "无问题"


# --------------------------------------------------------------------------------------------------
# Rendering the check table


@pytest.mark.parametrize("count", [2, 5])
def test_render_check_table(tmp_path: Path, count: int) -> None:
    out = tmp_path / "check.docx"
    inspectors = INSPECTORS[:count]
    render_check_table(
        _fields(inspectors),
        out,
        template_dir=TEMPLATES,
        bureau=BUREAU,
        case_id="2026-0001",
        dept_opinion="同意抽查。",
    )
    xml = _check_xml_well_formed(out).decode()
    assert "{{" not in xml and "{%" not in xml
    assert "None" not in xml

    doc = Document(str(out))
    table = doc.tables[0]
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    header = next(i for i, r in enumerate(rows) if r[1:] == ["姓名", "职务", "执法证号", "联系电话"])
    expected_rows = max(count, 3)
    body = rows[header + 1 : header + 1 + expected_rows]
    for k, inspector in enumerate(inspectors, start=1):
        expected = [
            f"{k}.{inspector['name']}",
            inspector["title"] or "",
            inspector["licence_no"],
            inspector["phone"] or "",
        ]
        assert body[k - 1][1:] == expected
    for k in range(count + 1, expected_rows + 1):
        assert body[k - 1][1:] == [f"{k}.", "", "", ""]
    assert rows[header + 1 + expected_rows][0] == "执法科室意见"

    # The 抽查执法人员 cell is one vertically merged cell over the header and every inspector row.
    label = table.cell(header, 0)
    assert label.text == "抽查执法人员"
    for r in range(header + 1, header + 1 + expected_rows):
        assert table.cell(r, 0)._tc is label._tc
        tc_pr = table.rows[r]._tr.tc_lst[0].tcPr
        assert tc_pr is not None
        v_merge = tc_pr.find(qn("w:vMerge"))
        assert v_merge is not None and v_merge.get(qn("w:val")) in (None, "continue")

    texts = "\n".join(cell.text for row in table.rows for cell in row.cells)
    assert "（盖章）2026年3月1日" in texts
    assert "（盖章）2026年3月2日" in texts
    assert BLANK_DATE in texts  # 分管领导批准签字 is left for hand filling
    assert "☑书面检查　☑现场检查　☐网络监测　☐检验检测" in texts
    assert table.cell(0, 1).text == COMPANY

    lower = {cell.text for row in doc.tables[1].rows for cell in row.cells}
    assert "2026年3月5日9时30分至11时00分" in lower
    assert "经检查，制度基本健全。\n发现问题：计量器具配备不全。" in lower
    paragraphs = [p.text for p in doc.paragraphs]
    assert f"{BUREAU}随机抽查事项检查表" in paragraphs
    assert "编号：2026-0001" in paragraphs
    assert f"2、抽查执法主体是指{BUREAU}。" in paragraphs

    assert len(doc.inline_shapes) == 2
    assert _decode_media(out) == {
        "SHUANGSUI:1;CASE=2026-0001;FORM=check_table;PAGE=1",
        "SHUANGSUI:1;CASE=2026-0001;FORM=check_table;PAGE=2",
    }


def test_render_check_table_without_case_id_has_no_qr(tmp_path: Path) -> None:
    out = tmp_path / "check.docx"
    render_check_table(_fields([]), out, template_dir=TEMPLATES, bureau=BUREAU, case_id=None)
    doc = Document(str(out))
    assert len(doc.inline_shapes) == 0
    assert not any(p.text.startswith("编号") for p in doc.paragraphs)
    rows = [[cell.text for cell in row.cells] for row in doc.tables[0].rows]
    assert [r[1] for r in rows if r[1] in {"1.", "2.", "3."}] == ["1.", "2.", "3."]


# --------------------------------------------------------------------------------------------------
# Rendering the 公示表


def test_render_public_form_escapes_the_company_name(tmp_path: Path) -> None:
    out = tmp_path / "公示表.docx"
    render_public_form(_public_context(), out, template_dir=TEMPLATES)
    xml = _check_xml_well_formed(out).decode()
    assert "烟台A&amp;B&lt;科技&gt;有限公司" in xml
    table = Document(str(out)).tables[0]
    assert table.cell(0, 1).text == COMPANY
    assert table.cell(0, 3).text == "91370600MA3C00000X"
    assert table.cell(1, 3).text == "2026年节能监察双随机抽查"
    assert [p.text for p in table.cell(3, 0).paragraphs] == ["检查抽查结果：", "未发现问题。"]
    assert not list(tmp_path.glob(".*.part")), "no temporary file is left behind"


def test_missing_variable_raises_template_error(tmp_path: Path) -> None:
    context = _public_context()
    del context["uscc"]
    with pytest.raises(TemplateError) as info:
        render_public_form(context, tmp_path / "out.docx", template_dir=TEMPLATES)
    assert "uscc" in info.value.message
    assert PUBLIC_FORM_TEMPLATE in info.value.message
    assert not (tmp_path / "out.docx").exists()


def test_missing_inspector_key_raises_template_error(tmp_path: Path) -> None:
    context = check_table_context(_fields(INSPECTORS[:1]), bureau=BUREAU, case_id=None)
    context["inspectors"] = [{"name": "张三"}]
    with pytest.raises(TemplateError) as info:
        PreparedTemplate(TEMPLATES / CHECK_TABLE_TEMPLATE).render(context, tmp_path / "out.docx")
    assert "title" in info.value.message


def test_bad_date_raises_template_error(tmp_path: Path) -> None:
    fields = _fields(INSPECTORS[:1])
    fields["dept_opinion_date"] = "明天"
    with pytest.raises(TemplateError, match="明天"):
        render_check_table(fields, tmp_path / "out.docx", template_dir=TEMPLATES, bureau=BUREAU, case_id=None)


def test_missing_template_raises_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="make templates"):
        render_public_form(_public_context(), tmp_path / "out.docx", template_dir=tmp_path)


def test_prepared_template_renders_many_and_is_cached(tmp_path: Path) -> None:
    template = tmp_path / PUBLIC_FORM_TEMPLATE
    shutil.copyfile(TEMPLATES / PUBLIC_FORM_TEMPLATE, template)
    prepared = prepared_template(template)
    assert prepared_template(template) is prepared
    for i in range(3):
        prepared.render(_public_context(unit_name=f"企业{i}"), tmp_path / f"{i}.docx")
    assert [Document(str(tmp_path / f"{i}.docx")).tables[0].cell(0, 1).text for i in range(3)] == [
        "企业0",
        "企业1",
        "企业2",
    ]
    stat = template.stat()
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert prepared_template(template) is not prepared


# --------------------------------------------------------------------------------------------------
# LibreOffice


@pytest.mark.libreoffice
def test_public_form_converts_to_pdf(tmp_path: Path) -> None:
    soffice = require_soffice()
    docx_path = tmp_path / "公示表.docx"
    render_public_form(_public_context(), docx_path, template_dir=TEMPLATES)
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(docx_path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with pdfplumber.open(tmp_path / "公示表.pdf") as pdf:
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        text = page.extract_text() or ""
        cells = [cell for table in page.extract_tables() for row in table for cell in row if cell]
    assert "“双随机、一公开”检查结果公示表" in text
    # A long name wraps inside its cell: compare the cell's text without the line breaks.
    assert COMPANY in {"".join(cell.split()) for cell in cells}
