"""Look-alike letters of the other script (docs/names/RULES.md §4.10): examples, Unicode scans."""

from __future__ import annotations

import re
import sys

import pytest

from namecase.names import NameOptions, explain, normalize_name
from namecase.names import lookalikes as la
from namecase.names.casing import lower_char

LATIN_O, LATIN_E, LATIN_A, LATIN_I, LATIN_Y = "o", "e", "a", "i", "y"
CYRILLIC_O, CYRILLIC_I, CYRILLIC_A = "\u043e", "\u0456", "\u0430"
OFF = NameOptions(fix_lookalikes=False)


def cases(*rows: tuple[str, str, str]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        ("field", "value", "expected"),
        rows,
        ids=[f"{f}:{v.encode('unicode_escape')!r}" for f, v, _ in rows],
    )


@cases(
    ("last", f"Смирн{LATIN_O}в", "Смирнов"),
    ("last", f"СМИРН{LATIN_O.upper()}В", "Смирнов"),  # fixed, then recased
    ("first", f"J{CYRILLIC_O}hn", "John"),
    ("first", f"J{CYRILLIC_O.upper()}HN", "John"),
    ("last", "ИBAНОВ", "Иванов"),  # Latin B and A: capitals that look alike
    ("first", "Hиколай", "Николай"),  # Latin H as the capital
    ("first", "Mихаил", "Михаил"),
    ("first", "Tатьяна", "Татьяна"),
    ("first", "Kирилл", "Кирилл"),
    ("first", f"Алекс{LATIN_E}й", "Алексей"),
    ("last", f"Петр{LATIN_O}в-В{LATIN_O}дкин", "Петров-Водкин"),  # a double name is one word
    ("first", f"Олекс{LATIN_I}й", f"Олекс{CYRILLIC_I}й"),  # Ukrainian і, not и
    ("first", "Фëдор", "Фёдор"),  # Latin ë for ё
    ("last", f"Sm{CYRILLIC_I}th", "Smith"),
    ("any", f"Иван Петр{LATIN_O}в", "Иван Петров"),  # per word
    ("last", f"{CYRILLIC_A}{CYRILLIC_O}{LATIN_O}", f"\u0410{CYRILLIC_O}{CYRILLIC_O}"),
)
def test_a_word_gets_the_look_alikes_of_the_script_of_its_other_letters(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("last", "Ivanов", "Ivanов"),  # v, n and the lowercase в: a keyboard switch, not look-alikes
    ("last", "Petrовић", "Petrовић"),
    ("last", "Петрov", "Петрov"),  # v is no look-alike
    ("first", "JO\u041dN", "Jo\u043dn"),  # a Cyrillic Н in a Latin word: only recased
    ("last", f"С{LATIN_O}", f"С{LATIN_O}"),  # look-alikes only, one of each: a tie
    ("last", f"Δ{LATIN_O}р", f"Δ{LATIN_O}р"),  # a letter of a third script
    ("last", f"Сми\u0301рн{LATIN_O}в", f"Сми\u0301рн{LATIN_O}в"),  # a combining mark
    ("last", "Иванов", "Иванов"),
    ("last", "Smith", "Smith"),
)
def test_mixed_words_ties_and_other_scripts_are_left_as_typed(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


def test_look_alikes_only_follow_the_script_of_more_letters() -> None:
    # С, о, р Cyrillic with one Latin o: Cyrillic; three Latin with one Cyrillic: Latin.
    assert normalize_name(f"Сор{LATIN_O}", "last") == f"Сор{CYRILLIC_O}"
    assert normalize_name(f"{CYRILLIC_O}pec", "first") == "Opec"


def test_the_option_off_changes_only_the_case() -> None:
    assert normalize_name(f"СМИРН{LATIN_O.upper()}В", "last", OFF) == f"Смирн{LATIN_O}в"
    assert normalize_name(f"J{CYRILLIC_O}hn", "first", OFF) == f"J{CYRILLIC_O}hn"
    assert explain(f"Смирн{LATIN_O}в", "last", OFF) == []


def test_explain_names_the_look_alike_then_the_case() -> None:
    rows = [
        (c.word_before, c.word_after, c.rule) for c in explain(f"СМИРН{LATIN_O.upper()}В", "last")
    ]
    assert rows == [
        (f"СМИРН{LATIN_O.upper()}В", "СМИРНОВ", "lookalike"),
        ("СМИРНОВ", "Смирнов", "recase"),
    ]
    assert [c.rule for c in explain(f"Смирн{LATIN_O}в", "last")] == ["lookalike"]


def test_casing_rules_see_the_fixed_word() -> None:
    # With a Latin o the exception Ван Гог would not match; fixed first, it does.
    assert normalize_name(f"винсент ван г{LATIN_O}г") == "Винсент Ван Гог"
    assert normalize_name(f"ОО{LATIN_O.upper()} «вектор»") == "ООО «Вектор»"


def _latin_class(c: str) -> bool:
    return la._letter_class(c) in (la._LATIN, la._LATIN_FULL, la._LATIN_CAPITAL)


def test_every_latin_letter_class_is_caught_by_the_cheap_check() -> None:
    # The engine skips the look-alike step for a value without a LATIN_LIKE character; that
    # is sound only if every character whose case class is Latin is in the class.
    pattern = re.compile(f"[{la.LATIN_LIKE}]")
    missed = [
        hex(cp)
        for cp in range(0x80, 0x20000)
        if not 0xD800 <= cp < 0xE000 and _latin_class(chr(cp)) and not pattern.match(chr(cp))
    ]
    assert missed == []


def test_every_letter_of_a_look_alike_class_has_its_twin() -> None:
    # Any character whose case class is a look-alike pair is mapped, so a fixed word never
    # keeps a letter of the other script.
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        kind = la._letter_class(c)
        if kind in (la._LATIN_FULL, la._LATIN_CAPITAL):
            assert c in la._TO_CYRILLIC, hex(cp)
        elif kind == la._CYRILLIC_FULL:
            assert c in la._TO_LATIN, hex(cp)
    for before, after in list(la._TO_CYRILLIC.items()) + list(la._TO_LATIN.items()):
        assert before.isupper() == after.isupper()
        assert la.lookalike_pair(before, after)
        assert lower_char(after) != lower_char(before)
