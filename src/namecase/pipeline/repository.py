"""All SQL of the pipeline's own tables: the audit of changes, kept values, backfills, workers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from namecase.db import utcnow
from namecase.pipeline.models import Backfill, Change, KeptValue, WorkerHeartbeat


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
            backfill.max_id = None
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

    async def advance(
        self,
        member_id: str,
        entity_type: str,
        *,
        scanned: int,
        queued: int,
        last_id: int | None,
        max_id: int,
        finished: bool,
    ) -> None:
        """Count one page of a running backfill; a backfill stopped meanwhile is left alone."""
        backfill = await self.session.get(Backfill, (member_id, entity_type))
        if backfill is None or backfill.state != "running":
            return
        backfill.max_id = max_id
        backfill.scanned += scanned
        backfill.queued += queued
        if last_id is not None:
            backfill.last_id = last_id
        if finished:
            backfill.state = "done"
            backfill.finished_at = utcnow()
            backfill.total = backfill.scanned

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
