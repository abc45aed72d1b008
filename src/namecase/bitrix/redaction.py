"""Removing tokens, secrets and CRM data from anything logged, stored in the call log or shown.

Marketplace rules want request/response logs (bitrix24-protocol.md §11); the tokens in them
would hand the portal to whoever reads the log, and the CRM records in them are not ours to keep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from namecase.bitrix.forms import FormError, encode_php_form, parse_php_form

MASK: Final = "***"

SENSITIVE_KEYS: Final = frozenset(
    {
        "auth",
        "access_token",
        "refresh_token",
        "client_secret",
        "auth_id",
        "refresh_id",
        "application_token",
        "password",
        "secret",
        "token",
    }
)


def redact(obj: Any) -> Any:
    """Return a copy of ``obj`` with the value of every sensitive key, at any depth, masked.

    Keys compare case-insensitively (``AUTH_ID``, ``APPLICATION_TOKEN``); the whole value under
    ``auth`` goes, since an event's ``auth`` block holds the tokens.
    """
    if isinstance(obj, Mapping):
        return {key: MASK if _is_sensitive(key) else redact(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact(item) for item in obj]
    return obj


def mask_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of the given secret values in ``text`` (defence in depth)."""
    for secret in secrets:
        if secret and len(secret) >= 8:  # shorter values would mask ordinary words
            text = text.replace(secret, MASK)
    return text


def _is_sensitive(key: object) -> bool:
    return isinstance(key, str) and key.lower() in SENSITIVE_KEYS


# --- least data in the REST call log (issue 14 item 8) ------------------------------------------
#
# The log must show what we asked and what the portal answered (Marketplace rule, protocol §11:
# market/preparing-to-publish/common-requirements.md), but a `crm.contact.get` answer is the
# whole record: phones, e-mails, addresses, comments. So the log keeps an allow-list: record ids,
# the name fields we work on, the protocol's own keys (batch parts, paging, errors, timing, event
# bindings and queues, app and licence status), and drops every other key, saying how many.

OMITTED: Final = "(omitted)"
# The contents of a CRM record, or of the current user's profile, that we may keep.
RECORD_FIELDS: Final = frozenset({"id", "name", "second_name", "last_name"})
# Keys of the protocol itself (bitrix24-protocol.md §3–§10), never CRM content.
PROTOCOL_KEYS: Final = frozenset(
    {
        *("result", "result_error", "result_total", "result_next", "total", "next", "time"),
        *("error", "error_description", "halt", "cmd", "start", "limit", "order", "select"),
        *("filter", "fields", "params", "register_sonet_event", "data", "ts"),
        *("finish", "duration", "processing", "date_start", "date_finish"),
        *("operating", "operating_reset_at"),
        *("event", "event_type", "handler", "auth_type", "offline", "connector_id", "options"),
        *("process_id", "message_id", "events", "event_name", "event_data", "event_additional"),
        *("timestamp_x", "clear", "user_id", "mintimeout"),
        *("admin", "value", "code", "version", "status", "installed", "payment_expired", "days"),
        *("license", "license_type", "license_family", "language_id", "scope"),
    }
)
# Our own cursors in list filters (`>ID`, `>DATE_MODIFY`, huge-data.md), not a record's data.
FILTER_FIELDS: Final = RECORD_FIELDS | {"date_modify"}
_FILTER_OPERATORS = "<>=!%@"
_BATCH_PARTS: Final = ("result", "result_error", "result_total", "result_next", "result_time")


def call_log_request(method: str, params: Mapping[str, Any]) -> Any:
    """What the call log keeps of a request: allow-listed keys, secrets masked, batches read."""
    if method == "batch" and isinstance(params.get("cmd"), Mapping):
        commands = {str(name): _command(cmd) for name, cmd in params["cmd"].items()}
        return {**least({k: v for k, v in params.items() if k != "cmd"}), "cmd": commands}
    return least(params)


def call_log_response(method: str, body: Any) -> Any:
    """What the call log keeps of an answer (for `batch`, each command's part on its own)."""
    if method == "batch" and isinstance(body, Mapping) and isinstance(body.get("result"), Mapping):
        outer = body["result"]
        parts = {
            part: {str(name): least(item) for name, item in _named(outer[part]).items()}
            for part in _BATCH_PARTS
            if part in outer
        }
        return {**least({k: v for k, v in body.items() if k != "result"}), "result": parts}
    return least(body)


def least(obj: Any, *, in_filter: bool = False) -> Any:
    """``obj`` with only allow-listed keys, at any depth; a count stands for the dropped ones."""
    if isinstance(obj, Mapping):
        kept: dict[str, Any] = {}
        dropped = 0
        for key, value in obj.items():
            name = str(key)
            if _is_sensitive(name):
                kept[name] = MASK
            elif _allowed(name, in_filter=in_filter):
                kept[name] = least(value, in_filter=name.lower() == "filter")
            else:
                dropped += 1
        if dropped:
            kept[OMITTED] = dropped
        return kept
    if isinstance(obj, list | tuple):
        return [least(item, in_filter=in_filter) for item in obj]
    return obj


def _allowed(key: str, *, in_filter: bool) -> bool:
    name = key.lower()
    if in_filter:
        return name.lstrip(_FILTER_OPERATORS) in FILTER_FIELDS
    return name in RECORD_FIELDS or name in PROTOCOL_KEYS or name.isdigit()


def _command(command: Any) -> str:
    """A batch command (``method?php-query``, protocol §6) with its parameters allow-listed."""
    if not isinstance(command, str):
        return "(not a command)"
    method, _, query = command.partition("?")
    try:
        params = parse_php_form(query, max_fields=1000, max_depth=8)
    except FormError:
        return f"{method[:100]}?(unreadable)"
    kept = encode_php_form(least(params))
    return f"{method}?{kept}" if kept else method


def _named(part: Any) -> dict[str, Any]:
    # Batch parts are keyed by command name; PHP sends a list for names 0..n-1 (protocol §6).
    if isinstance(part, Mapping):
        return {str(key): value for key, value in part.items()}
    if isinstance(part, list):
        return {str(index): value for index, value in enumerate(part)}
    return {}
