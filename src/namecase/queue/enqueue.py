"""Putting records in the inbox: one definition of coalescing and of when a portal becomes due.

Three paths share the SQL below: the ORM session (the worker's sweeps and backfills, replay), and
the raw group inserts of /events on asyncpg and aiosqlite, which skip SQLAlchemy's per-row work
because acknowledging an event is the hot path (bench/ingest.py).

Coalescing: while a record has a pending row, another enqueue of it only bumps the row's version
(one per event), so a burst of 20 edits is one row and a worker holding version N sees that it
changed. A row held for the echo of our own write (version <= 0, see `queue.echoes`) takes its
echo without becoming due; an event past the echo, or an enqueue that is not an event (a sweep,
a backfill or a replay found the record needs work), makes it due at once.

Due time: the record's row is due at once; its portal is due `window` later (one due sooner keeps
its place), so the rest of a burst joins the same batch, and its `wakeups` is bumped, which is
how a worker releasing the portal learns of work it could not see. On PostgreSQL (the /events
group insert) a portal is woken only for rows that are due after the insert: the echo of our own
write, taken by a held row, wakes nobody. The ORM path and SQLite's single process wake the
portal for every enqueue; a wakeup with nothing due costs one empty unit, never a REST call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.db import UTCDateTime, is_postgres, utcnow


@dataclass(frozen=True)
class Enqueued:
    """One record to (re)normalize, and why: an `event`, or `reconcile`, `backfill`, `replay`."""

    member_id: str
    entity_type: str
    entity_id: int
    source: str = "event"


_COLUMNS = (
    "member_id, entity_type, entity_id, source, state, version, attempts, "
    "next_attempt_at, received_at, updated_at"
)
# The version after the conflict: events add up; anything else first ends an echo hold.
_NEW_VERSION = (
    "(CASE WHEN excluded.source <> 'event' AND inbox.version < 0 THEN 0 ELSE inbox.version END"
    " + excluded.version)"
)
_ON_RECORD_CONFLICT = f"""
ON CONFLICT (member_id, entity_type, entity_id) WHERE state = 'pending'
DO UPDATE SET version = {_NEW_VERSION},
              updated_at = excluded.updated_at,
              next_attempt_at = CASE WHEN inbox.version <= 0 AND {_NEW_VERSION} > 0
                                     THEN excluded.next_attempt_at
                                     ELSE inbox.next_attempt_at END
"""


def _on_portal_conflict(least: str) -> str:
    return f"""
ON CONFLICT (member_id) DO UPDATE
SET due_at = {least}(portal_queue.due_at, excluded.due_at), wakeups = portal_queue.wakeups + 1
"""


# Named parameters: the ORM path (SQLAlchemy text) and sqlite3's executemany both take them.
# (The statements are assembled from the constant fragments above; every value is a parameter.)
_INBOX_UPSERT = f"""
INSERT INTO inbox ({_COLUMNS})
VALUES (:member_id, :entity_type, :entity_id, :source, 'pending', :version, 0, :now, :now, :now)
{_ON_RECORD_CONFLICT}
"""  # noqa: S608
_QUEUE_UPSERT = """
INSERT INTO portal_queue (member_id, due_at, bucket, failures, wakeups)
VALUES (:member_id, :due_at, '{{}}', 0, 1)
{conflict}
"""
_SQLITE_QUEUE_UPSERT = _QUEUE_UPSERT.format(conflict=_on_portal_conflict("min"))
_POSTGRES_QUEUE_UPSERT = _QUEUE_UPSERT.format(conflict=_on_portal_conflict("LEAST"))

# The /events group insert on PostgreSQL, one statement and one round trip for any group size:
# the rows come as arrays, are inserted in key order (the order every writer of the inbox locks
# rows in), and only then (DISTINCT reads them all) are their portals made due.
_POSTGRES_GROUP_INSERT = f"""
WITH incoming AS (
    SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::bigint[], $4::varchar[], $5::int[])
        WITH ORDINALITY AS t(member_id, entity_type, entity_id, source, version, position)
), queued AS (
    INSERT INTO inbox ({_COLUMNS})
    SELECT member_id, entity_type, entity_id, source, 'pending', version, 0, $6, $6, $6
    FROM incoming ORDER BY position
    {_ON_RECORD_CONFLICT}
    RETURNING member_id, next_attempt_at
)
INSERT INTO portal_queue (member_id, due_at, bucket, failures, wakeups)
SELECT member_id, $7::timestamptz, '{{}}'::json, 0, 1
FROM (SELECT DISTINCT member_id FROM queued WHERE next_attempt_at <= $6) AS due
ORDER BY member_id
{_on_portal_conflict("LEAST")}
"""  # noqa: S608


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


def _record_rows(items: Iterable[Enqueued]) -> list[dict[str, Any]]:
    return [
        {
            "member_id": key[0],
            "entity_type": key[1],
            "entity_id": key[2],
            "source": source,
            "version": count,
        }
        for key, source, count in fold_repeats(items)
    ]


def _portal_rows(rows: list[dict[str, Any]], due_at: Any) -> list[dict[str, Any]]:
    members = sorted({str(row["member_id"]) for row in rows})
    return [{"member_id": member, "due_at": due_at} for member in members]


async def enqueue(
    session: AsyncSession,
    items: Iterable[Enqueued],
    *,
    now: dt.datetime | None = None,
    window: dt.timedelta = dt.timedelta(0),
) -> None:
    """Enqueue records in the session's transaction (the caller commits)."""
    rows = _record_rows(items)
    if not rows:
        return
    now = now or utcnow()
    inbox = text(_INBOX_UPSERT).bindparams(bindparam("now", type_=UTCDateTime))
    await session.execute(inbox, [{**row, "now": now} for row in rows])
    queue_sql = _POSTGRES_QUEUE_UPSERT if is_postgres(session) else _SQLITE_QUEUE_UPSERT
    queue = text(queue_sql).bindparams(bindparam("due_at", type_=UTCDateTime))
    await session.execute(queue, _portal_rows(rows, now + window))


async def enqueue_on_postgres(
    connection: Any, items: Iterable[Enqueued], now: dt.datetime, window: dt.timedelta
) -> None:
    """`enqueue` for the /events hot path, on a raw asyncpg connection (autocommitted)."""
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


def _sqlite_time(moment: dt.datetime) -> str:
    # Exactly as SQLAlchemy writes UTCDateTime on SQLite (naive UTC text, microseconds), so the
    # rows compare with those the ORM writes.
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def enqueue_on_sqlite(
    connection: Any, items: Iterable[Enqueued], now: dt.datetime, window: dt.timedelta
) -> None:
    """`enqueue` for the /events hot path, on a raw aiosqlite connection (committed here)."""
    rows = _record_rows(items)
    if not rows:
        return
    stamp = _sqlite_time(now)
    await connection.executemany(_INBOX_UPSERT, [{**row, "now": stamp} for row in rows])
    await connection.executemany(
        _SQLITE_QUEUE_UPSERT, _portal_rows(rows, _sqlite_time(now + window))
    )
    await connection.commit()
