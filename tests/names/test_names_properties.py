"""Properties of normalize_name over arbitrary Unicode text (hypothesis).

The invariant proved here, for every str x, every field and every option combination, with
N(x) = " ".join(unicodedata.normalize("NFC", x).split()) and y = normalize_name(x, ...):

1. totality: y is a str (None -> None, "" and whitespace-only -> "");
2. idempotence: normalize_name(y, ...) == y;
3. only letter case changes: len(y) == len(N(x)) and at every index the characters are equal
   or both are letters of category Lu/Ll/Lt with equal fold(c) = c.casefold(), where
   fold maps U+0130 İ and U+0131 ı to i first (Turkic rules, docs/names/RULES.md §4.4);
   hence fold(y) == fold(N(x)), and y.casefold() == N(x).casefold() whenever N(x) has no İ
   or ı. With fix_lookalikes on (the default) a character may also be the look-alike twin of
   the other script (lookalikes.py), in either case, and nothing else;
4. y is NFC and its whitespace is single U+0020 between words, none at the ends.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from namecase.names import NameOptions, engine, normalize_name

from .strategies import (
    ANY_TEXT,
    DOTLESS_SMALL_I,
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
    outputs: set[tuple[str, bool]] = set()
    for field in FIELDS:
        for options in OPTIONS:
            out = normalize_name(value, field, options)
            assert isinstance(out, str)
            if out != value:  # else normalizing out again is the call just made
                assert normalize_name(out, field, options) == out, (field, options)
            outputs.add((out, options.fix_lookalikes))
    for out, lookalikes in outputs:
        assert only_case_differs(shape, out, lookalikes), (out, lookalikes)
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
    out = normalize_name(value, field, NameOptions(fix_lookalikes=False))
    assert out is not None
    shape = collapsed(value)
    assert fold(out) == fold(shape)
    if DOTTED_CAPITAL_I not in shape and DOTLESS_SMALL_I not in shape:
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


@settings(max_examples=500, deadline=None)
@given(TEXT, st.sampled_from(FIELDS), st.sampled_from(OPTIONS))
def test_hot_paths_give_what_the_general_path_gives(
    value: str, field: str, options: NameOptions
) -> None:
    # The general path: look-alikes, then every word through the gate and part-by-part
    # recasing, without the shortcuts for plain words, plain double names and regular letters.
    _, words = engine.fixed_words(value, options)
    cased, _ = engine.case_words(words, engine.field_kind(field), options, fast=False)
    assert normalize_name(value, field, options) == " ".join(cased)
