"""Tests of the Word check-table extractor on real .docx files built with python-docx."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.table import Table, _Cell

from pipeline.core.errors import InputFileError
from pipeline.core.models import CHECK_TABLE_FIELDS
from pipeline.documents.render import render_check_table
from pipeline.extract import extract_file
from pipeline.extract.docx_check_table import NOT_CHECK_TABLE, DocxCheckTableExtractor

TWO = (
    ("1.张三", "科长", "37060020190001", "13805351234"),
    ("2.李四", "科员", "37060020190002", "0535-6789012"),
)
SIX = (
    *TWO,
    ("3.王五", "副科长", "37060020190003", "13905355678"),
    ("4、赵六", "科员", "37060020190004", "13705350001"),
    ("（5）孙七", "一级主任科员", "37060020190005", "13605350002"),
    ("6．周八", "科员", "37060020190006", "13505350003"),
)


@dataclass(frozen=True)
class Form:
    """What to write into the check table, and how to lay it out."""

    unit: str = "烟台某某精密机械有限公司"
    basis: str = "《民用爆炸物品安全管理条例》第四条"
    scope: str = "民用爆炸物品销售的安全生产监督管理"
    methods: str = "☐书面检查　☑现场检查　☐网络监测　☐检验检测"
    inspectors: tuple[tuple[str, str, str, str], ...] = TWO
    blank_rows: tuple[str, ...] = ("3.", ".....")
    dept_opinion: str = "同意。\n（盖章）2026年3月1日"
    leader_approval: str = "2026年3月2日"
    authority_opinion: str = "同意开展抽查。\n（盖章）2026年3月2日"
    situation: str = "企业证照齐全。\n发现台账记录不完整，已责令整改。"
    period: str = "2026年3月5日9时30分至11时00分"
    handling: str = "责令限期整改，跟踪复查。"
    leader_confirmation: str = "2026年3月9日"
    authority_seal: str = "（盖章）2026年3月10日"
    case_ref: str | None = "SS-2026-00001"
    labels: dict[str, str] = field(default_factory=dict)
    unit_in_label: bool = False
    merge_inspector_label: bool = True
    nested: bool = False


LABELS = {
    "inspected_unit": "被抽查单位",
    "basis": "抽查依据",
    "scope": "抽查范围及主要内容",
    "methods": "抽查方式",
    "inspectors": "抽查执法人员",
    "dept_opinion": "执法科室\n意见",
    "leader_approval": "分管领导\n批准签字",
    "authority_opinion": "抽查执法\n主体意见",
    "situation": "抽查情况\n（包括发现问题、整改措施等）",
    "period": "抽查时间",
    "handling": "处理意见\n和建议",
    "leader_confirmation": "分管领导\n确认签字",
    "authority_seal": "抽查执法\n主体盖章",
}


def put(cell: _Cell, text: str) -> None:
    """Write ``text`` into ``cell``, one paragraph per line."""
    lines = text.split("\n")
    cell.paragraphs[0].text = lines[0]
    for line in lines[1:]:
        cell.add_paragraph(line)


def build(path: Path, form: Form = Form()) -> Path:
    """Write a check table in the seed's layout (table 1: five columns, table 2: two)."""
    labels = {**LABELS, **form.labels}
    document = docx.Document()
    if form.case_ref:
        document.add_paragraph(f"编号：{form.case_ref}")
    document.add_paragraph("烟台市工业和信息化局随机抽查事项检查表")

    people = [*form.inspectors, *((b, "", "", "") for b in form.blank_rows)]
    n_rows = 4 + 1 + len(people) + 3
    host: Any = document
    if form.nested:
        host = document.add_table(rows=1, cols=1).cell(0, 0)
    t1: Table = host.add_table(rows=n_rows, cols=5)
    simple = [
        ("inspected_unit", form.unit),
        ("basis", form.basis),
        ("scope", form.scope),
        ("methods", form.methods),
    ]
    for r, (key, value) in enumerate(simple):
        value_cell = t1.cell(r, 1).merge(t1.cell(r, 4))
        if key == "inspected_unit" and form.unit_in_label:
            put(t1.cell(r, 0), f"{labels[key]}：{value}")
        else:
            put(t1.cell(r, 0), labels[key])
            put(value_cell, value)
    head = 4
    for c, heading in enumerate(("姓名", "职务", "执法证号", "联系电话"), start=1):
        put(t1.cell(head, c), heading)
    for i, person in enumerate(people, start=head + 1):
        for c, value in enumerate(person, start=1):
            if value:
                put(t1.cell(i, c), value)
    last = head + len(people)
    if form.merge_inspector_label:
        put(t1.cell(head, 0).merge(t1.cell(last, 0)), labels["inspectors"])
    else:
        put(t1.cell(head, 0), labels["inspectors"])
    for r, (key, value) in enumerate(
        (
            ("dept_opinion", form.dept_opinion),
            ("leader_approval", form.leader_approval),
            ("authority_opinion", form.authority_opinion),
        ),
        start=last + 1,
    ):
        put(t1.cell(r, 0), labels[key])
        put(t1.cell(r, 1).merge(t1.cell(r, 4)), value)

    document.add_page_break()
    lower = (
        ("situation", form.situation),
        ("period", form.period),
        ("handling", form.handling),
        ("leader_confirmation", form.leader_confirmation),
        ("authority_seal", form.authority_seal),
    )
    t2 = document.add_table(rows=len(lower), cols=2)
    for r, (key, value) in enumerate(lower):
        put(t2.cell(r, 0), labels[key])
        put(t2.cell(r, 1), value)
    document.add_paragraph("注：1、本检查表由相关抽查监管业务科室、单位牵头填写、报批并存档。")
    document.save(str(path))
    return path


def expected(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "inspected_unit": "烟台某某精密机械有限公司",
        "basis": "《民用爆炸物品安全管理条例》第四条",
        "scope": "民用爆炸物品销售的安全生产监督管理",
        "methods": ["现场检查"],
        "inspectors": [
            {"name": "张三", "title": "科长", "licence_no": "37060020190001", "phone": "13805351234"},
            {"name": "李四", "title": "科员", "licence_no": "37060020190002", "phone": "0535-6789012"},
        ],
        "situation": "企业证照齐全。\n发现台账记录不完整，已责令整改。",
        "check_start": "2026-03-05T09:30",
        "check_end": "2026-03-05T11:00",
        "handling": "责令限期整改，跟踪复查。",
        "dept_opinion_date": "2026-03-01",
        "leader_approval_date": "2026-03-02",
        "authority_opinion_date": "2026-03-02",
        "leader_confirmation_date": "2026-03-09",
        "authority_seal_date": "2026-03-10",
    }
    fields.update(changes)
    return fields


def extract(path: Path) -> Any:
    return DocxCheckTableExtractor().extract(path, display_name="检查表.docx")


def edit_document(path: Path, change: Any) -> None:
    """Open ``path`` with python-docx, let ``change(document)`` edit the XML, save in place."""
    document = docx.Document(str(path))
    change(document)
    document.save(str(path))


def value_cell(document: Any, table: int, row: int, col: int = 1) -> _Cell:
    return document.tables[table].cell(row, col)


# ---------------------------------------------------------------------------------------------


def test_two_inspectors_field_exact(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.docx"))
    assert result.form == "check_table"
    assert tuple(result.fields) == CHECK_TABLE_FIELDS
    assert result.fields == expected()
    assert result.warnings == ()
    assert result.case_ref == "SS-2026-00001"
    unit = result.provenance["inspected_unit"]
    assert (unit.file, unit.location, unit.confidence) == ("检查表.docx", "表1 第1行 第2列", 1.0)
    assert result.provenance["inspectors"].location == "表1 第6行起"
    assert result.provenance["check_start"].location == "表2 第2行 第2列"
    assert result.provenance["authority_seal_date"].location == "表2 第5行 第2列"
    assert set(result.provenance) == set(CHECK_TABLE_FIELDS)


def test_six_inspectors_in_form_order(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.docx", Form(inspectors=SIX, blank_rows=())))
    names = [i["name"] for i in result.fields["inspectors"]]
    assert names == ["张三", "李四", "王五", "赵六", "孙七", "周八"]
    assert result.fields["inspectors"][4] == {
        "name": "孙七",
        "title": "一级主任科员",
        "licence_no": "37060020190005",
        "phone": "13605350002",
    }
    assert result.warnings == ()


def test_labels_with_spaces_and_line_breaks(tmp_path: Path) -> None:
    form = Form(
        labels={
            "inspected_unit": "被 抽 查 单 位",
            "inspectors": "抽查执法\n人员",
            "period": "抽查\u3000时间：",
        }
    )
    result = extract(build(tmp_path / "a.docx", form))
    assert result.fields == expected()
    assert result.provenance["inspected_unit"].confidence == 1.0


def test_situation_label_without_parenthetical(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.docx", Form(labels={"situation": "抽查情况"})))
    assert result.fields == expected()


def test_value_after_colon_in_label_cell(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.docx", Form(unit_in_label=True)))
    assert result.fields == expected()
    assert result.provenance["inspected_unit"].confidence == 0.7
    assert result.provenance["inspected_unit"].location == "表1 第1行 第1列"


def test_fuzzy_label(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.docx", Form(labels={"inspected_unit": "被抽查单位名称"})))
    assert result.fields == expected()
    assert result.provenance["inspected_unit"].confidence == 0.7


def test_inspector_label_not_merged(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.docx", Form(merge_inspector_label=False)))
    assert result.fields == expected()


def test_blank_dates_and_period_give_none_without_warnings(tmp_path: Path) -> None:
    form = Form(
        dept_opinion="（盖章）\n年　　月　　日",
        leader_approval="年 月 日",
        authority_opinion="（盖章） 年 月 日",
        situation="",
        period="年 月 日 时 分至 时 分",
        handling="",
        leader_confirmation="　　年　　月　　日",
        authority_seal="（盖章）年 月 日",
    )
    result = extract(build(tmp_path / "a.docx", form))
    assert result.fields == expected(
        dept_opinion_date=None,
        leader_approval_date=None,
        authority_opinion_date=None,
        situation=None,
        check_start=None,
        check_end=None,
        handling=None,
        leader_confirmation_date=None,
        authority_seal_date=None,
    )
    assert result.warnings == ()


def test_two_dates_in_one_cell_warns(tmp_path: Path) -> None:
    form = Form(dept_opinion="同意于2026年3月5日开展检查。\n（盖章）2026年3月1日")
    result = extract(build(tmp_path / "a.docx", form))
    assert result.fields["dept_opinion_date"] == "2026-03-01"
    assert result.warnings == (
        "执法科室意见日期：同一栏写有不同的日期（2026年3月5日、2026年3月1日），"
        "已采用最后一个（2026年3月1日）。请核对。",
    )
    assert result.provenance["dept_opinion_date"].confidence == 0.5
    assert result.provenance["leader_approval_date"].confidence == 1.0


def test_unreadable_period_warns(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.docx", Form(period="3月5日上午")))
    assert result.fields["check_start"] is None
    assert result.fields["check_end"] is None
    assert result.warnings == ("抽查时间“3月5日上午”无法识别，请按“2026年3月5日9时30分至11时00分”填写。",)
    assert result.provenance["check_start"].confidence == 0.5


def test_unreadable_date_warns(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.docx", Form(leader_approval="2026年13月2日")))
    assert result.fields["leader_approval_date"] is None
    assert result.warnings == ("分管领导批准签字日期“2026年13月2日”无法识别，请按“2026年3月5日”填写。",)


def test_methods_plain_text_and_chinese_date(tmp_path: Path) -> None:
    form = Form(methods="现场检查、书面检查", leader_confirmation="二〇二六年三月九日")
    result = extract(build(tmp_path / "a.docx", form))
    assert result.fields == expected(methods=["现场检查", "书面检查"])


def test_unchecked_methods_give_none(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.docx", Form(methods="☐书面检查　☐现场检查　☐网络监测　☐检验检测")))
    assert result.fields["methods"] is None


def test_tracked_deletion_ignored_and_insertion_kept(tmp_path: Path) -> None:
    path = build(tmp_path / "a.docx")

    def change(document: Any) -> None:
        p = value_cell(document, 0, 0).paragraphs[0]._p
        p.append(
            parse_xml(
                f'<w:del {nsdecls("w")} w:id="1" w:author="a" w:date="2026-03-01T00:00:00Z">'
                "<w:r><w:delText>旧名称</w:delText></w:r><w:r><w:t>（已删）</w:t></w:r></w:del>"
            )
        )
        p.append(
            parse_xml(
                f'<w:ins {nsdecls("w")} w:id="2" w:author="a" w:date="2026-03-01T00:00:00Z">'
                "<w:r><w:t>分公司</w:t></w:r></w:ins>"
            )
        )

    edit_document(path, change)
    result = extract(path)
    assert result.fields["inspected_unit"] == "烟台某某精密机械有限公司分公司"


def test_content_controls(tmp_path: Path) -> None:
    path = build(tmp_path / "a.docx", Form(basis="", scope=""))

    def change(document: Any) -> None:
        basis = value_cell(document, 0, 1).paragraphs[0]._p
        basis.append(
            parse_xml(
                f"<w:sdt {nsdecls('w')}><w:sdtPr><w:alias w:val='依据'/></w:sdtPr><w:sdtContent>"
                "<w:r><w:t>《民用爆炸物品安全管理条例》第四条</w:t></w:r></w:sdtContent></w:sdt>"
            )
        )
        scope = value_cell(document, 0, 2).paragraphs[0]._p
        scope.append(
            parse_xml(
                f"<w:sdt {nsdecls('w')}><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent>"
                "<w:r><w:t>单击或点击此处输入文字。</w:t></w:r></w:sdtContent></w:sdt>"
            )
        )

    edit_document(path, change)
    result = extract(path)
    assert result.fields["basis"] == "《民用爆炸物品安全管理条例》第四条"
    assert result.fields["scope"] is None


def test_inspector_row_inside_content_control(tmp_path: Path) -> None:
    """A repeating-section content control wraps rows; python-docx's rows would miss them."""
    path = build(tmp_path / "a.docx", Form(blank_rows=()))

    def change(document: Any) -> None:
        tbl = document.tables[0]._tbl
        tr = tbl.tr_lst[6]  # 李四
        sdt = parse_xml(f"<w:sdt {nsdecls('w')}><w:sdtPr/><w:sdtContent/></w:sdt>")
        tr.addprevious(sdt)
        sdt[1].append(tr)

    edit_document(path, change)
    assert extract(path).fields == expected()


def test_wingdings_and_form_field_check_boxes(tmp_path: Path) -> None:
    path = build(tmp_path / "a.docx", Form(methods=""))

    def change(document: Any) -> None:
        p = value_cell(document, 0, 3).paragraphs[0]._p
        p.append(parse_xml(f"<w:r {nsdecls('w')}><w:sym w:font='Wingdings 2' w:char='F0A3'/></w:r>"))
        p.append(parse_xml(f"<w:r {nsdecls('w')}><w:t>书面检查 </w:t></w:r>"))
        p.append(parse_xml(f"<w:r {nsdecls('w')}><w:sym w:font='Wingdings 2' w:char='F052'/></w:r>"))
        p.append(parse_xml(f"<w:r {nsdecls('w')}><w:t>现场检查 </w:t></w:r>"))
        p.append(
            parse_xml(
                f"<w:r {nsdecls('w')}><w:fldChar w:fldCharType='begin'><w:ffData><w:checkBox>"
                "<w:sizeAuto/><w:default w:val='1'/></w:checkBox></w:ffData></w:fldChar></w:r>"
            )
        )
        p.append(parse_xml(f"<w:r {nsdecls('w')}><w:t>检验检测</w:t></w:r>"))

    edit_document(path, change)
    assert extract(path).fields["methods"] == ["现场检查", "检验检测"]


def test_hidden_text_ignored(tmp_path: Path) -> None:
    path = build(tmp_path / "a.docx")

    def change(document: Any) -> None:
        p = value_cell(document, 1, 2).paragraphs[0]._p
        p.append(parse_xml(f"<w:r {nsdecls('w')}><w:rPr><w:vanish/></w:rPr><w:t>（填写说明）</w:t></w:r>"))

    edit_document(path, change)
    assert extract(path).fields["handling"] == "责令限期整改，跟踪复查。"


def test_form_inside_a_layout_table(tmp_path: Path) -> None:
    result = extract(build(tmp_path / "a.docx", Form(nested=True)))
    assert result.fields == expected()
    assert result.provenance["inspected_unit"].location == "表2 第1行 第2列"


def test_label_twice_with_different_values_warns(tmp_path: Path) -> None:
    path = build(tmp_path / "a.docx")

    def change(document: Any) -> None:
        extra = document.add_table(rows=1, cols=2)
        put(extra.cell(0, 0), "被抽查单位")
        put(extra.cell(0, 1), "烟台另一家有限公司")

    edit_document(path, change)
    result = extract(path)
    assert result.fields["inspected_unit"] == "烟台某某精密机械有限公司"
    assert result.warnings == (
        "被抽查单位：栏目出现两次且内容不同（“烟台某某精密机械有限公司”与“烟台另一家有限公司”），"
        "已采用第一处（表1 第1行 第2列）。请核对后只保留一处。",
    )
    assert result.provenance["inspected_unit"].confidence == 0.5


def test_value_in_the_row_below_a_full_width_label(tmp_path: Path) -> None:
    path = tmp_path / "a.docx"
    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    put(table.cell(0, 0), "被抽查单位")
    put(table.cell(0, 1), "烟台某某有限公司")
    put(table.cell(1, 0).merge(table.cell(1, 1)), "抽查情况（包括发现问题、整改措施等）")
    put(table.cell(2, 0).merge(table.cell(2, 1)), "未发现问题。")
    document.save(str(path))
    result = extract(path)
    assert result.fields["inspected_unit"] == "烟台某某有限公司"
    assert result.fields["situation"] == "未发现问题。"
    assert result.provenance["situation"].location == "表1 第3行 第1列"
    assert result.provenance["situation"].confidence == 0.7
    assert result.fields["inspectors"] == []
    assert "未找到“抽查时间”栏目。请使用局统一的检查表模板填写。" in result.warnings


def test_multiline_inspector_cells(tmp_path: Path) -> None:
    form = Form(
        inspectors=(
            ("1.张三\n2.李四", "科长\n科员", "37060020190001\n37060020190002", "13805351234\n0535-6789012"),
        ),
        blank_rows=(),
    )
    assert extract(build(tmp_path / "a.docx", form)).fields == expected()


def test_full_width_digits_and_spaces(tmp_path: Path) -> None:
    form = Form(
        inspectors=(("张三", "科长", "３７０６ ００２０ １９０００１", "１３８ ０５３５ １２３４"), TWO[1]),
        period="２０２６年３月５日 ９：３０—１１：００",
    )
    assert extract(build(tmp_path / "a.docx", form)).fields == expected()


def test_no_check_table(tmp_path: Path) -> None:
    path = tmp_path / "letter.docx"
    document = docx.Document()
    document.add_paragraph("关于开展2026年度工业节能监察的通知")
    table = document.add_table(rows=2, cols=2)
    put(table.cell(0, 0), "企业名称")
    put(table.cell(0, 1), "烟台某某有限公司")
    document.save(str(path))
    with pytest.raises(InputFileError) as info:
        extract(path)
    assert info.value.code == "FILE_NOT_CHECK_TABLE"
    assert info.value.message == NOT_CHECK_TABLE


def test_docm_is_read(tmp_path: Path) -> None:
    source = build(tmp_path / "a.docx")
    target = tmp_path / "a.docm"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                    b"application/vnd.ms-word.document.macroEnabled.main+xml",
                )
            dst.writestr(info, data)
    assert extract_file(target).fields == expected()


def test_corrupt_docx(tmp_path: Path) -> None:
    data = build(tmp_path / "a.docx").read_bytes()
    broken = tmp_path / "broken.docx"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError) as info:
        extract(broken)
    assert info.value.code == "FILE_UNREADABLE"
    assert "已损坏" in info.value.message or "压缩包" in info.value.message


def test_encrypted_docx_via_extractor(tmp_path: Path) -> None:
    path = tmp_path / "locked.docx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600 + "EncryptedPackage".encode("utf-16-le"))
    with pytest.raises(InputFileError) as info:
        extract(path)
    assert info.value.code == "FILE_ENCRYPTED"
    assert info.value.message == "文件已加密（设置了打开密码）。请取消密码后重新放入。"


def test_extract_file_dispatches_docx(tmp_path: Path) -> None:
    result = extract_file(build(tmp_path / "a.docx", Form(case_ref=None)), display_name="原始文件名.docx")
    assert result.fields == expected()
    assert result.case_ref is None
    assert result.provenance["basis"].file == "原始文件名.docx"


# --- the project's own template (templates/随机抽查事项检查表.docx via pipeline.documents.render) ---------

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.mark.parametrize("inspectors", [2, 6])
def test_rendered_template_round_trip(tmp_path: Path, inspectors: int) -> None:
    names = ("张三", "李四", "王五", "赵六", "孙七", "周八")
    people = [
        {"name": name, "title": title, "licence_no": licence, "phone": phone}
        for name, (_, title, licence, phone) in zip(names, SIX, strict=True)
    ][:inspectors]
    fields = expected(inspectors=people, methods=["书面检查", "现场检查"])
    out = tmp_path / "rendered.docx"
    render_check_table(
        fields,
        out,
        template_dir=TEMPLATES,
        bureau="烟台市工业和信息化局",
        case_id="SS-2026-00042",
        dept_opinion="同意。",
        authority_opinion="同意开展抽查。",
    )
    result = extract_file(out)
    assert result.fields == fields
    assert result.warnings == ()
    assert result.case_ref == "SS-2026-00042"


def test_rendered_blank_template(tmp_path: Path) -> None:
    out = tmp_path / "blank.docx"
    render_check_table({}, out, template_dir=TEMPLATES, bureau="烟台市工业和信息化局", case_id=None)
    result = extract_file(out)
    assert result.fields == dict.fromkeys(CHECK_TABLE_FIELDS) | {"inspectors": []}
    assert result.warnings == ()
