"""The word gate (docs/names/RULES.md §4.3): which words are recased, and how.

Per word, not per string. A word that is already "Capital + lowercase" in one part, has no
letter case, or is a deliberate non-Cyrillic mixed case (McDonald, DeVito) is kept. All-lower,
all-caps and caps-lock words (иВАНОВ, jOHN, McDONAGH, STRAUß) are recased; a Cyrillic word
with internal capitals is recased because Cyrillic orthography has none the rules would not
restore themselves.
"""

from __future__ import annotations

import re
from typing import Final

from namecase.names.casing import CYRILLIC
from namecase.names.options import NameOptions

KEEP: Final = 0
LOWER: Final = 1
UPPER: Final = 2
INVERTED: Final = 3
MIXED: Final = 4
CAPS_TAIL: Final = 5  # McDONAGH: a right start, then caps lock for the rest

_FIRST_LETTER: Final = re.compile(r"[^\W\d_]")


def gate(word: str, options: NameOptions) -> int:
    """Classify a word by its letter case."""
    if len(word) > 1 and word.isalpha() and word.istitle():
        # Already "Capital + lowercase" in one part: kept, so a deliberate Van, Ван or Оглы
        # stays. A lone capital letter carries no such choice and is recased like CAPS.
        return KEEP
    if word.islower():
        return LOWER
    if word.isupper():
        return UPPER
    first = _FIRST_LETTER.search(word)
    if first is None:
        return KEEP  # digits, emoji, punctuation only
    if first.group().islower():
        return INVERTED  # caps lock: иВАНОВ, jOHN
    if _caps_but_uncased_lowers(word):
        return UPPER  # STRAUß: ß has no capital of its own, the rest is in capitals
    if options.keep_latin_mixed_case and CYRILLIC.search(word) is None:
        if caps_tail(word) > 0:
            return CAPS_TAIL
        return KEEP  # deliberate mixed case: McDonald, DeVito, LaToya (also 李小龙)
    return MIXED


def _caps_but_uncased_lowers(word: str) -> bool:
    # Every lowercase letter is one whose capital is not a single letter (ß → SS, ŉ → ʼN).
    return all(len(c.upper()) != 1 for c in word if c.islower())


def caps_tail(word: str) -> int:
    """Where a caps-lock tail starts in a word that starts right, or -1.

    The cased letters must read: a capital, at least one lowercase letter, then at least two
    capitals and no lowercase letter to the end (McDONAGH → 2, MacDONALD → 3, Mary-KATE → 5).
    McDonald, DeVito and JoAnn have lowercase letters after their internal capital: -1.
    """
    start = -1
    capitals = 0
    lowers = 0
    for index, c in enumerate(word):
        if c.isupper():
            if lowers and start < 0:
                start = index
            if start >= 0:
                capitals += 1
        elif c.islower():
            if start >= 0:
                return -1
            lowers += 1
    return start if capitals >= 2 else -1
