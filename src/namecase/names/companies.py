"""Company names typed into person-name fields: legal forms and the quoted name.

Russian CRMs get "ИП Иванов", "ООО «Вектор»", "ACME LLC" in the name fields of leads and
contacts. docs/names/RULES.md §4.11:

* a legal form standing as a word (punctuation around it kept) is written in its canonical case
  (ООО, ИП, ОсОО, LLC, GmbH, Ltd), whatever case it was typed in;
* where the same letters are also a surname or a given name (Ип: Ip Man is Ип Ман; Ао; Одо;
  Пат; Sa), the rule applies only beside another word and only when the word was not typed as a
  name ("Ип" typed so is kept); alone in a field it is a name;
* Cyrillic forms followed by a period are abbreviations of something else ("тов." is
  товарищ), never a legal form;
* in a value with a legal form, the name in quotes is written as Russian writes organization
  names (ООО «Рога и копыта»): its first word capitalized, its later Cyrillic words lowercase
  unless typed with a capital; a 2-3 letter word typed in capitals is an acronym and kept
  («МТС», «ВТБ»). Latin words in the quotes keep the name rules (LLC «Acme Solutions»).

Sources: the GLEIF ISO 20275 Entity Legal Forms code list (local abbreviations per
jurisdiction), ГК РФ ст. 54 and 1473 (ООО «Заковед»), GmbHG § 4 (GmbH).
"""

from __future__ import annotations

from typing import Final

from namecase.names.casing import SEPARATORS, lower_word

# Canonical spellings by lowercase key. Russia (ГК РФ гл. 4, ОКОПФ), Kazakhstan (ТОО, ЖШС),
# Kyrgyzstan (ОсОО), Belarus (ЧУП, ОДО), Ukraine (ТОВ, ФОП, ПрАТ, ПАТ).
_CYRILLIC_FORMS: Final = (
    *("ООО", "ОАО", "ЗАО", "ПАО", "НАО", "АО", "ИП", "НКО", "АНО", "НП", "ГУП", "МУП", "ФГУП"),
    *("КФХ", "ТСЖ", "СНТ", "ИЧП", "ЧП", "ТОО", "ЖШС", "ОсОО", "ЧУП", "ОДО", "ТОВ", "ФОП", "ПрАТ"),
    "ПАТ",
)
# US/UK (LLC, LLP, Ltd, PLC, Inc, Corp), Germany (GmbH, gGmbH, mbH, AG, KG, KGaA, OHG, GbR, UG),
# France/Romania/Latin America (SA, SARL, SRL), Netherlands/Belgium (BV, NV), and OOO, the
# transliteration of ООО.
_LATIN_FORMS: Final = (
    *("LLC", "LLP", "Ltd", "PLC", "Inc", "Corp", "GmbH", "gGmbH", "mbH", "AG", "KG", "KGaA"),
    *("OHG", "GbR", "UG", "SA", "SARL", "SRL", "BV", "NV", "OOO"),
)
LEGAL_FORMS: Final[dict[str, str]] = {form.lower(): form for form in _CYRILLIC_FORMS + _LATIN_FORMS}
# Also a name: Ип (Ip Man is Ип Ман), Ао, Одо, Пат, Sa.
AMBIGUOUS: Final = frozenset({"ип", "ао", "одо", "пат", "sa"})
_CYRILLIC_KEYS: Final = frozenset(form.lower() for form in _CYRILLIC_FORMS)

# Capitalized spellings the engine's fast path must not keep as typed ("Ооо", "Llc", "Gmbh").
CAPITALIZED_WRONG: Final = frozenset(
    key.capitalize()
    for key, form in LEGAL_FORMS.items()
    if key not in AMBIGUOUS and form != key.capitalize()
)
# Every capitalized key, so that the fast path hands all of them to the general path.
CAPITALIZED_KEYS: Final = frozenset(key.capitalize() for key in LEGAL_FORMS)

_OPEN: Final = '«„“"'
_CLOSE: Final = '»“”"'
_NESTED_OPEN: Final = "«„"
_LEADING: Final = "(["
_TRAILING: Final = ".,;:!?)]"
QUOTE_CHARS: Final = frozenset(_OPEN + _CLOSE)
# Punctuation that may frame a form: the separators but ʼ U+02BC, which is also a letter, so
# that the engine's fast path (which keeps any "Capital + lowercase" word of letters) agrees.
_FRAME: Final = SEPARATORS.replace("\u02bc", "")

NOT_QUOTED: Final = 0
FIRST_QUOTED: Final = 1
LATER_QUOTED: Final = 2


def legal_form(word: str, word_count: int) -> str | None:
    """The word with its legal form in canonical case, or None when it is not one."""
    if len(word) > 12:
        return None
    core = word.strip(_FRAME)
    if not 1 < len(core) <= 5:
        return None
    key = lower_word(core)
    form = LEGAL_FORMS.get(key)
    if form is None:
        return None
    if key in AMBIGUOUS and (word_count == 1 or (core.isalpha() and core.istitle())):
        return None
    start = len(word) - len(word.lstrip(_FRAME))
    end = start + len(core)
    if key in _CYRILLIC_KEYS and word[end : end + 1] == ".":
        return None
    return word[:start] + form + word[end:]


def quote_flags(words: list[str]) -> list[int] | None:
    """Per word: outside, first or later word of a quoted company name; None when the value
    has no legal form or no quoted name. Depends only on quotes and letters' lowercase form,
    so a normalized value gets the same flags."""
    if not any(legal_form(word, len(words)) is not None for word in words):
        return None
    flags = [NOT_QUOTED] * len(words)
    inside = False
    for index, word in enumerate(words):
        lead = word.lstrip(_LEADING)
        trail = word.rstrip(_TRAILING)
        if inside:
            # «Акционерный банк «Ресурс»»: a name quoted inside the name starts with a capital.
            flags[index] = FIRST_QUOTED if lead[:1] in _NESTED_OPEN else LATER_QUOTED
            inside = trail[-1:] not in _CLOSE
        elif lead[:1] in _OPEN:
            flags[index] = FIRST_QUOTED
            opened_at = len(word) - len(lead)
            inside = not (trail[-1:] in _CLOSE and len(trail) - 1 > opened_at)
    return flags if any(flags) else None


def is_acronym(word: str) -> bool:
    """Two or three letters, all capitals (МТС, ВТБ, IBM): kept as typed inside quotes."""
    letters = [c for c in word if c.isalpha()]
    return 2 <= len(letters) <= 3 and all(c.isupper() for c in letters)
