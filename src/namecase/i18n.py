"""The languages of user-facing text: Russian for `LANG=ru` (and nearby locales), else English."""

from __future__ import annotations

from typing import Literal

Language = Literal["ru", "en"]
_RUSSIAN_FIRST = {"ru", "ua", "by", "kz"}


def language_of(lang: str | None) -> Language:
    """Map Bitrix24's LANG (ru, en, de, ua, …) to the language we answer in."""
    return "ru" if (lang or "").lower()[:2] in _RUSSIAN_FIRST else "en"
