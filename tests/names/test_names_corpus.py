"""Every labelled row of shared/names/corpus.tsv (copied to tests/names/data) is reproduced."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import pytest

from namecase.names import normalize_name

CORPUS = Path(__file__).parent / "data" / "corpus.tsv"


class Row(NamedTuple):
    line: int
    field: str
    value: str
    expected: str


def _rows() -> list[Row]:
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        assert header[:3] == ["field", "input", "expected"]
        return [Row(reader.line_num, *cells[:3]) for cells in reader]


ROWS = _rows()


def _row_id(row: Row) -> str:
    return f"{row.line}-{row.field}-{row.value.strip() or 'blank'}"


def test_corpus_has_the_160_labelled_rows() -> None:
    assert len(ROWS) == 160
    assert {row.field for row in ROWS} == {"first", "middle", "last", "any"}


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_corpus_row_is_normalized_as_labelled(row: Row) -> None:
    assert normalize_name(row.value, row.field) == row.expected


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_corpus_output_is_already_normal(row: Row) -> None:
    assert normalize_name(row.expected, row.field) == row.expected
