"""explain(): which rule changed which word, for the settings page."""

from __future__ import annotations

from dataclasses import dataclass

from namecase.names import rules
from namecase.names.engine import case_words, collapse, field_kind, fixed_words
from namecase.names.options import DEFAULT, NameOptions


@dataclass(frozen=True, slots=True)
class Correction:
    """One changed word: before, after, and the code of the rule that changed it.

    For rule "whitespace" the pair is the whole value before and after trimming. A word whose
    look-alike letters were replaced has a "lookalike" correction first (typed → fixed) and,
    when its case changed too, a second one (fixed → final).
    """

    word_before: str
    word_after: str
    rule: str


def explain(
    value: str | None, field: str = "any", options: NameOptions = DEFAULT
) -> list[Correction]:
    """Which rule changed which word when normalizing value; empty when nothing changes."""
    if value is None:
        return []
    collapsed = collapse(value)
    corrections: list[Correction] = []
    if " ".join(value.split()) != value:
        corrections.append(Correction(value, collapsed, rules.WHITESPACE))
    if not collapsed:
        return corrections
    words, fixed = fixed_words(collapsed, options)
    corrections.extend(
        Correction(before, after, rules.LOOKALIKE)
        for before, after in zip(words, fixed, strict=True)
        if before != after
    )
    cased, why = case_words(fixed, field_kind(field), options)
    corrections.extend(
        Correction(before, after, rule)
        for before, after, rule in zip(fixed, cased, why, strict=True)
        if rule
    )
    return corrections
