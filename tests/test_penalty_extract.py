"""The 行政处罚决定书 extractor on real .docx files (python-docx) and real PDFs and .odt (LibreOffice)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pytest

from pipeline.core.errors import InputFileError
from pipeline.documents.libreoffice import Converter
from pipeline.extract import extract_file
from pipeline.extract.penalty_decision import (
    NOT_PENALTY_DECISION_CODE,
    PENALTY_DECISION_FIELDS,
    DocxPenaltyExtractor,
    PdfPenaltyExtractor,
    parse_upper_amount,
)
from pipeline.samples.fictional import make_companies
from pipeline.samples.penalty import PenaltySample, penalty_sample, upper_amount, write_decision_docx

CHECK_DAY = dt.date(2026, 11, 9)


@pytest.fixture(scope="module")
def samples() -> list[PenaltySample]:
    rng = random.Random(777)
    companies = make_companies(rng, 3)
    return [penalty_sample(rng, c, CHECK_DAY, kind=n, number=n + 1) for n, c in enumerate(companies)]


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_labelled_decision_reads_every_field(tmp_path: Path, samples: list[PenaltySample], kind: int) -> None:
    sample = samples[kind]
    path = write_decision_docx(tmp_path / "决定书.docx", sample)
    result = extract_file(path)
    assert result.form == "penalty_decision"
    assert tuple(result.fields) == PENALTY_DECISION_FIELDS
    for key, value in sample.expected.items():
        assert result.fields[key] == value, key
    assert result.warnings == ()
    assert result.provenance["party_name"].location == "第4段"
    assert result.provenance["content"].location == "第13段"  # the line after “作出如下行政处罚：”
    assert result.provenance["decision_date"].confidence > 0.9


def test_table_layout_digits_and_numeric_date(tmp_path: Path, samples: list[PenaltySample]) -> None:
    """Particulars in a table, the fine in digits only, the date as 2026-11-20, no 案由 line."""
    sample = samples[1]
    path = write_decision_docx(tmp_path / "决定书.docx", sample, party_table=True, labelled_type=False,
                               digits_only=True, numeric_date=True)
    fields = extract_file(path).fields
    assert fields["party_name"] == sample.company.name and fields["uscc"] == sample.company.uscc
    assert fields["fine_wan"] == "2" and fields["confiscation_wan"] == "0.3"
    assert fields["decision_date"] == sample.decision_date.isoformat()
    assert fields["categories"] == ["罚款", "没收违法所得"]
    # No 案由: the violated provision stands in, flagged for a person to check.
    result = extract_file(path)
    assert fields["violation_type"] == "违反《食盐专营办法》第二十条"
    assert result.provenance["violation_type"].confidence < 0.7
    assert any("违法行为类型" in w for w in result.warnings)


def test_upper_and_digit_amounts_that_disagree_are_flagged(tmp_path: Path, samples: list[PenaltySample]) -> None:
    sample = samples[0]
    wrong = PenaltySample(**{**sample.__dict__, "content": "警告，并处罚款人民币伍万元整（¥5,000.00）"})
    result = extract_file(write_decision_docx(tmp_path / "决定书.docx", wrong))
    assert result.fields["fine_wan"] == "5"  # the upper-case amount wins
    assert any("不一致" in w for w in result.warnings)


@pytest.mark.parametrize(("text", "yuan"), [
    ("伍万元整", 50000), ("壹万贰仟伍佰元整", 12500), ("壹拾万零伍佰元", 100500), ("叁佰元伍角", Decimal("300.5")),
    ("玖仟玖佰玖拾玖元整", 9999), ("贰亿元整", 200000000), ("无金额", None),
])
def test_upper_case_numerals(text: str, yuan: Any) -> None:
    assert parse_upper_amount(text) == (None if yuan is None else Decimal(yuan))


@pytest.mark.parametrize("yuan", [1, 10, 1005, 20000, 12500, 100500, 3_000_000])
def test_sample_amounts_round_trip(yuan: int) -> None:
    assert parse_upper_amount(upper_amount(yuan)) == yuan


def _plain_docx(path: Path, paragraphs: list[str]) -> Path:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path


def test_decision_not_to_punish_and_mentions_are_not_decisions(tmp_path: Path) -> None:
    no_penalty = _plain_docx(tmp_path / "不予.docx", ["烟台市工业和信息化局", "不予行政处罚决定书", "当事人：某公司"])
    mention = _plain_docx(tmp_path / "说明.docx", ["关于送达情况的说明", "已向当事人送达行政处罚决定书。"])
    for path in (no_penalty, mention):
        with pytest.raises(InputFileError) as info:
            DocxPenaltyExtractor().extract(path)
        assert info.value.code == NOT_PENALTY_DECISION_CODE
        # The pipeline's refusal is the check table's, which says what the pipeline reads.
        with pytest.raises(InputFileError) as info:
            extract_file(path)
        assert info.value.code == "FILE_NOT_CHECK_TABLE"


def test_check_table_is_still_a_check_table(samples: Any, tmp_path: Path) -> None:
    from pipeline.core.settings import load_settings
    from pipeline.samples.demo import write_check_table
    from pipeline.samples.fictional import check_table_fields, make_inspectors

    rng = random.Random(5)
    company = make_companies(rng, 1)[0]
    fields = check_table_fields(rng, company, make_inspectors(rng, 2), dt.datetime(2026, 11, 9, 9, 30))
    fields["handling"] = "已立案，并依法送达行政处罚决定书。"
    path = tmp_path / "检查表.docx"
    write_check_table(path, fields, load_settings(env={}))
    assert extract_file(path).form == "check_table"


def test_missing_fields_are_warnings_not_guesses(tmp_path: Path) -> None:
    path = _plain_docx(tmp_path / "残缺.docx", ["行政处罚决定书", "当事人：烟台某某精密机械有限公司", "本机关决定给予警告。"])
    result = extract_file(path)
    assert result.fields["party_name"] == "烟台某某精密机械有限公司"
    assert result.fields["decision_no"] is None and result.fields["decision_date"] is None
    labels = "".join(result.warnings)
    assert "决定书文号" in labels and "处罚决定日期" in labels


@pytest.mark.libreoffice
def test_text_pdf_decision_reads_the_same(tmp_path: Path, samples: list[PenaltySample]) -> None:
    """The same decision as a text PDF (LibreOffice's export, read with pdfium)."""
    sample = samples[2]
    source = write_decision_docx(tmp_path / "决定书.docx", sample)
    with Converter() as converter:
        pdf = converter.convert(source, "pdf", tmp_path / "pdf")
    result = extract_file(pdf)
    assert result.form == "penalty_decision"
    for key, value in sample.expected.items():
        assert result.fields[key] == value, key
    assert result.provenance["party_name"].location.startswith("第1页")
    # What pdfium cannot open as a PDF with the title is passed on to the next reader.
    with pytest.raises(InputFileError) as info:
        PdfPenaltyExtractor().extract(source)  # not a PDF at all
    assert info.value.code == NOT_PENALTY_DECISION_CODE
