"""Receipts: every dropped file gets a line in ``outbox/回执/<day>.txt``, written again at each pass's end."""

from __future__ import annotations

import datetime as dt
import shutil

from pipeline.core.settings import Settings
from tests.conftest import Samples, process_json


def test_every_dropped_file_gets_one_line_with_what_became_of_it(settings: Settings, samples: Samples) -> None:
    samples.lists()
    good = samples.check_table("检查表-完整.docx")
    shutil.copyfile(good, settings.inbox / "检查表-完整（副本）.docx")
    samples.check_table("检查表-待审核.docx", company=samples.companies[1], situation="已对企业进行检查。",
                        handling="另行研究。")
    (settings.inbox / "坏文件.docx").write_bytes(b"PK\x03\x04 not really a zip")
    files = {f["name"]: f for f in process_json(settings)}
    receipt = settings.outbox / "回执" / f"{dt.date.today().isoformat()}.txt"
    lines = receipt.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("收件回执")
    by_name = {name: next(line for line in lines if f"  {name}  →" in line)
               for name in ("检查表-完整.docx", "检查表-完整（副本）.docx", "检查表-待审核.docx", "坏文件.docx")}
    assert f"→ 已受理  案卷 {files['检查表-完整.docx']['case']}" in by_name["检查表-完整.docx"]
    assert "→ 重复文件" in by_name["检查表-完整（副本）.docx"] and "内容完全相同" in by_name["检查表-完整（副本）.docx"]
    assert "→ 待补充" in by_name["检查表-待审核.docx"]
    assert "→ 已退回" in by_name["坏文件.docx"] and "（" in by_name["坏文件.docx"]
    assert sum(1 for line in lines if "→" in line) == 7  # the three list sheets, too; each once
    # A second pass with nothing new writes the same file; a new drop adds its line and keeps the others.
    process_json(settings)
    assert receipt.read_text(encoding="utf-8").splitlines() == lines
    samples.check_table("检查表-第二批.docx", company=samples.companies[2])
    process_json(settings)
    again = receipt.read_text(encoding="utf-8").splitlines()
    assert again[: len(lines)] == lines and sum(1 for line in again if "检查表-第二批.docx" in line) == 1
