"""Reading and settling the inbox: a portal's next batch, its outcome, replay, counts, pruning.

Every query is scoped to one portal (DESIGN.md §6) except the fleet-wide housekeeping.
Settling is one statement per batch and outcome (done, written, failed), taken in record-key
order on PostgreSQL: the /events group insert locks rows in that order, any other can deadlock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.db import aware, is_postgres, rowcount, utcnow
from namecase.queue.echoes import hold_after_write
from namecase.queue.enqueue import Enqueued, enqueue
from namecase.queue.models import InboxItem, QueuedRecord


@dataclass(frozen=True)
class Failure:
    """A record whose attempt failed, with when to try it again."""

    record: QueuedRecord
    error: str
    retry_at: dt.datetime


@dataclass
class Outcome:
    """What became of a batch: nothing more to do, written by us, or failed."""

    done: list[QueuedRecord] = field(default_factory=list)
    written: list[QueuedRecord] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)


_COLUMNS = (
    InboxItem.id,
    InboxItem.entity_type,
    InboxItem.entity_id,
    InboxItem.version,
    InboxItem.attempts,
    InboxItem.received_at,
)
_PENDING = InboxItem.state == "pending"
# Work to schedule: pending rows but the arrived echoes of our writes (version 0), which are never
# read on their own; they ride along, are settled by a sweep, or end as done (queue.echoes).
_WORK = and_(_PENDING, InboxItem.version != 0)


def _records(rows: Sequence[Any]) -> list[QueuedRecord]:
    return [QueuedRecord(*row) for row in rows]


async def next_batch(
    session: AsyncSession, member_id: str, limit: int, now: dt.datetime | None = None
) -> list[QueuedRecord]:
    """The portal's oldest due records, plus held echoes that can ride along in the same read.

    A held row whose echo arrived (version 0) is never read on its own; when the portal reads
    records of the same type anyway, it joins that read for free (one list request holds 50).
    """
    now = now or utcnow()
    due_rows = await session.execute(
        select(*_COLUMNS)
        .where(InboxItem.member_id == member_id, _WORK, InboxItem.next_attempt_at <= now)
        .order_by(InboxItem.next_attempt_at, InboxItem.id)
        .limit(limit)
    )
    due = _records(due_rows.all())
    room = limit - len(due)
    if not due or room <= 0:
        return due
    echoes = await session.execute(
        select(*_COLUMNS)
        .where(
            InboxItem.member_id == member_id,
            _PENDING,
            InboxItem.version == 0,
            InboxItem.entity_type.in_({record.entity_type for record in due}),
        )
        .order_by(InboxItem.next_attempt_at)
        .limit(room)
    )
    return due + _records(echoes.all())


async def settle(
    session: AsyncSession,
    outcome: Outcome,
    *,
    max_attempts: int,
    echo_hold: dt.timedelta,
    now: dt.datetime | None = None,
) -> int:
    """Record a batch's outcome; returns how many records were settled as done or written.

    Only the versions that were read are settled: a record an event bumped meanwhile stays
    pending for another pass. A written record's row is held for the echo of our write (see
    `queue.echoes`) instead of being marked done.
    """
    now = now or utcnow()
    everything = [*outcome.done, *outcome.written, *(f.record for f in outcome.failed)]
    if not everything:
        return 0
    if is_postgres(session):
        await _lock_in_key_order(session, [record.id for record in everything])
    settled = 0
    if outcome.done:
        settled += await _settle_done(session, outcome.done, now)
    if outcome.written:
        settled += await hold_after_write(session, outcome.written, now + echo_hold, now)
    if outcome.failed:
        await _settle_failed(session, outcome.failed, max_attempts, now)
    return settled


async def _lock_in_key_order(session: AsyncSession, ids: Sequence[int]) -> None:
    await session.execute(
        select(InboxItem.id)
        .where(InboxItem.id.in_(ids))
        .order_by(InboxItem.entity_type, InboxItem.entity_id)
        .with_for_update()
    )


def _read_versions(records: Sequence[QueuedRecord]) -> ColumnElement[bool]:
    return tuple_(InboxItem.id, InboxItem.version).in_([(r.id, r.version) for r in records])


async def _settle_done(
    session: AsyncSession,
    records: Sequence[QueuedRecord],
    now: dt.datetime,
    note: str | None = None,
) -> int:
    result = await session.execute(
        update(InboxItem)
        .where(_read_versions(records))
        .values(state="done", updated_at=now, last_error=note)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def _settle_failed(
    session: AsyncSession, failures: Sequence[Failure], max_attempts: int, now: dt.datetime
) -> None:
    # Only the version we tried: a newer event for the record deserves a fresh attempt.
    errors = {f.record.id: f.error[:1000] for f in failures}
    retries = {f.record.id: f.retry_at for f in failures}
    await session.execute(
        update(InboxItem)
        .where(_read_versions([f.record for f in failures]))
        .values(
            attempts=InboxItem.attempts + 1,
            state=case((InboxItem.attempts + 1 >= max_attempts, "dead"), else_="pending"),
            last_error=case(errors, value=InboxItem.id),
            next_attempt_at=case(retries, value=InboxItem.id),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


async def versions(session: AsyncSession, ids: Sequence[int]) -> dict[int, int]:
    """The current version of each given row that is still pending."""
    if not ids:
        return {}
    statement = select(InboxItem.id, InboxItem.version).where(InboxItem.id.in_(ids), _PENDING)
    return {int(i): int(v) for i, v in await session.execute(statement)}


async def count_due(session: AsyncSession, member_id: str, now: dt.datetime, limit: int) -> int:
    """How many records are due now, counting no further than `limit`."""
    due = (
        select(InboxItem.id)
        .where(InboxItem.member_id == member_id, _WORK, InboxItem.next_attempt_at <= now)
        .limit(limit)
        .subquery()
    )
    return int((await session.execute(select(func.count()).select_from(due))).scalar_one())


async def next_due_at(session: AsyncSession, member_id: str) -> dt.datetime | None:
    """When the portal's earliest pending work becomes due (None: nothing to do)."""
    statement = select(func.min(InboxItem.next_attempt_at)).where(
        InboxItem.member_id == member_id, _WORK
    )
    return aware((await session.execute(statement)).scalar_one_or_none())


async def end_pending(session: AsyncSession, member_id: str, *, state: str, reason: str) -> int:
    """End every pending row of the portal as `done` (skipped) or `dead`, noting `reason`."""
    result = await session.execute(
        update(InboxItem)
        .where(InboxItem.member_id == member_id, _PENDING)
        .values(state=state, last_error=reason, updated_at=utcnow())
    )
    return rowcount(result)


async def skip(session: AsyncSession, records: Sequence[QueuedRecord], reason: str) -> None:
    """Settle records as done without work (e.g. an entity type switched off meanwhile)."""
    if records:
        await _settle_done(session, records, utcnow(), note=reason)


async def replay_dead(session: AsyncSession, member_id: str, ids: Sequence[int] = ()) -> int:
    """Give dead rows another chance (admin): each becomes a fresh pending record."""
    conditions = [InboxItem.member_id == member_id, InboxItem.state == "dead"]
    if ids:
        conditions.append(InboxItem.id.in_(ids))
    dead = (
        await session.execute(
            select(InboxItem.id, InboxItem.entity_type, InboxItem.entity_id).where(
                and_(*conditions)
            )
        )
    ).all()
    if not dead:
        return 0
    await session.execute(
        update(InboxItem)
        .where(InboxItem.id.in_([row.id for row in dead]))
        .values(state="done", updated_at=utcnow())
    )
    await enqueue(
        session, [Enqueued(member_id, row.entity_type, row.entity_id, "replay") for row in dead]
    )
    return len(dead)


def state_seen_by_people(now: dt.datetime) -> Any:
    """A row's state as counts show it: `pending` (work to do), `held` (our write's echo, see
    queue.echoes: arrived, or still expected within its hold), `done` or `dead`. A row still
    waiting for its echo when the hold runs out is due, so pending."""
    waiting = and_(InboxItem.version < 0, InboxItem.next_attempt_at > now)
    held = and_(_PENDING, or_(InboxItem.version == 0, waiting))
    return case((held, "held"), else_=InboxItem.state)


async def counts(session: AsyncSession, member_id: str | None = None) -> dict[str, int]:
    """Rows by state as people see them (`state_seen_by_people`): pending, held, done, dead."""
    state = state_seen_by_people(utcnow()).label("state")
    statement = select(state, func.count()).group_by(state)
    if member_id is not None:
        statement = statement.where(InboxItem.member_id == member_id)
    return {str(name): int(count) for name, count in await session.execute(statement)}


async def prune_done(session: AsyncSession, older_than: dt.datetime) -> int:
    """Delete done rows of every portal last touched before `older_than`."""
    result = await session.execute(
        delete(InboxItem).where(InboxItem.state == "done", InboxItem.updated_at < older_than)
    )
    return rowcount(result)
