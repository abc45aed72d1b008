"""The lease/wakeup protocol, driven directly on PostgreSQL and SQLite (no emulator, no HTTP)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from namecase.db import utcnow
from namecase.queue import Enqueued, enqueue, leases
from namecase.queue.leases import Release
from namecase.queue.models import PortalQueue

LEASE = dt.timedelta(seconds=30)
Sessions = async_sessionmaker[AsyncSession]


async def _queue(sessions: Sessions, member_id: str) -> PortalQueue:
    async with sessions() as session:
        row = await leases.queue_of(session, member_id)
    assert row is not None
    return row


async def _claim(sessions: Sessions, owner: str) -> PortalQueue | None:
    async with sessions() as session, session.begin():
        return await leases.claim(session, owner, LEASE)


async def _release(sessions: Sessions, claimed: PortalQueue, owner: str, how: Release) -> bool:
    async with sessions() as session, session.begin():
        return await leases.release(session, claimed, owner, how)


async def test_a_due_portal_is_claimed_by_one_worker_only(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await leases.make_due(session, ["p1"])

    first = await _claim(sessions, "w1")
    second = await _claim(sessions, "w2")

    assert first is not None and first.member_id == "p1" and first.lease_owner == "w1"
    assert second is None


async def test_portals_are_claimed_in_due_order(sessions: Sessions) -> None:
    now = utcnow()
    async with sessions() as session, session.begin():
        await leases.make_due(session, ["late"], at=now - dt.timedelta(seconds=1))
        await leases.make_due(session, ["early"], at=now - dt.timedelta(seconds=5))

    order = [(await _claim(sessions, f"w{i}")) for i in range(2)]

    assert [claimed.member_id for claimed in order if claimed] == ["early", "late"]


async def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_renew(
    sessions: Sessions,
) -> None:
    async with sessions() as session, session.begin():
        await leases.make_due(session, ["p1"])
        await leases.claim(session, "dead-worker", dt.timedelta(seconds=-1))  # already expired

    taken = await _claim(sessions, "w2")
    async with sessions() as session, session.begin():
        renewed = await leases.renew(session, "p1", "dead-worker", LEASE)

    assert taken is not None and taken.lease_owner == "w2"
    assert renewed is False


async def test_release_schedules_the_portal_when_nothing_arrived_meanwhile(
    sessions: Sessions,
) -> None:
    async with sessions() as session, session.begin():
        await leases.make_due(session, ["p1"])
    claimed = await _claim(sessions, "w1")
    assert claimed is not None
    later = utcnow() + dt.timedelta(minutes=10)

    assert await _release(sessions, claimed, "w1", Release(due_at=later))

    row = await _queue(sessions, "p1")
    assert (row.lease_owner, row.due_at) == (None, later)


async def test_an_enqueue_during_the_lease_keeps_the_portal_due(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await leases.make_due(session, ["p1"])
    claimed = await _claim(sessions, "w1")
    assert claimed is not None
    async with sessions() as session, session.begin():  # /events, while the unit runs
        await enqueue(session, [Enqueued("p1", "contact", 7)])

    await _release(sessions, claimed, "w1", Release(due_at=utcnow() + dt.timedelta(hours=1)))

    assert (await _queue(sessions, "p1")).due_at <= utcnow()
    assert await _claim(sessions, "w2") is not None


async def test_a_release_by_a_worker_that_lost_the_lease_changes_nothing(
    sessions: Sessions,
) -> None:
    async with sessions() as session, session.begin():
        await leases.make_due(session, ["p1"])
        lost = await leases.claim(session, "w1", dt.timedelta(seconds=-1))
    assert lost is not None
    owner = await _claim(sessions, "w2")
    assert owner is not None

    released = await _release(sessions, lost, "w1", Release(due_at=utcnow()))

    assert released is False
    assert (await _queue(sessions, "p1")).lease_owner == "w2"


async def test_make_due_keeps_an_earlier_due_time_unless_it_ends_a_backoff(
    sessions: Sessions,
) -> None:
    now = utcnow()
    earlier, later = now - dt.timedelta(minutes=1), now + dt.timedelta(minutes=1)
    async with sessions() as session, session.begin():
        await leases.make_due(session, ["p1"], at=earlier)
        await leases.make_due(session, ["p1"], at=later)
    kept = await _queue(sessions, "p1")
    claimed = await _claim(sessions, "w1")
    assert claimed is not None
    backoff = Release(due_at=now, failures=3, not_before=now + dt.timedelta(minutes=5))
    await _release(sessions, claimed, "w1", backoff)

    async with sessions() as session, session.begin():  # a fresh install
        await leases.make_due(session, ["p1"], at=later, end_backoff=True)

    ended = await _queue(sessions, "p1")
    assert kept.due_at == earlier
    assert (ended.due_at, ended.not_before, ended.failures) == (later, None, 0)


async def test_a_worker_start_spreads_portals_over_the_span(sessions: Sessions) -> None:
    now = utcnow()
    members = [f"p{i:02}" for i in range(10)]
    async with sessions() as session, session.begin():
        await leases.make_due(session, members, at=now, spread=dt.timedelta(seconds=10))

    due = sorted([(await _queue(sessions, m)).due_at - now for m in members])

    assert due[0] == dt.timedelta(0)
    assert due[-1] == dt.timedelta(seconds=9)
    assert len(set(due)) == 10


async def test_forget_portal_removes_its_queue_rows_only(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await enqueue(session, [Enqueued("gone", "contact", 1), Enqueued("kept", "contact", 1)])
    async with sessions() as session, session.begin():
        await leases.forget_portal(session, "gone")

    async with sessions() as session:
        assert await leases.queue_of(session, "gone") is None
        assert await leases.queue_of(session, "kept") is not None
