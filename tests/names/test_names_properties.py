"""Properties of normalize_name over arbitrary Unicode text (hypothesis).

The invariant proved here, for every str x, every field and every option combination, with
N(x) = " ".join(unicodedata.normalize("NFC", x).split()) and y = normalize_name(x, ...):

1. totality: y is a str (None -> None, "" and whitespace-only -> "");
2. idempotence: normalize_name(y, ...) == y;
3. only letter case changes: len(y) == len(N(x)) and at every index the characters are equal
   or both are letters of category Lu/Ll/Lt with equal fold(c) = c.casefold(), where
   fold maps U+0130 İ to i first (Turkic lowercase, RULES.md §4.4);
   hence fold(y) == fold(N(x)), and y.casefold() == N(x).casefold() whenever N(x) has no İ;
4. y is NFC and its whitespace is single U+0020 between words, none at the ends.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from namecase.names import NameOptions, casing, engine, normalize_name

from .strategies import (
    ANY_TEXT,
    DOTTED_CAPITAL_I,
    FIELDS,
    NAME_TEXT,
    OPTIONS,
    TEXT,
    collapsed,
    fold,
    only_case_differs,
)


def check_contract(value: str) -> None:
    shape = collapsed(value)
    outputs: set[str] = set()
    for field in FIELDS:
        for options in OPTIONS:
            out = normalize_name(value, field, options)
            assert isinstance(out, str)
            if out != value:  # else normalizing out again is the call just made
                assert normalize_name(out, field, options) == out, (field, options)
            outputs.add(out)
    for out in outputs:
        assert only_case_differs(shape, out), out
        assert unicodedata.is_normalized("NFC", out)


@settings(max_examples=3000, deadline=None)
@given(ANY_TEXT)
def test_arbitrary_text_changes_only_letter_case_and_is_idempotent(value: str) -> None:
    check_contract(value)


@settings(max_examples=3000, deadline=None)
@given(NAME_TEXT)
def test_name_like_text_changes_only_letter_case_and_is_idempotent(value: str) -> None:
    check_contract(value)


@settings(max_examples=500, deadline=None)
@given(TEXT, st.sampled_from(FIELDS))
def test_casefold_of_output_equals_casefold_of_collapsed_input(value: str, field: str) -> None:
    out = normalize_name(value, field)
    assert out is not None
    shape = collapsed(value)
    assert fold(out) == fold(shape)
    if DOTTED_CAPITAL_I not in shape:
        assert out.casefold() == shape.casefold()


@settings(max_examples=300, deadline=None)
@given(TEXT, st.sampled_from(FIELDS))
def test_whitespace_is_trimmed_and_collapsed_to_single_spaces(value: str, field: str) -> None:
    out = normalize_name(value, field)
    assert out is not None
    assert out == out.strip()
    assert "  " not in out
    assert all(not character.isspace() or character == " " for character in out)


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\xa0\u1680\u2000\u2009\u200a\u2028\u202f\u3000"),
        max_size=8,
    )
)
def test_blank_values_become_empty(value: str) -> None:
    for field in FIELDS:
        assert normalize_name(value, field) == ""


@settings(max_examples=300, deadline=None)
@given(TEXT, st.text(max_size=10).filter(lambda field: field.strip().lower() not in FIELDS))
def test_unknown_field_is_treated_as_a_full_name(value: str, field: str) -> None:
    assert normalize_name(value, field) == normalize_name(value, "any")


_PLAIN_LETTERS = (
    "abcdefghijklmnopqrstuvwxyzабвгдеёжзийклмнопрстуфхцчшщъыьэюяґєії"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯҐЄІЇ"
)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from(" -'." + _PLAIN_LETTERS), max_size=24), st.sampled_from(FIELDS))
def test_all_lowercase_and_all_uppercase_typing_give_the_same_name(value: str, field: str) -> None:
    assert normalize_name(value.lower(), field) == normalize_name(value.upper(), field)


def test_none_stays_none_for_every_field_and_option() -> None:
    for field in FIELDS:
        for options in OPTIONS:
            assert normalize_name(None, field, options) is None


def test_empty_string_stays_empty() -> None:
    for field in FIELDS:
        assert normalize_name("", field) == ""


def general_path(words: list[str], index: int, kind: int, options: NameOptions) -> str:
    """The engine without its hot paths: gate, then part-by-part recasing of every word."""
    word = words[index]
    gate = engine._gate(word, options)
    if gate == engine._KEEP:
        return word
    low = casing.lower_word(word)
    out = engine._case_compound(word, low, words, index, kind, options, gate, False)[0]
    return out if unicodedata.is_normalized("NFC", out) else word


@settings(max_examples=500, deadline=None)
@given(TEXT, st.sampled_from(FIELDS), st.sampled_from(OPTIONS))
def test_hot_paths_give_what_the_general_path_gives(
    value: str, field: str, options: NameOptions
) -> None:
    words = collapsed(value).split(" ")
    kind = engine.field_kind(field)
    expected = " ".join(general_path(words, index, kind, options) for index in range(len(words)))
    assert normalize_name(value, field, options) == expected
