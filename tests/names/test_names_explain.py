"""explain() names the rule behind every changed word; RULE_TEXT covers every code."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from namecase.names import RULE_TEXT, Correction, NameOptions, explain, normalize_name
from namecase.names.rules import LOOKALIKE, WHITESPACE

from .strategies import FIELDS, OPTIONS, TEXT

RULE_CODES = {
    "recase",
    "caps_lock",
    "particle",
    "exception",
    "apostrophe",
    "mc",
    "suffix",
    "initial",
    "hyphen",
    "whitespace",
    "lookalike",
    "company",
}


def rules_of(value: str, field: str = "any") -> list[tuple[str, str, str]]:
    return [(c.word_before, c.word_after, c.rule) for c in explain(value, field)]


def test_rule_text_has_english_and_russian_for_every_code() -> None:
    assert set(RULE_TEXT) == RULE_CODES
    for texts in RULE_TEXT.values():
        assert set(texts) == {"en", "ru"}
        assert all(text.strip() for text in texts.values())


def test_each_changed_word_is_reported_with_its_rule() -> None:
    assert rules_of("винсент ван гог") == [
        ("винсент", "Винсент", "recase"),
        ("ван", "Ван", "exception"),
        ("гог", "Гог", "recase"),
    ]
    assert rules_of("людвиг ВАН Бетховен") == [
        ("людвиг", "Людвиг", "recase"),
        ("ВАН", "ван", "particle"),
    ]
    assert rules_of("jOHN mcvey iii") == [
        ("jOHN", "John", "caps_lock"),
        ("mcvey", "McVey", "mc"),
        ("iii", "III", "suffix"),
    ]
    assert rules_of("МАР'ЯНА", "first") == [("МАР'ЯНА", "Мар'яна", "apostrophe")]
    assert rules_of("петров-водкин", "last") == [("петров-водкин", "Петров-Водкин", "hyphen")]
    assert rules_of("а.с. ПУШКИН") == [("а.с.", "А.С.", "initial"), ("ПУШКИН", "Пушкин", "recase")]


def test_whitespace_is_reported_once_for_the_whole_value() -> None:
    assert explain("  Иван\u00a0Петров ") == [
        Correction("  Иван\u00a0Петров ", "Иван Петров", WHITESPACE)
    ]


def test_nothing_to_explain_for_normal_empty_or_missing_values() -> None:
    assert explain("Иван Петров") == []
    assert explain("") == []
    assert explain(None) == []


def test_corrections_are_small_frozen_records() -> None:
    correction = explain("иван")[0]
    assert correction == Correction("иван", "Иван", "recase")
    assert hash(correction) == hash(Correction("иван", "Иван", "recase"))


@settings(max_examples=300, deadline=None)
@given(TEXT, st.sampled_from(FIELDS), st.sampled_from(OPTIONS))
def test_corrections_are_exactly_the_changed_words_in_order(
    value: str, field: str, options: NameOptions
) -> None:
    out = normalize_name(value, field, options)
    assert out is not None
    words = unicodedata.normalize("NFC", " ".join(value.split())).split(" ")
    corrections = explain(value, field, options)
    assert all(c.rule in RULE_TEXT for c in corrections)
    # Following each word's corrections in order (look-alikes first, then case) leads from
    # the typed word to the normalized one; a word that did not change has none.
    final = words.copy()
    for correction in corrections:
        if correction.rule == WHITESPACE:
            continue
        position = final.index(correction.word_before)
        assert correction.word_after != correction.word_before
        final[position] = correction.word_after
    assert final == out.split(" ")
    lookalikes = [c for c in corrections if c.rule == LOOKALIKE]
    assert len(lookalikes) <= len(words)
    assert not lookalikes or options.fix_lookalikes
    assert any(c.rule == WHITESPACE for c in corrections) == (" ".join(value.split()) != value)
