"""The collection state of a portal's offline-event queue, kept on its `portal_queue` row.

Bitrix24 keeps the queue (bitrix24-protocol.md §10); we keep two things about it:
- `offline_due_at`: when to collect next. The doorbell (ONOFFLINEEVENT) makes it now; a
  collection moves it to its next look (a full page: now; else the slow poll, or sooner, see
  `offline_rung_at`). NULL means "at the next unit" (a portal just switched to offline events);
- `offline_rung_at`: when the doorbell last rang. A ring inside its minTimeout is dropped, not
  postponed (bitrix24-protocol.md §10), so the changes made in that window ring for nobody: a
  collection that started before the window ended looks again once it has;
- `offline_process_id`: the reservation being collected (`event.offline.get clear=0`). It is
  stored in the same transaction as the records it brought, before `event.offline.clear`, so a
  worker killed in between loses nothing: the next one asks for that batch again by its id.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.db import utcnow
from namecase.queue.leases import make_due
from namecase.queue.models import PortalQueue


async def ring(session: AsyncSession, member_id: str, now: dt.datetime | None = None) -> None:
    """The doorbell rang: collect the portal's queue now (the caller commits)."""
    now = now or utcnow()
    await make_due(session, [member_id], at=now)
    await session.execute(
        update(PortalQueue)
        .where(PortalQueue.member_id == member_id)
        .values(offline_due_at=_earlier(now), offline_rung_at=now)
    )


async def collecting(session: AsyncSession, member_id: str, next_look: dt.datetime) -> None:
    """A collection starts: unless the doorbell rings meanwhile, the next look is `next_look`."""
    await session.execute(
        update(PortalQueue)
        .where(PortalQueue.member_id == member_id)
        .values(offline_due_at=next_look)
    )


async def look_again(session: AsyncSession, member_id: str, at: dt.datetime) -> None:
    """Collect again by `at` (a ring during the collection keeps its earlier time)."""
    await session.execute(
        update(PortalQueue)
        .where(PortalQueue.member_id == member_id)
        .values(offline_due_at=_earlier(at))
    )


async def reserved(session: AsyncSession, member_id: str, process_id: str) -> None:
    """Remember the reservation whose records are committed in this transaction."""
    await session.execute(
        update(PortalQueue)
        .where(PortalQueue.member_id == member_id)
        .values(offline_process_id=process_id)
    )


async def cleared(session: AsyncSession, member_id: str, process_id: str) -> None:
    """Bitrix24 confirmed the clear of `process_id`: forget it (only if it is still ours)."""
    await session.execute(
        update(PortalQueue)
        .where(PortalQueue.member_id == member_id, PortalQueue.offline_process_id == process_id)
        .values(offline_process_id=None)
    )


async def collect_at_start(session: AsyncSession) -> None:
    """A worker starts: every offline queue is collected at its portal's next unit (a ring sent
    while no worker ran is never repeated: [RU] api-reference/events/on-offline-event.md)."""
    await session.execute(
        update(PortalQueue)
        .where(PortalQueue.offline_due_at.is_not(None))
        .values(offline_due_at=None)
    )


async def collection_due_at(session: AsyncSession, member_id: str) -> dt.datetime | None:
    """When the portal's offline queue is to be collected next (None: at once)."""
    row = await session.execute(
        select(PortalQueue.offline_due_at).where(PortalQueue.member_id == member_id)
    )
    return row.scalar_one_or_none()


def _earlier(moment: dt.datetime) -> object:
    stored = PortalQueue.offline_due_at
    return case((stored.is_(None), moment), (stored > moment, moment), else_=stored)
