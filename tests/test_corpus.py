"""The corpus: every variant in every format extracts field-exact against its expected JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pipeline.core.models import CHECK_TABLE_FIELDS
from pipeline.extract import detect_kind, extract_file
from pipeline.samples.corpus import Item, build_corpus

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Item]:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def test_corpus_covers_every_format_with_at_least_forty_files(corpus: list[Item]) -> None:
    assert len(corpus) >= 40
    kinds = Counter(detect_kind(item.path) for item in corpus)
    assert {"docx", "xlsx", "pdf", "ole2", "odt", "rtf", "xls", "ods"} <= set(kinds), kinds
    for item in corpus:
        assert item.path.with_name(item.path.name + ".expected.json").is_file()


def test_every_corpus_file_extracts_field_exact(corpus: list[Item]) -> None:
    mismatches = {}
    for item in corpus:
        expected = json.loads(item.path.with_name(item.path.name + ".expected.json").read_text(encoding="utf-8"))
        extraction = extract_file(item.path)
        assert extraction.form == "check_table", item.path.name
        assert list(extraction.fields) == list(CHECK_TABLE_FIELDS)
        diff = {k: (extraction.fields[k], expected[k]) for k in CHECK_TABLE_FIELDS if extraction.fields[k] != expected[k]}
        if diff:
            mismatches[item.path.name] = diff
        found = [k for k in CHECK_TABLE_FIELDS if expected[k] is not None]
        assert all(k in extraction.provenance for k in found), item.path.name
    assert mismatches == {}


def test_corpus_file_names_say_the_variant(corpus: list[Item]) -> None:
    for item in corpus:
        fmt, _, variant = Path(item.path.name).stem.partition("-")
        assert fmt in {"docx", "xlsx", "pdf", "doc", "odt", "rtf", "xls", "ods"} and variant
