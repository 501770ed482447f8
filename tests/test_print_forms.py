"""Forms ready to print: every open case's QR-coded forms appear in ``outbox/打印/<案卷编号>/`` by themselves."""

from __future__ import annotations

import os

from docx import Document
from pypdf import PdfReader

from pipeline.core.settings import Settings
from pipeline.intake.process import open_context, process_inbox
from tests.conftest import Samples


def test_a_new_case_gets_its_forms_as_word_and_pdf_and_again_only_when_it_changes(
        settings: Settings, samples: Samples) -> None:
    settings = settings.replace(print_forms_auto=True, require_signed_scan=True)
    samples.settings = settings
    samples.lists()
    samples.check_table("检查表.docx")
    ctx = open_context(settings)
    try:
        [case_id] = {o.case for o in process_inbox(ctx) if o.case}
        folder = settings.outbox / "打印" / case_id
        names = {p.name for p in folder.iterdir()}
        assert names == {"随机抽查事项检查表.docx", "随机抽查事项检查表.pdf", "现场检查笔录（空白）.docx", "现场检查笔录（空白）.pdf"}
        unit = (ctx.store.get_case(case_id) or ctx.store.get_case("")).unit_name  # type: ignore[union-attr]
        assert unit and unit in "".join(c.text for t in Document(str(folder / "随机抽查事项检查表.docx")).tables
                                        for r in t.rows for c in r.cells)
        pdf_text = "".join(p.extract_text() or "" for p in PdfReader(str(folder / "随机抽查事项检查表.pdf")).pages)
        assert unit[:6] in pdf_text.replace("\n", "")
        # The waiting note sends the clerk there, not to a server command.
        note = next((settings.outbox / "待补充").glob(f"{case_id}*"))
        assert "发件箱/打印/" in note.read_text(encoding="utf-8") and "shuangsui forms" not in note.read_text(
            encoding="utf-8")
        # Nothing changed: the next pass leaves the files alone.
        before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
        process_inbox(ctx)
        assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
        # The case's data changes (a corrected check table): its forms are printed again.
        os.utime(folder / "随机抽查事项检查表.docx", ns=(0, 0))
        samples.check_table("检查表-更正.docx", situation="经检查，未发现问题。企业已整改完毕。")
        process_inbox(ctx)
        assert (folder / "随机抽查事项检查表.docx").stat().st_mtime_ns > 0
        assert "企业已整改完毕" in "".join(c.text for t in Document(str(folder / "随机抽查事项检查表.docx")).tables
                                        for r in t.rows for c in r.cells)
    finally:
        ctx.store.close()
