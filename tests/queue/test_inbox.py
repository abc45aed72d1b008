"""Enqueueing, coalescing, settling and echo holds, driven directly on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from namecase.db import utcnow
from namecase.queue import Enqueued, echoes, enqueue, inbox, leases
from namecase.queue.inbox import Failure, Outcome
from namecase.queue.models import InboxItem, QueuedRecord
from namecase.queue.writer import InboxWriter

Sessions = async_sessionmaker[AsyncSession]
HOLD = dt.timedelta(minutes=5)


async def _add(sessions: Sessions, *items: Enqueued) -> None:
    async with sessions() as session, session.begin():
        await enqueue(session, items)


async def _batch(sessions: Sessions, member_id: str = "p1") -> list[QueuedRecord]:
    async with sessions() as session:
        return await inbox.next_batch(session, member_id, 50)


async def _settle(sessions: Sessions, outcome: Outcome, *, max_attempts: int = 8) -> int:
    async with sessions() as session, session.begin():
        return await inbox.settle(session, outcome, max_attempts=max_attempts, echo_hold=HOLD)


async def _rows(sessions: Sessions) -> list[InboxItem]:
    async with sessions() as session:
        statement = select(InboxItem).order_by(InboxItem.id)
        return list((await session.execute(statement)).scalars().all())


async def _counts(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        return await inbox.counts(session)


def contact(entity_id: int, source: str = "event") -> Enqueued:
    return Enqueued("p1", "contact", entity_id, source)


async def test_a_burst_of_events_for_one_record_is_one_row_counting_them(
    sessions: Sessions,
) -> None:
    await _add(sessions, contact(5), contact(5), contact(6))
    await _add(sessions, contact(5))

    rows = await _rows(sessions)

    assert [(r.entity_id, r.version, r.state) for r in rows] == [
        (5, 3, "pending"),
        (6, 1, "pending"),
    ]


async def test_the_group_writer_coalesces_exactly_like_the_orm_path(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    writer = InboxWriter(sessions, window=dt.timedelta(0))
    for item in (contact(5), contact(5), contact(6)):
        await writer.write(item)
    await _add(sessions, contact(5))

    rows = await _rows(sessions)

    assert [(r.entity_id, r.version) for r in rows] == [(5, 3), (6, 1)]
    async with sessions() as session:
        queue = await leases.queue_of(session, "p1")
    assert queue is not None and queue.wakeups >= 2


async def test_a_record_bumped_after_the_read_stays_pending(sessions: Sessions) -> None:
    await _add(sessions, contact(1), contact(2))
    batch = await _batch(sessions)
    await _add(sessions, contact(2))  # a user edits record 2 while we work

    settled = await _settle(sessions, Outcome(done=batch))

    assert settled == 1
    assert [(r.entity_id, r.state) for r in await _rows(sessions)] == [
        (1, "done"),
        (2, "pending"),
    ]


async def test_a_failed_record_retries_at_its_time_then_goes_dead(sessions: Sessions) -> None:
    await _add(sessions, contact(1))
    retry_at = utcnow() + dt.timedelta(seconds=40)
    (record,) = await _batch(sessions)

    await _settle(sessions, Outcome(failed=[Failure(record, "HTTP 500", retry_at)]))
    (row,) = await _rows(sessions)
    async with sessions() as session:
        due = await inbox.next_due_at(session, "p1")
        not_yet = await inbox.next_batch(session, "p1", 50)
        later = await inbox.next_batch(session, "p1", 50, now=retry_at)
    await _settle(
        sessions, Outcome(failed=[Failure(later[0], "HTTP 500", retry_at)]), max_attempts=2
    )

    assert (row.state, row.attempts, row.last_error, row.next_attempt_at) == (
        "pending",
        1,
        "HTTP 500",
        retry_at,
    )
    assert due == retry_at  # the portal is due again when its record is, not an hour later
    assert not_yet == []
    assert [(r.state, r.attempts) for r in await _rows(sessions)] == [("dead", 2)]


async def test_a_written_record_is_held_for_its_echo_which_does_not_make_it_due(
    sessions: Sessions,
) -> None:
    await _add(sessions, contact(1))
    batch = await _batch(sessions)
    assert await _settle(sessions, Outcome(written=batch)) == 1
    held = await _counts(sessions)

    await _add(sessions, contact(1))  # the echo of our own update

    (row,) = await _rows(sessions)
    assert held == {"held": 1}
    assert (row.state, row.version, row.source) == ("pending", 0, "event")
    assert row.next_attempt_at > utcnow() + HOLD - dt.timedelta(minutes=1)
    assert await _batch(sessions) == []  # never read on its own
    assert await _counts(sessions) == {"held": 1}


async def test_an_event_past_the_echo_makes_the_record_due_at_once(sessions: Sessions) -> None:
    await _add(sessions, contact(1))
    await _settle(sessions, Outcome(written=await _batch(sessions)))

    await _add(sessions, contact(1))  # our echo
    await _add(sessions, contact(1))  # a user edits the record after our write

    (record,) = await _batch(sessions)
    assert (record.entity_id, record.version) == (1, 1)
    assert await _counts(sessions) == {"pending": 1}


async def test_an_echo_that_arrived_before_the_settle_is_counted_as_the_echo(
    sessions: Sessions,
) -> None:
    await _add(sessions, contact(1))
    batch = await _batch(sessions)
    await _add(sessions, contact(1))  # our update's echo overtakes our commit

    await _settle(sessions, Outcome(written=batch))
    echo_held = await _batch(sessions)
    await _add(sessions, contact(1))  # anything more is somebody else's change

    assert echo_held == []
    assert [r.entity_id for r in await _batch(sessions)] == [1]


async def test_a_record_two_events_ahead_of_the_write_stays_due(sessions: Sessions) -> None:
    await _add(sessions, contact(1))
    batch = await _batch(sessions)
    await _add(sessions, contact(1), contact(1))  # echo and a user's edit, both before settle

    assert await _settle(sessions, Outcome(written=batch)) == 0
    assert [r.entity_id for r in await _batch(sessions)] == [1]


async def test_arrived_echoes_ride_along_with_a_read_of_the_same_type_only(
    sessions: Sessions,
) -> None:
    await _add(sessions, contact(1), contact(2), Enqueued("p1", "lead", 3))
    await _settle(sessions, Outcome(written=await _batch(sessions)))
    await _add(sessions, contact(1), Enqueued("p1", "lead", 3))  # echoes of 1 and 3 arrive
    # record 2's echo has not arrived yet: it must wait for it, not be read

    await _add(sessions, contact(9))  # new work of the portal

    batch = await _batch(sessions)
    assert sorted((r.entity_type, r.entity_id) for r in batch) == [
        ("contact", 1),
        ("contact", 9),
    ]


async def test_a_sweep_or_backfill_finding_work_ends_a_hold(sessions: Sessions) -> None:
    await _add(sessions, contact(1))
    await _settle(sessions, Outcome(written=await _batch(sessions)))

    await _add(sessions, contact(1, source="reconcile"))  # listed and found to need work

    assert [r.entity_id for r in await _batch(sessions)] == [1]


async def test_a_hold_nobody_settles_ends_at_its_time(sessions: Sessions) -> None:
    await _add(sessions, contact(1))
    await _settle(sessions, Outcome(written=await _batch(sessions)))

    async with sessions() as session:
        later = await inbox.next_batch(session, "p1", 50, now=utcnow() + HOLD * 2)

    assert [r.entity_id for r in later] == [1]


async def test_replay_revives_dead_records_as_fresh_pending_ones(sessions: Sessions) -> None:
    await _add(sessions, contact(1), contact(2))
    retry_at = utcnow()
    failures = [Failure(r, "boom", retry_at) for r in await _batch(sessions)]
    await _settle(sessions, Outcome(failed=failures), max_attempts=1)

    async with sessions() as session, session.begin():
        revived = await inbox.replay_dead(session, "p1", ())

    assert revived == 2
    assert await _counts(sessions) == {"done": 2, "pending": 2}
    assert {r.entity_id for r in await _batch(sessions)} == {1, 2}


async def test_settling_a_thousand_records_is_a_few_statements_not_a_thousand(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    await _add(sessions, *(contact(i) for i in range(1000)))
    async with sessions() as session:
        records = await inbox.next_batch(session, "p1", 1000)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        half = len(records) // 2
        await _settle(sessions, Outcome(done=records[:half], written=records[half:]))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert len(statements) <= 3  # lock in key order (PostgreSQL), done, held
    assert await _counts(sessions) == {"done": 500, "held": 500}


async def test_an_arrived_echo_whose_hold_ends_is_settled_without_a_read(
    sessions: Sessions,
) -> None:
    await _add(sessions, contact(1))
    await _settle(sessions, Outcome(written=await _batch(sessions)))
    await _add(sessions, contact(1))  # our echo
    later = utcnow() + HOLD * 2

    async with sessions() as session:
        read = await inbox.next_batch(session, "p1", 50, now=later)
        due = await inbox.next_due_at(session, "p1")
    async with sessions() as session, session.begin():
        ended = await echoes.end_arrived_holds(session, later)

    assert read == [] and due is None  # exactly the one event our write causes: nothing to do
    assert ended == 1
    assert await _counts(sessions) == {"done": 1}


async def test_the_echo_of_our_write_wakes_nobody_on_the_events_path(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    writer = InboxWriter(sessions, window=dt.timedelta(0))
    await writer.write(contact(1))
    await _settle(sessions, Outcome(written=await _batch(sessions)))
    async with sessions() as session:
        before = await leases.queue_of(session, "p1")

    await writer.write(contact(1))  # the echo
    await writer.write(contact(2))  # new work of another record

    async with sessions() as session:
        after = await leases.queue_of(session, "p1")
    assert before is not None and after is not None
    woken = after.wakeups - before.wakeups
    postgres = engine.dialect.name == "postgresql"
    # PostgreSQL's group insert wakes the portal only for rows that are due (record 2), SQLite's
    # single process for every enqueue (an empty unit at worst, never a REST call).
    assert woken == (1 if postgres else 2)
