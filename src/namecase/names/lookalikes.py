"""Look-alike letters: a Latin letter inside a Cyrillic word, or a Cyrillic one inside a Latin word.

People paste names from documents, switch keyboard layouts mid-word or type a Latin "o" for a
Cyrillic "о"; the result looks right and breaks CRM search and deduplication (Unicode UTS #39
lists these pairs as confusables). docs/names/RULES.md §4.10:

* pairs that look alike in both cases: a↔а, c↔с, e↔е, i↔і, o↔о, p↔р, x↔х, y↔у, ë↔ё, ï↔ї;
  pairs that look alike only as capitals: B↔В, H↔Н, K↔К, M↔М, T↔Т (a pair is taken with both
  its cases, whatever case it was typed in);
* a word whose letters are all Cyrillic apart from Latin look-alikes of either kind gets
  Cyrillic ones (ИBAНОВ, Смирнoв); a word whose letters are all Latin apart from Cyrillic
  look-alikes of the first kind gets Latin ones (Jоhn). Cyrillic в к м н т in a Latin word are
  a keyboard switch, not a look-alike (Ivanов would become Ivanob), so that word is left;
* a word of look-alikes only follows the script of more of its letters;
* a word with other letters of both scripts, a letter of a third script, a combining mark or
  a tie is left as typed.

Each letter is judged by its case class (its engine lowercase, with Turkic ı and İ counted as
i), which the engine's casing never changes. So the decision is the same for the output: a
fixed word has one script and is never fixed again, an unfixed word stays unfixed. The mapping
keeps each letter's case, so casing rules see the fixed word exactly as if it had been typed so.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from namecase.names.casing import CYRILLIC, lower_char

_FULL_PAIRS: Final = (
    ("a", "а"),
    ("c", "с"),
    ("e", "е"),
    ("i", "і"),
    ("o", "о"),
    ("p", "р"),
    ("x", "х"),
    ("y", "у"),
    ("ë", "ё"),
    ("ï", "ї"),
)
_CAPITAL_PAIRS: Final = (("b", "в"), ("h", "н"), ("k", "к"), ("m", "м"), ("t", "т"))
_TO_CYRILLIC: Final[dict[str, str]] = {
    **{latin: cyrillic for latin, cyrillic in _FULL_PAIRS + _CAPITAL_PAIRS},
    **{latin.upper(): cyrillic.upper() for latin, cyrillic in _FULL_PAIRS + _CAPITAL_PAIRS},
    # Letters whose engine case class is one of the pairs: Turkic ı and İ (class i), and the
    # Kelvin sign, which lowercases to k.
    "\u0131": "і",
    "\u0130": "І",
    "\u212a": "К",
}
_TO_LATIN: Final[dict[str, str]] = {
    **{cyrillic: latin for latin, cyrillic in _FULL_PAIRS},
    **{cyrillic.upper(): latin.upper() for latin, cyrillic in _FULL_PAIRS},
}

# Letter classes of a word, by the lowercase key of each letter.
_IGNORED: Final = 0  # not a letter of a script: digits, punctuation, modifier letters (ʻ)
_LATIN: Final = 1
_CYRILLIC: Final = 2
_LATIN_FULL: Final = 3
_LATIN_CAPITAL: Final = 4
_CYRILLIC_FULL: Final = 5
_CYRILLIC_CAPITAL: Final = 6
_OTHER: Final = 7  # a letter of a third script or a combining mark: leave the word alone
_KEY_CLASS: Final[dict[str, int]] = {
    **{latin: _LATIN_FULL for latin, _ in _FULL_PAIRS},
    **{latin: _LATIN_CAPITAL for latin, _ in _CAPITAL_PAIRS},
    **{cyrillic: _CYRILLIC_FULL for _, cyrillic in _FULL_PAIRS},
    **{cyrillic: _CYRILLIC_CAPITAL for _, cyrillic in _CAPITAL_PAIRS},
}

# Every character whose case class is a Latin letter (test_lookalikes checks all of Unicode):
# a value without one has nothing to fix, and plain Cyrillic names never have one.
LATIN_LIKE: Final = (
    "A-Za-z\u00c0-\u024f\u0250-\u02af\u1d00-\u1dbf\u1e00-\u1eff\u2071\u207f"
    "\u2090-\u209c\u212a\u212b\u2132\u214e\u2183\u2184\u2c60-\u2c7f\ua720-\ua7ff"
    "\uab30-\uab6f\ufb00-\ufb06"
    "\U00010780-\U000107bf\U0001df00-\U0001dfff"
)
_MAY_NEED_FIX: Final = re.compile(f"[{LATIN_LIKE}]")


@lru_cache(maxsize=4096)
def _letter_class(c: str) -> int:
    key = "i" if c in "\u0131\u0130" else lower_char(c)
    known = _KEY_CLASS.get(key)
    if known is not None:
        return known
    category = unicodedata.category(key)
    if category[0] == "M":
        return _OTHER
    if category not in ("Lu", "Ll", "Lt", "Lo"):
        return _IGNORED
    script = unicodedata.name(key, "").split(" ", 1)[0]
    if script == "LATIN":
        return _LATIN
    if script == "CYRILLIC":
        return _CYRILLIC
    return _OTHER


def fix_word(word: str) -> str:
    """The word with its look-alike letters in the script of its other letters, or as typed."""
    if CYRILLIC.search(word) is None:
        return word  # no Cyrillic letter, so nothing is out of place (its class needs one)
    counts = [0] * 8
    for c in word:
        counts[_letter_class(c)] += 1
    latin = counts[_LATIN] + counts[_LATIN_FULL] + counts[_LATIN_CAPITAL]
    cyrillic = counts[_CYRILLIC] + counts[_CYRILLIC_FULL] + counts[_CYRILLIC_CAPITAL]
    if counts[_OTHER] or not latin or not cyrillic:
        return word
    to_cyrillic = not counts[_LATIN]
    to_latin = not counts[_CYRILLIC] and not counts[_CYRILLIC_CAPITAL]
    if to_cyrillic and to_latin:  # look-alikes only: the script of more letters, if any
        to_cyrillic, to_latin = cyrillic > latin, latin > cyrillic
    if to_cyrillic:
        table = _TO_CYRILLIC
    elif to_latin:
        table = _TO_LATIN
    else:
        return word
    return "".join([table.get(c, c) for c in word])


def fix_words(value: str, words: list[str]) -> list[str]:
    """Each word of value fixed by fix_word; the same list when value cannot hold a fix."""
    if value.isascii() or _MAY_NEED_FIX.search(value) is None:
        return words
    return [fix_word(word) for word in words]


def lookalike_pair(before: str, after: str) -> bool:
    """True when after is before with one look-alike letter replaced (for the property tests)."""
    return _TO_CYRILLIC.get(before) == after or _TO_LATIN.get(before) == after
