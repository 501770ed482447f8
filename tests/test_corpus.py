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


# 12 Word and 6 Excel sources; from Word: PDF, .doc, .odt (12 each) and .rtf (the first 4); from
# Excel: .xls (5, the formula variant is left out) and .ods (6). Every one must be built.
EXPECTED_FORMATS = {"docx": 12, "xlsx": 6, "pdf": 12, "doc": 12, "odt": 12, "rtf": 4, "xls": 5, "ods": 6}


def test_corpus_builds_every_file_in_every_format(corpus: list[Item]) -> None:
    formats = Counter(item.path.suffix.lstrip(".") for item in corpus)
    assert formats == EXPECTED_FORMATS
    assert len({item.path.name for item in corpus}) == sum(EXPECTED_FORMATS.values())
    kinds = Counter(detect_kind(item.path) for item in corpus)
    assert kinds == {"docx": 12, "xlsx": 6, "pdf": 12, "ole2": 12, "odt": 12, "rtf": 4, "xls": 5, "ods": 6}
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


def test_a_file_libreoffice_cannot_convert_stops_the_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry of a file the batch did not make raises instead of leaving it out."""
    from pipeline.documents import libreoffice as convert
    def no_outputs(self: object, items: list[object], request: object) -> tuple[dict[Path, Path], dict[Path, str]]:
        return {}, {}

    monkeypatch.setattr(convert.Converter, "_convert_items", no_outputs)
    with pytest.raises(convert.ConversionError):
        build_corpus(tmp_path / "corpus")
