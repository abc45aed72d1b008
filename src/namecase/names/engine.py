"""Field-aware proper case for person names: the rule set of docs/names/RULES.md §4.

A value is NFC-normalized and split on whitespace into words. Look-alike letters of the other
script are replaced first (lookalikes.py, when the option is on). Then a legal form is written
in its canonical case (companies.py); every other word passes the gate (gate.py): a word that
is already "Capital + lowercase" in one part, has no letter case, or is a deliberate
non-Cyrillic mixed case (McDonald) is kept; every other word is recased part by part
(parts.py), with the apostrophe, Mc, particle, exception, suffix and initial rules deciding
which parts start with a capital. Particles and suffixes depend on the field and on the
word's position (particles.py). In a value with a legal form, a quoted company name is then
written like a Russian organization name.

The output differs from ``" ".join(unicodedata.normalize("NFC", value).split())`` only in the
case of letters (casing.py states the per-character contract) and in look-alike letters
replaced by their twins; normalizing it again changes nothing: a fixed word has one script, and
a recased word depends only on its lowercase form (plus whether a capital position held İ),
its position and its neighbours' lowercase forms, and lowering the output gives back the same
lowercase form.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from namecase.names import companies, rules
from namecase.names import gate as gates
from namecase.names import vocabulary as vocab
from namecase.names.casing import (
    CYRILLIC,
    LOWER_SAFE,
    REGULAR_WORD,
    SEPARATORS,
    capital_of,
    first_cased,
    is_latin_letter,
    lower_word,
)
from namecase.names.lookalikes import fix_words
from namecase.names.options import DEFAULT, NameOptions
from namecase.names.particles import ANY, FIRST, LAST, MIDDLE, word_rules
from namecase.names.parts import case_compound, plain_rule

_FIELDS: Final = {"first": FIRST, "middle": MIDDLE, "last": LAST, "any": ANY}

_BASIC_CYRILLIC: Final = re.compile("[\u0400-\u045f]+")  # all regular, see casing.py
_SPECIAL_CAPITALIZED: Final = (
    frozenset(word.capitalize() for word in vocab.SPECIAL_WORDS) | companies.CAPITALIZED_KEYS
)
_PLAIN_HYPHENATED: Final = re.compile("[A-Za-z\u0400-\u045f]+(?:-[A-Za-z\u0400-\u045f]+)+")
_HYPHEN_SPECIAL: Final = (
    vocab.KINSHIP | vocab.STATUS_SUFFIXES | vocab.HYPHEN_CONNECTORS | vocab.ARTICLES
)
_QUOTES: Final = "".join(sorted(companies.QUOTE_CHARS))
_QUOTE: Final = re.compile(f"[{_QUOTES}]")
# A value of Cyrillic letters, spaces, hyphens, apostrophes, periods and commas has no
# look-alike to fix (no Latin letter: lookalikes.LATIN_LIKE) and no quoted company name; this
# one scan is cheaper than searching for those characters.
_not_plain_cyrillic: Final = re.compile(r"[^\u0400-\u052f \-'.,]").search
_CAPITALIZED_WRONG: Final = companies.CAPITALIZED_WRONG
assert max(map(len, _CAPITALIZED_WRONG)) <= 5  # the fast path looks only at short words


def field_kind(field: object) -> int:
    """Map a field name to its kind; anything unknown is a full name ("any")."""
    if isinstance(field, str):
        kind = _FIELDS.get(field)
        if kind is None:
            kind = _FIELDS.get(field.strip().lower(), ANY)
        return kind
    return ANY


def collapse(value: str) -> str:
    """NFC, then trim and collapse every whitespace run (str.isspace) to one space."""
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return " ".join(value.split())


def fixed_words(value: str, options: NameOptions) -> tuple[list[str], list[str]]:
    """The collapsed words of value, and the same words with look-alike letters fixed."""
    words = collapse(value).split(" ")
    return words, fix_words(value, words) if options.fix_lookalikes else words


def case_words(
    words: list[str], kind: int, options: NameOptions, fast: bool = True
) -> tuple[list[str], list[str]]:
    """Recase each word in its position; returns the words and, per word, the rule or "".

    fast=False skips the shortcuts for plain words (the tests compare both ways).
    """
    flags = companies.quote_flags(words) if any(map(_QUOTE.search, words)) else None
    cased: list[str] = []
    why: list[str] = []
    for index, word in enumerate(words):
        out, rule = _case_word(words, index, kind, options, True, fast)
        if flags is not None and flags[index]:
            out, rule = _company_word(words, index, flags[index], out, rule, options)
        cased.append(out)
        why.append(rule if out != word else "")
    return cased, why


def normalize_name(
    value: str | None, field: str = "any", options: NameOptions = DEFAULT
) -> str | None:
    """Proper-case a person name for a field ("first", "middle", "last", "any").

    Pure and total: None stays None, blank becomes "", unknown fields count as "any",
    and normalizing the result again changes nothing.
    """
    if value is None:
        return None
    ascii_only = value.isascii()
    if not ascii_only and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    words = value.split()
    if not words:
        return ""
    kind = field_kind(field)
    if '"' in value if ascii_only else _not_plain_cyrillic(value) is not None:
        # Rare: Latin and Cyrillic letters in one value, or quotes (a company name).
        if options.fix_lookalikes:
            words = fix_words(value, words)
        if _QUOTE.search(value) is not None:
            return " ".join(case_words(words, kind, options)[0])
    cased = words.copy()
    for index, word in enumerate(words):
        if word.isalpha():
            # Hot path, the same decisions as _case_word in fewer steps: most words are one
            # part of ASCII or basic Cyrillic letters, already proper or all in one case
            # (test_hot_paths_give_what_the_general_path_gives checks that both agree).
            if word.istitle():
                length = len(word)
                if length > 5 or (length > 1 and word not in _CAPITALIZED_WRONG):
                    continue  # "Ооо", "Llc" are the title-case words the engine changes
            elif (word.islower() or word.isupper()) and (
                word.isascii() or _BASIC_CYRILLIC.fullmatch(word) is not None
            ):
                capitalized = word.capitalize()
                if capitalized not in _SPECIAL_CAPITALIZED and capitalized[:2] != "Mc":
                    cased[index] = capitalized
                    continue
        cased[index] = _case_word(words, index, kind, options, False)[0]
    return " ".join(cased)


def _case_word(
    words: list[str],
    index: int,
    kind: int,
    options: NameOptions,
    explaining: bool,
    fast: bool = True,
) -> tuple[str, str]:
    word = words[index]
    form = companies.legal_form(word, len(words))
    if form is not None:
        return form, rules.COMPANY
    gate = gates.gate(word, options)
    if gate == gates.KEEP:
        return word, ""
    if gate == gates.CAPS_TAIL:
        tail = _caps_tail(word, options)
        if tail is not None:
            return tail, rules.CAPS_LOCK
        gate = gates.INVERTED  # JoHN: caps lock after an ordinary start, the whole word
    if fast and _PLAIN_HYPHENATED.fullmatch(word):
        # Hot path for double names (Петров-Водкин, LEIGH-WILLIAMS): every part capitalized
        # unless a part could be a particle or Mc, which case_compound decides.
        parts = word.lower().split("-")
        if not any(part in _HYPHEN_SPECIAL or part.startswith("mc") for part in parts):
            cased = "-".join([part.capitalize() for part in parts])
            return cased, rules.CAPS_LOCK if gate == gates.INVERTED else rules.HYPHEN
    if fast and REGULAR_WORD.fullmatch(word):
        return _case_simple(word.lower(), words, index, kind, options, gate)
    if fast and LOWER_SAFE.fullmatch(word):
        # Regular letters and punctuation only: str.lower is exact and nothing can compose.
        return case_compound(word, word.lower(), words, index, kind, options, gate, explaining)
    out, rule = case_compound(word, lower_word(word), words, index, kind, options, gate, explaining)
    if not unicodedata.is_normalized("NFC", out):
        # A recased base letter would compose with a following mark; keep the word as typed.
        return word, ""
    return out, rule


def _case_simple(
    low: str, words: list[str], index: int, kind: int, options: NameOptions, gate: int
) -> tuple[str, str]:
    # One part of regular letters: str methods are exact here (casing.REGULAR_WORD).
    if low in vocab.SPECIAL_WORDS:
        special = word_rules(low, words, index, kind, options)
        if special is not None:
            return special
    if low.startswith("mc") and len(low) > 2 and is_latin_letter(low[2]):
        return "Mc" + low[2].upper() + low[3:], rules.MC
    return low[0].upper() + low[1:], plain_rule(gate, len(low) == 1)


def _caps_tail(word: str, options: NameOptions) -> str | None:
    # McDONAGH → McDonagh, MacDONALD → MacDonald: after a prefix that conventionally takes an
    # internal capital, only the caps-lock tail is recased, as a name of its own.
    start = gates.caps_tail(word)
    if lower_word(word[:start]).strip(SEPARATORS) not in vocab.INTERNAL_CAPITAL_PREFIXES:
        return None
    tail, _ = _case_word([word[start:]], 0, FIRST, options, False)
    out = word[:start] + tail
    return out if unicodedata.is_normalized("NFC", out) else None


def _company_word(
    words: list[str], index: int, flag: int, out: str, rule: str, options: NameOptions
) -> tuple[str, str]:
    """A word of a quoted company name (companies.py): ООО «Рога и копыта», ПАО «МТС»."""
    word = words[index]
    if rule == rules.COMPANY:
        return out, rule  # a legal form inside the quotes
    if companies.is_acronym(word):
        return word, ""
    if flag == companies.FIRST_QUOTED:
        at = first_cased(out)
        if at < 0 or not out[at].islower():
            return out, rule
        capital = out[:at] + capital_of(out[at], word[at]) + out[at + 1 :]
        if not unicodedata.is_normalized("NFC", capital):
            return out, rule
        return capital, rules.COMPANY
    core = word.strip(SEPARATORS)
    if CYRILLIC.search(word) is None or not core or (len(core) > 1 and core.istitle()):
        return out, rule  # Latin words keep the name rules; «Рога и Копыта» typed so is kept
    low = lower_word(word)
    if not unicodedata.is_normalized("NFC", low):
        return word, ""
    return low, rules.COMPANY
