"""Company names in person-name fields: legal forms and quoted names (docs/names/RULES.md §4.11)."""

from __future__ import annotations

import pytest

from namecase.names import explain, normalize_name
from namecase.names.companies import AMBIGUOUS, LEGAL_FORMS


def cases(*rows: tuple[str, str, str]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        ("field", "value", "expected"), rows, ids=[f"{f}:{v}" for f, v, _ in rows]
    )


@pytest.mark.parametrize("form", sorted(set(LEGAL_FORMS.values())))
def test_every_legal_form_is_restored_from_any_case_beside_a_name(form: str) -> None:
    typings = [form.lower(), form.upper(), form]
    if form.lower() not in AMBIGUOUS:  # Ип typed as a name is a name
        typings.append(form.capitalize())
    for typed in typings:
        assert normalize_name(f"{typed} Вектор", "any") == f"{form} Вектор"
        assert normalize_name(f"Vector {typed}", "any") == f"Vector {form}"


@cases(
    ("any", "ИП ИВАНОВ", "ИП Иванов"),
    ("last", "ип петров", "ИП Петров"),
    ("last", "ИП", "Ип"),  # alone it is the surname Ип (Ип Ман)
    ("first", "ип", "Ип"),
    ("any", "Ип Ман", "Ип Ман"),  # typed as a name: kept
    ("any", "ип ман", "ИП Ман"),  # usage is split: beside a name, lowercase is the form
    ("any", "Одо Шмидт", "Одо Шмидт"),
    ("any", "SA", "Sa"),
    ("last", "ООО", "ООО"),  # an unambiguous form is a form even alone
    ("last", "ооо", "ООО"),
    ("any", "gmbh", "GmbH"),
    ("any", "тов. иванов", "Тов. Иванов"),  # товарищ, not the Ukrainian ТОВ
    ("any", "ТОВ «ВЕКТОР»", "ТОВ «Вектор»"),
    ("any", "(ооо) ромашка", "(ООО) Ромашка"),  # punctuation around a form is kept
    ("any", "ООО, РОМАШКА", "ООО, Ромашка"),
    ("any", "ACME LLC", "Acme LLC"),
    ("any", "acme inc.", "Acme Inc."),
    ("any", "MÜLLER GMBH & CO. KG", "Müller GmbH & Co. KG"),
    ("any", "s.a. danone", "S.A. Danone"),  # a dotted form is written like initials
    ("any", "осоо «ала-тоо»", "ОсОО «Ала-Тоо»"),
)
def test_legal_forms(field: str, value: str, expected: str) -> None:
    assert normalize_name(value, field) == expected


@cases(
    ("any", "ооо «вектор»", "ООО «Вектор»"),
    ("any", "ООО «РОГА И КОПЫТА»", "ООО «Рога и копыта»"),
    ("any", "ПАО «ГАЗПРОМ НЕФТЬ»", "ПАО «Газпром нефть»"),
    ("any", "ООО «Рога и Копыта»", "ООО «Рога и Копыта»"),  # typed capitals are kept
    ("any", "пао «МТС»", "ПАО «МТС»"),  # a 2-3 letter word in capitals is an acronym
    ("any", "ООО «ВТБ КАПИТАЛ»", "ООО «ВТБ капитал»"),
    ("any", 'ооо "ромашка"', 'ООО "Ромашка"'),
    ("any", "ооо „ромашка“", "ООО „Ромашка“"),
    ("any", "ооо “ромашка”", "ООО “Ромашка”"),
    ("any", "ооо «акционерный банк «ресурс»»", "ООО «Акционерный банк «Ресурс»»"),
    ("any", "ооо «де бирс»", "ООО «Де бирс»"),  # the first quoted word is always capitalized
    ("any", "llc «acme solutions»", "LLC «Acme Solutions»"),  # Latin words keep the name rules
    ("any", "ооо «вектор» иванов иван", "ООО «Вектор» Иванов Иван"),  # after the quote: names
    ("any", 'иван "ваня" петров', 'Иван "Ваня" Петров'),  # no legal form: a nickname
    ("any", "«рога и копыта»", "«Рога И Копыта»"),
)
def test_quoted_company_names_are_written_like_russian_organization_names(
    field: str, value: str, expected: str
) -> None:
    assert normalize_name(value, field) == expected


def test_explain_names_the_company_rule() -> None:
    rows = [(c.word_before, c.word_after, c.rule) for c in explain("ооо «РОГА И КОПЫТА»")]
    assert rows == [
        ("ооо", "ООО", "company"),
        ("«РОГА", "«Рога", "recase"),
        ("И", "и", "company"),
        ("КОПЫТА»", "копыта»", "company"),
    ]
