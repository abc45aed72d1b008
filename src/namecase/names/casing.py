"""Letter-case mapping for names: one code point in, one code point out.

Python's str.lower/str.title are almost right for names, but a few characters change
length (İ lowercases to i + U+0307, ß titlecases to Ss), a few map outside their letter
(ſ → S → s, ᲂ → О → о), some non-letters have case (Ⓐ, Ⅻ, U+0345) and Σ depends on its
neighbours. This module defines the engine's own mapping so that, character by character:

* only letters of category Lu, Ll or Lt ever change, and each into a single code point;
* ``lower_char(c)`` and ``title_char(lower_char(c))`` casefold like ``c`` — except that
  U+0130 İ lowers to plain i, and an initial U+0131 ı takes the capital I (Turkic rules,
  docs/names/RULES.md §4.4), the deliberate exceptions;
* ``lower_char(title_char(x)) == x``, so lowering the output gives back the lowered input.

Words made only of "regular" letters (ASCII, Latin-1, Latin Extended, Cyrillic, …), for
which str methods agree with these definitions, take the fast str-method path.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

_CASED: Final = frozenset({"Lu", "Ll", "Lt"})
_UPPER_OR_TITLE: Final = frozenset({"Lu", "Lt"})
_LETTER_OR_MARK: Final = ("L", "M")

DOTTED_CAPITAL_I: Final = "\u0130"
DOTLESS_SMALL_I: Final = "\u0131"
_CAPITAL_SIGMA: Final = "\u03a3"

# Part separators inside a word (RULES.md §4.4): hyphens, period, apostrophes, plus the
# punctuation people type next to names. Not separators: ʻ U+02BB (a letter), and the
# okina stand-ins ‘ ` ´ of Uzbek Latin (Oʻtkir), which stay inside the part.
HYPHENS: Final = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
APOSTROPHES: Final = "'\u2019\u02bc"
SEPARATORS: Final = HYPHENS + APOSTROPHES + '.,;:/\\()[]{}"«»„“”!?&+*=<>|~_#@%^$'


@lru_cache(maxsize=8192)
def lower_char(c: str) -> str:
    """Lowercase one character, keeping it one code point (İ → i)."""
    if c == DOTTED_CAPITAL_I:
        return "i"
    if unicodedata.category(c) not in _UPPER_OR_TITLE:
        return c
    low = c.lower()
    if len(low) != 1 or unicodedata.category(low) != "Ll" or low.casefold() != c.casefold():
        return c
    return low


@lru_cache(maxsize=8192)
def title_char(c: str) -> str:
    """Titlecase one lowercase character, or return it unchanged when that is not reversible."""
    if unicodedata.category(c) != "Ll":
        return c
    title = c.title()
    if (
        len(title) != 1
        or unicodedata.category(title) not in _UPPER_OR_TITLE
        or lower_char(title) != c
        or title.casefold() != c.casefold()
    ):
        return c
    return title


@lru_cache(maxsize=8192)
def is_cased(c: str) -> bool:
    """True for the letters this engine may recase (categories Lu, Ll, Lt)."""
    return unicodedata.category(c) in _CASED


def _is_regular(c: str) -> bool:
    # str.lower() and str.upper() agree with lower_char/title_char for this letter.
    if c == _CAPITAL_SIGMA or unicodedata.category(c) not in ("Lu", "Ll"):
        return False
    low = lower_char(c)
    return c.lower() == low and low.upper() == title_char(low)


def _character_class(chars: list[str]) -> str:
    return "".join(re.escape(c) for c in chars)


# Scanned once at import: Basic Latin to Armenian, and Latin Extended Additional (Vietnamese).
_REGULAR_LETTERS: Final = [
    chr(cp)
    for block in (range(0x41, 0x590), range(0x1E00, 0x1F00))
    for cp in block
    if _is_regular(chr(cp))
]
_REGULAR: Final = _character_class(_REGULAR_LETTERS)
_REGULAR_SET: Final = frozenset(_REGULAR_LETTERS)
_INERT: Final = re.escape(SEPARATORS) + r"\x00-\x40\x5b-\x60\x7b-\x7f\u00a0-\u00bf\u2000-\u206f"

REGULAR_WORD: Final = re.compile(f"[{_REGULAR}]+")
"""A word of regular letters only: no separators, digits or marks."""

LOWER_SAFE: Final = re.compile(f"[{_REGULAR}{_INERT}]*")
"""Regular letters and caseless punctuation: str.lower is exact, nothing composes under NFC."""
_LATIN_LETTER: Final = re.compile(
    r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff]"
)
CYRILLIC: Final = re.compile(r"[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")


def is_latin_letter(c: str) -> bool:
    """True for a letter of the Latin script."""
    return _LATIN_LETTER.fullmatch(c) is not None


def _is_final_sigma(word: str, index: int) -> bool:
    # Unicode Final_Sigma, simplified to the neighbouring characters: after a cased letter
    # and not before a letter or mark. Case mapping never changes either test, so the
    # decision is the same when the output is normalized again.
    if index == 0 or not is_cased(word[index - 1]):
        return False
    return index + 1 == len(word) or not unicodedata.category(word[index + 1]).startswith(
        _LETTER_OR_MARK
    )


def lower_word(word: str) -> str:
    """Lowercase a word character by character, same length, with a contextual final ς."""
    if LOWER_SAFE.fullmatch(word):
        return word.lower()
    return "".join(
        ("\u03c2" if _is_final_sigma(word, k) else "\u03c3")
        if c == _CAPITAL_SIGMA
        else lower_char(c)
        for k, c in enumerate(word)
    )


def first_cased(part: str) -> int:
    """Index of the first recasable letter in a part, or -1."""
    if part[:1] in _REGULAR_SET:
        return 0
    for index, c in enumerate(part):
        if is_cased(c):
            return index
    return -1


def capital_of(low: str, original: str) -> str:
    """The capital for a lowered letter; an initial İ stays İ and ı becomes I (RULES.md §4.4)."""
    if original == DOTTED_CAPITAL_I:
        return original
    if low == DOTLESS_SMALL_I:
        return "I"  # Turkish and Azerbaijani: ılgaz → Ilgaz; str.title leaves ı lowercase
    return title_char(low)
