"""POST /events: Bitrix24's event deliveries. Persist, answer 200, never call REST here.

Bitrix24 never redelivers a failed or slow delivery (bitrix24-protocol.md §2), so the only work
done before answering is what makes the event durable: parse, check the application_token in
constant time, and insert into the inbox. The worker does the REST calls.

This is the hottest route of the service, so it is a bare ASGI endpoint on a plain Starlette
route: FastAPI's request machinery (Request object, dependency solving, two exit stacks per
request, a sync dependency run in the thread pool) cost more CPU than everything the handler
does (bench/ingest.py). Bitrix24 is its only caller, so it is left out of the OpenAPI schema.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from namecase.bitrix import FormError, parse_php_form
from namecase.callers import caller_of
from namecase.events.schemas import CRM_EVENTS, DOORBELL_EVENT, EventDelivery, MalformedEvent
from namecase.events.service import PortalEntry
from namecase.metrics import EVENTS_ACCEPTED, EVENTS_RECEIVED, EVENTS_REJECTED
from namecase.portals.service import InstallRejected, PortalIdentity
from namecase.portals.throttle import admit_install
from namecase.portals.uninstall import UninstallVerdict
from namecase.queue import Enqueued
from namecase.queue import offline as offline_queue
from namecase.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(tags=["bitrix24"])

Answer = tuple[int, dict[str, str]]
ACCEPTED: Answer = (200, {"status": "accepted"})


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _encode(payload: dict[str, str]) -> bytes:
    # The same bytes starlette's JSONResponse would send.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


_ACCEPTED_BODY = _encode(ACCEPTED[1])


async def _answer(send: Send, answer: Answer) -> None:
    status, payload = answer
    body = _ACCEPTED_BODY if answer is ACCEPTED else _encode(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"application/json"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _reject(reason: str, status: int, detail: str) -> Answer:
    EVENTS_REJECTED.labels(reason).inc()
    return status, {"error": reason, "detail": detail}


class EventReceiver:
    """The ASGI endpoint of POST /events: store the event durably, then answer 200.

    Answers: 200 once the event is committed to the inbox (or acknowledged and dropped because
    the portal does not normalize that entity); 400 malformed; 403 unknown portal, wrong
    application_token or inactive portal; 413 over `event_max_bytes`.
    """

    route: BaseRoute | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Starlette's router records the matched route for the middleware (metric labels,
        # access log); FastAPI's does that only for its own APIRoutes.
        scope.setdefault("route", self.route)
        runtime: Runtime = scope["app"].state.runtime
        EVENTS_RECEIVED.inc()
        limit = runtime.settings.event_max_bytes
        try:
            body = await _read_body(scope, receive, limit)
        except BodyTooLarge:
            await _answer(send, _reject("too_large", 413, f"an event is at most {limit} bytes"))
            return
        except ClientGone:
            return  # nobody to answer; nothing was stored
        caller = caller_of(scope["client"][0] if scope.get("client") else None)
        await _answer(send, await receive_event(runtime, body, caller=caller))


async def receive_event(runtime: Runtime, body: bytes, *, caller: str = "unknown") -> Answer:
    """Validate, check and store one delivery; the status and JSON payload to answer."""
    try:
        delivery = EventDelivery.from_form(
            parse_php_form(body, max_bytes=runtime.settings.event_max_bytes)
        )
    except (FormError, MalformedEvent) as error:
        return _reject("malformed", 400, str(error))
    if delivery.entity_type is not None:
        return await _accept_crm_event(runtime, delivery)
    if delivery.event == DOORBELL_EVENT:
        return await _accept_doorbell(runtime, delivery)
    return await _accept_lifecycle_event(runtime, delivery, caller)


async def _accept_crm_event(runtime: Runtime, delivery: EventDelivery) -> Answer:
    assert delivery.entity_type is not None and delivery.entity_id is not None
    portal = await runtime.directory.verified(delivery.member_id, delivery.application_token)
    if portal is None:
        return _reject("forbidden", 403, "unknown portal or wrong application_token")
    if not portal.accepts_events or not _wanted(portal, delivery.entity_type):
        # Refuse or drop only on what the database says now, not on the cache.
        portal = await runtime.directory.verified(
            delivery.member_id, delivery.application_token, fresh=True
        )
        if portal is None:
            return _reject("forbidden", 403, "unknown portal or wrong application_token")
    if not portal.accepts_events:
        return _reject("forbidden", 403, f"portal is {portal.state}")
    if not _wanted(portal, delivery.entity_type):
        EVENTS_ACCEPTED.labels(delivery.event).inc()
        return 200, {"status": "ignored", "reason": "entity not enabled"}
    await runtime.inbox.write(
        Enqueued(delivery.member_id, delivery.entity_type, delivery.entity_id)
    )
    EVENTS_ACCEPTED.labels(delivery.event).inc()
    return ACCEPTED


async def _accept_doorbell(runtime: Runtime, delivery: EventDelivery) -> Answer:
    """ONOFFLINEEVENT: the portal's offline queue has new entries; its worker collects them."""
    portal = await runtime.directory.verified(delivery.member_id, delivery.application_token)
    if portal is None:
        return _reject("forbidden", 403, "unknown portal or wrong application_token")
    if not portal.accepts_events:
        return _reject("forbidden", 403, f"portal is {portal.state}")
    async with runtime.sessions() as session, session.begin():
        await offline_queue.ring(session, delivery.member_id)
    EVENTS_ACCEPTED.labels(delivery.event).inc()
    return ACCEPTED


def _wanted(portal: PortalEntry, entity_type: str) -> bool:
    return portal.options.enabled and entity_type in portal.options.entities


async def _accept_lifecycle_event(runtime: Runtime, delivery: EventDelivery, caller: str) -> Answer:
    if delivery.event == "ONAPPUNINSTALL":
        return await _accept_uninstall(runtime, delivery, caller)
    # ONAPPINSTALL / ONAPPUPDATE carry tokens (protocol §1): trusted only once the OAuth server
    # confirms them, exactly like /install; the worker then re-binds the wiped handlers.
    if not delivery.refresh_token or not delivery.server_endpoint:
        return _reject("forbidden", 403, "install events must carry tokens to be confirmed")
    identity = PortalIdentity(
        member_id=delivery.member_id,
        server_endpoint=delivery.server_endpoint,
        refresh_token=delivery.refresh_token,
        application_token=delivery.application_token,
        domain=delivery.domain,
        lang=delivery.language or "en",
    )
    # Each install event costs an OAuth call: limited like /install (portals/throttle.py).
    if not admit_install(runtime.settings, caller):
        return _reject("too_many", 429, "too many install attempts; try again in a minute")
    try:
        await runtime.portals.accept_install_event(identity)
    except InstallRejected as rejected:
        return _reject("forbidden", rejected.status_code, rejected.reason)
    EVENTS_ACCEPTED.labels(delivery.event).inc()
    return ACCEPTED


async def _accept_uninstall(runtime: Runtime, delivery: EventDelivery, caller: str) -> Answer:
    """Honoured once Bitrix24 confirms the app is gone (portals/uninstall.py): 200 when done,
    202 when remembered for a worker to confirm, 403 when the app still works or the token is
    wrong. Asking costs a REST call and maybe an OAuth refresh, so it shares the install budget;
    past it the event is only remembered."""
    verdict = await runtime.portals.uninstall(
        delivery.member_id,
        delivery.application_token,
        clean=delivery.clean,
        may_ask=admit_install(runtime.settings, caller),
    )
    if verdict is UninstallVerdict.NOT_OURS:
        return _reject("forbidden", 403, "unknown portal or wrong application_token")
    if verdict is UninstallVerdict.STILL_INSTALLED:
        return _reject("forbidden", 403, "the app is still installed on this portal")
    # Re-read the cached entry now: events after the uninstall are refused at once (403),
    # and nothing is written to the inbox of a portal whose data CLEAN just deleted.
    await runtime.directory.verified(delivery.member_id, delivery.application_token, fresh=True)
    EVENTS_ACCEPTED.labels(delivery.event).inc()
    if verdict is UninstallVerdict.REMEMBERED:
        return 202, {"status": "remembered", "detail": "uninstall not confirmed by Bitrix24 yet"}
    return ACCEPTED


_receiver = EventReceiver()
_receiver.route = Route("/events", _receiver, methods=["POST"], name="receive_event")
router.routes.append(_receiver.route)


__all__ = ["CRM_EVENTS", "EventReceiver", "receive_event", "router"]
