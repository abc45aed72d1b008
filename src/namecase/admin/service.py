"""The operator's status of the whole fleet, assembled from the admin repository's reads."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from namecase.admin.explain import event_mode_in_words, state_in_words
from namecase.admin.repository import AdminRepository
from namecase.admin.schemas import (
    Activity,
    AdminStatus,
    BackfillView,
    PortalStatus,
    QueueView,
    RecentCall,
    Totals,
    WorkerStatus,
)
from namecase.pipeline.models import Backfill
from namecase.portals.models import PORTAL_STATES, Portal
from namecase.portals.service import options_of
from namecase.queue.models import PortalQueue

HOUR = dt.timedelta(hours=1)
ALIVE = dt.timedelta(minutes=1)  # workers beat every 5 s; a minute of silence means trouble


async def fleet_status(
    session: AsyncSession, *, now: dt.datetime, offset: int, limit: int, calls: int
) -> AdminStatus:
    """Totals over every portal; details for one page of portals (ordered by domain)."""
    repository = AdminRepository(session)
    portals = await repository.portals(offset=offset, limit=limit)
    member_ids = [portal.member_id for portal in portals]
    depth = await repository.inbox_depth()
    rest = await repository.rest_calls_since(now - HOUR)
    last_events = await repository.last_events()
    queues = await repository.queues(member_ids)
    backfills: dict[str, list[Backfill]] = defaultdict(list)
    for backfill in await repository.backfills(member_ids):
        backfills[backfill.member_id].append(backfill)
    details = []
    for portal in portals:
        recent = await repository.recent_calls(portal.member_id, calls) if calls else []
        details.append(
            _portal_status(
                portal,
                pending=depth.get((portal.member_id, "pending"), 0),
                dead=depth.get((portal.member_id, "dead"), 0),
                rest=rest.get(portal.member_id, (0, 0)),
                last_event_at=last_events.get(portal.member_id),
                queue=queues.get(portal.member_id),
                backfills=backfills[portal.member_id],
                recent=[
                    RecentCall(
                        method=call.method,
                        http_status=call.http_status,
                        error_code=call.error_code,
                        duration_ms=round(call.duration_ms, 1),
                        at=call.created_at,
                    )
                    for call in recent
                ],
            )
        )
    leases = await repository.leases(now)
    workers = [
        WorkerStatus(
            id=row.id,
            hostname=row.hostname,
            pid=row.pid,
            started_at=row.started_at,
            heartbeat_at=row.heartbeat_at,
            alive=now - row.heartbeat_at <= ALIVE,
            items_done=row.items_done,
            leases=sorted(m for m, owner in leases if owner == row.id),
        )
        for row in await repository.workers()
    ]
    by_state = {state: 0 for state in PORTAL_STATES} | await repository.portals_by_state()
    totals = Totals(
        portals=sum(by_state.values()),
        portals_by_state=by_state,
        pending=sum(n for (_, state), n in depth.items() if state == "pending"),
        dead=sum(n for (_, state), n in depth.items() if state == "dead"),
        rest_calls_last_hour=sum(n for n, _ in rest.values()),
        rest_503_last_hour=sum(r for _, r in rest.values()),
        workers_alive=sum(worker.alive for worker in workers),
        leases_held=len(leases),
    )
    return AdminStatus(
        generated_at=now,
        totals=totals,
        activity=await last_day(repository, now),
        portals=details,
        workers=workers,
    )


async def last_day(repository: AdminRepository, now: dt.datetime) -> Activity:
    """Queued records and corrections in each of the last 24 hours, the current one last."""
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    hours = [this_hour - (23 - i) * HOUR for i in range(24)]
    return Activity(
        hours=hours,
        queued=await repository.queued_by_hour(hours),
        corrections=await repository.corrections_by_hour(hours),
    )


def _portal_status(
    portal: Portal,
    *,
    pending: int,
    dead: int,
    rest: tuple[int, int],
    last_event_at: dt.datetime | None,
    queue: PortalQueue | None,
    backfills: list[Backfill],
    recent: list[RecentCall],
) -> PortalStatus:
    options = options_of(portal)
    return PortalStatus(
        member_id=portal.member_id,
        domain=portal.domain,
        state=portal.state,
        state_explained=state_in_words(portal.state),
        event_mode="offline" if portal.event_mode == "offline" else "online",
        event_mode_explained=event_mode_in_words(
            portal.event_mode, extended=portal.offline_extended, reason=portal.event_mode_reason
        ),
        plan_status=portal.plan_status,
        client_endpoint=portal.client_endpoint,
        token_expires_at=portal.access_expires_at,
        token_refreshed_at=portal.refreshed_at,
        installed_at=portal.installed_at,
        enabled=options.enabled,
        entities=list(options.entities),
        dry_run=options.dry_run,
        pending=pending,
        dead=dead,
        last_event_at=last_event_at,
        # The portal's own error (why it was disabled) outranks the worker's last backoff.
        last_error=portal.last_error or (queue.last_error if queue else None),
        rest_calls_last_hour=rest[0],
        rest_503_last_hour=rest[1],
        queue=None if queue is None else _queue_view(queue),
        backfills=[
            BackfillView(
                entity_type=b.entity_type,
                state=b.state,
                scanned=b.scanned,
                total=b.total,
                queued=b.queued,
                started_at=b.started_at,
                finished_at=b.finished_at,
            )
            for b in backfills
        ],
        recent_calls=recent,
    )


def _queue_view(queue: PortalQueue) -> QueueView:
    return QueueView(
        lease_owner=queue.lease_owner,
        lease_until=queue.lease_until,
        due_at=queue.due_at,
        not_before=queue.not_before,
        failures=queue.failures,
        last_error=queue.last_error,
        last_run_at=queue.last_run_at,
        reconciled_at=queue.reconciled_at,
        offline_due_at=queue.offline_due_at,
        offline_process_id=queue.offline_process_id,
    )
