"""Fleet-wide reads for the operator (DESIGN.md §6: aggregates, off the hot paths)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.db import aware, utcnow
from namecase.pipeline.models import Backfill, Change, WorkerHeartbeat
from namecase.portals.models import Portal, RestCallLog
from namecase.queue import inbox
from namecase.queue.models import INBOX_STATES, InboxItem, PortalQueue

RATE_LIMITED = "QUERY_LIMIT_EXCEEDED"  # the 503 of a full leaky bucket (protocol §6)


class AdminRepository:
    """Read-only queries across portals."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def portals(self, *, offset: int, limit: int) -> Sequence[Portal]:
        statement = (
            select(Portal).order_by(Portal.domain, Portal.member_id).offset(offset).limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def portals_by_state(self) -> dict[str, int]:
        statement = select(Portal.state, func.count()).group_by(Portal.state)
        return {state: int(count) for state, count in await self.session.execute(statement)}

    async def inbox_depth(self) -> dict[tuple[str, str], int]:
        """(member_id, state) → count, for the states an operator watches: pending and dead."""
        state = inbox.state_seen_by_people(utcnow()).label("state")
        statement = (
            select(InboxItem.member_id, state, func.count())
            .where(InboxItem.state.in_(("pending", "dead")))
            .group_by(InboxItem.member_id, state)
        )
        return {
            (m, s): int(n)
            for m, s, n in await self.session.execute(statement)
            if s in ("pending", "dead")
        }

    async def oldest_pending(self) -> dt.datetime | None:
        statement = select(func.min(InboxItem.received_at)).where(
            inbox.state_seen_by_people(utcnow()) == "pending"
        )
        return aware((await self.session.execute(statement)).scalar_one_or_none())

    async def last_events(self) -> dict[str, dt.datetime]:
        """When each portal's latest event (online, or collected from its offline queue) created
        an inbox row (coalesced bumps not counted)."""
        statement = (
            select(InboxItem.member_id, func.max(InboxItem.received_at))
            .where(InboxItem.source.in_(("event", "offline")))
            .group_by(InboxItem.member_id)
        )
        rows = await self.session.execute(statement)
        return {member_id: at for member_id, raw in rows if (at := aware(raw)) is not None}

    async def rest_calls_since(self, since: dt.datetime) -> dict[str, tuple[int, int]]:
        """member_id → (calls, 503 answers) since `since`."""
        limited = or_(RestCallLog.http_status == 503, RestCallLog.error_code == RATE_LIMITED)
        statement = (
            select(
                RestCallLog.member_id,
                func.count(),
                func.coalesce(func.sum(case((limited, 1), else_=0)), 0),
            )
            .where(RestCallLog.created_at >= since)
            .group_by(RestCallLog.member_id)
        )
        return {m: (int(n), int(r)) for m, n, r in await self.session.execute(statement)}

    async def recent_calls(self, member_id: str, limit: int) -> Sequence[RestCallLog]:
        statement = (
            select(RestCallLog)
            .where(RestCallLog.member_id == member_id)
            .order_by(RestCallLog.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def queues(self, member_ids: Sequence[str]) -> dict[str, PortalQueue]:
        statement = select(PortalQueue).where(PortalQueue.member_id.in_(member_ids))
        return {q.member_id: q for q in (await self.session.execute(statement)).scalars()}

    async def leases(self, now: dt.datetime) -> Sequence[tuple[str, str]]:
        """(member_id, owner) of every lease held now."""
        statement = select(PortalQueue.member_id, PortalQueue.lease_owner).where(
            PortalQueue.lease_owner.is_not(None), PortalQueue.lease_until > now
        )
        return [(m, str(o)) for m, o in await self.session.execute(statement)]

    async def backfills(self, member_ids: Sequence[str]) -> Sequence[Backfill]:
        statement = (
            select(Backfill)
            .where(Backfill.member_id.in_(member_ids))
            .order_by(Backfill.member_id, Backfill.entity_type)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def workers(self) -> Sequence[WorkerHeartbeat]:
        statement = select(WorkerHeartbeat).order_by(WorkerHeartbeat.started_at)
        return (await self.session.execute(statement)).scalars().all()

    async def hourly_counts(
        self, column: Any, hours: Sequence[dt.datetime], *conditions: Any
    ) -> list[int]:
        """How many rows have `column` in each hour starting at `hours` (one scan, any dialect)."""
        edges = [*hours, hours[-1] + dt.timedelta(hours=1)]
        buckets = [
            func.coalesce(func.sum(case((and_(column >= start, column < end), 1), else_=0)), 0)
            for start, end in itertools.pairwise(edges)
        ]
        statement = select(*buckets).where(column >= edges[0], column < edges[-1], *conditions)
        return [int(count) for count in (await self.session.execute(statement)).one()]

    async def queued_by_hour(self, hours: Sequence[dt.datetime]) -> list[int]:
        """Inbox rows created per hour: records an event, a sweep or a backfill queued."""
        # A row is touched at or after it arrives, so this bound lets the (state, updated_at)
        # index narrow the scan to the last day's rows; received_at itself has no index.
        recent = and_(InboxItem.state.in_(INBOX_STATES), InboxItem.updated_at >= hours[0])
        return await self.hourly_counts(InboxItem.received_at, hours, recent)

    async def corrections_by_hour(self, hours: Sequence[dt.datetime]) -> list[int]:
        """Names corrected per hour (trial-mode foresight not counted)."""
        return await self.hourly_counts(Change.created_at, hours, Change.dry_run.is_(False))
