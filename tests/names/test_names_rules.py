"""Each rule of RULES.md §4, beyond the corpus, as a specification by example."""

from __future__ import annotations

import pytest

from namecase.names import NameOptions, normalize_name


def cases(*rows: tuple[str, str, str]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        ("field", "value", "expected"),
        rows,
        ids=[f"{f}:{v.strip() or 'blank'}" for f, v, _ in rows],
    )


@cases(
    ("any", "\t иван \u2009\u3000 петров \n", "Иван Петров"),
    ("any", "ива\u0301н", "Ива́н"),  # combining acute is composed or kept, never dropped
    ("last", "Мари\u0301я", "Мари́я"),
    ("first", "\u00a0\u00a0", ""),
)
def test_whitespace_is_trimmed_collapsed_and_text_is_nfc(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("last", "ИВАнов", "Иванов"),  # Cyrillic internal capital: always fixed
    ("last", "иВАНОВ-пЕТРОВ", "Иванов-Петров"),  # caps lock
    ("first", "jOHN", "John"),
    ("last", "McDonald", "McDonald"),  # deliberate Latin mixed case: kept
    ("last", "LaMothe", "LaMothe"),
    ("first", "Mary-kate", "Mary-kate"),  # Latin, starts upper, mixed: the user's spelling
    ("any", "Иван Петров", "Иван Петров"),
    ("any", "李小龙 hong", "李小龙 Hong"),  # no letter case at all: untouched
    ("last", "42", "42"),
)
def test_word_gate_recases_lower_upper_inverted_and_cyrillic_mixed(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("last", "семёнов-тян-шанский", "Семёнов-Тян-Шанский"),
    ("last", "SMITH\u2010JONES", "Smith\u2010Jones"),
    ("last", "смит\u2011джонс", "Смит\u2011Джонс"),
    ("first", "jean-paul", "Jean-Paul"),
    ("last", "St. JOHN", "St. John"),
)
def test_every_hyphenated_or_dotted_part_is_capitalized(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("last", "o'neill", "O'Neill"),
    ("last", "O\u2019BRIEN", "O\u2019Brien"),
    ("first", "n'golo", "N'Golo"),
    ("last", "о\u02bcконнор", "О\u02bcКоннор"),
    ("first", "дар'я", "Дар'я"),
    ("first", "В\u2019ЯЧЕСЛАВ", "В\u2019ячеслав"),
    ("last", "ng'ang'a", "Ng'ang'a"),
    ("first", "Мар'Яна", "Мар'яна"),  # a typed Cyrillic internal capital is still fixed
    ("first", "'иван'", "'Иван'"),  # quotes around a word are not elisions
    ("any", "oʻtkir hoshimov", "Oʻtkir Hoshimov"),  # U+02BB is a letter, not an apostrophe
)
def test_apostrophe_capitalizes_only_after_a_single_latin_letter_or_cyrillic_o_d(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("last", "mcdonald", "McDonald"),
    ("last", "MCVEY-MCGRATH", "McVey-McGrath"),
    ("last", "MACDONALD", "Macdonald"),  # no generic Mac rule
    ("last", "machado", "Machado"),
    ("last", "mc", "Mc"),
    ("last", "МАКДОНАЛЬД", "Макдональд"),  # Cyrillic Мак never gets an internal capital
)
def test_mc_capitalizes_the_next_latin_letter_and_mac_is_left_alone(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("any", "ludwig van beethoven", "Ludwig van Beethoven"),
    ("any", "LUDWIG MIES VAN DER ROHE", "Ludwig Mies van der Rohe"),
    ("last", "van dijk", "van Dijk"),  # a last name may start with a particle
    ("last", "von", "Von"),  # alone it is a name
    ("any", "van morrison", "Van Morrison"),  # first word of a full name
    ("first", "ван ли", "Ван Ли"),  # never in the first-name field
    ("any", "Guido Van Rossum", "Guido Van Rossum"),  # a typed capital is kept
    ("any", "Нгуен Ван Тхиеу", "Нгуен Ван Тхиеу"),
    ("any", "ахмед ибн абдуллах", "Ахмед ибн Абдуллах"),
    ("any", "карл-теодор цу гуттенберг", "Карл-Теодор цу Гуттенберг"),
    ("any", "JUAN Y GARCIA", "Juan y Garcia"),
    ("any", "Juan Y. Garcia", "Juan Y. Garcia"),  # an abbreviation is an initial
    ("any", "yusof bin ishak", "Yusof bin Ishak"),
    ("any", "AL LOWE", "Al Lowe"),  # al, le, la, du, el, ben are not Latin particles
    ("any", "marine le pen", "Marine Le Pen"),
)
def test_standalone_prefixes_by_field_and_position(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("middle", "ГУСЕЙН ОГЛЫ", "Гусейн оглы"),
    ("any", "надырбек уулу", "Надырбек уулу"),
    ("any", "heydar alirza oglu", "Heydar Alirza oglu"),
    ("first", "оглы", "Оглы"),
    ("last", "МАМЕД-ОГЛЫ", "Мамед-оглы"),
    ("any", "ИБРАГИМ-БЕЙ", "Ибрагим-бей"),
    ("first", "керим-ага", "Керим-ага"),  # a hyphenated title is lowercase in every field
    ("last", "хан", "Хан"),  # alone a status word is a name
    ("any", "паша ангелина", "Паша Ангелина"),
    ("last", "ШАХ-ДЖАХАН", "Шах-Джахан"),  # a status word leading a compound is a name
)
def test_kinship_and_status_words_after_a_name(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("last", "аль-бируни", "аль-Бируни"),
    ("any", "салах-ад-дин", "Салах-ад-Дин"),
    ("any", "абу али аль-хасан", "Абу Али аль-Хасан"),
    ("any", "аль-хасан абу", "Аль-Хасан Абу"),  # the start of a full name is capitalized
    ("first", "ЭЛЬ-ХУРИ", "Эль-Хури"),
    ("last", "AL-RASHID", "al-Rashid"),
    ("last", "ортега-и-гассет", "Ортега-и-Гассет"),
    ("last", "ORTEGA-Y-GASSET", "Ortega-y-Gasset"),
    ("any", "ИВАНОВ И И", "Иванов И И"),  # a bare И is an initial, not a connector
)
def test_articles_and_connectors_attached_by_hyphens(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("any", "жанна д'арк", "Жанна д'Арк"),
    ("last", "Д'АРК", "д'Арк"),
    ("any", "д'арк жанна", "Д'Арк Жанна"),
    ("any", "valéry giscard d'estaing", "Valéry Giscard d'Estaing"),
    ("last", "D'ANGELO", "D'Angelo"),  # standalone Latin D' keeps its capital
    ("last", "'t hooft", "'t Hooft"),
    ("any", "GERARD \u2019T HOOFT", "Gerard \u2019t Hooft"),
)
def test_elided_particles_d_and_dutch_t(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("any", "винсент ван гог", "Винсент Ван Гог"),
    ("last", "де костер", "Де Костер"),
    ("last", "ДИ ВИТТОРИО", "Ди Витторио"),
    ("last", "ла боэси", "Ла Боэси"),
    ("last", "ле шателье", "Ле Шателье"),
    ("any", "джон дос пассос", "Джон Дос Пассос"),
    ("any", "жан д'аламбер", "Жан Д'Аламбер"),
    ("last", "ибн сина", "Ибн Сина"),
    ("any", "шарль де костер", "Шарль Де Костер"),
    ("last", "де голль", "де Голль"),  # the exception is the pair, not the particle
)
def test_lopatin_exceptions_keep_the_traditional_capital(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("any", "john smith iii", "John Smith III"),
    ("last", "smith ii", "Smith II"),
    ("any", "john smith jr.", "John Smith Jr."),
    ("any", "JOHN SMITH SR", "John Smith Sr"),
    ("any", "jane doe phd", "Jane Doe PhD"),
    ("any", "john smith iii md", "John Smith III MD"),
    ("any", "malcolm x", "Malcolm X"),
    ("any", "xi jinping", "Xi Jinping"),  # never XI, never I
    ("any", "li xi", "Li Xi"),
    ("any", "vi hart", "Vi Hart"),  # a suffix never starts a name
    ("any", "john iii smith", "John Iii Smith"),  # and only ends one
    ("first", "henry viii", "Henry Viii"),  # no suffixes in the first-name field
    ("any", "Henry Vi", "Henry Vi"),  # a typed capitalization is kept
)
def test_suffixes_end_a_name(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("any", "а. с. пушкин", "А. С. Пушкин"),
    ("any", "пушкин а.с.", "Пушкин А.С."),
    ("middle", "и", "И"),
    ("any", "j.r.r. tolkien", "J.R.R. Tolkien"),
)
def test_initials_are_capitals_with_spacing_as_typed(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("first", "ǇUBIŠA", "ǈubiša"),  # titlecase digraph, not uppercase
    ("first", "ǈubiša", "ǈubiša"),
    ("any", "ΝΙΚΟΛΑΟΣ ΟΔΥΣΣΕΑΣ", "Νικολαος Οδυσσεας"),  # final sigma
    ("last", "ALİYEV", "Aliyev"),  # İ lowercases to plain i, no stray U+0307
    ("first", "İLKNUR", "İlknur"),  # but an initial İ stays
    ("first", "ᲒᲘᲝᲠᲒᲘ", "გიორგი"),  # Georgian has no capital initial
    ("first", "გიორგი", "გიორგი"),
    ("last", "STRASSE", "Strasse"),
    ("last", "straße", "Straße"),  # ß keeps its one code point
    ("first", "ﬁona", "ﬁona"),  # a ligature whose capital is two letters stays as typed
    ("last", "ꭰᏸ", "Ꭰᏸ"),  # Cherokee: lowercase letters fold to capitals
    ("any", "ИВАН 🌸 ПЕТРОВ2", "Иван 🌸 Петров2"),
)
def test_unicode_casing(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


def test_particles_option_off_capitalizes_every_word() -> None:
    options = NameOptions(particles=False)
    assert normalize_name("ludwig van beethoven", "any", options) == "Ludwig Van Beethoven"
    assert normalize_name("мамед-оглы", "last", options) == "Мамед-Оглы"
    assert normalize_name("аль-бируни", "last", options) == "Аль-Бируни"
    assert normalize_name("john smith iii", "any", options) == "John Smith III"


def test_keep_latin_mixed_case_off_recases_mixed_words() -> None:
    options = NameOptions(keep_latin_mixed_case=False)
    assert normalize_name("DeVito", "last", options) == "Devito"
    assert normalize_name("McDONALD", "last", options) == "McDonald"
    assert normalize_name("Mary-kate", "first", options) == "Mary-Kate"
    assert normalize_name("Guido Van Rossum", "any", options) == "Guido Van Rossum"


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("FIRST", "Ван Фон Ли"),
        (" last ", "ван фон Ли"),
        ("full_name", "Ван фон Ли"),
        ("", "Ван фон Ли"),
        ("имя", "Ван фон Ли"),
    ],
    ids=["FIRST", "last-padded", "full_name", "empty", "cyrillic"],
)
def test_field_names_ignore_case_and_unknown_fields_mean_a_full_name(
    field: str, expected: str
) -> None:
    assert normalize_name("ван фон ли", field) == expected


@cases(
    ("last", "McDONAGH", "McDonagh"),
    ("last", "MacDONALD", "MacDonald"),
    ("last", "DeVITO", "DeVito"),
    ("first", "LaTOYA", "LaToya"),
    ("last", "FitzGERALD", "FitzGerald"),
    ("last", "McDONAGH-SMITH", "McDonagh-Smith"),  # the tail is recased as a name of its own
    ("last", "JoHN", "John"),  # after an ordinary start: the whole word
    ("first", "Mary-KATE", "Mary-Kate"),
    ("last", "McArthur", "McArthur"),  # typed internal capitals stay
    ("last", "DiCaprio", "DiCaprio"),
    ("first", "JoAnn", "JoAnn"),
    ("last", "McD", "McD"),  # one capital after the start is no caps-lock tail
    ("last", "STRAUß", "Strauß"),  # ß has no capital of its own: the word is in capitals
    ("last", "STRAßE-MÜLLER", "Straße-Müller"),
)
def test_caps_lock_after_a_right_start(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


def test_caps_lock_tail_follows_the_mixed_case_option() -> None:
    recase = NameOptions(keep_latin_mixed_case=False)
    assert normalize_name("MacDONALD", "last", recase) == "Macdonald"  # no generic Mac rule
    assert normalize_name("McDONAGH", "last", recase) == "McDonagh"


@cases(
    ("first", "MARÍA DEL CARMEN", "María del Carmen"),
    ("first", "maría de los ángeles", "María de los Ángeles"),
    ("first", "maria de la luz", "Maria de la Luz"),
    ("first", "MARIA DAS DORES", "Maria das Dores"),
    ("first", "maria do carmo", "Maria do Carmo"),
    ("first", "МАРИЯ ДЕЛЬ КАРМЕН", "Мария дель Кармен"),
    ("first", "de maria", "De Maria"),  # a particle needs a given name before it
    ("first", "maria de", "Maria De"),  # and one after it
    ("first", "ван ли", "Ван Ли"),  # Dutch and other particles stay names in the first field
    ("any", "maría de los ángeles pérez", "María de los Ángeles Pérez"),
    ("last", "DE LOS SANTOS", "de los Santos"),  # los/las after de, in every field
    ("any", "bartolomé de las casas", "Bartolomé de las Casas"),
    ("any", "juana de la cruz", "Juana de La Cruz"),  # la only in a given name (de La Fontaine)
)
def test_particles_inside_spanish_and_portuguese_given_names(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("any", "Daphne du Maurier", "Daphne du Maurier"),  # typed lowercase between names typed
    ("any", "Daphne du maurier", "Daphne du Maurier"),  # with a capital: the user's choice
    ("any", "Marie des Anges", "Marie des Anges"),
    ("any", "Marine le Pen", "Marine le Pen"),
    ("any", "daphne du maurier", "Daphne Du Maurier"),  # all lowercase: no choice was made
    ("any", "DAPHNE du MAURIER", "Daphne Du Maurier"),  # capitals carry no choice either
    ("any", "marine le pen", "Marine Le Pen"),
    ("any", "Ооо du maurier", "ООО Du Maurier"),  # a legal form is no name typed with care
    ("any", "du Maurier", "Du Maurier"),  # the article needs a name before it
)
def test_french_articles_typed_lowercase_between_deliberately_cased_names(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("any", "alisher shavkat o'g'li", "Alisher Shavkat o'g'li"),
    ("any", "ALISHER SHAVKAT O\u2019G\u2019LI", "Alisher Shavkat o\u2019g\u2019li"),
    ("any", "ALISHER SHAVKAT O\u02bcG\u02bcLI", "Alisher Shavkat o\u02bcg\u02bcli"),
    ("any", "ALISHER SHAVKAT O\u2018G\u2018LI", "Alisher Shavkat o\u2018g\u2018li"),
    ("any", "ALISHER SHAVKAT O\u02bbG\u02bbLI", "Alisher Shavkat o\u02bbg\u02bbli"),
    ("any", "alisher shavkat o`g`li", "Alisher Shavkat o`g`li"),
    ("any", "ahmad fozil-o'g'li", "Ahmad Fozil-o'g'li"),
    ("any", "AHMAD FOZIL-O\u02bbG\u02bbLI", "Ahmad Fozil-o\u02bbg\u02bbli"),
    ("middle", "ANVAR QIZI", "Anvar qizi"),
    ("middle", "шавкат ўғли", "Шавкат ўғли"),
    ("middle", "АНВАР ҚИЗИ", "Анвар қизи"),
    ("any", "nursultan abish uly", "Nursultan Abish uly"),  # Kazakh Latin
    ("any", "AIGUL KENZHEBEK QYZY", "Aigul Kenzhebek qyzy"),
    ("any", "kamyrza sarpek uulu", "Kamyrza Sarpek uulu"),  # Kyrgyz
    ("any", "HEYDAR ALIRZA OĞLU", "Heydar Alirza oğlu"),  # Azerbaijani
    ("middle", "аббас гызы", "Аббас гызы"),
    ("middle", "гейдар оғлу", "Гейдар оғлу"),
    ("middle", "KAMIL ULI", "Kamil Uli"),  # uli is no marker
    ("middle", "kamil ulı", "Kamil ulı"),  # Tatar Latin
    ("middle", "ABDULLA QIZI", "Abdulla qizi"),
    ("middle", "РУСТЕМ ҠЫҘЫ", "Рустем ҡыҙы"),  # Bashkir
    ("middle", "BERDI OGLY", "Berdi ogly"),  # Turkmen
    ("first", "o'g'li", "O'G'Li"),  # in the first-name field a marker is a name like others
)
def test_turkic_patronymic_markers_in_every_spelling(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("any", "абд ар-рахман", "Абд ар-Рахман"),
    ("any", "ABD AR-RAHMAN", "Abd ar-Rahman"),
    ("any", "салах ад-дин", "Салах ад-Дин"),
    ("any", "salah ad-din", "Salah ad-Din"),
    ("any", "омар аш-шариф", "Омар аш-Шариф"),
    ("any", "omar ash-sharif", "Omar ash-Sharif"),
    ("any", "jamal as-sayed", "Jamal as-Sayed"),
    ("last", "AR-RASHID", "ar-Rashid"),  # a last name may start with the article
    ("first", "ar-rahman", "Ar-Rahman"),  # the start of a given name is capitalized
)
def test_arabic_articles_before_sun_letters(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("first", "ılgaz", "Ilgaz"),  # ı has the capital I
    ("last", "ışık", "Işık"),
    ("last", "ali-ılgaz", "Ali-Ilgaz"),
    ("first", "İLKNUR", "İlknur"),  # İ stays İ at the start
    ("last", "ALİYEV", "Aliyev"),
)
def test_turkish_dotless_and_dotted_i(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


def test_particles_option_off_capitalizes_given_name_particles_too() -> None:
    options = NameOptions(particles=False)
    assert normalize_name("MARÍA DEL CARMEN", "first", options) == "María Del Carmen"
    assert normalize_name("alisher shavkat o'g'li", "any", options) == "Alisher Shavkat O'G'Li"
    assert normalize_name("Daphne du Maurier", "any", options) == "Daphne Du Maurier"
