"""Stable machine codes for the rules that change a word, with short human explanations.

The settings page shows the code's text beside each correction; codes never change meaning.
"""

from __future__ import annotations

from typing import Final

RECASE: Final = "recase"
CAPS_LOCK: Final = "caps_lock"
PARTICLE: Final = "particle"
EXCEPTION: Final = "exception"
APOSTROPHE: Final = "apostrophe"
MC: Final = "mc"
SUFFIX: Final = "suffix"
INITIAL: Final = "initial"
HYPHEN: Final = "hyphen"
WHITESPACE: Final = "whitespace"
LOOKALIKE: Final = "lookalike"
COMPANY: Final = "company"

RULE_TEXT: Final[dict[str, dict[str, str]]] = {
    RECASE: {
        "en": "Written with a capital first letter and the rest lowercase.",
        "ru": "Первая буква заглавная, остальные строчные.",
    },
    CAPS_LOCK: {
        "en": "Typed with Caps Lock on; case inverted back.",
        "ru": "Набрано с включённым Caps Lock; регистр исправлен.",
    },
    PARTICLE: {
        "en": "Name particle written lowercase (van, von, de, оглы, аль-, -заде).",
        "ru": "Частица имени пишется строчной (ван, фон, де, оглы, аль-, -заде).",
    },
    EXCEPTION: {
        "en": "Traditional spelling keeps the particle capitalized (Ван Гог, Ле Корбюзье).",
        "ru": "По традиции частица пишется с заглавной (Ван Гог, Ле Корбюзье).",
    },
    APOSTROPHE: {
        "en": "Apostrophe: capital after O'/D', lowercase otherwise (O'Neill, Мар'яна).",
        "ru": "Апостроф: заглавная после О'/Д', иначе строчная (О'Коннор, Мар'яна).",
    },
    MC: {
        "en": "Mc prefix: the letter after Mc is capitalized (McCarthy).",
        "ru": "Приставка Mc: следующая буква заглавная (McCarthy).",
    },
    SUFFIX: {
        "en": "Suffix after the name: Roman numerals uppercase, MD, PhD, Jr, Sr.",
        "ru": "Суффикс после имени: римские цифры заглавными, MD, PhD, Jr, Sr.",
    },
    INITIAL: {
        "en": "Initial written as a capital letter.",
        "ru": "Инициал пишется заглавной буквой.",
    },
    HYPHEN: {
        "en": "Each part of a hyphenated name is capitalized (Петров-Водкин).",
        "ru": "Каждая часть двойного имени пишется с заглавной (Петров-Водкин).",
    },
    WHITESPACE: {
        "en": "Extra, leading, trailing or unusual spaces removed.",
        "ru": "Удалены лишние, начальные, конечные или особые пробелы.",
    },
    LOOKALIKE: {
        "en": "A look-alike letter of the other alphabet replaced (Latin o in Смирнoв, "
        "Cyrillic о in Jоhn), so that search and duplicate checks find the name.",
        "ru": "Похожая буква другого алфавита заменена (латинская o в «Смирнoв», кириллическая "
        "о в «Jоhn»), чтобы имя находилось поиском и проверкой дублей.",
    },
    COMPANY: {
        "en": "Company name: the legal form in its usual spelling (ООО, ИП, LLC, GmbH), the "
        "name in quotes with a capital on its first word only.",
        "ru": "Название организации: правовая форма в принятом написании (ООО, ИП, LLC, GmbH), "
        "в названии в кавычках заглавная только у первого слова.",
    },
}
