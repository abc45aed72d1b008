"""explain(): which rule changed which word, for the settings page."""

from __future__ import annotations

from dataclasses import dataclass

from namecase.names import rules
from namecase.names.engine import case_words, collapse, field_kind
from namecase.names.options import DEFAULT, NameOptions


@dataclass(frozen=True, slots=True)
class Correction:
    """One changed word: before, after, and the code of the rule that changed it.

    For rule "whitespace" the pair is the whole value before and after trimming.
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
    words = collapsed.split(" ")
    cased, why = case_words(words, field_kind(field), options)
    corrections.extend(
        Correction(before, after, rule)
        for before, after, rule in zip(words, cased, why, strict=True)
        if rule
    )
    return corrections
