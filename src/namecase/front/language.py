"""The front page's language from the browser's Accept-Language (RFC 9110 §12.5.4)."""

from __future__ import annotations

from namecase.i18n import Language

# Russian for Russian and the languages whose speakers Bitrix24 serves in Russian by default.
_RUSSIAN_FIRST = {"ru", "uk", "be", "kk"}


def language_of_accept(header: str | None) -> Language:
    """The first of the browser's preferences (by weight, then order) that we speak; else en."""
    for tag in _preferences(header or ""):
        primary = tag.split("-", 1)[0]
        if primary in _RUSSIAN_FIRST:
            return "ru"
        if primary == "en":
            return "en"
    return "en"


def _preferences(header: str) -> list[str]:
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, parameters = item.strip().partition(";")
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and 0 < weight <= 1:  # a qvalue is 0..1; anything else is ignored
            weighted.append((-weight, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(weighted)]
