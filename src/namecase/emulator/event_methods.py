"""event.bind, event.unbind and event.get (bitrix24-protocol.md §3, §10; [RU]
api-reference/events/event-bind.md, event-unbind.md, event-get.md, offline-events.md).

Offline bindings have no handler URL and are kept per `auth_connector` (one queue each, §10);
only administrators may make or remove them. ONOFFLINEEVENT, the doorbell, is bound online
with `options.minTimeout` (on-offline-event.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from namecase.emulator import errors
from namecase.emulator.calls import CallContext, MethodHandler, MethodResult, as_int
from namecase.emulator.doorbell import DEFAULT_MIN_TIMEOUT
from namecase.emulator.errors import RestError

DOORBELL_EVENT = "ONOFFLINEEVENT"
# Events an app may bind here, and the scope each needs (event.bind: "Event not found" when
# the event is unknown or outside the app's scope).
EVENT_SCOPES = {
    "ONCRMCONTACTADD": "crm",
    "ONCRMCONTACTUPDATE": "crm",
    "ONCRMCONTACTDELETE": "crm",
    "ONCRMLEADADD": "crm",
    "ONCRMLEADUPDATE": "crm",
    "ONCRMLEADDELETE": "crm",
    "ONAPPINSTALL": "",
    "ONAPPUNINSTALL": "",
    "ONAPPUPDATE": "",
    "ONAPPTEST": "",
    DOORBELL_EVENT: "",  # "Кто может подписаться: любой пользователь" (on-offline-event.md)
}


def event_methods() -> dict[str, tuple[str, MethodHandler]]:
    """The methods of this module, for ``RestApi.methods``."""
    return {
        "event.bind": ("", _event_bind),
        "event.unbind": ("", _event_unbind),
        "event.get": ("", _event_get),
    }


def offline_denied(what: str) -> RestError:
    """403 when the portal's switch denies offline events (emulator's choice, UNCONFIRMED §10)."""
    return RestError(
        403, "WRONG_LICENSE", f"This feature is not enabled for the current license: {what}"
    )


def _event_bind(context: CallContext, params: dict[str, Any]) -> MethodResult:
    user, portal = context.user, context.portal
    event = str(params.get("event") or "").upper()
    event_type = str(params.get("event_type") or "online").lower()
    handler = str(params.get("handler") or "")
    auth_type = as_int(params.get("auth_type"))
    if auth_type > 0 and not user.admin and auth_type != user.id:
        raise errors.access_denied(
            "Access denied! Event binding with AUTH_TYPE requires administrator access rights"
        )
    if auth_type <= 0 and not user.admin:
        auth_type = user.id  # non-admins bind for themselves (event-bind.md)
    if not event:
        raise errors.argument_null("EVENT")
    if event_type not in ("online", "offline"):
        raise RestError(400, "ERROR_ARGUMENT", "Value must be one of {online|offline}")
    if event_type == "offline":
        _check_offline_bind(context, event)
        handler, auth_type = "", 0  # "не передавайте handler" (offline-events.md)
    elif not handler:
        raise errors.argument_null("HANDLER")
    else:
        _check_handler_url(handler)
    if not _event_in_scope(context, event):
        raise RestError(400, "ERROR_EVENT_NOT_FOUND", "Event not found")
    offline, connector = event_type == "offline", context.connector
    for row in portal.handlers:
        # [3P-src] keys a binding by app, event, handler, connector and user (§10, "Duplicate").
        if (row.event, row.handler, row.user_id, row.offline, row.connector) == (
            event,
            handler,
            auth_type,
            offline,
            connector,
        ):
            raise RestError(
                400, "ERROR_CORE", "Unable to set event handler: Handler already binded"
            )
    min_timeout = _min_timeout(params.get("options")) if event == DOORBELL_EVENT else None
    portal.add_handler(event, handler, auth_type, offline, connector, min_timeout)
    return MethodResult(True)


def _check_offline_bind(context: CallContext, event: str) -> None:
    if not context.user.admin:
        raise errors.access_denied(
            "Access denied! Offline events binding requires administrator access rights"
        )
    if event == DOORBELL_EVENT:  # §10 [RU-next], [3P-src]
        raise RestError(400, "ERROR_ARGUMENT", "Offline event cannot be registered for this event.")
    if not context.portal.features.offline:
        raise offline_denied("offline events")


def _min_timeout(options: Any) -> int:
    # `options: {minTimeout: N}`, seconds, default 1 (event-bind.md); [3P-src] casts with (int).
    if isinstance(options, Mapping) and "minTimeout" in options:
        return max(0, as_int(options["minTimeout"]))
    return DEFAULT_MIN_TIMEOUT


def _check_handler_url(handler: str) -> None:
    parts = urlsplit(handler)
    if parts.scheme not in ("http", "https"):
        raise RestError(400, "ERROR_UNSUPPORTED_PROTOCOL", "Unsupported handler protocol")
    if not parts.hostname or "." not in parts.hostname:
        raise RestError(400, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL")


def _event_in_scope(context: CallContext, event: str) -> bool:
    if event not in EVENT_SCOPES:
        return False
    needed = EVENT_SCOPES[event]
    return not needed or needed in context.emulator.config.scope.split(",")


def _event_unbind(context: CallContext, params: dict[str, Any]) -> MethodResult:
    user, portal = context.user, context.portal
    event = str(params.get("event") or "").upper()
    event_type = str(params.get("event_type") or "online").lower()
    handler = str(params.get("handler") or "")
    if not event:
        raise errors.argument_null("EVENT")
    if event_type not in ("online", "offline"):
        raise RestError(400, "ERROR_ARGUMENT", "Value must be one of {online|offline}")
    offline = event_type == "offline"
    if offline:
        if not user.admin:
            raise errors.access_denied(
                "Access denied! Offline events unbinding requires administrator access rights"
            )
        handler = ""
    elif not handler:
        raise errors.argument_null("HANDLER")
    wanted_user: int | None = None
    if "auth_type" in params:
        wanted_user = as_int(params["auth_type"])
    elif not user.admin:
        wanted_user = user.id
    kept, removed = [], 0
    for row in portal.handlers:
        matches = (
            (row.event, row.handler, row.offline) == (event, handler, offline)
            and (wanted_user is None or row.user_id == wanted_user)
            # An offline binding is removed with the same auth_connector (§10, [3P-src]).
            and (not offline or row.connector == context.connector)
        )
        if matches:
            removed += 1
        else:
            kept.append(row)
    portal.handlers = kept
    return MethodResult({"count": removed})


def _event_get(context: CallContext, params: dict[str, Any]) -> MethodResult:
    user, portal = context.user, context.portal
    rows: list[dict[str, Any]] = []
    for row in portal.handlers:
        if not user.admin and row.user_id != user.id:
            continue
        if row.offline:
            # §3/§10: `{"event","connector_id","offline":1}` ([3P-src]; the docs show online only).
            rows.append({"event": row.event, "connector_id": row.connector, "offline": 1})
        else:
            rows.append(
                {
                    "event": row.event,
                    "handler": row.handler,
                    "auth_type": str(row.user_id),
                    "offline": 0,
                }
            )
    return MethodResult(rows)
