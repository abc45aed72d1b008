"""Imports every feature's models so `Base.metadata` knows the whole schema (alembic, tests)."""

from namecase.db import Base
from namecase.events.models import InboxItem
from namecase.pipeline.models import Backfill, Change, KeptValue, PortalQueue, WorkerHeartbeat
from namecase.portals.models import Portal, RestCallLog

metadata = Base.metadata

__all__ = [
    "Backfill",
    "Change",
    "InboxItem",
    "KeptValue",
    "Portal",
    "PortalQueue",
    "RestCallLog",
    "WorkerHeartbeat",
    "metadata",
]
