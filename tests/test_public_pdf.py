"""The 公示表 PDF drawn without LibreOffice: its text, fonts, PDF/A-2b markers, and how it looks next to
LibreOffice's PDF of the same .docx."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import numpy as np
import pdfplumber
import pytest
from fontTools.ttLib import TTFont
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from pipeline.cli.doctor import run_checks
from pipeline.core.settings import load_settings
from pipeline.documents.libreoffice import PDFA2B_FILTER, Converter
from pipeline.documents.public_pdf import LayoutUnsupported, render_public_form_pdf, supports
from pipeline.documents.render import PUBLIC_FORM_TEMPLATE, public_form_context, render_public_form
from pipeline.documents.scripts import script_runs
from tests.system_deps import INSTALL_HINT, require_soffice

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"

CONTEXT = public_form_context(
    unit_name="上海浦东新区张江高科技园区某某生物医药研究开发有限责任公司第二分公司", uscc="91310115MA1K3XXXXY",
    authority="上海市浦东新区市场监督管理局", task_name="2026年度医疗器械经营企业 GMP 合规 random check（第二批）",
    check_date="2026年11月9日至2026年11月10日", check_type="现场检查",
    result="发现问题：1. 进货查验记录不全；\n2. 部分产品标签不符合 GB 7718-2011 要求，已责令限期整改。")
# Script runs LibreOffice shapes differently: an all-digit date (no script), brackets, dashes, ellipses.
EDGE = public_form_context(unit_name="某公司——第3分部（ABC-123）", uscc="91370600MA3CXXXX0K", authority="局…2号",
                           task_name="No.5 任务“抽查2026”……第7批", check_date="2026.1.5", check_type="书面检查",
                           result="结论：合格—详见附件3……\n(1) 第1项 OK; (2) 第2项 12.5%")
SHORT = public_form_context(unit_name="烟台A&B<科技>有限公司", uscc="91370600MA3CXXXX0K", authority="某某市市场监督管理局",
                            task_name="任务", check_date="2026年1月5日", check_type="书面检查", result="未发现问题")


def _pdftoppm(pdf: Path, dpi: int = 100) -> np.ndarray:
    exe = shutil.which("pdftoppm")
    if exe is None:
        pytest.fail(f"找不到 pdftoppm：{INSTALL_HINT}")
    subprocess.run([exe, "-r", str(dpi), "-gray", "-png", "-singlefile", str(pdf), str(pdf.with_suffix(""))],
                   check=True)
    with Image.open(pdf.with_suffix(".png")) as image:
        return np.asarray(image.convert("L"), dtype=float)


def _strong_differences(a: np.ndarray, b: np.ndarray, level: float = 96) -> int:
    """Pixels that differ by more than ``level`` grey levels from every pixel within one pixel of them in
    the other image (either way round): what is left once sub-pixel placement is forgiven."""
    assert a.shape == b.shape
    height, width = a.shape

    def nearest(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        padded = np.pad(y, 1, constant_values=255)
        return np.min([np.abs(x - padded[1 + dy:1 + dy + height, 1 + dx:1 + dx + width])
                       for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)

    return int((np.maximum(nearest(a, b), nearest(b, a)) > level).sum())


def _cells(table: list[list[str | None]]) -> list[str]:
    return [re.sub(r"\s+", "", cell) for row in table for cell in row if cell]


def test_the_pdf_has_the_docx_table_cell_for_cell(tmp_path: Path) -> None:
    pdf = render_public_form_pdf(CONTEXT, tmp_path / "公示表.pdf")
    docx_path = tmp_path / "公示表.docx"
    render_public_form(CONTEXT, docx_path, template_dir=TEMPLATES)
    expected = []
    for row in docx.Document(str(docx_path)).tables[0].rows:
        for cell in dict.fromkeys(row.cells):  # a merged cell once
            expected.append(re.sub(r"\s+", "", cell.text))
    with pdfplumber.open(pdf) as doc:
        assert len(doc.pages) == 1
        page = doc.pages[0]
        (table,) = page.extract_tables()  # found by its ruling lines
        title = page.extract_text().splitlines()[0]
    assert _cells(table) == expected
    assert CONTEXT["unit_name"] in expected[1] and expected[3] == CONTEXT["uscc"]
    assert title == "“双随机、一公开”检查结果公示表"
    # The same context gives the same bytes (publishing compares them).
    assert render_public_form_pdf(CONTEXT, tmp_path / "again.pdf").read_bytes() == pdf.read_bytes()


def test_fonts_are_embedded_and_agree_with_their_widths(tmp_path: Path) -> None:
    reader = PdfReader(render_public_form_pdf(SHORT, tmp_path / "公示表.pdf"))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = set()
    for ref in fonts.values():
        font = ref.get_object()
        assert font["/Subtype"] == "/Type0" and "/ToUnicode" in font
        cid = font["/DescendantFonts"][0].get_object()
        assert cid["/CIDToGIDMap"] == "/Identity"
        program = cid["/FontDescriptor"]["/FontFile2"].get_object()
        ttf = TTFont(io.BytesIO(program.get_data()))
        advances = [ttf["hmtx"][name][0] * 1000 / ttf["head"].unitsPerEm for name in ttf.getGlyphOrder()[1:]]
        assert [round(a) for a in advances] == [int(w) for w in cid["/W"][1]]
        names.add(str(font["/BaseFont"]).split("+", 1)[1])
    # As LibreOffice sets the template: 宋体 text in Noto Serif CJK SC, the 黑体 bold title in Noto Sans CJK SC,
    # and the Times New Roman digits in the 宋体 face (pipeline/documents/fonts.py aliases).
    assert {"NotoSerifCJKsc-Regular", "NotoSansCJKsc-Bold"} <= names
    assert not any(n.startswith("NotoSansCJKsc-Regular") or "DejaVu" in n for n in names)


def test_script_runs_as_icu_resolves_them() -> None:
    # Digits and punctuation join the run they are in; at a paragraph's start the first letter's script.
    assert script_runs("2026年1月") == ["hani"] * 7
    assert script_runs("91310115MA1K") == ["latn"] * 12
    assert script_runs("符合 GB 7718 要求") == ["hani"] * 3 + ["latn"] * 8 + ["hani"] * 2
    assert script_runs("2026.1.5") == [""] * 8
    # A closing bracket gets its opening bracket's script back, also after a run of another script.
    assert script_runs("ab(中)1") == ["latn"] * 3 + ["hani"] + ["latn"] * 2
    assert script_runs("“双”") == ["hani"] * 3


def test_digits_take_the_glyphs_of_their_script_run(tmp_path: Path) -> None:
    """As LibreOffice sets them (measured on its PDF of the template): Noto Serif CJK's digits are 0.549 em
    each in a Latin run (the credit code), proportional in a Chinese one (the date: a narrow 1)."""
    with pdfplumber.open(render_public_form_pdf(SHORT, tmp_path / "公示表.pdf")) as doc:
        chars = doc.pages[0].chars
    line = {round(c["top"]) for c in chars if c["text"] == "K"}
    uscc = [c for c in chars if round(c["top"]) in line and c["text"].isdigit()]
    assert "".join(c["text"] for c in uscc) == "9137060030"
    assert {round(c["x1"] - c["x0"], 2) for c in uscc} == {6.59}
    date = [c for c in chars if c["text"] == "1" and c not in uscc]
    assert date and {round(c["x1"] - c["x0"], 2) for c in date} == {5.65}


def test_pdfa_2b_markers(tmp_path: Path) -> None:
    path = render_public_form_pdf(SHORT, tmp_path / "公示表.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3")
    reader = PdfReader(path)
    assert not reader.is_encrypted
    assert len(reader.trailer["/ID"]) == 2
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object()
    assert xmp["/Subtype"] == "/XML" and "/Filter" not in xmp  # PDF/A: metadata readable as is
    packet = xmp.get_data().decode("utf-8")
    assert "<pdfaid:part>2</pdfaid:part>" in packet and "<pdfaid:conformance>B</pdfaid:conformance>" in packet
    info = reader.metadata
    assert info is not None and info.title is not None and info.title in packet
    assert f"<pdf:Producer>{info.producer}</pdf:Producer>" in packet
    (intent,) = [i.get_object() for i in root["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"].get_object()
    icc = profile.get_data()
    assert profile["/N"] == 3 and icc[36:40] == b"acsp" and icc[16:20] == b"RGB " and icc[8] in (2, 4)
    assert isinstance(root, DictionaryObject) and "/AcroForm" not in root and "/OpenAction" not in root
    assert b"/JavaScript" not in data and b"/Transparency" not in data


def test_edited_template_and_unusual_content_fall_back(tmp_path: Path) -> None:
    assert supports(TEMPLATES / PUBLIC_FORM_TEMPLATE)
    edited = tmp_path / PUBLIC_FORM_TEMPLATE
    with zipfile.ZipFile(TEMPLATES / PUBLIC_FORM_TEMPLATE) as src, zipfile.ZipFile(edited, "w") as out:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "word/document.xml":
                body = body.replace("企业名称".encode(), "单位名称".encode())
            out.writestr(item, body)
    assert not supports(edited)
    assert not supports(tmp_path / "missing.docx")
    with pytest.raises(LayoutUnsupported):
        render_public_form_pdf({**SHORT, "result": "第一项\t合格"}, tmp_path / "tab.pdf")
    with pytest.raises(LayoutUnsupported):  # LibreOffice sets "fi" as one ligature glyph
        render_public_form_pdf({**SHORT, "result": "Wifi 设备"}, tmp_path / "ligature.pdf")
    assert render_public_form_pdf({**SHORT, "result": "f i"}, tmp_path / "apart.pdf").is_file()
    with pytest.raises(LayoutUnsupported):
        render_public_form_pdf({**SHORT, "result": "问题\n" * 60}, tmp_path / "long.pdf")


@pytest.mark.libreoffice
def test_looks_like_the_libreoffice_pdf_of_the_docx(tmp_path: Path) -> None:
    """Both renderings rasterised at 100 dpi (1 px = 0.72 pt) by poppler. Allowing each pixel to match
    within one pixel (sub-pixel placement: LibreOffice rounds positions to twips, and a baseline near a
    pixel edge moves a stroke by one pixel), no pixel may differ by more than 96 grey levels, save a
    few (measured: 0 on all three forms). The control shows the measure is not blind: one digit of the date
    changed (5 → 15, moving what follows) gives about a hundred such pixels. (At 50 dpi the thin strokes
    of the serif 宋体 face gave it only 9: too blunt.)"""
    converter = Converter(require_soffice(), profile_root=tmp_path / "lo")
    for n, context in enumerate((EDGE, CONTEXT, SHORT)):  # SHORT last: the control compares with it
        docx = tmp_path / f"form{n}.docx"
        render_public_form(context, docx, template_dir=TEMPLATES)
        libreoffice = converter.convert(docx, "pdf", tmp_path / "lo-pdf", PDFA2B_FILTER)
        direct = render_public_form_pdf(context, tmp_path / f"direct{n}.pdf")
        reference = _pdftoppm(libreoffice)
        assert _strong_differences(_pdftoppm(direct), reference) <= 5
    wrong = render_public_form_pdf({**SHORT, "check_date": "2026年1月15日"}, tmp_path / "wrong.pdf")
    assert _strong_differences(_pdftoppm(wrong), reference) > 20


def test_doctor_names_the_embedded_fonts_or_says_libreoffice_converts(tmp_path: Path) -> None:
    settings = load_settings(env={}, data_dir=tmp_path / "var")
    check = next(c for c in run_checks(settings) if c.name == "公示表 PDF")
    assert check.ok and "直接生成 PDF/A-2b" in check.detail and "NotoSansCJK" in check.detail
    check = next(c for c in run_checks(settings.replace(public_form_pdf_direct=False)) if c.name == "公示表 PDF")
    assert check.ok and "LibreOffice" in check.detail
