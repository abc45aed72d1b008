"""Shared hypothesis strategies and helpers for the name-engine properties."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from hypothesis import strategies as st

from namecase.names import NameOptions
from namecase.names.lookalikes import lookalike_pair

FIELDS = ("first", "middle", "last", "any")
OPTIONS = [
    NameOptions(particles=particles, keep_latin_mixed_case=keep, fix_lookalikes=fix)
    for particles in (True, False)
    for keep in (True, False)
    for fix in (True, False)
]
CASED = frozenset({"Lu", "Ll", "Lt"})
DOTTED_CAPITAL_I = "\u0130"
DOTLESS_SMALL_I = "\u0131"


def collapsed(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split())


def fold(text: str) -> str:
    """casefold, with the Turkic İ and ı counted as i (the engine lowers İ to i, capitalizes
    ı as I)."""
    return text.replace(DOTTED_CAPITAL_I, "i").replace(DOTLESS_SMALL_I, "i").casefold()


def _case_twins(b: str, a: str) -> bool:
    return (
        unicodedata.category(b) in CASED and unicodedata.category(a) in CASED and fold(b) == fold(a)
    )


def only_case_differs(before: str, after: str, lookalikes: bool = False) -> bool:
    """Same length, and each character is equal, the same letter in another case or, when
    lookalikes is on, the look-alike twin of the other script in either case."""
    if len(before) != len(after):
        return False
    return all(
        b == a
        or _case_twins(b, a)
        or (lookalikes and any(lookalike_pair(b, twin) and _case_twins(twin, a) for twin in _TWINS))
        for b, a in zip(before, after, strict=True)
    )


# Every letter a look-alike may become (both scripts, both cases).
_TWINS = "abcehikmoptxyëïабвсенікмопрстухёїABCEHIKMOPTXYËÏАВСЕНІКМОРТХУЁЇ"


# Arbitrary text: every code point but surrogates, including combining marks, controls,
# whitespace of all kinds, ligatures, İ, ß, final sigma, U+0345, Georgian, Cherokee.
ANY_TEXT = st.text(st.characters(codec=None), max_size=40)

# Names as people type them: Cyrillic and Latin words, particles, suffixes, Mc, apostrophes
# and hyphens, in every case pattern, with awkward Unicode mixed in.
_WORDS = [
    "иван",
    "петров",
    "ИВАНОВА",
    "мария",
    "семёнов",
    "тян",
    "шанский",
    "мар",
    "яна",
    "в",
    "ячеслав",
    "о",
    "коннор",
    "д",
    "арк",
    "аламбер",
    "ван",
    "фон",
    "де",
    "дю",
    "да",
    "ди",
    "делла",
    "дель",
    "дер",
    "дос",
    "ла",
    "ле",
    "ибн",
    "бин",
    "оглы",
    "кызы",
    "уулу",
    "заде",
    "бей",
    "ага",
    "хан",
    "шах",
    "аль",
    "ад",
    "ас",
    "аш",
    "уль",
    "и",
    "гог",
    "корбюзье",
    "сина",
    "джахан",
    "мак",
    "кинли",
    "john",
    "o",
    "neill",
    "mccarthy",
    "mc",
    "van",
    "von",
    "der",
    "den",
    "de",
    "da",
    "dos",
    "del",
    "di",
    "zu",
    "ten",
    "ter",
    "y",
    "t",
    "d",
    "al",
    "bin",
    "iii",
    "iv",
    "v",
    "x",
    "xi",
    "xiv",
    "md",
    "phd",
    "jr",
    "sr",
    "li",
    "na",
    "mack",
    "machado",
    "ilknur",
    "İlknur",
    "ǆemal",
    "ǉubiša",
    "σοφία",
    "ΣΟΦΙΑΣ",
    "ß",
    "straße",
    "ſ",
    "ı",
    "ᲂглы",
    "გიორგი",
    "ꭰᏸ",
    "ﬁ",
    "ŉ",
    # look-alikes: Latin letters that have a Cyrillic twin and the reverse, alone and in words
    "o",
    "c",
    "смирнoв",
    "jоhn",
    "сoх",
    "K",
    "\u212a",
    "ılgaz",
    # legal forms, quotes and company names
    "ооо",
    "ип",
    "ao",
    "llc",
    "gmbh",
    "осоо",
    "«",
    "»",
    '"',
    "мтс",
    "рога",
    # given-name particles, French articles, caps lock after a right start
    "maría",
    "los",
    "las",
    "la",
    "du",
    "daphne",
    "McDONAGH",
    "MacDONALD",
    "STRAUß",
    "o'g'li",
    "oʻgʻli",
    "ўғли",
    "uly",
    "ар",
    "ash",
]
_TWISTS: list[Callable[[str], str]] = [
    str.lower,
    str.upper,
    str.title,
    str.swapcase,
    lambda word: word,
    lambda word: word[:1].lower() + word[1:].upper(),
]
_SEPARATORS = [
    " ",
    " ",
    "  ",
    "-",
    "'",
    "\u2019",
    "\u02bc",
    ".",
    ". ",
    "\u00a0",
    "\u2011",
    "\u2009",
    ", ",
    "(",
    ")",
    "\u0301",
    "\u0307",
    "\u0345",
]
_ODD_LETTERS = "\u0301\u0307\u0345ǅǈΣςẞ\u1c80ᲁ"
# Hypothesis draws strings fast and lists slowly, so a name is drawn as one string over private
# use code points, each standing for a token: a separator, a word in a case twist, or an odd
# letter. Hypothesis favours the first 256 code points of such an alphabet, so separators
# come first and eight times over: about half of the tokens drawn are separators.
_TOKENS = _SEPARATORS * 8 + [twist(word) for word in _WORDS for twist in _TWISTS]
_TOKENS += list(_ODD_LETTERS)
_TOKEN_OF = {chr(0xE000 + number): token for number, token in enumerate(_TOKENS)}
NAME_TEXT = st.text(st.sampled_from(sorted(_TOKEN_OF)), min_size=1, max_size=12).map(
    lambda codes: "".join(_TOKEN_OF[code] for code in codes)
)
TEXT = st.one_of(ANY_TEXT, NAME_TEXT)
