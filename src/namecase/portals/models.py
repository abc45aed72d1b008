"""Tables of the portal lifecycle: one row per installed portal, and the REST call log."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from namecase.db import Base, UTCDateTime, utcnow


class PortalState(StrEnum):
    """Where a portal stands (docs/LIFECYCLE.md); every state but uninstalled has a way back."""

    ACTIVE = "active"
    PAYMENT_REQUIRED = "payment_required"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    UNINSTALLED = "uninstalled"

    @property
    def served(self) -> bool:
        """Is the portal served now: is its work done and its REST API called?"""
        return self is PortalState.ACTIVE

    @property
    def recoverable(self) -> bool:
        """Temporarily unavailable: probed every RECOVERY_INTERVAL, its work kept until then."""
        return self in (PortalState.PAYMENT_REQUIRED, PortalState.UNREACHABLE)

    @property
    def accepts_events(self) -> bool:
        """Are its CRM events stored? Served portals', and those of a temporarily unavailable
        one: they wait in the inbox for its recovery (and wake its probe)."""
        return self.served or self.recoverable


PORTAL_STATES = tuple(state.value for state in PortalState)
SERVED_STATES = tuple(state.value for state in PortalState if state.served)  # for SQL filters


class Portal(Base):
    """A Bitrix24 portal that installed the app, keyed by member_id (it survives renames)."""

    __tablename__ = "portals"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    domain: Mapped[str] = mapped_column(String(255))
    client_endpoint: Mapped[str] = mapped_column(String(512))
    server_endpoint: Mapped[str] = mapped_column(String(512))
    scope: Mapped[str] = mapped_column(String(512), default="")
    plan_status: Mapped[str] = mapped_column(String(8), default="")
    lang: Mapped[str] = mapped_column(String(8), default="en")
    state: Mapped[str] = mapped_column(String(32), default=PortalState.ACTIVE.value)
    # Fernet tokens (encrypted with NAMECASE_SECRET_KEYS); never plaintext at rest.
    access_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    refresh_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    access_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # SHA-256 of the application_token: compared in constant time, never stored in clear.
    application_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rate_capacity: Mapped[float | None] = mapped_column(Float, nullable=True)
    rate_per_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    # Set when Bitrix24 wiped our event handlers (app update, install event); the worker re-binds.
    needs_bind: Mapped[bool] = mapped_column(Boolean, default=False)
    # When `event.get` last matched what should be bound (portals/bindings.py); NULL: check soon.
    bindings_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # An ONAPPUNINSTALL that Bitrix24 has not confirmed yet (portals/lifecycle.py): honoured when
    # a refresh or a fresh token is refused as uninstalled, forgotten when a call succeeds.
    uninstall_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    uninstall_clean: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # How Bitrix24 tells us of changes (portals/event_modes.py, bitrix24-protocol.md §10):
    # "online" (POSTs to /events) or "offline" (a queue we collect, our writes kept out of it
    # by our auth_connector); with `offline_extended` the queue is reserved and confirmed.
    # `event_mode_reason` says why a portal is online when it could not be offline.
    event_mode: Mapped[str] = mapped_column(String(16), default="online", server_default="online")
    offline_extended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    event_mode_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    installed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    uninstalled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def served(self) -> bool:
        """Is this portal served now (see PortalState.served)?"""
        return PortalState(self.state).served


class RestCallLog(Base):
    """One HTTP exchange with a portal, redacted (Marketplace rule: keep at least 3 days)."""

    __tablename__ = "rest_calls"
    __table_args__ = (Index("ix_rest_calls_member_id_created_at", "member_id", "created_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    member_id: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(128))
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    request: Mapped[str] = mapped_column(Text, default="")
    response: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
