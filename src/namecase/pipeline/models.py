"""Tables of the worker: the audit of changes, kept values, backfills, worker heartbeats."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from namecase.db import Base, UTCDateTime, utcnow


class Change(Base):
    """One field we changed (or, in dry-run, would have changed): the history and undo."""

    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_member_created", "member_id", "created_at"),
        # The fleet's corrections per hour (/admin's 24-hour chart) are counted by time alone.
        Index("ix_changes_created_at", "created_at"),
        Index("ix_changes_record", "member_id", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    member_id: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    field: Mapped[str] = mapped_column(String(32))
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class KeptValue(Base):
    """A value the portal admin restored with undo: the pipeline leaves it as typed."""

    __tablename__ = "kept_values"
    __table_args__ = (
        Index(
            "uq_kept_values_record_field",
            "member_id",
            "entity_type",
            "entity_id",
            "field",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    member_id: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Backfill(Base):
    """A full pass over a portal's existing records, resumable after a restart."""

    __tablename__ = "backfills"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="running")
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # The highest ID when the pass began: the end of the progress estimate. A COUNT would take
    # longer than a request may on a portal of millions of records (huge-data.md).
    max_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scanned: Mapped[int] = mapped_column(Integer, default=0)
    queued: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WorkerHeartbeat(Base):
    """A running worker process, for the admin view of leases and liveness."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    items_done: Mapped[int] = mapped_column(Integer, default=0)
