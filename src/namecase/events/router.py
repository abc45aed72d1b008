"""POST /events: Bitrix24's event deliveries. Persist, answer 200, never call REST here.

Bitrix24 never redelivers a failed or slow delivery (bitrix24-protocol.md §2), so the only work
done before answering is what makes the event durable: parse, check the application_token in
constant time, and insert into the inbox. The worker does the REST calls.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from namecase.bitrix import FormError, parse_php_form
from namecase.events.repository import Enqueued
from namecase.events.schemas import CRM_EVENTS, EventDelivery, MalformedEvent
from namecase.events.service import PortalEntry
from namecase.metrics import EVENTS_ACCEPTED, EVENTS_RECEIVED, EVENTS_REJECTED
from namecase.portals.service import InstallRejected, PortalIdentity
from namecase.runtime import Runtime, RuntimeDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["bitrix24"])


class BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _reject(reason: str, status: int, detail: str) -> JSONResponse:
    EVENTS_REJECTED.labels(reason).inc()
    return JSONResponse({"error": reason, "detail": detail}, status_code=status)


@router.post(
    "/events",
    summary="Bitrix24 event handler",
    responses={400: {}, 403: {}, 413: {}},
)
async def receive_event(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Store the event durably, then answer 200."""
    EVENTS_RECEIVED.inc()
    limit = runtime.settings.event_max_bytes
    try:
        body = await _read_body(request, limit)
    except BodyTooLarge:
        return _reject("too_large", 413, f"an event is at most {limit} bytes")
    try:
        delivery = EventDelivery.from_form(parse_php_form(body, max_bytes=limit))
    except (FormError, MalformedEvent) as error:
        return _reject("malformed", 400, str(error))
    if delivery.entity_type is not None:
        return await _accept_crm_event(runtime, delivery)
    return await _accept_lifecycle_event(runtime, delivery)


async def _accept_crm_event(runtime: Runtime, delivery: EventDelivery) -> JSONResponse:
    assert delivery.entity_type is not None and delivery.entity_id is not None
    portal = await runtime.directory.verified(delivery.member_id, delivery.application_token)
    if portal is None:
        return _reject("forbidden", 403, "unknown portal or wrong application_token")
    if portal.state != "active" or not _wanted(portal, delivery.entity_type):
        # Refuse or drop only on what the database says now, not on the cache.
        portal = await runtime.directory.verified(
            delivery.member_id, delivery.application_token, fresh=True
        )
        if portal is None:
            return _reject("forbidden", 403, "unknown portal or wrong application_token")
    if portal.state != "active":
        return _reject("forbidden", 403, f"portal is {portal.state}")
    if not _wanted(portal, delivery.entity_type):
        EVENTS_ACCEPTED.labels(delivery.event).inc()
        return JSONResponse({"status": "ignored", "reason": "entity not enabled"})
    await runtime.inbox.write(
        Enqueued(delivery.member_id, delivery.entity_type, delivery.entity_id)
    )
    EVENTS_ACCEPTED.labels(delivery.event).inc()
    return JSONResponse({"status": "accepted"})


def _wanted(portal: PortalEntry, entity_type: str) -> bool:
    return portal.options.enabled and entity_type in portal.options.entities


async def _accept_lifecycle_event(runtime: Runtime, delivery: EventDelivery) -> JSONResponse:
    if delivery.event == "ONAPPUNINSTALL":
        if not await runtime.portals.uninstall(
            delivery.member_id, delivery.application_token, clean=delivery.clean
        ):
            return _reject("forbidden", 403, "unknown portal or wrong application_token")
        # Re-read the cached entry now: events after the uninstall are refused at once (403),
        # and nothing is written to the inbox of a portal whose data CLEAN just deleted.
        await runtime.directory.verified(delivery.member_id, delivery.application_token, fresh=True)
        EVENTS_ACCEPTED.labels(delivery.event).inc()
        return JSONResponse({"status": "accepted"})
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
    try:
        await runtime.portals.accept_install_event(identity)
    except InstallRejected as rejected:
        return _reject("forbidden", rejected.status_code, rejected.reason)
    EVENTS_ACCEPTED.labels(delivery.event).inc()
    return JSONResponse({"status": "accepted"})


__all__ = ["CRM_EVENTS", "router"]
