"""Part-by-part casing of a word with separators, digits, marks or irregular letters.

Parts are separated by hyphens, periods, apostrophes and other punctuation (casing.SEPARATORS).
The apostrophe (docs/names/RULES.md §4.5), Mc (§4.6), particle (§4.7) and initial (§4.9)
rules decide which parts start with a capital.
"""

from __future__ import annotations

import re
from typing import Final

from namecase.names import gate as gates
from namecase.names import rules
from namecase.names import vocabulary as vocab
from namecase.names.casing import (
    APOSTROPHES,
    HYPHENS,
    SEPARATORS,
    capital_of,
    first_cased,
    is_latin_letter,
    title_char,
)
from namecase.names.options import NameOptions
from namecase.names.particles import ANY, FIRST, word_rules

_SPLIT_PARTS: Final = re.compile(f"([{re.escape(SEPARATORS)}])").split
# An Uzbek marker attached by a hyphen and written with a separating apostrophe: Fozil-o'g'li.
_HYPHENATED_KINSHIP: Final = re.compile(
    f"[{re.escape(HYPHENS)}]({'|'.join(map(re.escape, sorted(vocab.SPLIT_KINSHIP)))})$"
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


def plain_rule(gate: int, initial: bool) -> str:
    if gate == gates.INVERTED:
        return rules.CAPS_LOCK
    return rules.INITIAL if initial else rules.RECASE


def case_compound(
    word: str,
    low: str,
    words: list[str],
    index: int,
    kind: int,
    options: NameOptions,
    gate: int,
    explaining: bool,
) -> tuple[str, str]:
    """Recase a word part by part; low is its lowercase form (casing.lower_word)."""
    if options.particles:
        if low in vocab.DUTCH_T:
            return low, rules.PARTICLE
        if low in vocab.SPLIT_KINSHIP and index > 0 and kind != FIRST:
            return low, rules.PARTICLE  # Alisher Shavkat o'g'li
        attached = _HYPHENATED_KINSHIP.search(low)
        if attached is not None:
            cut = attached.start(1)
            head, _ = case_compound(
                word[:cut], low[:cut], words, index, kind, options, gate, explaining
            )
            return head + low[cut:], rules.PARTICLE  # Ahmad Fozil-o'g'li
    pieces = _SPLIT_PARTS(low)  # part, separator, part, …, part
    lettered = [k for k in range(0, len(pieces), 2) if first_cased(pieces[k]) >= 0]
    if not lettered:
        return low, plain_rule(gate, False)
    if len(lettered) == 1:
        # One part framed by punctuation, e.g. "(ван)" or "iii,": rules of a whole word.
        at = lettered[0]
        key = pieces[at]
        abbreviated = at + 1 < len(pieces) and pieces[at + 1] == "."
        special = word_rules(key, words, index, kind, options, abbreviated)
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
    applied.add(plain_rule(gate, False))
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
            return False, rules.PARTICLE  # аль-Бируни, Абд ар-Рахман, Салах-ад-Дин
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
