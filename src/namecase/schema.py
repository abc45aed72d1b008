"""Imports every feature's models so `Base.metadata` knows the whole schema (alembic, tests)."""

from namecase.db import Base
from namecase.pipeline.models import Backfill, Change, KeptValue, WorkerHeartbeat
from namecase.portals.models import Portal, RestCallLog
from namecase.queue.models import InboxItem, PortalQueue

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
