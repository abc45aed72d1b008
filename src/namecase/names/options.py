"""Per-portal switches for the name engine (stored as JSON in portal settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class NameOptions:
    """Immutable, hashable rule switches; the defaults are the rules of docs/names/RULES.md §4.

    particles: lowercase name particles by field and position (ван, von, оглы, аль-, -заде …).
    keep_latin_mixed_case: keep a non-Cyrillic word typed in deliberate mixed case (McDonald,
    DeVito, LaToya) instead of recasing it.
    fix_lookalikes: replace a Latin letter in a Cyrillic word, or a Cyrillic letter in a Latin
    word, by its look-alike twin (Смирнoв with a Latin o, Jоhn with a Cyrillic о). Off, the
    engine changes only the case of letters.
    """

    particles: bool = True
    keep_latin_mixed_case: bool = True
    fix_lookalikes: bool = True

    def __post_init__(self) -> None:
        # Settings arrive as JSON; a string "false" would silently be truthy, so refuse it here.
        for option in fields(self):
            value = getattr(self, option.name)
            if not isinstance(value, bool):
                raise TypeError(f"NameOptions.{option.name} must be a bool, got {value!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NameOptions:
        """Build from stored settings, ignoring keys this version does not know."""
        known = {option.name for option in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def to_dict(self) -> dict[str, bool]:
        """Plain dict of the switches, suitable for JSON."""
        return {option.name: getattr(self, option.name) for option in fields(self)}


DEFAULT = NameOptions()
