"""Collecting a portal's offline-event queue into our inbox (issue 13; bitrix24-protocol.md §10).

Run by the worker that holds the portal's lease, one page per unit, so collection shares the
portal's rate budget and its turn with every other portal. A page is collected when the doorbell
(ONOFFLINEEVENT) rang, again once its minTimeout window has passed (a ring inside it is dropped,
not postponed: [3P-src] `checkSendTime`), after a full page, and every OFFLINE_POLL otherwise (a
ring is never repeated, e.g. one sent while we were down: [RU] api-reference/events/
on-offline-event.md). queue/offline.py keeps when.

With reserve/confirm (`feature.get rest_offline_extended` = Y, [RU]
api-reference/events/event-offline-get.md, event-offline-clear.md, event-offline-error.md):
1. `event.offline.get {clear: 0}` reserves a page under a process_id;
2. its records go into the inbox and the process_id onto the portal's queue row, in one commit;
3. `event.offline.clear {process_id, id: [...]}` for exactly the entries committed, and
   `event.offline.error` for the ones that can never be processed (not a record event we know);
4. the process_id is forgotten.
A worker killed after 2 leaves the process_id: the next unit asks for that batch again with it
(a known process_id selects nothing new, it returns the batch). Killed between 1 and 2, the
reservation has an id we never saw (§10: UNCONFIRMED what to do). So before step 1 the row says
UNSEEN ("a reservation was asked for"), and a collection that finds UNSEEN, or one in a unit that
also sweeps, looks for reservations with `event.offline.list` (PROCESS_ID not empty) and reads
them again by their id. (An answer lost inside the client's own retries leaves a reservation
that the next sweeping unit finds; that sweep also lists its records.)

Without it, `event.offline.get {clear: 1}` hands out and deletes the page at once: a crash before
step 2 commits loses that page ("восстановить их не получится"), and the reconciliation sweep,
kept at RECONCILE_INTERVAL for these portals, is the net.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from namecase.bitrix import AccessDenied
from namecase.db import utcnow
from namecase.pipeline.context import WorkerContext
from namecase.portals.bindings import AUTH_CONNECTOR, CRM_EVENTS_OF, DOORBELL_MIN_TIMEOUT
from namecase.portals.event_modes import offline_mode
from namecase.portals.link import StoredPortalLink
from namecase.portals.models import Portal
from namecase.portals.schemas import PortalOptions
from namecase.queue import Enqueued, enqueue
from namecase.queue import offline as collection
from namecase.queue.models import PortalQueue
from namecase.settings import Settings

log = logging.getLogger(__name__)

# One page: the docs' default is 50 and they name no maximum; a larger page costs the same two
# requests (bench/burst.py: 46 requests for 1,000 contacts at 500, 52 at 200). Bitrix24 may
# answer fewer than asked; any page of 50 or more is taken to mean "there may be more".
COLLECT_LIMIT = 500
FULL_PAGE = 50
LOOK_AGAIN = dt.timedelta(seconds=DOORBELL_MIN_TIMEOUT + 1)  # after a ring: past its window
OFFLINE_POLL = dt.timedelta(seconds=60)  # a lost ring costs at most this (as a lost event did)
RECORD_EVENTS = {event: kind for kind, events in CRM_EVENTS_OF.items() for event in events}
UNSEEN = "?"  # a reservation was asked for whose process_id we have not seen yet


def sweep_interval(settings: Settings, portal: Portal) -> float:
    """The reconciliation sweep: a rare net where the queue is reserved and confirmed."""
    if offline_mode(portal) and portal.offline_extended:
        return settings.offline_reconcile_interval
    return settings.reconcile_interval


@dataclass
class Page:
    """One answer of `event.offline.get`, sorted into what we queue and what we cannot use."""

    process_id: str | None
    records: list[Enqueued] = field(default_factory=list)
    entry_ids: list[str] = field(default_factory=list)  # entries to clear (queued or not wanted)
    unusable: list[str] = field(default_factory=list)  # MESSAGE_IDs to mark as errors
    size: int = 0


def read_page(member_id: str, answer: Any, options: PortalOptions) -> Page:
    """Sort the entries of an answer: records to queue, entries to clear, entries to reject.

    An entry names its record in EVENT_DATA.FIELDS.ID, a number or a string (§10: which one is
    UNCONFIRMED). A record of an entity type the portal does not normalize is cleared unread.
    """
    result = answer if isinstance(answer, Mapping) else {}
    process_id = result.get("process_id")
    events = result.get("events")
    page = Page(process_id=process_id if isinstance(process_id, str) and process_id else None)
    for entry in events if isinstance(events, list) else []:
        if not isinstance(entry, Mapping):
            continue
        page.size += 1
        kind = RECORD_EVENTS.get(str(entry.get("EVENT_NAME", "")).upper())
        record_id = _record_id(entry.get("EVENT_DATA"))
        if kind is None or record_id is None:
            page.unusable.append(str(entry.get("MESSAGE_ID", "")))
            continue
        page.entry_ids.append(str(entry.get("ID", "")))
        if options.enabled and kind in options.entities:
            page.records.append(Enqueued(member_id, kind, record_id, source="offline"))
    return page


def _record_id(data: Any) -> int | None:
    fields = data.get("FIELDS") if isinstance(data, Mapping) else None
    raw = fields.get("ID") if isinstance(fields, Mapping) else None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18 or int(text) <= 0:
        return None
    return int(text)


async def collect(
    ctx: WorkerContext,
    link: StoredPortalLink,
    portal: Portal,
    claimed: PortalQueue,
    options: PortalOptions,
    *,
    sweeping: bool,
) -> int:
    """Collect one page of the portal's offline queue if it is due; returns its entries.

    `sweeping`: this unit also sweeps; it then looks for reservations we never saw, too.
    """
    now = utcnow()
    due_at = claimed.offline_due_at
    resuming = claimed.offline_process_id is not None
    if not (sweeping or resuming or due_at is None or due_at <= now):
        return 0
    async with ctx.sessions() as session, session.begin():
        await collection.collecting(session, link.member_id, now + OFFLINE_POLL)
    try:
        if portal.offline_extended:
            page = await _reserved_page(ctx, link, claimed, options, sweeping=sweeping)
        else:
            page = await _cleared_page(ctx, link, options)
    except AccessDenied as error:
        # The installer lost the administrator rights, or the plan the feature: the bindings
        # are checked at the next unit, and fall back to online events (portals/event_modes.py).
        log.warning("offline queue refused: %s", error, extra={"member_id": link.member_id})
        await ctx.portals.check_bindings_soon(link.member_id)
        return 0
    await _next_look(ctx, link.member_id, page.size, claimed.offline_rung_at, now)
    return page.size


async def _next_look(
    ctx: WorkerContext,
    member_id: str,
    size: int,
    rung_at: dt.datetime | None,
    started: dt.datetime,
) -> None:
    """A full page: at once. A ring whose window had not passed when this collection started:
    once it has. Otherwise `collecting` set the slow poll."""
    if size >= FULL_PAGE:
        at: dt.datetime | None = started
    elif rung_at is not None and rung_at + LOOK_AGAIN > started:
        at = rung_at + LOOK_AGAIN
    else:
        at = None
    if at is not None:
        async with ctx.sessions() as session, session.begin():
            await collection.look_again(session, member_id, at)


async def _get(ctx: WorkerContext, link: StoredPortalLink, **params: Any) -> Any:
    return await ctx.bitrix.call(
        link,
        "event.offline.get",
        {"limit": COLLECT_LIMIT, "auth_connector": AUTH_CONNECTOR, **params},
    )


async def _cleared_page(ctx: WorkerContext, link: StoredPortalLink, options: PortalOptions) -> Page:
    """`clear=1`: the page is deleted as it is handed out; commit it at once."""
    page = read_page(link.member_id, await _get(ctx, link, clear=1), options)
    async with ctx.sessions() as session, session.begin():
        await enqueue(session, page.records)
    if page.unusable:
        log.warning("offline entries not understood: %d", len(page.unusable))
    return page


async def _reserved_page(
    ctx: WorkerContext,
    link: StoredPortalLink,
    claimed: PortalQueue,
    options: PortalOptions,
    *,
    sweeping: bool,
) -> Page:
    """`clear=0`: reserve (or read again), commit with the process_id, then confirm."""
    member_id = link.member_id
    process_id = claimed.offline_process_id
    if process_id == UNSEEN or (process_id is None and sweeping):
        process_id = await _unseen_reservation(ctx, link)
    if process_id is None:
        async with ctx.sessions() as session, session.begin():
            await collection.reserved(session, member_id, UNSEEN)
        answer = await _get(ctx, link, clear=0)
    else:
        answer = await _get(ctx, link, clear=0, process_id=process_id)
    page = read_page(member_id, answer, options)
    page.process_id = page.process_id or process_id
    if page.process_id is None or page.size == 0:
        # Nothing reserved, or an empty re-read: that batch is gone (cleared, or lapsed).
        await _forget(ctx, member_id, process_id or UNSEEN)
        return page
    async with ctx.sessions() as session, session.begin():
        await enqueue(session, page.records)
        await collection.reserved(session, member_id, page.process_id)
    await _confirm(ctx, link, page.process_id, page.entry_ids, page.unusable)
    await _forget(ctx, member_id, page.process_id)
    return page


async def _confirm(
    ctx: WorkerContext,
    link: StoredPortalLink,
    process_id: str,
    entry_ids: Sequence[str],
    unusable: Sequence[str],
) -> None:
    common = {"process_id": process_id, "auth_connector": AUTH_CONNECTOR}
    if entry_ids:
        await ctx.bitrix.call(link, "event.offline.clear", {**common, "id": list(entry_ids)})
    if unusable:
        # Entries we can never process leave the queue as errors, kept for a look with
        # `event.offline.get error=1` ([RU] api-reference/events/event-offline-error.md).
        await ctx.bitrix.call(link, "event.offline.error", {**common, "message_id": list(unusable)})
        log.warning("offline entries marked as errors: %d", len(unusable))


async def _forget(ctx: WorkerContext, member_id: str, process_id: str) -> None:
    async with ctx.sessions() as session, session.begin():
        await collection.cleared(session, member_id, process_id)


async def _unseen_reservation(ctx: WorkerContext, link: StoredPortalLink) -> str | None:
    """A batch reserved under an id we never stored (the answer to `clear=0` was lost)."""
    listed = await ctx.bitrix.call(
        link,
        "event.offline.list",
        {"filter": {"!PROCESS_ID": ""}, "order": {"ID": "ASC"}, "auth_connector": AUTH_CONNECTOR},
    )
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, Mapping) and str(entry.get("ERROR", "0")) == "0":
            process_id = entry.get("PROCESS_ID")
            if isinstance(process_id, str) and process_id:
                log.info(
                    "an unconfirmed reservation is read again", extra={"member_id": link.member_id}
                )
                return process_id
    return None
