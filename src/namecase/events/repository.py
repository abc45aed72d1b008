"""All SQL of the inbox, the durable queue between /events and the worker.

The events package owns the inbox; the pipeline consumes it through this repository (the
dependency points one way: pipeline → events).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.db import utcnow
from namecase.events.models import InboxItem
from namecase.pipeline.models import PortalQueue

_PENDING = text("state = 'pending'")


@dataclass(frozen=True)
class Enqueued:
    """One record to (re)normalize."""

    member_id: str
    entity_type: str
    entity_id: int
    source: str = "event"


def _insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT … ON CONFLICT construct (PostgreSQL and SQLite both have one)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# The /events group insert on PostgreSQL, one statement and one round trip for any group size:
# the rows come as arrays, are inserted in key order (the order every writer of the inbox locks
# rows in), and only then (DISTINCT reads them all) are their portals made due.
_POSTGRES_GROUP_INSERT = """
WITH incoming AS (
    SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::bigint[], $4::varchar[], $5::int[])
        WITH ORDINALITY AS t(member_id, entity_type, entity_id, source, version, position)
), queued AS (
    INSERT INTO inbox (member_id, entity_type, entity_id, source, state, version, attempts,
                       next_attempt_at, received_at, updated_at)
    SELECT member_id, entity_type, entity_id, source, 'pending', version, 0, $6, $6, $6
    FROM incoming ORDER BY position
    ON CONFLICT (member_id, entity_type, entity_id) WHERE state = 'pending'
    DO UPDATE SET version = inbox.version + excluded.version, updated_at = excluded.updated_at
    RETURNING member_id
)
INSERT INTO portal_queue (member_id, due_at, bucket, failures, wakeups)
SELECT member_id, $7::timestamptz, '{}'::json, 0, 1
FROM (SELECT DISTINCT member_id FROM queued) AS due ORDER BY member_id
ON CONFLICT (member_id) DO UPDATE
SET due_at = LEAST(portal_queue.due_at, excluded.due_at), wakeups = portal_queue.wakeups + 1
"""


def fold_repeats(items: Iterable[Enqueued]) -> list[tuple[tuple[str, str, int], str, int]]:
    """(record key, source, repeats) per record, sorted by key.

    One INSERT may not touch a row twice, so repeats of a record become one row whose version
    counts them; sorted keys make concurrent writers lock rows in the same order (no deadlock).
    """
    repeats: dict[tuple[str, str, int], int] = {}
    sources: dict[tuple[str, str, int], str] = {}
    for item in items:
        key = (item.member_id, item.entity_type, item.entity_id)
        repeats[key] = repeats.get(key, 0) + 1
        sources.setdefault(key, item.source)
    return [(key, sources[key], count) for key, count in sorted(repeats.items())]


async def enqueue_on_postgres(
    connection: Any, items: Iterable[Enqueued], now: dt.datetime, window: dt.timedelta
) -> None:
    """`InboxRepository.enqueue` for the /events hot path, on a raw asyncpg connection.

    Same rows, same coalescing and the same due times, in one autocommitted statement: no ORM,
    no per-row parameter processing, one round trip however many events the group holds.
    """
    rows = fold_repeats(items)
    if not rows:
        return
    await connection.execute(
        _POSTGRES_GROUP_INSERT,
        [key[0] for key, _, _ in rows],
        [key[1] for key, _, _ in rows],
        [key[2] for key, _, _ in rows],
        [source for _, source, _ in rows],
        [count for _, _, count in rows],
        now,
        now + window,
    )


# The same group insert on SQLite, through the aiosqlite connection: two statements and a commit
# (three hops to its thread) instead of the ORM's. Timestamps are written exactly as SQLAlchemy
# writes UTCDateTime on SQLite (naive UTC text, microseconds), so they compare as before.
_SQLITE_INBOX_INSERT = """
INSERT INTO inbox (member_id, entity_type, entity_id, source, state, version, attempts,
                   next_attempt_at, received_at, updated_at)
VALUES (?, ?, ?, ?, 'pending', ?, 0, ?, ?, ?)
ON CONFLICT (member_id, entity_type, entity_id) WHERE state = 'pending'
DO UPDATE SET version = inbox.version + excluded.version, updated_at = excluded.updated_at
"""
_SQLITE_QUEUE_UPSERT = """
INSERT INTO portal_queue (member_id, due_at, bucket, failures, wakeups)
VALUES (?, ?, '{}', 0, 1)
ON CONFLICT (member_id) DO UPDATE
SET due_at = min(portal_queue.due_at, excluded.due_at), wakeups = portal_queue.wakeups + 1
"""


def _sqlite_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def enqueue_on_sqlite(
    connection: Any, items: Iterable[Enqueued], now: dt.datetime, window: dt.timedelta
) -> None:
    """`InboxRepository.enqueue` for the /events hot path, on a raw aiosqlite connection."""
    rows = fold_repeats(items)
    if not rows:
        return
    stamp = _sqlite_time(now)
    await connection.executemany(
        _SQLITE_INBOX_INSERT,
        [(*key, source, count, stamp, stamp, stamp) for key, source, count in rows],
    )
    due = _sqlite_time(now + window)
    members = sorted({key[0] for key, _, _ in rows})
    await connection.executemany(_SQLITE_QUEUE_UPSERT, [(member, due) for member in members])
    await connection.commit()


class InboxRepository:
    """Enqueue, read and settle inbox items; every query is scoped to one portal."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(
        self,
        items: Iterable[Enqueued],
        now: dt.datetime | None = None,
        *,
        window: dt.timedelta = dt.timedelta(0),
    ) -> None:
        """Insert pending items; one already pending for the same record is bumped instead.

        The bump (version + 1) is what keeps a burst lossless: a worker holding version N of the
        row will see that it changed and leave it pending for another pass. An idle portal
        becomes due after `window`, so the rest of a burst joins the same batch.
        """
        now = now or utcnow()
        rows: list[dict[str, Any]] = [
            {
                "member_id": key[0],
                "entity_type": key[1],
                "entity_id": key[2],
                "source": source,
                "state": "pending",
                "version": count,
                "attempts": 0,
                "next_attempt_at": now,
                "received_at": now,
                "updated_at": now,
            }
            for key, source, count in fold_repeats(items)
        ]
        if not rows:
            return
        # Core statements with the values as executemany parameters: compiled once, cached,
        # and sent in one round trip (this is the hot path of /events).
        connection = await self.session.connection()
        insert = _insert_for(self.session)
        statement = insert(InboxItem)
        statement = statement.on_conflict_do_update(
            index_elements=["member_id", "entity_type", "entity_id"],
            index_where=_PENDING,
            set_={
                "version": InboxItem.version + statement.excluded.version,
                "updated_at": statement.excluded.updated_at,
            },
        )
        await connection.execute(statement, rows)
        due_at = now + window
        queue_rows = [
            {"member_id": member_id, "due_at": due_at, "bucket": {}, "failures": 0}
            for member_id in sorted({str(row["member_id"]) for row in rows})
        ]
        await self._mark_due(queue_rows)

    async def _mark_due(self, queue_rows: list[dict[str, Any]]) -> None:
        """Make the portals due by `due_at` (one due sooner keeps its place) and count a wakeup.

        The wakeup count is how a worker releasing the portal learns of work it could not see
        (see QueueRepository.release): the count is a write, so it cannot be missed.
        """
        connection = await self.session.connection()
        statement = _insert_for(self.session)(PortalQueue)
        earliest = func.least if self.session.get_bind().dialect.name == "postgresql" else func.min
        statement = statement.on_conflict_do_update(
            index_elements=["member_id"],
            set_={
                "due_at": earliest(PortalQueue.due_at, statement.excluded.due_at),
                "wakeups": PortalQueue.wakeups + 1,
            },
        )
        await connection.execute(statement, [{**row, "wakeups": 1} for row in queue_rows])

    async def due_items(
        self, member_id: str, limit: int, now: dt.datetime | None = None
    ) -> Sequence[InboxItem]:
        """The oldest pending items of a portal whose retry time has come."""
        statement = (
            select(InboxItem)
            .where(
                InboxItem.member_id == member_id,
                InboxItem.state == "pending",
                InboxItem.next_attempt_at <= (now or utcnow()),
            )
            .order_by(InboxItem.next_attempt_at, InboxItem.id)
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def settle_done(self, items: Sequence[InboxItem], now: dt.datetime | None = None) -> int:
        """Mark items done unless a newer event bumped them meanwhile; returns how many."""
        settled = 0
        for item in items:
            result = await self.session.execute(
                update(InboxItem)
                .where(InboxItem.id == item.id, InboxItem.version == item.version)
                .values(state="done", updated_at=now or utcnow(), last_error=None)
            )
            settled += int(getattr(result, "rowcount", 0) or 0)
        return settled

    async def settle_failed(
        self,
        item: InboxItem,
        error: str,
        *,
        retry_at: dt.datetime,
        max_attempts: int,
    ) -> str:
        """Count a failed attempt: retry later, or dead after max_attempts. Returns the state."""
        attempts = item.attempts + 1
        state = "dead" if attempts >= max_attempts else "pending"
        # Only the version we tried: a newer event for the record deserves a fresh attempt.
        await self.session.execute(
            update(InboxItem)
            .where(InboxItem.id == item.id, InboxItem.version == item.version)
            .values(
                attempts=attempts,
                state=state,
                last_error=error[:1000],
                next_attempt_at=retry_at,
                updated_at=utcnow(),
            )
        )
        return state

    async def count_due(self, member_id: str, now: dt.datetime, limit: int) -> int:
        """How many pending items are due now, counting no further than `limit`."""
        due = (
            select(InboxItem.id)
            .where(
                InboxItem.member_id == member_id,
                InboxItem.state == "pending",
                InboxItem.next_attempt_at <= now,
            )
            .limit(limit)
            .subquery()
        )
        return int((await self.session.execute(select(func.count()).select_from(due))).scalar_one())

    async def next_due_at(self, member_id: str) -> dt.datetime | None:
        """When the portal's earliest pending item becomes due (None: nothing pending)."""
        statement = select(func.min(InboxItem.next_attempt_at)).where(
            InboxItem.member_id == member_id, InboxItem.state == "pending"
        )
        value = (await self.session.execute(statement)).scalar_one_or_none()
        return _aware(value)

    async def versions(self, ids: Sequence[int]) -> dict[int, int]:
        """The current version of each given item that is still pending."""
        if not ids:
            return {}
        statement = select(InboxItem.id, InboxItem.version).where(
            InboxItem.id.in_(ids), InboxItem.state == "pending"
        )
        return {int(i): int(v) for i, v in await self.session.execute(statement)}

    async def give_up_pending(self, member_id: str, reason: str) -> int:
        """Mark every pending item of the portal dead with `reason`; returns how many."""
        return await self._end_pending(member_id, "dead", reason)

    async def skip_pending(self, member_id: str, reason: str) -> int:
        """Settle every pending item of the portal as done without work, noting `reason`."""
        return await self._end_pending(member_id, "done", reason)

    async def _end_pending(self, member_id: str, state: str, reason: str) -> int:
        result = await self.session.execute(
            update(InboxItem)
            .where(InboxItem.member_id == member_id, InboxItem.state == "pending")
            .values(state=state, last_error=reason, updated_at=utcnow())
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def replay_dead(self, member_id: str, ids: Sequence[int] | None = None) -> int:
        """Give dead items another chance (admin). Returns how many were revived."""
        conditions = [InboxItem.member_id == member_id, InboxItem.state == "dead"]
        if ids:
            conditions.append(InboxItem.id.in_(ids))
        revived = 0
        dead = (await self.session.execute(select(InboxItem).where(and_(*conditions)))).scalars()
        now = utcnow()
        for item in dead.all():
            await self.enqueue(
                [Enqueued(item.member_id, item.entity_type, item.entity_id, "replay")], now
            )
            await self.session.execute(
                update(InboxItem).where(InboxItem.id == item.id).values(state="done")
            )
            revived += 1
        return revived

    async def counts(self, member_id: str) -> dict[str, int]:
        statement = (
            select(InboxItem.state, func.count())
            .where(InboxItem.member_id == member_id)
            .group_by(InboxItem.state)
        )
        return {state: int(count) for state, count in await self.session.execute(statement)}

    async def prune_done(self, older_than: dt.datetime) -> int:
        result = await self.session.execute(
            delete(InboxItem).where(InboxItem.state == "done", InboxItem.updated_at < older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # Aggregates bypass the column type, so SQLite hands back a naive datetime (or a string).
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
