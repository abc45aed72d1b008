"""The inbox: every accepted event, durable before /events answers 200."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from namecase.db import Base, UTCDateTime, utcnow

INBOX_STATES = ("pending", "done", "dead")
ENTITY_TYPES = ("contact", "lead")


class InboxItem(Base):
    """One record that needs normalizing.

    While pending there is one row per (portal, entity type, entity id): a burst of updates of one
    contact coalesces into it and bumps `version`, so a worker that read version N marks the row
    done only if no newer event arrived meanwhile (otherwise it stays pending and is read again).
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
