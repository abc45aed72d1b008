"""CRM contacts and leads of one emulated portal (bitrix24-protocol.md §7).

Records are kept as the REST API renders them: UPPERCASE keys, string values or null,
multi-fields (``PHONE``, ``EMAIL``...) as lists of ``{ID, VALUE_TYPE, VALUE, TYPE_ID}``.
``get``/``update`` are O(1) by ID; ``list`` filters by scanning, as a database would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from namecase.emulator.bxtime import MOSCOW, parse_bitrix_datetime
from namecase.emulator.phpform import php_values

PAGE_SIZE = 50
NO_COUNT = -1  # `start` that skips counting (settings/performance/huge-data.md)
MULTI_FIELDS = ("PHONE", "EMAIL", "WEB", "IM", "LINK")
INT_FIELDS = frozenset(
    {
        "ID",
        "COMPANY_ID",
        "LEAD_ID",
        "CONTACT_ID",
        "ASSIGNED_BY_ID",
        "CREATED_BY_ID",
        "MODIFY_BY_ID",
        "FACE_ID",
        "LAST_ACTIVITY_BY",
        "MOVED_BY_ID",
    }
)
DATE_FIELDS = frozenset(
    {"DATE_CREATE", "DATE_MODIFY", "LAST_ACTIVITY_TIME", "BIRTHDATE", "DATE_CLOSED", "MOVED_TIME"}
)
SYSTEM_FIELDS = frozenset(
    {
        "ID",
        "DATE_CREATE",
        "DATE_MODIFY",
        "CREATED_BY_ID",
        "MODIFY_BY_ID",
        "HAS_PHONE",
        "HAS_EMAIL",
        "HAS_IMOL",
        "LAST_ACTIVITY_TIME",
        "LAST_ACTIVITY_BY",
    }
)
_ADDRESS_FIELDS = (
    "ADDRESS",
    "ADDRESS_2",
    "ADDRESS_CITY",
    "ADDRESS_POSTAL_CODE",
    "ADDRESS_REGION",
    "ADDRESS_PROVINCE",
    "ADDRESS_COUNTRY",
    "ADDRESS_COUNTRY_CODE",
    "ADDRESS_LOC_ADDR_ID",
)
_UTM_FIELDS = ("UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM")


@dataclass(frozen=True)
class EntitySchema:
    """Field layout and texts of one CRM entity type."""

    name: str
    event_prefix: str
    not_found_on_update: str
    fields: tuple[str, ...]
    defaults: Mapping[str, str | None]


CONTACT = EntitySchema(
    name="contact",
    event_prefix="ONCRMCONTACT",
    not_found_on_update="Contact is not found",
    fields=(
        "ID",
        "POST",
        "COMMENTS",
        "HONORIFIC",
        "NAME",
        "SECOND_NAME",
        "LAST_NAME",
        "PHOTO",
        "LEAD_ID",
        "TYPE_ID",
        "SOURCE_ID",
        "SOURCE_DESCRIPTION",
        "COMPANY_ID",
        "BIRTHDATE",
        "EXPORT",
        "HAS_PHONE",
        "HAS_EMAIL",
        "HAS_IMOL",
        "DATE_CREATE",
        "DATE_MODIFY",
        "ASSIGNED_BY_ID",
        "CREATED_BY_ID",
        "MODIFY_BY_ID",
        "OPENED",
        "ORIGINATOR_ID",
        "ORIGIN_ID",
        "ORIGIN_VERSION",
        "FACE_ID",
        "LAST_ACTIVITY_TIME",
        *_ADDRESS_FIELDS,
        *_UTM_FIELDS,
        "LAST_ACTIVITY_BY",
    ),
    defaults={"TYPE_ID": "CLIENT", "SOURCE_ID": "SELF", "EXPORT": "Y", "OPENED": "Y"},
)

LEAD = EntitySchema(
    name="lead",
    event_prefix="ONCRMLEAD",
    not_found_on_update="Lead is not found",
    fields=(
        "ID",
        "TITLE",
        "HONORIFIC",
        "NAME",
        "SECOND_NAME",
        "LAST_NAME",
        "COMPANY_TITLE",
        "COMPANY_ID",
        "CONTACT_ID",
        "IS_RETURN_CUSTOMER",
        "BIRTHDATE",
        "SOURCE_ID",
        "SOURCE_DESCRIPTION",
        "STATUS_ID",
        "STATUS_DESCRIPTION",
        "STATUS_SEMANTIC_ID",
        "POST",
        "CURRENCY_ID",
        "OPPORTUNITY",
        "IS_MANUAL_OPPORTUNITY",
        "OPENED",
        "COMMENTS",
        "HAS_PHONE",
        "HAS_EMAIL",
        "HAS_IMOL",
        "ASSIGNED_BY_ID",
        "CREATED_BY_ID",
        "MODIFY_BY_ID",
        "MOVED_BY_ID",
        "DATE_CREATE",
        "DATE_MODIFY",
        "MOVED_TIME",
        "DATE_CLOSED",
        "ORIGINATOR_ID",
        "ORIGIN_ID",
        "LAST_ACTIVITY_TIME",
        *_ADDRESS_FIELDS,
        *_UTM_FIELDS,
        "LAST_ACTIVITY_BY",
    ),
    defaults={
        "STATUS_ID": "NEW",
        "STATUS_SEMANTIC_ID": "P",
        "SOURCE_ID": "SELF",
        "CURRENCY_ID": "RUB",
        "OPPORTUNITY": "0.00",
        "IS_MANUAL_OPPORTUNITY": "N",
        "IS_RETURN_CUSTOMER": "N",
        "OPENED": "Y",
    },
)


@dataclass(frozen=True)
class ListPage:
    """One page of a list call: rows, the total match count and the next ``start``."""

    rows: list[dict[str, Any]]
    total: int
    next: int | None


class CrmStore:
    """All records of one entity type on one portal, keyed by integer ID."""

    def __init__(self, schema: EntitySchema, tz: timezone = MOSCOW) -> None:
        self.schema = schema
        self.tz = tz
        self.records: dict[int, dict[str, Any]] = {}
        self._next_id = 1
        self._next_multi_id = 1
        self._writable = frozenset(schema.fields) - SYSTEM_FIELDS

    def add(self, fields: Mapping[str, Any], user_id: int, now_text: str) -> int:
        """Create a record from ``fields`` (unknown keys ignored) and return its ID."""
        record_id = self._next_id
        self._next_id += 1
        record: dict[str, Any] = dict.fromkeys(self.schema.fields)
        record.update(self.schema.defaults)
        record.update(
            {
                "ID": str(record_id),
                "DATE_CREATE": now_text,
                "DATE_MODIFY": now_text,
                "CREATED_BY_ID": str(user_id),
                "MODIFY_BY_ID": str(user_id),
                "ASSIGNED_BY_ID": str(user_id),
                "LAST_ACTIVITY_TIME": now_text,
                "LAST_ACTIVITY_BY": str(user_id),
            }
        )
        for name in MULTI_FIELDS:
            record[name] = []
        self._write(record, fields)
        self.records[record_id] = record
        return record_id

    def get(self, record_id: int) -> dict[str, Any] | None:
        """The record as ``crm.*.get`` renders it (empty multi-fields left out), or None."""
        record = self.records.get(record_id)
        if record is None:
            return None
        return {
            key: _copy(value)
            for key, value in record.items()
            if value != [] or key not in MULTI_FIELDS
        }

    def update(
        self, record_id: int, fields: Mapping[str, Any], user_id: int, now_text: str
    ) -> bool:
        """Apply ``fields`` to the record; False when it does not exist."""
        record = self.records.get(record_id)
        if record is None:
            return False
        self._write(record, fields)
        record["DATE_MODIFY"] = now_text
        record["MODIFY_BY_ID"] = str(user_id)
        return True

    def delete(self, record_id: int) -> bool:
        """Remove the record; False when it does not exist."""
        return self.records.pop(record_id, None) is not None

    def list_page(
        self,
        filter_: Mapping[str, Any],
        order: Mapping[str, Any],
        select: list[str],
        start: int,
    ) -> ListPage:
        """Filter, sort, page (50 per page) and project records like ``crm.*.list``."""
        predicates = [self._predicate(key, value) for key, value in filter_.items()]
        matched = [r for r in self.records.values() if all(p(r) for p in predicates)]
        matched = self._sorted(matched, order)
        projection = self._selected_names(select)
        if start == NO_COUNT:
            # start=-1: the first 50 rows, nothing counted: `total` is 0 and there is no `next`
            # (settings/performance/huge-data.md, its example answer).
            return ListPage([projection.apply(r) for r in matched[:PAGE_SIZE]], total=0, next=None)
        start = max(0, start)
        rows = [projection.apply(record) for record in matched[start : start + PAGE_SIZE]]
        has_next = start + PAGE_SIZE < len(matched)
        return ListPage(rows=rows, total=len(matched), next=start + PAGE_SIZE if has_next else None)

    def _write(self, record: dict[str, Any], fields: Mapping[str, Any]) -> None:
        for key, value in fields.items():
            if key in MULTI_FIELDS:
                self._write_multi(record, key, value)
            elif key in self._writable or key.startswith(("UF_", "PARENT_ID_")):
                record[key] = _scalar(value)
            # Unknown fields are ignored (crm-contact-update.md).
        record["HAS_PHONE"] = "Y" if record["PHONE"] else "N"
        record["HAS_EMAIL"] = "Y" if record["EMAIL"] else "N"
        record["HAS_IMOL"] = "Y" if record["IM"] else "N"

    def _write_multi(self, record: dict[str, Any], type_id: str, value: Any) -> None:
        # Items with an ID edit or delete (DELETE=Y, empty VALUE, or ID alone); items
        # without an ID are added (crm-contact-update.md, multi-field section).
        items: list[dict[str, Any]] = record[type_id]
        for item in php_values(value):
            entry = item if isinstance(item, Mapping) else {"VALUE": item}
            item_id = str(entry.get("ID") or "")
            if item_id:
                self._edit_multi_item(items, item_id, entry)
            elif entry.get("VALUE"):
                items.append(
                    {
                        "ID": str(self._next_multi_id),
                        "VALUE_TYPE": str(entry.get("VALUE_TYPE") or "WORK"),
                        "VALUE": str(entry["VALUE"]),
                        "TYPE_ID": type_id,
                    }
                )
                self._next_multi_id += 1

    @staticmethod
    def _edit_multi_item(
        items: list[dict[str, Any]], item_id: str, entry: Mapping[str, Any]
    ) -> None:
        for index, existing in enumerate(items):
            if existing["ID"] != item_id:
                continue
            if entry.get("DELETE") == "Y" or not entry.get("VALUE"):
                del items[index]
            else:
                existing["VALUE"] = str(entry["VALUE"])
                if entry.get("VALUE_TYPE"):
                    existing["VALUE_TYPE"] = str(entry["VALUE_TYPE"])
            return

    def _predicate(self, key: str, expected: Any) -> Callable[[dict[str, Any]], bool]:
        operator, field = split_filter_key(key)
        if field in MULTI_FIELDS:
            wanted = {str(v).casefold() for v in php_values(expected)}
            return lambda r: any(str(i["VALUE"]).casefold() in wanted for i in r.get(field) or [])
        typed = self._typer(field)
        return _comparison(operator, field, typed, expected)

    def _typer(self, field: str) -> Callable[[Any], Any]:
        if field in INT_FIELDS:
            return _as_int
        if field in DATE_FIELDS:
            tz = self.tz
            return lambda value: parse_bitrix_datetime(value, tz)
        return _as_text

    def _sorted(
        self, records: list[dict[str, Any]], order: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        if not order:
            return records  # insertion order is ID ascending
        result = list(records)
        for field, direction in reversed(list(order.items())):
            typed = self._typer(field)
            descending = str(direction).upper() == "DESC"
            result.sort(key=_sort_key_for(field, typed), reverse=descending)
        return result

    def _selected_names(self, select: list[str]) -> _Projection:
        if not select:
            select = ["*", "UF_*"]
        everything = "*" in select and "UF_*" in select
        if everything and not any(name in MULTI_FIELDS for name in select):
            return _Projection(names=None, user_fields=True)  # all but multi-fields
        names = ["ID"]
        for name in select:
            if name == "*":
                names.extend(self.schema.fields)
            elif name != "UF_*":
                names.append(name)
        return _Projection(names=list(dict.fromkeys(names)), user_fields="UF_*" in select)


@dataclass(frozen=True)
class _Projection:
    names: list[str] | None
    user_fields: bool

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        if self.names is None:
            return {k: _copy(v) for k, v in record.items() if k not in MULTI_FIELDS}
        row = {name: _copy(record[name]) for name in self.names if name in record}
        if self.user_fields:
            row.update({k: _copy(v) for k, v in record.items() if k.startswith("UF_")})
        return row


_FILTER_OPERATORS = (">=", "<=", "!=", "!@", "=%", "%=", ">", "<", "@", "%", "=", "!")


def split_filter_key(key: str) -> tuple[str, str]:
    """``">=DATE_MODIFY"`` -> ``(">=", "DATE_MODIFY")``; no prefix means ``"="``."""
    for operator in _FILTER_OPERATORS:
        if key.startswith(operator):
            return operator, key[len(operator) :]
    return "=", key


def _comparison(
    operator: str, field: str, typed: Callable[[Any], Any], expected: Any
) -> Callable[[dict[str, Any]], bool]:
    is_list = isinstance(expected, list | dict)
    if operator in ("@", "!@") or (operator in ("=", "!", "!=") and is_list):
        wanted = {typed(v) for v in php_values(expected)}
        negate = operator.startswith("!")
        return lambda r: (typed(r.get(field)) in wanted) != negate
    if operator in ("%", "=%", "%="):
        pattern = _like_pattern(str(expected), substring=operator == "%")
        return lambda r: bool(pattern.search(str(r.get(field) or "")))
    target = typed(expected)
    if operator in ("=", "!", "!="):
        negate = operator != "="
        return lambda r: (typed(r.get(field)) == target) != negate
    return _ordering(operator, field, typed, target)


def _ordering(
    operator: str, field: str, typed: Callable[[Any], Any], target: Any
) -> Callable[[dict[str, Any]], bool]:
    compare: dict[str, Callable[[Any, Any], bool]] = {
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    check = compare[operator]
    if target is None or target == "":
        return lambda r: False

    def matches(record: dict[str, Any]) -> bool:
        value = typed(record.get(field))
        if value is None or value == "":
            return False
        try:
            return check(value, target)
        except TypeError:
            return False

    return matches


def _like_pattern(text: str, substring: bool) -> re.Pattern[str]:
    if substring:
        return re.compile(re.escape(text), re.IGNORECASE)
    parts = [re.escape(part) for part in text.split("%")]
    return re.compile("^" + ".*".join(parts) + "$", re.IGNORECASE | re.DOTALL)


def _as_int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _as_text(value: Any) -> str:
    # MySQL's default collation compares case-insensitively; NULL and "" filter alike.
    return "" if value is None else str(value).casefold()


def _sort_key_for(
    field: str, typed: Callable[[Any], Any]
) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda record: _sort_key(typed(record.get(field)))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == "":
        return (0, 0)
    if isinstance(value, datetime):
        return (1, value.timestamp())
    return (1, value)


def _scalar(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | dict):
        return value
    return str(value)


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [dict(item) if isinstance(item, dict) else item for item in value]
    return value
