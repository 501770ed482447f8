"""A fresh folder with no settings at all: ``process --create``, the demo files, ``process`` → what the README promises.

No ``shuangsui.toml`` and no ``SHUANGSUI_*`` variable: every value is the default of
``pipeline/core/settings.py``, which the expectations below are built from (folder names, the case
prefix, the bureau printed on the 公示表, the archive's reference code, the publication deadline).
The README promises: 公示表 as Word and PDF, the 汇总, the website files, the 双公示 export, the
综合科 bundle, archive packages (on the next pass over an empty inbox), the forms to print for an open case, 退回 with its explanation,
待补充 with its note, and a receipt line for every file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import docx
import pytest
from openpyxl import load_workbook

from pipeline.core.settings import DEFAULT_CONFIG_NAME, Settings
from tests.conftest import ROOT
from tests.system_deps import require_soffice

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow]

DEFAULTS = Settings()


def shuangsui(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUANGSUI_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "pipeline", *args], env=env, cwd=folder, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc


def add_weekdays(start: dt.date, days: int) -> dt.date:
    # 2026-11-09 … 2026-12-14 holds no public holiday and no 调休 working weekend, so weekdays are working days.
    day = start
    while days:
        day += dt.timedelta(days=1)
        days -= day.weekday() < 5
    return day


def test_fresh_folder_with_defaults_only(tmp_path: Path) -> None:
    require_soffice()
    assert not (tmp_path / DEFAULT_CONFIG_NAME).exists()
    first = shuangsui(tmp_path, "process", "--create")
    assert "收件箱中没有待处理的文件" in first.stdout
    inbox, outbox, data = tmp_path / DEFAULTS.inbox, tmp_path / DEFAULTS.outbox, tmp_path / DEFAULTS.data_dir
    assert inbox.is_dir()
    shuangsui(tmp_path, "demo")
    dropped = sorted(str(p.relative_to(inbox)) for p in inbox.rglob("*") if p.is_file())

    files = json.loads(shuangsui(tmp_path, "process", "--json").stdout)["files"]

    assert sorted(f["name"] for f in files) == dropped
    assert not [p for p in inbox.rglob("*") if p.is_file()], "files left in the inbox"
    assert (data / "shuangsui.sqlite3").is_file() and (data / "originals").is_dir()
    cases = sorted({f["case"] for f in files if f["case"]})
    assert len(cases) == 5 and all(c.startswith(f"{DEFAULTS.case_prefix}-2026-") for c in cases)

    # 公示表 Word + PDF for the four complete cases (signed scans in the demo, require_signed_scan on),
    # each also on the website; the bureau named by default on the form.
    forms = outbox / "公示表"
    stems = sorted(p.stem for p in forms.glob("*.docx"))
    assert len(stems) == 4
    assert sorted(p.stem for p in forms.glob("*.pdf")) == stems
    assert sorted(p.stem for p in (outbox / "网站公示").glob("*.pdf")) == stems
    assert (outbox / "网站公示" / "index.html").is_file()
    for stem in stems:
        document = docx.Document(str(forms / f"{stem}.docx"))
        cells = {cell.text for table in document.tables for row in table.rows for cell in row.cells}
        assert DEFAULTS.bureau in cells and stem.rsplit("-", 3)[0] in cells

    # The 汇总: one row per case with the default 20-working-day deadline (第十三条).
    sheet = load_workbook(forms / "公示表汇总.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert [r[0] for r in body] == cases
    start, due = header.index("检查抽查日期（止）"), header.index("公示期限")
    for row in body:
        assert row[due].date() == add_weekdays(row[start].date(), DEFAULTS.days_publish)
    assert sorted(r[header.index("状态")] for r in body) == ["已公示"] * 4 + ["待补充"]

    # 退回 with its explanation; 待补充 with its note; the open case's forms to print (print_forms_auto).
    returned = [f["name"] for f in files if f["status"] == "rejected"]
    assert returned == ["检查表-执法人员不足两人.docx"]
    assert (outbox / "退回" / returned[0]).read_bytes()
    assert (outbox / "退回" / f"{returned[0]}.错误说明.txt").read_text(encoding="utf-8")
    waiting = next(r for r in body if r[header.index("状态")] == "待补充")
    assert [p.name for p in (outbox / "待补充").iterdir()] == [f"{waiting[0]}-{waiting[1]}.说明.txt"]
    printed = sorted(str(p.relative_to(outbox / "打印")) for p in (outbox / "打印").rglob("*") if p.is_file())
    assert printed == [f"{waiting[0]}/{name}" for name in ("现场检查笔录（空白）.docx", "现场检查笔录（空白）.pdf",
                                                         "随机抽查事项检查表.docx", "随机抽查事项检查表.pdf")]

    # A receipt line for every file dropped today.
    receipt = (outbox / "回执" / f"{dt.date.today().isoformat()}.txt").read_text(encoding="utf-8")
    for name in dropped:
        assert f"  {Path(name).name}  → " in receipt, name
    assert len([line for line in receipt.splitlines() if "  → " in line]) == len(dropped)

    # Defaults on: the 双公示 export, the monthly 综合科 bundle for November.
    assert list((outbox / "双公示").glob("行政处罚-*.xlsx"))
    assert DEFAULTS.bundle_interval == "month" and (outbox / "综合科" / "2026-11.zip").is_file()

    # Archive packages (archive_auto) are not made in the pass that had files, but in the next pass
    # over an empty inbox (运维: 归档包不在处理文件的那一轮生成), named from the archive defaults
    # (全宗号-门类·年度-保管期限-机构代码-件号).
    assert DEFAULTS.archive_auto and not list(outbox.glob("归档/*/*.zip"))
    shuangsui(tmp_path, "process")
    packages = sorted(p.name for p in (outbox / "归档" / "2026").glob("*.zip"))
    prefix = f"{DEFAULTS.archive_fonds}-{DEFAULTS.archive_category}·2026-{DEFAULTS.archive_retention}-"
    assert packages == [f"{prefix}{DEFAULTS.archive_org_code}-{n:04d}.zip" for n in range(1, 5)]
