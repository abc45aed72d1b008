"""Closed word lists behind the particle and suffix rules, with their sources.

Every entry is lowercase. Matching is exact on the engine's lowercase form: no accent
folding (RULES.md §4.7: Văn is not van).
"""

from __future__ import annotations

from typing import Final

# Standalone prefixes, lowercase when another word follows (RULES.md §4.7).
# Cyrillic: Lopatin 2006 §160 (ван … фон), §161 (ибн); тер/тен/ден/цу/бин mirror the
# Dutch, German and Arabic Latin particles below (Герард тер Борх, Мохаммед бин Салман).
CYRILLIC_PREFIXES: Final = frozenset(
    {"ван", "фон", "де", "дю", "да", "дас", "ди", "дос", "делла", "дель", "дер", "ла", "ле"}
    | {"ибн", "бин", "тер", "тен", "ден", "цу"}
)
LATIN_PREFIXES: Final = frozenset(
    {"van", "von", "der", "den", "de", "da", "das", "do", "dos", "del", "della", "di", "zu"}
    | {"ten", "ter", "te", "bin", "binti", "ibn", "ap"}
)
PREFIXES: Final = CYRILLIC_PREFIXES | LATIN_PREFIXES

# Patronymic markers, lowercase after a word or after a hyphen (Lopatin §161: Мамед-оглы;
# usage: Надырбек уулу). Latin forms are the Azerbaijani, Turkic and Uzbek spellings.
KINSHIP: Final = frozenset(
    {"оглы", "кызы", "улы", "уулу", "угли", "кизи", "ұлы", "қызы"}
    | {"oglu", "oğlu", "ogly", "kyzy", "qizi", "qızı", "uulu", "ugli"}
)

# Titles lowercase only as the hyphenated tail of a name (Lopatin §161: Турсун-заде,
# Керим-ага); alone they are names (Хан, Паша).
STATUS_SUFFIXES: Final = frozenset({"ага", "бей", "бек", "заде", "паша", "хан", "шах"})

# Arabic articles, lowercase when hyphen-attached before a part (Lopatin §161: аль-Бируни,
# Салах-ад-Дин, Гарун-аль-Рашид); Latin al- likewise.
ARTICLES: Final = frozenset({"ад", "ал", "аль", "ас", "аш", "зуль", "уль", "эд", "эль", "al"})

# Connectors, lowercase between hyphens (Lopatin §160: Ортега-и-Гассет); Latin y also
# between words (Ruiz y Picasso).
HYPHEN_CONNECTORS: Final = frozenset({"и", "y"})
WORD_CONNECTORS: Final = frozenset({"y"})

# Elided de before an apostrophe: Жанна д'Арк (Lopatin §160), Giscard d'Estaing.
CYRILLIC_ELIDED: Final = "д"
LATIN_ELIDED: Final = "d"

# Dutch 't is always lowercase ('t Hooft).
DUTCH_T: Final = frozenset({"'t", "\u2019t", "\u02bct"})

# Lopatin §160 note 1 and §161: traditional capitals. Maps a particle to the next words
# after which it keeps its capital (Ван Гог, Ле Корбюзье, Д'Аламбер, Ибн Сина).
EXCEPTIONS: Final[dict[str, frozenset[str]]] = {
    "ван": frozenset({"гог"}),
    "де": frozenset({"костер", "филиппо"}),
    "ди": frozenset({"витторио"}),
    "ла": frozenset({"боэси"}),
    "ле": frozenset({"шателье", "корбюзье"}),
    "дос": frozenset({"пассос"}),
    "д": frozenset({"аламбер"}),
    "ибн": frozenset({"сина"}),
}

# Suffixes after a name (RULES.md §4.8). Never I or XI (an initial; Xi is a name), never
# L-forms (Li, Liv are names).
_ROMAN: Final = ("ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x")
_ROMAN_TEENS: Final = ("xii", "xiii", "xiv", "xv", "xvi", "xvii", "xviii", "xix", "xx")
SUFFIX_FORMS: Final[dict[str, str]] = {
    numeral: numeral.upper() for numeral in _ROMAN + _ROMAN_TEENS
} | {
    "md": "MD",
    "phd": "PhD",
    "jr": "Jr",
    "sr": "Sr",
}

# Words the simple-word path must look at twice; everything else is plainly capitalized.
SPECIAL_WORDS: Final = frozenset(PREFIXES | KINSHIP | WORD_CONNECTORS | SUFFIX_FORMS.keys())
