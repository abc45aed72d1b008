"""What an event delivery says, once parsed and validated (bitrix24-protocol.md §2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CRM_EVENTS: dict[str, str] = {
    "ONCRMCONTACTADD": "contact",
    "ONCRMCONTACTUPDATE": "contact",
    "ONCRMLEADADD": "lead",
    "ONCRMLEADUPDATE": "lead",
}
LIFECYCLE_EVENTS = frozenset({"ONAPPINSTALL", "ONAPPUPDATE", "ONAPPUNINSTALL"})
# The doorbell of a portal's offline queue: `data` is empty ([RU] api-reference/events/
# on-offline-event.md), it only says "collect now" (pipeline/offline.py).
DOORBELL_EVENT = "ONOFFLINEEVENT"
MAX_ENTITY_ID = 2**62


class MalformedEvent(ValueError):
    """The delivery is not a well-formed event we know (answered 400)."""


@dataclass(frozen=True)
class EventDelivery:
    """The parts of an event we act on. Values are strings on the wire; ids become ints."""

    event: str
    member_id: str
    application_token: str
    entity_type: str | None = None
    entity_id: int | None = None
    server_endpoint: str = ""
    refresh_token: str = ""
    domain: str = ""
    language: str = ""
    clean: bool = False

    @classmethod
    def from_form(cls, form: dict[str, Any]) -> EventDelivery:
        """Validate a parsed form; raise MalformedEvent with a reason a developer can act on."""
        event = _text(form.get("event")).upper()  # upper-case on the wire, compare anyway
        if event not in CRM_EVENTS and event not in LIFECYCLE_EVENTS and event != DOORBELL_EVENT:
            raise MalformedEvent(f"unknown event {event[:40]!r}" if event else "no event name")
        auth = form.get("auth")
        if not isinstance(auth, dict):
            raise MalformedEvent("no auth block")
        member_id = _printable(auth.get("member_id"), "auth[member_id]")
        token = _printable(auth.get("application_token"), "auth[application_token]")
        if not member_id or len(member_id) > 64 or not token or len(token) > 256:
            raise MalformedEvent("auth[member_id] and auth[application_token] are required")
        data = form.get("data") if isinstance(form.get("data"), dict) else {}
        assert isinstance(data, dict)
        entity_type = CRM_EVENTS.get(event)
        entity_id = _entity_id(data) if entity_type else None
        return cls(
            event=event,
            member_id=member_id,
            application_token=token,
            entity_type=entity_type,
            entity_id=entity_id,
            server_endpoint=_printable(auth.get("server_endpoint"), "auth[server_endpoint]"),
            refresh_token=_printable(auth.get("refresh_token"), "auth[refresh_token]"),
            domain=_printable(auth.get("domain"), "auth[domain]"),
            language=_printable(data.get("LANGUAGE_ID"), "data[LANGUAGE_ID]"),
            clean=_text(data.get("CLEAN")) in ("1", "Y", "true"),
        )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _printable(value: object, name: str) -> str:
    # A NUL or other control character is never in a real delivery, and PostgreSQL refuses NUL
    # in text: refuse it here (400) instead of failing in the database (500).
    text = _text(value)
    if not text.isprintable():
        raise MalformedEvent(f"{name} holds control characters")
    return text


def _entity_id(data: dict[str, Any]) -> int:
    fields = data.get("FIELDS")
    raw = _text(fields.get("ID")) if isinstance(fields, dict) else ""
    # The length first: int() of a 5,000-digit string raises (Python's digit limit), a 500.
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not 0 < int(raw) < MAX_ENTITY_ID:
        raise MalformedEvent("data[FIELDS][ID] must be a positive integer")
    return int(raw)
