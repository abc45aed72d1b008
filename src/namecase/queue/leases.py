"""Leases on portals: at most one worker calls a portal's REST API at a time (DESIGN.md §4).

The protocol, tested directly in tests/queue/test_leases.py:
- `claim` takes the lease of the portal that has waited longest, if one is due and free;
- `renew` extends it while the unit runs; a False answer means the lease was lost;
- `release` returns it with the portal's next due time, computed from what the unit saw. An
  enqueue during the lease bumps `wakeups`; `release` compares it with the value at the claim on
  the row's latest version, and keeps the portal due now if it changed;
- `make_due` puts portals in line (creating their row), for installs, backfills, worker starts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.db import is_postgres, least, rowcount, upsert, utcnow
from namecase.queue.models import InboxItem, PortalQueue

QUEUE_TABLES = frozenset({InboxItem.__tablename__, PortalQueue.__tablename__})


async def claim(session: AsyncSession, owner: str, lease: dt.timedelta) -> PortalQueue | None:
    """Take the lease of the due portal that has waited longest, if any.

    PostgreSQL: FOR UPDATE SKIP LOCKED lets concurrent workers pick different rows without
    waiting. On both dialects the UPDATE re-checks availability, so a claim is compare-and-set.
    """
    now = utcnow()
    available = and_(
        PortalQueue.due_at <= now,
        or_(PortalQueue.not_before.is_(None), PortalQueue.not_before <= now),
        or_(PortalQueue.lease_until.is_(None), PortalQueue.lease_until < now),
    )
    candidates = select(PortalQueue.member_id).where(available).order_by(PortalQueue.due_at)
    if is_postgres(session):
        candidates = candidates.limit(1).with_for_update(skip_locked=True)
    else:
        candidates = candidates.limit(8)
    for member_id in (await session.execute(candidates)).scalars().all():
        result = await session.execute(
            update(PortalQueue)
            .where(PortalQueue.member_id == member_id, available)
            .values(lease_owner=owner, lease_until=now + lease)
        )
        if rowcount(result):
            return await session.get(PortalQueue, member_id, populate_existing=True)
    return None


async def renew(session: AsyncSession, member_id: str, owner: str, lease: dt.timedelta) -> bool:
    """Extend our lease; False if we lost it (then stop working on the portal)."""
    result = await session.execute(
        update(PortalQueue)
        .where(PortalQueue.member_id == member_id, PortalQueue.lease_owner == owner)
        .values(lease_until=utcnow() + lease)
    )
    return bool(rowcount(result))


@dataclass(frozen=True)
class Release:
    """How a unit of work leaves its portal: when it is due next and the state to keep."""

    due_at: dt.datetime
    failures: int = 0
    error: str | None = None
    not_before: dt.datetime | None = None
    bucket: dict[str, float] | None = None  # None: keep the stored rate-budget state
    reconciled_at: dt.datetime | None = None  # None: keep the stored time of the last sweep


async def release(session: AsyncSession, claimed: PortalQueue, owner: str, how: Release) -> bool:
    """Return the lease taken as `claimed`; False if it was no longer ours."""
    now = utcnow()
    values: dict[str, object] = {
        "lease_owner": None,
        "lease_until": None,
        "due_at": case((PortalQueue.wakeups == claimed.wakeups, how.due_at), else_=now),
        "not_before": how.not_before,
        "failures": how.failures,
        "last_error": how.error,
        "last_run_at": now,
    }
    if how.bucket is not None:
        values["bucket"] = how.bucket
    if how.reconciled_at is not None:
        values["reconciled_at"] = how.reconciled_at
    result = await session.execute(
        update(PortalQueue)
        .where(PortalQueue.member_id == claimed.member_id, PortalQueue.lease_owner == owner)
        .values(**values)
    )
    return bool(rowcount(result))


async def make_due(
    session: AsyncSession,
    member_ids: Sequence[str],
    *,
    at: dt.datetime | None = None,
    spread: dt.timedelta = dt.timedelta(0),
    end_backoff: bool = False,
) -> None:
    """Make portals due by `at` (default now), creating their rows; one due sooner keeps its place.

    `spread` staggers the portals evenly over that span (a worker start must not make a thousand
    portals due in the same instant: new events would wait behind all of them). `end_backoff`
    also lifts a portal's backoff and makes it due exactly at `at` (a fresh install or update:
    the backoff was earned with the old tokens).
    """
    if not member_ids:
        return
    start = at or utcnow()
    step = spread / len(member_ids)
    rows = [
        {"member_id": member_id, "due_at": start + step * index, "bucket": {}, "failures": 0}
        for index, member_id in enumerate(sorted(member_ids))
    ]
    statement = upsert(session)(PortalQueue)
    earlier = least(session)(PortalQueue.due_at, statement.excluded.due_at)
    changes: dict[str, object] = {
        "due_at": statement.excluded.due_at if end_backoff else earlier,
        "wakeups": PortalQueue.wakeups + 1,
    }
    if end_backoff:
        changes["not_before"] = None
        changes["failures"] = 0
    statement = statement.on_conflict_do_update(index_elements=["member_id"], set_=changes)
    # Core executemany on the session's connection: one round trip, no ORM bulk machinery.
    connection = await session.connection()
    await connection.execute(statement, [{**row, "wakeups": 1} for row in rows])


async def queue_of(session: AsyncSession, member_id: str) -> PortalQueue | None:
    """The portal's queue row (read-only use: admin, tests)."""
    return await session.get(PortalQueue, member_id)


async def forget_portal(session: AsyncSession, member_id: str) -> None:
    """Delete everything the queue holds for a portal (CLEAN uninstall)."""
    await session.execute(delete(InboxItem).where(InboxItem.member_id == member_id))
    await session.execute(delete(PortalQueue).where(PortalQueue.member_id == member_id))
