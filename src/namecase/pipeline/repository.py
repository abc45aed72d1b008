"""All SQL of the worker: portal leases, the audit of changes, kept values, backfills, workers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.db import utcnow
from namecase.pipeline.models import Backfill, Change, KeptValue, PortalQueue, WorkerHeartbeat


class QueueRepository:
    """Leases on portals: at most one worker calls a portal at a time."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def claim(self, owner: str, lease: dt.timedelta) -> PortalQueue | None:
        """Take the lease of the portal that has waited longest for the worker, if any is due.

        PostgreSQL: FOR UPDATE SKIP LOCKED lets concurrent workers pick different rows without
        waiting. On both dialects the UPDATE re-checks the lease, so a claim is compare-and-set.
        """
        now = utcnow()
        available = and_(
            PortalQueue.due_at <= now,
            or_(PortalQueue.not_before.is_(None), PortalQueue.not_before <= now),
            or_(PortalQueue.lease_until.is_(None), PortalQueue.lease_until < now),
        )
        candidates = select(PortalQueue.member_id).where(available).order_by(PortalQueue.due_at)
        if self._postgres:
            candidates = candidates.limit(1).with_for_update(skip_locked=True)
        else:
            candidates = candidates.limit(8)
        for member_id in (await self.session.execute(candidates)).scalars().all():
            result = await self.session.execute(
                update(PortalQueue)
                .where(PortalQueue.member_id == member_id, available)
                .values(lease_owner=owner, lease_until=now + lease)
            )
            if getattr(result, "rowcount", 0):
                return await self.session.get(PortalQueue, member_id, populate_existing=True)
        return None

    async def renew(self, member_id: str, owner: str, lease: dt.timedelta) -> bool:
        """Extend our lease; False if we lost it (then stop working on the portal)."""
        result = await self.session.execute(
            update(PortalQueue)
            .where(PortalQueue.member_id == member_id, PortalQueue.lease_owner == owner)
            .values(lease_until=utcnow() + lease)
        )
        return bool(getattr(result, "rowcount", 0))

    async def release(
        self,
        member_id: str,
        owner: str,
        *,
        due_at: dt.datetime,
        not_before: dt.datetime | None,
        bucket: dict[str, float],
        failures: int,
        error: str | None,
        wakeups_seen: int,
        reconciled_at: dt.datetime | None = None,
    ) -> None:
        """Return the lease; the portal is next due at `due_at`, computed from what we saw.

        An event enqueued while we held the lease may not have been visible to the reads that
        computed `due_at`. It did bump `wakeups`, though, and the UPDATE compares it on the
        row's latest version: if it changed since the claim, the portal stays due now.
        """
        values: dict[str, object] = {
            "lease_owner": None,
            "lease_until": None,
            "due_at": case((PortalQueue.wakeups == wakeups_seen, due_at), else_=utcnow()),
            "not_before": not_before,
            "bucket": bucket,
            "failures": failures,
            "last_error": error,
            "last_run_at": utcnow(),
        }
        if reconciled_at is not None:
            values["reconciled_at"] = reconciled_at
        await self.session.execute(
            update(PortalQueue)
            .where(PortalQueue.member_id == member_id, PortalQueue.lease_owner == owner)
            .values(**values)
        )

    async def ensure(self, member_ids: Iterable[str], due_at: dt.datetime) -> None:
        """Give every listed portal a queue row, due no later than `due_at`."""
        insert = postgresql.insert if self._postgres else sqlite.insert
        for member_id in member_ids:
            statement = insert(PortalQueue).values(
                member_id=member_id, due_at=due_at, bucket={}, failures=0
            )
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["member_id"],
                    set_={
                        "due_at": func.least(PortalQueue.due_at, due_at)
                        if self._postgres
                        else func.min(PortalQueue.due_at, due_at),
                        "wakeups": PortalQueue.wakeups + 1,
                    },
                )
            )

    async def get(self, member_id: str) -> PortalQueue | None:
        return await self.session.get(PortalQueue, member_id)

    async def all(self) -> Sequence[PortalQueue]:
        return (await self.session.execute(select(PortalQueue))).scalars().all()


class ChangeRepository:
    """The audit of changed fields, and the values an admin chose to keep."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, change: Change) -> None:
        self.session.add(change)

    async def kept_values(
        self, member_id: str, entity_type: str, entity_ids: Sequence[int]
    ) -> dict[int, dict[str, str | None]]:
        if not entity_ids:
            return {}
        statement = select(KeptValue).where(
            KeptValue.member_id == member_id,
            KeptValue.entity_type == entity_type,
            KeptValue.entity_id.in_(entity_ids),
        )
        kept: dict[int, dict[str, str | None]] = {}
        for row in (await self.session.execute(statement)).scalars():
            kept.setdefault(row.entity_id, {})[row.field] = row.value
        return kept

    async def keep(
        self, member_id: str, entity_type: str, entity_id: int, field: str, value: str | None
    ) -> None:
        await self.session.execute(
            delete(KeptValue).where(
                KeptValue.member_id == member_id,
                KeptValue.entity_type == entity_type,
                KeptValue.entity_id == entity_id,
                KeptValue.field == field,
            )
        )
        self.session.add(
            KeptValue(
                member_id=member_id,
                entity_type=entity_type,
                entity_id=entity_id,
                field=field,
                value=value,
            )
        )

    async def already_foreseen(
        self, member_id: str, entity_type: str, entity_id: int, field: str, before: str | None
    ) -> bool:
        """Did the latest trial-mode entry for this field already foresee changing `before`?"""
        statement = (
            select(Change.before, Change.dry_run)
            .where(
                Change.member_id == member_id,
                Change.entity_type == entity_type,
                Change.entity_id == entity_id,
                Change.field == field,
            )
            .order_by(Change.id.desc())
            .limit(1)
        )
        latest = (await self.session.execute(statement)).first()
        return latest is not None and bool(latest.dry_run) and latest.before == before

    async def recent(
        self, member_id: str, limit: int = 50, before_id: int | None = None
    ) -> Sequence[Change]:
        statement = select(Change).where(Change.member_id == member_id)
        if before_id is not None:
            statement = statement.where(Change.id < before_id)
        statement = statement.order_by(Change.id.desc()).limit(limit)
        return (await self.session.execute(statement)).scalars().all()

    async def by_ids(self, member_id: str, ids: Sequence[int]) -> Sequence[Change]:
        statement = (
            select(Change)
            .where(Change.member_id == member_id, Change.id.in_(ids))
            .order_by(Change.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def count_since(self, member_id: str, since: dt.datetime) -> int:
        statement = select(func.count()).where(
            Change.member_id == member_id, Change.created_at >= since, Change.dry_run.is_(False)
        )
        return int((await self.session.execute(statement)).scalar_one())


class BackfillRepository:
    """Resumable passes over a portal's existing records."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def start(self, member_id: str, entity_types: Iterable[str]) -> list[Backfill]:
        """(Re)start a backfill of each entity type from the first record."""
        started = []
        for entity_type in entity_types:
            backfill = await self.session.get(Backfill, (member_id, entity_type))
            if backfill is None:
                backfill = Backfill(member_id=member_id, entity_type=entity_type)
                self.session.add(backfill)
            backfill.state = "running"
            backfill.last_id = 0
            backfill.scanned = 0
            backfill.total = None
            backfill.queued = 0
            backfill.started_at = utcnow()
            backfill.finished_at = None
            started.append(backfill)
        return started

    async def stop(self, member_id: str, entity_type: str | None = None) -> None:
        """End running backfills of the portal (of one entity type, or all)."""
        statement = update(Backfill).where(
            Backfill.member_id == member_id, Backfill.state == "running"
        )
        if entity_type is not None:
            statement = statement.where(Backfill.entity_type == entity_type)
        await self.session.execute(statement.values(state="stopped", finished_at=utcnow()))

    async def running(self, member_id: str) -> Backfill | None:
        statement = (
            select(Backfill)
            .where(Backfill.member_id == member_id, Backfill.state == "running")
            .order_by(Backfill.entity_type)
            .limit(1)
        )
        return (await self.session.execute(statement)).scalars().first()

    async def of_portal(self, member_id: str) -> Sequence[Backfill]:
        statement = select(Backfill).where(Backfill.member_id == member_id)
        return (await self.session.execute(statement)).scalars().all()


class WorkerRepository:
    """Heartbeats of worker processes, for the admin view."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def beat(self, worker_id: str, hostname: str, pid: int, items_done: int) -> None:
        row = await self.session.get(WorkerHeartbeat, worker_id)
        if row is None:
            self.session.add(
                WorkerHeartbeat(id=worker_id, hostname=hostname, pid=pid, items_done=items_done)
            )
            return
        row.heartbeat_at = utcnow()
        row.items_done = items_done

    async def forget(self, worker_id: str) -> None:
        await self.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.id == worker_id))

    async def prune(self, older_than: dt.datetime) -> None:
        await self.session.execute(
            delete(WorkerHeartbeat).where(WorkerHeartbeat.heartbeat_at < older_than)
        )

    async def all(self) -> Sequence[WorkerHeartbeat]:
        return (await self.session.execute(select(WorkerHeartbeat))).scalars().all()
