"""Field-aware proper case for person names: the rule set of RULES.md §4.

A value is NFC-normalized and split on whitespace into words. Each word passes a gate
(§4.3): a word that is already "Capital + lowercase" in one part, has no letter case, or is a
deliberate non-Cyrillic mixed case (McDonald) is kept; every other word is recased part by
part (parts are separated by hyphens, periods, apostrophes and other punctuation), with the
apostrophe, Mc, particle, exception, suffix and initial rules deciding which parts start with
a capital. Particles and suffixes depend on the field and on the word's position.

The output differs from ``" ".join(unicodedata.normalize("NFC", value).split())`` only in the
case of letters (casing.py states the per-character contract), and normalizing it again
changes nothing: a recased word depends only on its lowercase form (plus whether a capital
position held İ) and its position, and lowering the output gives back the same lowercase form.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from namecase.names import rules
from namecase.names import vocabulary as vocab
from namecase.names.casing import (
    APOSTROPHES,
    CYRILLIC,
    HYPHENS,
    LOWER_SAFE,
    REGULAR_WORD,
    SEPARATORS,
    capital_of,
    first_cased,
    is_latin_letter,
    lower_word,
    title_char,
)
from namecase.names.options import DEFAULT, NameOptions

FIRST: Final = 0
MIDDLE: Final = 1
LAST: Final = 2
ANY: Final = 3
_FIELDS: Final = {"first": FIRST, "middle": MIDDLE, "last": LAST, "any": ANY}

# Word gate (RULES.md §4.3).
_KEEP: Final = 0
_LOWER: Final = 1
_UPPER: Final = 2
_INVERTED: Final = 3
_MIXED: Final = 4

_SPLIT_PARTS: Final = re.compile(f"([{re.escape(SEPARATORS)}])").split
_FIRST_LETTER: Final = re.compile(r"[^\W\d_]")
_BASIC_CYRILLIC: Final = re.compile("[\u0400-\u045f]+")  # all regular, see casing.py
_SPECIAL_CAPITALIZED: Final = frozenset(word.capitalize() for word in vocab.SPECIAL_WORDS)
_PLAIN_HYPHENATED: Final = re.compile("[A-Za-z\u0400-\u045f]+(?:-[A-Za-z\u0400-\u045f]+)+")
_HYPHEN_SPECIAL: Final = (
    vocab.KINSHIP | vocab.STATUS_SUFFIXES | vocab.HYPHEN_CONNECTORS | vocab.ARTICLES
)

# Which rule explains a changed word when several applied: the most specific wins.
_PRIORITY: Final = (
    rules.EXCEPTION,
    rules.PARTICLE,
    rules.SUFFIX,
    rules.MC,
    rules.APOSTROPHE,
    rules.CAPS_LOCK,
    rules.HYPHEN,
    rules.INITIAL,
    rules.RECASE,
)


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


def case_words(words: list[str], kind: int, options: NameOptions) -> tuple[list[str], list[str]]:
    """Recase each word in its position; returns the words and, per word, the rule or ""."""
    cased: list[str] = []
    why: list[str] = []
    for index, word in enumerate(words):
        out, rule = _case_word(words, index, kind, options, True)
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
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    words = value.split()
    if not words:
        return ""
    kind = field_kind(field)
    cased = words.copy()
    for index, word in enumerate(words):
        if word.isalpha():
            # Hot path, the same decisions as _case_word in fewer steps: most words are one
            # part of ASCII or basic Cyrillic letters, already proper or all in one case
            # (test_hot_paths_give_what_the_general_path_gives checks that both agree).
            if word.istitle():
                if len(word) > 1:
                    continue
            elif (word.islower() or word.isupper()) and (
                word.isascii() or _BASIC_CYRILLIC.fullmatch(word) is not None
            ):
                capitalized = word.capitalize()
                if capitalized not in _SPECIAL_CAPITALIZED and capitalized[:2] != "Mc":
                    cased[index] = capitalized
                    continue
        cased[index] = _case_word(words, index, kind, options, False)[0]
    return " ".join(cased)


def _gate(word: str, options: NameOptions) -> int:
    # Per word, not per string (RULES.md §4.3).
    if len(word) > 1 and word.isalpha() and word.istitle():
        # Already "Capital + lowercase" in one part: kept, so a deliberate Van, Ван or Оглы
        # stays. A lone capital letter carries no such choice and is recased like CAPS.
        return _KEEP
    if word.islower():
        return _LOWER
    if word.isupper():
        return _UPPER
    first = _FIRST_LETTER.search(word)
    if first is None:
        return _KEEP  # digits, emoji, punctuation only
    if first.group().islower():
        return _INVERTED  # caps lock: иВАНОВ, jOHN
    if options.keep_latin_mixed_case and CYRILLIC.search(word) is None:
        return _KEEP  # deliberate mixed case: McDonald, DeVito, LaToya (also 李小龙)
    return _MIXED  # Cyrillic has no internal capitals except the ones the rules restore


def _case_word(
    words: list[str], index: int, kind: int, options: NameOptions, explaining: bool
) -> tuple[str, str]:
    word = words[index]
    gate = _gate(word, options)
    if gate == _KEEP:
        return word, ""
    if _PLAIN_HYPHENATED.fullmatch(word):
        # Hot path for double names (Петров-Водкин, LEIGH-WILLIAMS): every part capitalized
        # unless a part could be a particle or Mc, which _case_compound decides.
        parts = word.lower().split("-")
        if not any(part in _HYPHEN_SPECIAL or part.startswith("mc") for part in parts):
            cased = "-".join([part.capitalize() for part in parts])
            return cased, rules.CAPS_LOCK if gate == _INVERTED else rules.HYPHEN
    if REGULAR_WORD.fullmatch(word):
        return _case_simple(word, word.lower(), words, index, kind, options, gate)
    if LOWER_SAFE.fullmatch(word):
        # Regular letters and punctuation only: str.lower is exact and nothing can compose.
        return _case_compound(word, word.lower(), words, index, kind, options, gate, explaining)
    out, rule = _case_compound(
        word, lower_word(word), words, index, kind, options, gate, explaining
    )
    if not unicodedata.is_normalized("NFC", out):
        # A recased base letter would compose with a following mark; keep the word as typed.
        return word, ""
    return out, rule


def _case_simple(
    word: str,
    low: str,
    words: list[str],
    index: int,
    kind: int,
    options: NameOptions,
    gate: int,
) -> tuple[str, str]:
    # One part of regular letters: str methods are exact here (casing.REGULAR_WORD).
    if low in vocab.SPECIAL_WORDS:
        special = _word_rules(low, words, index, kind, options)
        if special is not None:
            return special
    if low.startswith("mc") and len(low) > 2 and is_latin_letter(low[2]):
        return "Mc" + low[2].upper() + low[3:], rules.MC
    return low[0].upper() + low[1:], _plain_rule(gate, len(low) == 1)


def _plain_rule(gate: int, initial: bool) -> str:
    if gate == _INVERTED:
        return rules.CAPS_LOCK
    return rules.INITIAL if initial else rules.RECASE


def _word_rules(
    key: str,
    words: list[str],
    index: int,
    kind: int,
    options: NameOptions,
    abbreviated: bool = False,
) -> tuple[str, str] | None:
    """Rules for a word that is one part: particles and suffixes by field and position.

    An abbreviated word ("y.", "de.") is an initial, never a particle; "jr." is a suffix.
    """
    last = len(words) - 1
    if options.particles and kind != FIRST and not abbreviated:
        if key in vocab.PREFIXES and index < last and (kind != ANY or index > 0):
            # RULES.md §4.7: a prefix needs a following word; the first word of a full
            # name is a given name (Van Morrison), but a last name may start with one.
            if _next_key(words, index) in vocab.EXCEPTIONS.get(key, ()):
                return _capitalized(key), rules.EXCEPTION
            return key, rules.PARTICLE
        if key in vocab.KINSHIP and index > 0:
            return key, rules.PARTICLE
        if key in vocab.WORD_CONNECTORS and 0 < index < last:
            return key, rules.PARTICLE
    form = vocab.SUFFIX_FORMS.get(key)
    if form is not None and kind != FIRST and index > 0 and _suffix_tail(words, index):
        return form, rules.SUFFIX
    return None


def _capitalized(low: str) -> str:
    return title_char(low[0]) + low[1:]


def _next_key(words: list[str], index: int) -> str:
    return lower_word(words[index + 1]).strip(SEPARATORS)


def _suffix_tail(words: list[str], index: int) -> bool:
    # A suffix ends the name: every later word is a suffix too (Smith III MD).
    return all(lower_word(word).rstrip(".,") in vocab.SUFFIX_FORMS for word in words[index + 1 :])


def _case_compound(
    word: str,
    low: str,
    words: list[str],
    index: int,
    kind: int,
    options: NameOptions,
    gate: int,
    explaining: bool,
) -> tuple[str, str]:
    """Recase a word with separators, digits, marks or irregular letters, part by part."""
    if options.particles and low in vocab.DUTCH_T:
        return low, rules.PARTICLE
    pieces = _SPLIT_PARTS(low)  # part, separator, part, …, part
    lettered = [k for k in range(0, len(pieces), 2) if first_cased(pieces[k]) >= 0]
    if not lettered:
        return low, _plain_rule(gate, False)
    if len(lettered) == 1:
        # One part framed by punctuation, e.g. "(ван)" or "iii,": rules of a whole word.
        at = lettered[0]
        key = pieces[at]
        abbreviated = at + 1 < len(pieces) and pieces[at + 1] == "."
        special = _word_rules(key, words, index, kind, options, abbreviated)
        if special is not None:
            form, rule = special
            return low.replace(key, form, 1), rule
    first = lettered[0]
    applied: set[str] = set()
    out: list[str] = []
    position = 0
    for k in range(0, len(pieces), 2):
        part = pieces[k]
        if k:
            out.append(pieces[k - 1])
            position += 1
        if k in lettered:
            capital, rule = _part_capital(pieces, k, first, words, index, kind, options)
            if rule:
                applied.add(rule)
            if capital:
                out.append(_capitalize_part(part, word, position, applied))
                position += len(part)
                continue
        out.append(part)
        position += len(part)
    cased = "".join(out)
    return cased, _compound_rule(pieces, lettered, applied, gate) if explaining else ""


def _compound_rule(pieces: list[str], lettered: list[int], applied: set[str], gate: int) -> str:
    if len(lettered) > 1 and any(sep in HYPHENS for sep in pieces[1::2]):
        applied.add(rules.HYPHEN)
    if all(len(pieces[k]) == 1 for k in lettered):
        applied.add(rules.INITIAL)
    applied.add(_plain_rule(gate, False))
    return next(rule for rule in _PRIORITY if rule in applied)


def _capitalize_part(part: str, word: str, position: int, applied: set[str]) -> str:
    at = first_cased(part)
    head = part[:at] + capital_of(part[at], word[position + at])
    rest = part[at + 1 :]
    if part[at : at + 2] == "mc" and len(rest) > 1 and is_latin_letter(rest[1]):
        # RULES.md §4.6: Mc + letter; no generic Mac rule (Machado, Macias, Mack).
        applied.add(rules.MC)
        return head + "c" + title_char(rest[1]) + rest[2:]
    return head + rest


def _part_capital(
    pieces: list[str],
    k: int,
    first: int,
    words: list[str],
    index: int,
    kind: int,
    options: NameOptions,
) -> tuple[bool, str]:
    """Whether part k starts with a capital, and the rule that decided it ("" = default)."""
    key = pieces[k]
    before = pieces[k - 1] if k else ""
    after = pieces[k + 1] if k + 1 < len(pieces) else ""
    has_before = bool(before) and bool(pieces[k - 2])
    has_after = bool(after) and bool(pieces[k + 2])
    if has_before and before in APOSTROPHES:
        # RULES.md §4.5: O'Neill, N'Golo, О'Коннор, д'Арк; but Мар'яна, В'ячеслав, Ng'ang'a.
        previous = pieces[k - 2]
        single = len(previous) == 1 and (is_latin_letter(previous) or previous in "од")
        return single, rules.APOSTROPHE
    if options.particles:
        hyphen_before = has_before and before in HYPHENS
        hyphen_after = has_after and after in HYPHENS
        if hyphen_before and (key in vocab.KINSHIP or key in vocab.STATUS_SUFFIXES):
            return False, rules.PARTICLE  # Мамед-оглы, Турсун-заде, Керим-ага
        if hyphen_before and hyphen_after and key in vocab.HYPHEN_CONNECTORS:
            return False, rules.PARTICLE  # Ортега-и-Гассет
        name_start = index == 0 and k == first
        if hyphen_after and key in vocab.ARTICLES and not (name_start and kind in (FIRST, ANY)):
            return False, rules.PARTICLE  # аль-Бируни, Гарун-аль-Рашид, Салах-ад-Дин
        if has_after and after in APOSTROPHES and k == first:
            return _elided_capital(key, pieces[k + 2], index, kind)
    return True, ""


def _elided_capital(key: str, following: str, index: int, kind: int) -> tuple[bool, str]:
    # д'Арк lowercase like де (Lopatin §160) but Д'Аламбер by tradition; Latin d' only after
    # another word (Giscard d'Estaing), since a standalone D'Angelo keeps its capital.
    if key == vocab.CYRILLIC_ELIDED and kind != FIRST and (kind != ANY or index > 0):
        if following in vocab.EXCEPTIONS[key]:
            return True, rules.EXCEPTION
        return False, rules.PARTICLE
    if key == vocab.LATIN_ELIDED and kind != FIRST and index > 0:
        return False, rules.PARTICLE
    return True, ""
