"""event.offline.get / .clear / .error / .list and feature.get (bitrix24-protocol.md §10).

Sources: [RU] api-reference/events/event-offline-get.md, event-offline-clear.md,
event-offline-error.md, event-offline-list.md, events/index.md (access: administrators only,
403 ACCESS_DENIED "Access denied!"), common/system/feature-get.md. Each method works on the queue
of the call's `auth_connector` ("" when it carries none: "иначе метод вернет только события без
источника", event-offline-list.md). The queue's rules are in offline.py.
"""

from __future__ import annotations

from typing import Any

from namecase.emulator import errors
from namecase.emulator.calls import CallContext, MethodHandler, MethodResult, as_int
from namecase.emulator.doorbell import FEATURE_EXTENDED
from namecase.emulator.errors import RestError
from namecase.emulator.event_methods import offline_denied
from namecase.emulator.offline import (
    GET_FIELDS,
    LIST_FIELDS,
    PROCESS_ID_LENGTH,
    OfflineEntry,
    parse_filter,
    parse_order,
)
from namecase.emulator.phpform import php_values

GET_LIMIT = 50  # `limit`, "По умолчанию 50" (event-offline-get.md)
LIST_PAGE = 50  # "Размер страницы результатов всегда статичный: 50 записей" (event-offline-list.md)


def offline_methods() -> dict[str, tuple[str, MethodHandler]]:
    """The methods of this module, for ``RestApi.methods`` (no scope: they are the app's own)."""
    return {
        "event.offline.get": ("", _get),
        "event.offline.clear": ("", _clear),
        "event.offline.error": ("", _error),
        "event.offline.list": ("", _list),
        "feature.get": ("", _feature_get),
    }


def wrong_license(what: str) -> RestError:
    """403 WRONG_LICENSE (§10: the status and code for the extended mode are inferred)."""
    return RestError(
        403, "WRONG_LICENSE", f"This feature is not enabled for the current license: {what}"
    )


def _admitted(context: CallContext) -> None:
    if not context.user.admin:
        raise errors.access_denied("Access denied!")
    if not context.portal.features.offline:
        raise offline_denied("offline events")
    context.portal.offline.expire(context.now)


def _get(context: CallContext, params: dict[str, Any]) -> MethodResult:
    """Reserve (clear=0) or hand out and delete (clear=1) a batch; with a known `process_id`
    nothing new is selected: that batch is returned again (§10, "event.offline.get")."""
    _admitted(context)
    portal = context.portal
    clear = as_int(params["clear"]) if "clear" in params else 1
    given = params.get("process_id")
    process_id = str(given).strip() if given is not None else None
    if not clear and not portal.features.value_of(FEATURE_EXTENDED):
        raise wrong_license("extended offline events handling")
    limit = as_int(params["limit"]) if "limit" in params else GET_LIMIT
    if limit <= 0:
        raise RestError(400, "ERROR_ARGUMENT", "Value must be positive integer")
    predicates = parse_filter(params.get("filter"), GET_FIELDS, portal.tz)
    order = parse_order(params.get("order"), GET_FIELDS, "TIMESTAMP_X")
    errors_wanted = as_int(params.get("error")) == 1
    predicates.append(lambda entry: entry.error == errors_wanted)
    queue, connector = portal.offline, context.connector
    returned = process_id is not None or not clear
    if process_id is None:
        free = queue.select(connector, [*predicates, _unreserved], order, limit)
        process_id = queue.reserve(free)
    batch = queue.select(connector, [*predicates, _reserved_as(process_id)], order, limit)
    events = [entry.as_event(portal.tz) for entry in batch]
    if clear and batch:
        queue.clear(process_id, connector)
    return MethodResult({"process_id": process_id if returned else None, "events": events})


def _unreserved(entry: OfflineEntry) -> bool:
    return entry.process_id == ""


def _reserved_as(process_id: str) -> Any:
    return lambda entry: entry.process_id == process_id


def _clear(context: CallContext, params: dict[str, Any]) -> MethodResult:
    """Delete the batch's entries: all, or those listed by `id` or else `message_id`."""
    _admitted(context)
    process_id = _required_process_id(params)
    queue, connector = context.portal.offline, context.connector
    if "id" in params:
        # "message_id ... Игнорируется, если указан параметр id" (event-offline-clear.md);
        # [3P-src] checks message_id first. The docs are the contract here.
        ids = [as_int(value) for value in _array(params["id"], "Value must be array of integers")]
        if any(entry_id <= 0 for entry_id in ids):
            raise RestError(400, "ERROR_ARGUMENT", "Value must be array of integers")
        queue.clear(process_id, connector, ids=ids)
    elif "message_id" in params:
        queue.clear(process_id, connector, ids=_message_ids(params["message_id"]), by_message=True)
    else:
        queue.clear(process_id, connector)
    return MethodResult(True)


def _error(context: CallContext, params: dict[str, Any]) -> MethodResult:
    """Mark the batch's listed entries as errors (always `true`, event-offline-error.md)."""
    _admitted(context)
    process_id = _required_process_id(params)
    message_ids = [
        str(value).strip()
        for value in _array(params.get("message_id"), "Value must be array of MESSAGE_ID values")
    ]
    if message_ids:
        context.portal.offline.mark_error(process_id, context.connector, message_ids)
    return MethodResult(True)


def _list(context: CallContext, params: dict[str, Any]) -> MethodResult:
    """Read the queue without changing it: pages of 50 with `total` (event-offline-list.md)."""
    _admitted(context)
    portal = context.portal
    predicates = parse_filter(params.get("filter"), LIST_FIELDS, portal.tz)
    order = parse_order(params.get("order"), LIST_FIELDS, "ID")
    found = portal.offline.select(context.connector, predicates, order)
    start = max(0, as_int(params.get("start")))
    page = found[start : start + LIST_PAGE]
    has_next = start + LIST_PAGE < len(found)
    return MethodResult(
        [entry.as_listed(portal.tz) for entry in page],
        total=len(found),
        next=start + LIST_PAGE if has_next else None,
    )


def _feature_get(context: CallContext, params: dict[str, Any]) -> MethodResult:
    """`{"value": "Y"|"N"}`; no CODE is 400 CODE_EMPTY (feature-get.md)."""
    code = str(params.get("code") or "").strip()
    if not code:
        raise RestError(400, "CODE_EMPTY", "CODE can't be empty")
    return MethodResult({"value": "Y" if context.portal.features.value_of(code) else "N"})


def _required_process_id(params: dict[str, Any]) -> str:
    value = params.get("process_id")
    if value is None or isinstance(value, list | dict):
        raise errors.argument_null("PROCESS_ID")
    return str(value).strip()


def _array(value: Any, message: str) -> list[Any]:
    if not isinstance(value, list | dict):
        raise RestError(400, "ERROR_ARGUMENT", message)
    return list(php_values(value))


def _message_ids(value: Any) -> list[str]:
    # [3P-src]: every MESSAGE_ID must be 32 characters, or the call is a 400 (§10).
    message = "Value must be array of MESSAGE_ID values"
    ids = [str(item).strip() for item in _array(value, message)]
    if any(len(item) != PROCESS_ID_LENGTH for item in ids):
        raise RestError(400, "ERROR_ARGUMENT", message)
    return ids
