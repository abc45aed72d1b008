"""Rules for a word that is one part: particles and suffixes by field and position.

docs/names/RULES.md §4.7 and §4.8. Every decision depends on the word's lowercase form, its
field, its position and its neighbours' lowercase forms, plus, for the French articles, on
words the engine always keeps as typed; so a normalized value gets the same decisions.
"""

from __future__ import annotations

from typing import Final

from namecase.names import rules
from namecase.names import vocabulary as vocab
from namecase.names.casing import SEPARATORS, lower_word, title_char
from namecase.names.companies import CAPITALIZED_WRONG
from namecase.names.options import NameOptions

FIRST: Final = 0
MIDDLE: Final = 1
LAST: Final = 2
ANY: Final = 3


def word_rules(
    key: str,
    words: list[str],
    index: int,
    kind: int,
    options: NameOptions,
    abbreviated: bool = False,
) -> tuple[str, str] | None:
    """The cased word and its rule, or None for the default capital.

    An abbreviated word ("y.", "de.") is an initial, never a particle; "jr." is a suffix.
    """
    last = len(words) - 1
    if options.particles and not abbreviated:
        if 0 < index < last and _between_names(key, words, index, kind):
            return key, rules.PARTICLE
        if kind != FIRST:
            particle = _particle(key, words, index, kind, last)
            if particle is not None:
                return particle
    form = vocab.SUFFIX_FORMS.get(key)
    if form is not None and kind != FIRST and index > 0 and _suffix_tail(words, index):
        return form, rules.SUFFIX
    return None


def _particle(
    key: str, words: list[str], index: int, kind: int, last: int
) -> tuple[str, str] | None:
    if key in vocab.PREFIXES and index < last and (kind != ANY or index > 0):
        # A prefix needs a following word; the first word of a full name is a given name
        # (Van Morrison), but a last name may start with one.
        if _next_key(words, index) in vocab.EXCEPTIONS.get(key, ()):
            return capitalized(key), rules.EXCEPTION
        return key, rules.PARTICLE
    if key in vocab.KINSHIP and index > 0:
        return key, rules.PARTICLE
    if key in vocab.WORD_CONNECTORS and 0 < index < last:
        return key, rules.PARTICLE
    return None


def _between_names(key: str, words: list[str], index: int, kind: int) -> bool:
    """A particle between two name words, in any field (the caller checks the position)."""
    after_de = key in vocab.ARTICLES_AFTER_DE or (
        kind == FIRST and key in vocab.GIVEN_ARTICLES_AFTER_DE
    )
    if after_de and _key(words[index - 1]) in vocab.DE:
        return True  # de los Ángeles, de las Casas; María de la Luz
    if kind == FIRST and key in vocab.GIVEN_NAME_PARTICLES:
        return True  # María del Carmen, Maria das Dores
    if key in vocab.TYPED_LOWER_ARTICLES and words[index].islower():
        return _deliberately_cased(words, index)  # Daphne du Maurier
    return False


def _deliberately_cased(words: list[str], index: int) -> bool:
    # Another word is typed "Capital + lowercase": the user chose the case, so a lowercase du
    # beside it is a choice too. Such words are always kept as typed (gate.KEEP), so the
    # normalized value gives the same answer; "Ооо" is the exception the engine changes.
    return any(
        other != index
        and len(word) > 1
        and word.isalpha()
        and word.istitle()
        and word not in CAPITALIZED_WRONG
        for other, word in enumerate(words)
    )


def capitalized(low: str) -> str:
    return title_char(low[0]) + low[1:]


def _key(word: str) -> str:
    return lower_word(word).strip(SEPARATORS)


def _next_key(words: list[str], index: int) -> str:
    return _key(words[index + 1])


def _suffix_tail(words: list[str], index: int) -> bool:
    # A suffix ends the name: every later word is a suffix too (Smith III MD).
    return all(lower_word(word).rstrip(".,") in vocab.SUFFIX_FORMS for word in words[index + 1 :])
