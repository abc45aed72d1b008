"""Every labelled row of the open corpus (tests/names/data/corpus.tsv) is reproduced.

The first 160 rows are shared/names/corpus.tsv as it came; the rows after them were added for
issue 15 (legal forms, look-alike letters, given-name particles, caps lock after a right start,
Turkic patronymic markers, Arabic articles, Turkish ı), each with its source in the fourth
column (docs/names/RULES.md §6).
"""

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


SHARED_ROWS = 160


def test_corpus_has_the_shared_rows_and_at_least_60_more_with_sources() -> None:
    assert len(ROWS) >= SHARED_ROWS + 60
    assert {row.field for row in ROWS} == {"first", "middle", "last", "any"}
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        sources = [cells[3] if len(cells) > 3 else "" for cells in reader]
    assert all(source.strip() for source in sources[SHARED_ROWS:])


def test_corpus_inputs_are_distinct() -> None:
    seen = [(row.field, row.value) for row in ROWS]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_corpus_row_is_normalized_as_labelled(row: Row) -> None:
    assert normalize_name(row.value, row.field) == row.expected


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_corpus_output_is_already_normal(row: Row) -> None:
    assert normalize_name(row.expected, row.field) == row.expected
