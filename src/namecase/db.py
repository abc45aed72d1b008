"""Database plumbing: the declarative base, engines and the session factory.

The same models and queries run on PostgreSQL (production, tests) and on the embedded SQLite
database (a developer's first `make run`); where a dialect matters the repository says so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, MetaData, event, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

# The largest id a BIGINT (and SQLite's INTEGER) holds: ids from requests are bounded by it, so a
# bigger number is a 422 instead of a database error (issue 14 item 4).
ROW_ID_MAX = 2**63 - 1

# Deterministic constraint names keep alembic autogenerate and batch mode (SQLite) stable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC: the only kind of datetime we store."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on every dialect.

    SQLite has no time zones and hands back naive values; PostgreSQL stores timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def is_postgres(session: AsyncSession) -> bool:
    """True on PostgreSQL, False on the embedded SQLite database."""
    return session.get_bind().dialect.name == "postgresql"


def upsert(session: AsyncSession) -> Any:
    """The dialect's INSERT … ON CONFLICT construct (PostgreSQL and SQLite both have one)."""
    return postgresql.insert if is_postgres(session) else sqlite.insert


def least(session: AsyncSession) -> Any:
    """The SQL function for the smaller of two values: LEAST on PostgreSQL, two-argument MIN on
    SQLite."""
    return func.least if is_postgres(session) else func.min


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (the async result hides the attribute from the types)."""
    return int(getattr(result, "rowcount", 0) or 0)


def aware(value: dt.datetime | str | None) -> dt.datetime | None:
    """A timezone-aware UTC datetime from what an aggregate returns.

    Aggregates (MIN, MAX) bypass the column type, so SQLite hands back naive text.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine configured for the URL's dialect."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets the web handler write while the in-process worker reads; busy_timeout makes a
    # second writer wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL: an acknowledged event survives a power loss too, not only a process crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (we never rely on lazy reloads)."""
    return async_sessionmaker(engine, expire_on_commit=False)
