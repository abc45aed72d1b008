"""Closed word lists behind the particle and suffix rules, with their sources.

Every entry is lowercase. Matching is exact on the engine's lowercase form: no accent
folding (docs/names/RULES.md §4.7: Văn is not van).
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
# usage: Надырбек уулу). RULES.md §4.7 and §6 name the sources per language:
# Azerbaijani oğlu/qızı (Cyrillic оғлу/гызы; Russian оглы/кызы; English oghlu/gizi), Uzbek
# o‘g‘li/qizi with every apostrophe a keyboard offers (ўғли/қизи; Russian угли/кизи), Kazakh
# ұлы/қызы (Latin uly/qyzy), Kyrgyz уулу/кызы (uulu/kyzy), Tatar улы/кызы (ulı/uğlı/qızı),
# Bashkir улы/ҡыҙы, Turkmen ogly/gyzy.
_UZBEK_SON: Final = frozenset(
    f"o{mark}g{mark}li" for mark in ("'", "\u2019", "\u02bc", "\u2018", "\u02bb", "`")
)
KINSHIP: Final = frozenset(
    {"оглы", "кызы", "улы", "уулу", "угли", "кизи", "ұлы", "қызы", "ўғли", "қизи"}
    | {"оғлу", "гызы", "ҡыҙы"}
    | {"oglu", "oğlu", "oghlu", "ogly", "kyzy", "qizi", "qızı", "gizi", "gyzy", "uulu", "ugli"}
    | {"ogli", "uly", "qyzy", "ulı", "uğlı"}
    | _UZBEK_SON
)
# The Uzbek marker with an apostrophe that is also a part separator (' ’ ʼ), which the
# part-by-part casing would otherwise read as O'G'li.
SPLIT_KINSHIP: Final = frozenset(k for k in KINSHIP if any(m in k for m in "'\u2019\u02bc"))

# Titles lowercase only as the hyphenated tail of a name (Lopatin §161: Турсун-заде,
# Керим-ага); alone they are names (Хан, Паша).
STATUS_SUFFIXES: Final = frozenset({"ага", "бей", "бек", "заде", "паша", "хан", "шах"})

# Arabic articles, lowercase when hyphen-attached before a part (Lopatin §161: аль-Бируни,
# Салах-ад-Дин, Гарун-аль-Рашид); Latin al- likewise. ар-/ar-, as-, ad-, ash- are al- before a
# "sun letter" (Абд ар-Рахман, Salah ad-Din, Omar ash-Sharif; RULES.md §4.7).
ARTICLES: Final = frozenset(
    {"ад", "ал", "аль", "ар", "ас", "аш", "зуль", "уль", "эд", "эль"}
    | {"al", "ar", "as", "ad", "ash"}
)

# Connectors, lowercase between hyphens (Lopatin §160: Ортега-и-Гассет); Latin y also
# between words (Ruiz y Picasso).
HYPHEN_CONNECTORS: Final = frozenset({"и", "y"})
WORD_CONNECTORS: Final = frozenset({"y"})

# Spanish and Portuguese compound given names: the particle between two given names is
# lowercase (María del Carmen, María de los Ángeles, Maria das Dores, Maria do Carmo;
# RULES.md §4.7), also in Russian transcription (Мария дель Кармен, Лопатин §160).
GIVEN_NAME_PARTICLES: Final = frozenset(
    {"de", "del", "da", "das", "do", "dos", "y"} | {"де", "дель", "да", "дас", "дос"}
)
DE: Final = frozenset({"de", "де"})
# Articles after de: lowercase in every field (de los Santos, Bartolomé de las Casas); la only
# inside a given name (María de la Luz), since French writes de La Fontaine (RULES.md §5.4).
ARTICLES_AFTER_DE: Final = frozenset({"los", "las", "лос", "лас"})
GIVEN_ARTICLES_AFTER_DE: Final = frozenset({"la", "ла"})
# French articles that are names by default (Marine Le Pen, Du Bellay) but kept lowercase when
# typed so between name words the user capitalized deliberately (Daphne du Maurier).
TYPED_LOWER_ARTICLES: Final = frozenset({"du", "des", "le", "la"})

# Prefixes after which a typed internal capital is a convention (McDonald, MacDonald, DeVito,
# LaToya, FitzGerald, VanDyke): caps lock after them restores only the rest (RULES.md §4.3).
INTERNAL_CAPITAL_PREFIXES: Final = frozenset(
    {"mc", "mac", "fitz", "de", "di", "da", "du", "del", "della", "des", "la", "le", "lo"}
    | {"van", "von", "ten", "ter"}
)

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
SPECIAL_WORDS: Final = frozenset(
    PREFIXES
    | KINSHIP
    | WORD_CONNECTORS
    | SUFFIX_FORMS.keys()
    | GIVEN_NAME_PARTICLES
    | ARTICLES_AFTER_DE
    | GIVEN_ARTICLES_AFTER_DE
    | TYPED_LOWER_ARTICLES
)
