"""Group commit for /events: concurrent requests hand their record to one writer task, which
inserts everything that has queued up in one transaction and wakes each request only after that
commit — nobody is answered 200 before their event is on disk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from namecase.db import utcnow
from namecase.queue.enqueue import Enqueued, enqueue, enqueue_on_postgres, enqueue_on_sqlite

RETRIES = 3

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
                        await enqueue(session, items, window=self._window)
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
