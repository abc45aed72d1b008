"""The fast path of /events: who may send events, and writing them durably in groups.

Two things dominate the cost of acknowledging an event: looking up the portal and committing the
insert. `PortalDirectory` keeps what the check needs (token hash, state, options) for 30 s. It is
only trusted to accept: a presented token that does not match, an inactive portal or an entity
the portal does not normalize are always re-checked against the database before a 403 or a drop,
so a new application_token (ONAPPUPDATE, reinstall) or a newly enabled entity is never refused
because of the cache. An event accepted on a stale entry (the portal was just uninstalled, or
the entity just turned off) costs one inbox row: the worker checks the portal's state and options
again before any REST call. A short expiry made one database lookup per event on a fleet of many
quiet portals (bench/memory.py: 1,000 portals, events round-robin).
`InboxWriter` is group commit: concurrent requests hand their item to one writer task, which
inserts everything that has queued up in one transaction and wakes each request only after that
commit — nobody is answered 200 before their event is on disk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from namecase.db import utcnow
from namecase.events.repository import (
    Enqueued,
    InboxRepository,
    enqueue_on_postgres,
    enqueue_on_sqlite,
)
from namecase.portals.crypto import application_token_matches
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import PortalOptions
from namecase.portals.service import options_of

RETRIES = 3


@dataclass(frozen=True)
class PortalEntry:
    """What checking an event needs to know about its portal."""

    token_hash: str | None
    state: str
    options: PortalOptions


class PortalDirectory:
    """A short-lived, per-process cache of portal entries for the /events check."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, PortalEntry | None]] = {}
        self._lookups: dict[str, asyncio.Future[PortalEntry | None]] = {}

    async def verified(
        self, member_id: str, application_token: str, *, fresh: bool = False
    ) -> PortalEntry | None:
        """The portal's entry if the token matches it, else None (unknown portal or mismatch).

        `fresh=True` skips the cache: used before anything is refused or dropped.
        """
        entry = None if fresh else await self._get(member_id, fresh=False)
        if entry is not None and application_token_matches(application_token, entry.token_hash):
            return entry
        entry = await self._get(member_id, fresh=True)
        if entry is not None and application_token_matches(application_token, entry.token_hash):
            return entry
        return None

    async def _get(self, member_id: str, *, fresh: bool) -> PortalEntry | None:
        now = self._clock()
        cached = self._entries.get(member_id)
        if cached is not None and not fresh and now - cached[0] < self._ttl:
            return cached[1]
        if fresh:
            return await self._load(member_id, now)
        # When the entry expires, every request in flight for the portal would look it up at
        # once (a pool-sized herd of connections each second under load): one lookup serves all.
        lookup = self._lookups.get(member_id)
        if lookup is None:
            lookup = asyncio.ensure_future(self._load(member_id, now))
            self._lookups[member_id] = lookup
            lookup.add_done_callback(lambda _: self._lookups.pop(member_id, None))
        return await asyncio.shield(lookup)

    async def _load(self, member_id: str, now: float) -> PortalEntry | None:
        async with self._sessions() as session:
            portal = await PortalRepository(session).get(member_id)
            entry = (
                None
                if portal is None
                else PortalEntry(portal.application_token_hash, portal.state, options_of(portal))
            )
        if len(self._entries) > 100_000:  # bound memory under a flood of made-up member_ids
            self._entries.clear()
        self._entries[member_id] = (now, entry)
        return entry


RawGroupInsert = Callable[[Any, list[Enqueued], dt.datetime, dt.timedelta], Awaitable[None]]
_RAW_GROUP_INSERTS: dict[tuple[str, str], RawGroupInsert] = {
    ("postgresql", "asyncpg"): enqueue_on_postgres,
    ("sqlite", "aiosqlite"): enqueue_on_sqlite,
}


class GroupInsertFailed(Exception):
    """The raw PostgreSQL group insert failed (deadlock, lost connection, …); it is retried."""


class InboxWriter:
    """Group commit for the inbox: one transaction for everything queued meanwhile."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        window: dt.timedelta,
        max_group: int = 1000,
    ) -> None:
        self._sessions = sessions
        self._window = window
        self._max_group = max_group
        self._queue: list[tuple[Enqueued, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        bind = sessions.kw.get("bind")
        engine = bind if isinstance(bind, AsyncEngine) else None
        dialect = (engine.dialect.name, engine.dialect.driver) if engine else None
        self._engine = engine
        self._raw = _RAW_GROUP_INSERTS.get(dialect) if dialect else None
        # Held while the writer has work: a pool checkout with pre-ping costs more round trips
        # (BEGIN; SELECT; ROLLBACK on asyncpg) than the group insert itself.
        self._connection: AsyncConnection | None = None
        self._driver: Any = None

    async def write(self, item: Enqueued) -> None:
        """Return once `item` is committed; raise if its transaction failed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        # The outer loop: items queued while the connection was being returned to the pool
        # found this writer still running, so it must look at the queue again.
        while self._queue:
            try:
                while self._queue:
                    await self._commit_group()
            finally:
                # Back to the pool as soon as the queue is empty: nothing is held while idle.
                connection, self._connection, self._driver = self._connection, None, None
                if connection is not None:
                    await connection.close()

    async def _commit_group(self) -> None:
        group = self._queue[: self._max_group]
        del self._queue[: self._max_group]
        try:
            await self._commit([item for item, _ in group])
        except Exception as error:
            for _, future in group:
                if not future.done():
                    future.set_exception(error)
        else:
            for _, future in group:
                if not future.done():
                    future.set_result(None)

    async def _commit(self, items: list[Enqueued]) -> None:
        # A deadlock or serialization failure rolls the whole group back; the insert is
        # idempotent (a repeat only bumps the version), so trying again is safe.
        for attempt in range(1, RETRIES + 1):
            try:
                if self._engine is not None and self._raw is not None:
                    await self._commit_raw(self._engine, self._raw, items)
                else:
                    async with self._sessions() as session, session.begin():
                        await InboxRepository(session).enqueue(items, window=self._window)
                return
            except (DBAPIError, GroupInsertFailed):
                if attempt == RETRIES:
                    raise
                await asyncio.sleep(0.01 * attempt)

    async def _commit_raw(
        self, engine: AsyncEngine, insert: RawGroupInsert, items: list[Enqueued]
    ) -> None:
        # The pool's connection, used raw: the ORM and SQLAlchemy's per-row parameter handling
        # cost more CPU than the whole rest of an /events request (bench/ingest.py).
        if self._connection is None:
            self._connection = await engine.connect()
            self._driver = (await self._connection.get_raw_connection()).driver_connection
        try:
            await insert(self._driver, items, utcnow(), self._window)
        except Exception as error:
            connection, self._connection, self._driver = self._connection, None, None
            await connection.invalidate()  # its state is unknown: never hand it out again
            await connection.close()
            raise GroupInsertFailed(f"{type(error).__name__}: {error}") from error
