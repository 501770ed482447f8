"""行政处罚决定书 in the pipeline: joining its case, waiting for it, the 第十五条 due date, status."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import docx
from sqlalchemy import text

from pipeline.cases.overview import case_lines
from pipeline.cases.penalty import WAITING_FOR_DECISION, penalties
from pipeline.core.settings import Settings, load_settings
from pipeline.intake.process import Context, open_context, process_inbox
from pipeline.intake.process import penalty_outputs as after_pass
from pipeline.samples.penalty import PenaltySample, penalty_sample, write_decision_docx
from tests.conftest import Samples

PENALTY_HANDLING = "已责令企业立即改正；违法事实清楚，已立案调查，拟依法给予行政处罚。"
PENALTY_SITUATION = "发现企业未如实登记民用爆炸物品出入库情况，10月共有12批次记录缺失。"


def workspace(tmp_path: Path, **overrides: Any) -> tuple[Settings, Samples]:
    settings = load_settings(env={}, print_forms_auto=False, inbox=tmp_path / "inbox", outbox=tmp_path / "outbox",
                             data_dir=tmp_path / "var", settle_seconds=0.0,
                             **{"bundle_interval": "off", **overrides})
    settings.inbox.mkdir(parents=True)
    return settings, Samples(settings, random.Random(4242))


def penalty_check_table(samples: Samples, name: str = "检查表-查处.docx", company: int = 0) -> Path:
    return samples.check_table(name, company=samples.companies[company], situation=PENALTY_SITUATION,
                               handling=PENALTY_HANDLING)


def decision(samples: Samples, company: int = 0, decided: dt.date = dt.date(2026, 11, 20), number: int = 3,
             name: str | None = None, **layout: Any) -> tuple[Path, PenaltySample]:
    sample = penalty_sample(random.Random(number), samples.companies[company], dt.date(2026, 11, 9), kind=0,
                            number=number, decision_date=decided)
    path = samples.settings.inbox / (name or f"行政处罚决定书-{number}.docx")
    return write_decision_docx(path, sample, **layout), sample


def run(ctx: Context) -> dict[str, Any]:
    return {o.name: o for o in process_inbox(ctx)}


def test_decision_joins_the_penalty_case_with_its_due_date(tmp_path: Path) -> None:
    settings, samples = workspace(tmp_path)
    samples.lists()
    penalty_check_table(samples)
    samples.check_table("检查表-无问题.docx", company=samples.companies[1])
    _, sample = decision(samples)
    ctx = open_context(settings)
    try:
        outcomes = run(ctx)
        table = outcomes["检查表-查处.docx"]
        got = outcomes["行政处罚决定书-3.docx"]
        assert got.status.value == "accepted" and got.case == table.case
        [row] = penalties(ctx)
        assert (row.case_id, row.decision_no, row.decision_date) == (table.case, sample.decision_no, "2026-11-20")
        # 7 working days after Friday 2026-11-20: 23, 24, 25, 26, 27, 30 November, 1 December.
        assert row.due_date == "2026-12-01" and row.due_certain
        with ctx.store.engine.connect() as conn:
            due = conn.execute(text("SELECT due_penalty FROM cases WHERE id=:c"), {"c": table.case}).scalar_one()
        assert due == "2026-12-01"
        lines = {c.case_id: c for c in case_lines(ctx, today=dt.date(2026, 11, 23))}
        assert f"处罚结果上传期限 2026-12-01（{sample.decision_no}）" in lines[table.case].flags
        assert not any("处罚" in f for f in lines[outcomes["检查表-无问题.docx"].case].flags)
        late = {c.case_id: c for c in case_lines(ctx, today=dt.date(2026, 12, 2))}
        assert any("处罚结果上传已逾期（2026-12-01" in f for f in late[table.case].flags)
        soon = {c.case_id: c for c in case_lines(ctx, today=dt.date(2026, 11, 27))}
        assert any("即将到期" in f for f in soon[table.case].flags)
        with ctx.store.engine.connect() as conn:
            events = [json.loads(r.detail) for r in conn.execute(text(
                "SELECT detail FROM events WHERE entity='case' AND entity_id=:c AND action='file_attached'"),
                {"c": table.case})]
        assert any(e.get("name") == "行政处罚决定书-3.docx" for e in events)
    finally:
        ctx.store.close()


def test_decision_without_case_waits_and_joins_when_the_check_table_arrives(tmp_path: Path) -> None:
    settings, samples = workspace(tmp_path)
    samples.lists()
    decision(samples, company=2)
    ctx = open_context(settings)
    try:
        first = run(ctx)["行政处罚决定书-3.docx"]
        assert first.status.value == "waiting" and first.case is None
        assert [f.code for f in first.findings] == ["PENALTY_UNMATCHED"]
        note = settings.outbox / "待补充" / "行政处罚决定书-3.docx.说明.txt"
        assert samples.companies[2].name in note.read_text(encoding="utf-8")
        assert penalties(ctx, matched=False)
        assert not (settings.outbox / "双公示").exists()  # nothing to publish without its case

        penalty_check_table(samples, company=2)
        table = run(ctx)["检查表-查处.docx"]
        [row] = penalties(ctx)
        assert row.case_id == table.case
        assert not note.exists()
        [file] = [f for f in ctx.store.list_files() if f.form == "penalty_decision"]
        assert (file.status.value, file.case_id) == ("accepted", table.case)
        assert list((settings.outbox / "双公示").glob("行政处罚-*.xlsx"))
    finally:
        ctx.store.close()


def test_penalty_case_without_decision_says_so_in_status(tmp_path: Path) -> None:
    settings, samples = workspace(tmp_path)
    samples.lists()
    penalty_check_table(samples)
    ctx = open_context(settings)
    try:
        case = run(ctx)["检查表-查处.docx"].case
        [line] = [c for c in case_lines(ctx) if c.case_id == case]
        assert line.penalty and WAITING_FOR_DECISION in line.flags
    finally:
        ctx.store.close()


def test_decision_without_its_date_is_returned_unchanged(tmp_path: Path) -> None:
    settings, samples = workspace(tmp_path)
    path = settings.inbox / "决定书-无日期.docx"
    document = docx.Document()
    for line in ("烟台市工业和信息化局", "行政处罚决定书", "烟工信罚〔2026〕9号", f"当事人：{samples.companies[0].name}",
                 "经查，当事人未如实登记出入库情况。", "依据《民用爆炸物品安全管理条例》第四十九条的规定，本机关决定作出如下行政处罚：",
                 "警告。"):
        document.add_paragraph(line)
    document.save(str(path))
    original = path.read_bytes()
    ctx = open_context(settings)
    try:
        outcome = run(ctx)["决定书-无日期.docx"]
    finally:
        ctx.store.close()
    assert outcome.status.value == "rejected"
    assert (settings.outbox / "退回" / "决定书-无日期.docx").read_bytes() == original
    note = (settings.outbox / "退回" / "决定书-无日期.docx.错误说明.txt").read_text(encoding="utf-8")
    assert "处罚决定日期" in note


def test_decision_matches_by_credit_code_when_the_name_is_written_otherwise(tmp_path: Path) -> None:
    settings, samples = workspace(tmp_path)
    samples.lists()
    penalty_check_table(samples)
    path, sample = decision(samples)
    # The same unit under an older name: only the 统一社会信用代码 ties it to the case.
    doc = docx.Document(str(path))
    for p in doc.paragraphs:
        if p.text.startswith("当事人："):
            p.runs[0].text = "当事人：烟台旧名称贸易有限公司"
    doc.save(str(path))
    ctx = open_context(settings)
    try:
        outcomes = run(ctx)
        assert outcomes["行政处罚决定书-3.docx"].case == outcomes["检查表-查处.docx"].case
        assert penalties(ctx)[0].uscc == sample.company.uscc
    finally:
        ctx.store.close()


def test_due_date_into_a_year_without_holiday_data_is_provisional(tmp_path: Path) -> None:
    settings, samples = workspace(tmp_path)
    samples.lists()
    penalty_check_table(samples)
    decision(samples, decided=dt.date(2026, 12, 28))
    ctx = open_context(settings)
    try:
        run(ctx)
        after_pass(ctx)
        [row] = penalties(ctx)
        assert row.due_date == "2027-01-06" and not row.due_certain  # Monday–Friday count, flagged
        [line] = [c for c in case_lines(ctx, today=dt.date(2026, 12, 29)) if c.penalty]
        assert any("暂定" in f for f in line.flags)
    finally:
        ctx.store.close()
