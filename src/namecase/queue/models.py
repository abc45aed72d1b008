"""The queue's tables: `inbox` (records to normalize) and `portal_queue` (leases and due times).

Only the queue package writes them (DESIGN.md §2); other packages call its functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from namecase.db import Base, UTCDateTime, utcnow

INBOX_STATES = ("pending", "done", "dead")
ENTITY_TYPES = ("contact", "lead")


class InboxItem(Base):
    """One record that needs normalizing.

    While pending there is one row per (portal, entity type, entity id): a burst of updates of one
    contact coalesces into it and bumps `version` (one per event), so a worker that read version N
    marks the row done only if no newer event arrived meanwhile.

    A row with `version` <= 0 is *held* for the echo of our own write (see `queue.echoes`):
    -1 while the echo is still to come, 0 once it arrived. A held row is not due until
    `next_attempt_at`; any event past the echo makes it due at once.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        Index(
            "uq_inbox_pending_record",
            "member_id",
            "entity_type",
            "entity_id",
            unique=True,
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_inbox_member_state_due", "member_id", "state", "next_attempt_at"),
        Index("ix_inbox_state_updated", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    member_id: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16), default="event")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    version: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PortalQueue(Base):
    """Per-portal scheduling: who holds the lease, when work is due, the rate-budget state.

    Whoever holds the lease is the only caller of that portal's REST API, so the leaky bucket kept
    here is exact across any number of worker processes (DESIGN.md §4). `due_at` orders portals
    round-robin: after a batch a portal with more work is due "now", behind those already waiting.
    """

    __tablename__ = "portal_queue"
    __table_args__ = (Index("ix_portal_queue_due_at", "due_at"),)

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    bucket: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every enqueue; a release that sees it changed since the claim keeps the portal due.
    wakeups: Mapped[int] = mapped_column(Integer, default=0)
    reconciled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The portal's offline-event queue (queue/offline.py): when to collect it next (NULL: at the
    # next unit), when its doorbell last rang, and the reservation being collected, kept until
    # Bitrix24 confirms its clear.
    offline_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    offline_rung_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    offline_process_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


@dataclass(frozen=True)
class QueuedRecord:
    """A pending inbox row as a unit of work sees it: the version it read is what it settles."""

    id: int
    entity_type: str
    entity_id: int
    version: int
    attempts: int
    received_at: dt.datetime
