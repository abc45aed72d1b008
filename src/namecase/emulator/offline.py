"""A portal's offline-event queue (bitrix24-protocol.md §10; [RU] api-reference/events/
offline-events.md, event-offline-get.md, event-offline-clear.md, event-offline-error.md,
event-offline-list.md, on-offline-event.md).

State and rules only; the REST methods are in offline_methods.py. Where the docs are silent the
rules follow §10's [3P-src] reading of Bitrix's own `rest` module, and say so:

- "one entry per object, stamped with its latest change" (offline-events.md): an entry is keyed
  by (connector, MESSAGE_ID, PROCESS_ID), MESSAGE_ID = md5(EVENT_NAME|json(EVENT_DATA)). A change
  merges into the unreserved entry of its key: ADD and UPDATE of one record are two entries; a
  change to a reserved record makes a new unreserved entry; a change to a record whose entry is
  marked as an error updates that error entry ([3P-src], an inference);
- reservation (`clear=0`) tags a batch with a 32-character process id; a reserved entry waits
  for `event.offline.clear` up to 30 days (event-offline-get.md), then is dropped;
- `event.offline.error` marks the batch's listed entries as errors and releases them, and
  deletes the entries with the same MESSAGE_ID outside the batch ([RU-next] warning, [3P-src]).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from namecase.emulator.bxtime import MOSCOW, format_bitrix_datetime, parse_bitrix_datetime
from namecase.emulator.crm import split_filter_key
from namecase.emulator.errors import RestError

RESERVATION_SECONDS = 30 * 86400  # "в течение 30 дней" (event-offline-get.md, clear=0)
PROCESS_ID_LENGTH = 32
GET_FIELDS = ("ID", "TIMESTAMP_X", "EVENT_NAME", "MESSAGE_ID")  # event-offline-get.md filter
LIST_FIELDS = (*GET_FIELDS, "PROCESS_ID", "ERROR")  # event-offline-list.md filter
_ALPHABET = string.ascii_letters + string.digits

Predicate = Callable[["OfflineEntry"], bool]


def message_id_of(event_name: str, data: Any) -> str:
    """MESSAGE_ID: md5 of ``EVENT_NAME|json(EVENT_DATA)``, 32 hex characters (§10, [3P-src])."""
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return hashlib.md5(f"{event_name}|{encoded}".encode(), usedforsecurity=False).hexdigest()


def new_process_id() -> str:
    """A new reservation id: 32 letters and digits (§10, "clear=0")."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(PROCESS_ID_LENGTH))


@dataclass
class OfflineEntry:
    """One row of the queue: the latest change of one object, for one connector."""

    id: int
    timestamp: float
    event_name: str
    event_data: Any
    event_additional: Any
    message_id: str
    connector: str = ""
    process_id: str = ""
    error: bool = False

    def as_event(self, tz: timezone = MOSCOW) -> dict[str, Any]:
        """The entry as `event.offline.get` renders it (event-offline-get.md, its answer)."""
        return {
            "ID": str(self.id),
            "TIMESTAMP_X": format_bitrix_datetime(self.timestamp, tz),
            "EVENT_NAME": self.event_name,
            "EVENT_DATA": self.event_data,
            "EVENT_ADDITIONAL": self.event_additional,
            "MESSAGE_ID": self.message_id,
        }

    def as_listed(self, tz: timezone = MOSCOW) -> dict[str, Any]:
        """The entry as `event.offline.list` renders it: with PROCESS_ID and ERROR."""
        return {
            **self.as_event(tz),
            "PROCESS_ID": self.process_id,
            "ERROR": "1" if self.error else "0",
        }

    def field(self, name: str) -> Any:
        """A filterable field's value, typed for comparison."""
        return {
            "ID": self.id,
            "TIMESTAMP_X": self.timestamp,
            "EVENT_NAME": self.event_name.upper(),
            "MESSAGE_ID": self.message_id,
            "PROCESS_ID": self.process_id,
            "ERROR": 1 if self.error else 0,
        }[name]


class OfflineQueue:
    """The app's offline queue on one portal, all connectors."""

    def __init__(self) -> None:
        self.entries: dict[int, OfflineEntry] = {}
        self._next_id = 1

    def record(
        self, event_name: str, data: Any, additional: Any, connector: str, now: float
    ) -> OfflineEntry:
        """Queue a change for `connector`, merged into the unreserved entry of its key."""
        message_id = message_id_of(event_name, data)
        for entry in self.entries.values():
            if (entry.connector, entry.message_id, entry.process_id) == (connector, message_id, ""):
                entry.timestamp, entry.event_data = now, data
                entry.event_additional = additional
                return entry
        entry = OfflineEntry(
            id=self._next_id,
            timestamp=now,
            event_name=event_name,
            event_data=data,
            event_additional=additional,
            message_id=message_id,
            connector=connector,
        )
        self._next_id += 1
        self.entries[entry.id] = entry
        return entry

    def select(
        self,
        connector: str,
        predicates: Iterable[Predicate],
        order: list[tuple[str, bool]],
        limit: int | None = None,
    ) -> list[OfflineEntry]:
        """The connector's entries matching every predicate, ordered, at most `limit`."""
        checks = list(predicates)
        found = [
            entry
            for entry in self.entries.values()
            if entry.connector == connector and all(check(entry) for check in checks)
        ]
        for name, descending in reversed(order):
            found.sort(key=_sort_key(name), reverse=descending)
        return found if limit is None else found[:limit]

    def reserve(self, entries: Iterable[OfflineEntry]) -> str:
        """Tag entries with a new process id (`clear=0`); returns it."""
        process_id = new_process_id()
        for entry in entries:
            entry.process_id = process_id
        return process_id

    def clear(
        self,
        process_id: str,
        connector: str,
        ids: Collection[int | str] | None = None,
        by_message: bool = False,
    ) -> int:
        """Delete the batch's entries (all, or those whose ID / MESSAGE_ID is listed).

        `process_id` "" names the unreserved entries ([3P-src]: the delete matches it exactly).
        """
        doomed = [
            entry.id
            for entry in self.entries.values()
            if entry.process_id == process_id
            and entry.connector == connector
            and (ids is None or (entry.message_id if by_message else entry.id) in ids)
        ]
        for entry_id in doomed:
            del self.entries[entry_id]
        return len(doomed)

    def mark_error(self, process_id: str, connector: str, message_ids: list[str]) -> None:
        """`event.offline.error`: the batch's listed entries become errors, released; entries
        with those MESSAGE_IDs outside the batch are deleted, a newer change included (§10)."""
        wanted = set(message_ids)
        mine = [
            e
            for e in self.entries.values()
            if e.connector == connector and e.message_id in wanted and not e.error
        ]
        for entry in mine:
            if entry.process_id != process_id:
                del self.entries[entry.id]
        for entry in mine:
            if entry.process_id != process_id:
                continue
            existing = self._released_error(connector, entry.message_id)
            if existing is not None:
                # An error entry of this object is already released: the key (connector,
                # MESSAGE_ID, "") holds one row, so this one is folded into it.
                existing.timestamp = max(existing.timestamp, entry.timestamp)
                del self.entries[entry.id]
            else:
                entry.error, entry.process_id = True, ""

    def _released_error(self, connector: str, message_id: str) -> OfflineEntry | None:
        for entry in self.entries.values():
            if (entry.connector, entry.message_id, entry.process_id, entry.error) == (
                connector,
                message_id,
                "",
                True,
            ):
                return entry
        return None

    def expire(self, now: float) -> int:
        """Drop reserved entries older than the 30 days a reservation lasts."""
        stale = [
            entry.id
            for entry in self.entries.values()
            if entry.process_id and entry.timestamp < now - RESERVATION_SECONDS
        ]
        for entry_id in stale:
            del self.entries[entry_id]
        return len(stale)

    def forget(self) -> None:
        """The app is gone: its queue with it."""
        self.entries.clear()


def _sort_key(name: str) -> Callable[[OfflineEntry], Any]:
    return lambda entry: entry.field(name)


# --- filter and order (event-offline-get.md: "тип операции ставится перед именем поля") ----


def parse_filter(value: Any, allowed: tuple[str, ...], tz: timezone) -> list[Predicate]:
    """`filter` as predicates; an unknown field, operator or an array value is a 400."""
    if value is None or value == "" or value == []:
        return []
    if not isinstance(value, Mapping):
        raise _argument("Parameter 'filter' must be array", "FILTER")
    predicates = []
    for key, expected in value.items():
        operator, name = split_filter_key(str(key))
        name = name.upper()
        if name not in allowed or operator not in _COMPARE:
            raise _argument(f"Wrong filter field or operation: {key}", "FILTER")
        if isinstance(expected, list | dict):
            raise _argument(f"Value of {key} must not be an array", str(key))
        predicates.append(_predicate(operator, name, _typed(name, expected, tz)))
    return predicates


def parse_order(value: Any, allowed: tuple[str, ...], default: str) -> list[tuple[str, bool]]:
    """`order` as (field, descending) pairs; the default is `[default: ASC]`."""
    if value is None or value == "" or value == []:
        return [(default, False)]
    if not isinstance(value, Mapping):
        raise _argument("Parameter 'order' must be array", "ORDER")
    order = []
    for name, direction in value.items():
        field = str(name).upper()
        if field not in allowed:
            raise _argument(f"Wrong order field: {name}", "ORDER")
        order.append((field, str(direction).upper() == "DESC"))
    return order


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!": lambda a, b: a != b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _predicate(operator: str, name: str, expected: Any) -> Predicate:
    compare = _COMPARE[operator]

    def check(entry: OfflineEntry) -> bool:
        try:
            return compare(entry.field(name), expected)
        except TypeError:
            return False

    return check


def _typed(name: str, value: Any, tz: timezone) -> Any:
    if name in ("ID", "ERROR"):
        try:
            return int(str(value).strip())
        except ValueError:
            raise _argument(f"Value of {name} must be an integer", name) from None
    if name == "TIMESTAMP_X":
        moment: datetime | None = parse_bitrix_datetime(value, tz)
        if moment is None:
            raise _argument("Value of TIMESTAMP_X must be a date and time", name)
        return moment.timestamp()
    text = str(value)
    return text.upper() if name == "EVENT_NAME" else text


def _argument(description: str, name: str) -> RestError:
    del name  # the code names the argument in Bitrix24's exception; the text says it here
    return RestError(400, "ERROR_ARGUMENT", description)
