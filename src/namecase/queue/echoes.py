"""The echo of our own write: Bitrix24 sends ONCRMCONTACTUPDATE for our `crm.contact.update` too
(bitrix24-protocol.md §7), and reading the record again for it is a wasted unit of work.

Instead of marking a written record's row done, we keep it pending but *held*: its version counts
the events still expected, relative to the one read. The /events upsert (queue.enqueue) adds one
per event, so:
- version -1: our echo has not arrived yet; when it does, the row moves to 0 and stays held;
- version 0: the echo arrived; the row is never read on its own and wakes nobody. It rides along
  in the portal's next read of records of its type (`inbox.next_batch`), or is settled by the
  next sweep that lists the record clean (`settle_listed_clean`), or, when its hold ends with
  nothing after the echo, is settled as done by housekeeping (`end_arrived_holds`): exactly the
  one event our write causes came, so there is nothing to read;
- version > 0: an event past the echo (a user's edit after our write): due at once, as any row.
A row still at -1 when its hold ends (the echo was lost) is due and read once like any other.
We count events rather than compare DATE_MODIFY because a portal's clock and ours need not
agree, and events carry no modification time. What counting cannot tell apart is a lost echo
followed by a user's edit: that edit then passes for the echo, and the reconciliation sweep,
the net for every lost delivery (bitrix24-protocol.md §2), lists and fixes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import case, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.db import is_postgres, rowcount, utcnow
from namecase.queue.models import InboxItem, QueuedRecord


async def hold_after_write(
    session: AsyncSession, records: Sequence[QueuedRecord], until: dt.datetime, now: dt.datetime
) -> int:
    """Hold the rows of records we just wrote until `until`; returns how many were held.

    A row still at the version we read expects its echo (-1). A row one event past it has either
    had its echo already or a user's edit with the echo still to come: either way one more event
    means something beyond our echo, so it becomes 0. Rows further ahead stay due.
    """
    seen = {record.id: record.version for record in records}
    candidates = [(i, v) for i, v in seen.items()] + [(i, v + 1) for i, v in seen.items()]
    result = await session.execute(
        update(InboxItem)
        .where(tuple_(InboxItem.id, InboxItem.version).in_(candidates))
        .values(
            version=InboxItem.version - case(seen, value=InboxItem.id) - 1,
            attempts=0,
            last_error=None,
            next_attempt_at=until,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def settle_listed_clean(
    session: AsyncSession, member_id: str, entity_type: str, entity_ids: Sequence[int]
) -> int:
    """A sweep listed these records and found nothing to fix: their arrived echoes are done.

    Only rows at version 0 (echo arrived, nothing after it): an event that arrives after the
    listing bumps the row past 0 first, or finds it done and starts a new row.
    """
    if not entity_ids:
        return 0
    held = (
        InboxItem.member_id == member_id,
        InboxItem.entity_type == entity_type,
        InboxItem.entity_id.in_(entity_ids),
        InboxItem.state == "pending",
        InboxItem.version == 0,
    )
    if is_postgres(session):  # in key order, as the /events insert locks rows
        await session.execute(
            select(InboxItem.id).where(*held).order_by(InboxItem.entity_id).with_for_update()
        )
    result = await session.execute(
        update(InboxItem)
        .where(*held)
        .values(state="done", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def end_arrived_holds(session: AsyncSession, now: dt.datetime, limit: int = 5000) -> int:
    """Settle as done the arrived echoes whose hold is over (fleet-wide, housekeeping).

    Locked in key order and skipping rows another transaction holds (an event bumping one now
    wins: the row is then work, not an echo), so it never waits on /events or a unit.
    """
    candidates = (
        select(InboxItem.id)
        .where(
            InboxItem.state == "pending",
            InboxItem.version == 0,
            InboxItem.next_attempt_at <= now,
        )
        .order_by(InboxItem.member_id, InboxItem.entity_type, InboxItem.entity_id)
        .limit(limit)
    )
    if is_postgres(session):
        candidates = candidates.with_for_update(skip_locked=True)
    ids = [int(row_id) for row_id in (await session.execute(candidates)).scalars()]
    if not ids:
        return 0
    result = await session.execute(
        update(InboxItem)
        .where(InboxItem.id.in_(ids), InboxItem.version == 0, InboxItem.state == "pending")
        .values(state="done", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
