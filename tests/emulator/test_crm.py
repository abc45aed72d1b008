"""CRM records of a portal: fields, multi-fields and list filters (protocol §7)."""

from __future__ import annotations

from typing import Any

import pytest

from namecase.emulator.crm import CONTACT, CrmStore, split_filter_key

NOW = "2026-01-01T10:00:00+03:00"


def store_with(*records: dict[str, Any]) -> CrmStore:
    store = CrmStore(CONTACT)
    for fields in records:
        store.add(fields, user_id=1, now_text=NOW)
    return store


def ids(store: CrmStore, filter_: dict[str, Any]) -> list[str]:
    return [row["ID"] for row in store.list_page(filter_, {}, ["ID"], 0).rows]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (">=DATE_MODIFY", (">=", "DATE_MODIFY")),
        ("!@ID", ("!@", "ID")),
        ("=%NAME", ("=%", "NAME")),
        ("%NAME", ("%", "NAME")),
        ("!NAME", ("!", "NAME")),
        ("NAME", ("=", "NAME")),
    ],
)
def test_filter_prefixes_are_split_from_the_field(key: str, expected: tuple[str, str]) -> None:
    assert split_filter_key(key) == expected


def test_new_records_get_ids_dates_and_authors() -> None:
    store = store_with({"NAME": "a"})
    record = store.get(1)
    assert record is not None
    assert (record["ID"], record["DATE_CREATE"], record["CREATED_BY_ID"]) == ("1", NOW, "1")
    assert record["SECOND_NAME"] is None
    assert "PHONE" not in record  # empty multi-fields are left out


def test_update_moves_date_modify_and_ignores_system_and_unknown_fields() -> None:
    store = store_with({"NAME": "a"})
    store.update(1, {"NAME": "b", "ID": "99", "DATE_CREATE": "x", "NOPE": 1}, 2, "later")
    record = store.get(1)
    assert record is not None
    assert (record["NAME"], record["ID"], record["DATE_CREATE"]) == ("b", "1", NOW)
    assert (record["DATE_MODIFY"], record["MODIFY_BY_ID"]) == ("later", "2")
    assert "NOPE" not in record


def test_user_fields_are_kept() -> None:
    record = store_with({"UF_CRM_1": "x"}).get(1)
    assert record is not None and record["UF_CRM_1"] == "x"


def test_multi_field_values_are_added_edited_and_deleted_by_id() -> None:
    store = store_with(
        {"PHONE": [{"VALUE": "1", "VALUE_TYPE": "WORK"}, {"VALUE": "2"}, {"VALUE": "3"}]}
    )
    store.update(
        1,
        {"PHONE": [{"ID": "1", "DELETE": "Y"}, {"ID": "2", "VALUE": "22"}, {"VALUE": "4"}]},
        1,
        NOW,
    )
    store.update(1, {"PHONE": [{"ID": "3"}]}, 1, NOW)  # an ID alone deletes (docs)
    record = store.get(1)
    assert record is not None
    assert [(p["ID"], p["VALUE"]) for p in record["PHONE"]] == [("2", "22"), ("4", "4")]
    assert record["HAS_PHONE"] == "Y"


def test_equality_filters_ignore_case_and_treat_null_as_empty() -> None:
    store = store_with({"NAME": "Иван"}, {"NAME": "иван"}, {"LAST_NAME": "x"})
    assert ids(store, {"NAME": "ИВАН"}) == ["1", "2"]
    assert ids(store, {"NAME": ""}) == ["3"]
    assert ids(store, {"!=NAME": ""}) == ["1", "2"]


def test_in_and_not_in_filters() -> None:
    store = store_with({}, {}, {}, {})
    assert ids(store, {"@ID": ["2", 4]}) == ["2", "4"]
    assert ids(store, {"!@ID": [1, 2]}) == ["3", "4"]
    assert ids(store, {"ID": [3]}) == ["3"]


def test_like_filters() -> None:
    store = store_with({"NAME": "Молоко"}, {"NAME": "Амол"}, {"NAME": "Сыр"})
    assert ids(store, {"%NAME": "мол"}) == ["1", "2"]
    assert ids(store, {"=%NAME": "мол%"}) == ["1"]
    assert ids(store, {"%=NAME": "%мол"}) == ["2"]


def test_numeric_comparisons_compare_numbers() -> None:
    store = store_with(*({} for _ in range(12)))
    assert ids(store, {">ID": "9"}) == ["10", "11", "12"]
    assert ids(store, {"<=ID": 2}) == ["1", "2"]


def test_multi_field_filters_match_any_value_exactly() -> None:
    store = store_with({"EMAIL": [{"VALUE": "a@x.ru"}, {"VALUE": "b@x.ru"}]}, {})
    assert ids(store, {"EMAIL": "b@x.ru"}) == ["1"]
    assert ids(store, {"EMAIL": "b@x"}) == []


def test_pages_are_fifty_records() -> None:
    store = store_with(*({} for _ in range(101)))
    pages = [store.list_page({}, {}, [], start) for start in (0, 50, 100)]
    assert [len(p.rows) for p in pages] == [50, 50, 1]
    assert [p.next for p in pages] == [50, 100, None]
    assert {p.total for p in pages} == {101}
