"""What the worker's modules need from the process: the collaborators, not a service locator."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from namecase.bitrix import BitrixClient
from namecase.portals.service import PortalService
from namecase.settings import Settings


class WorkerContext(Protocol):
    """The long-lived objects a unit of work uses (namecase.runtime.Runtime provides them)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def bitrix(self) -> BitrixClient: ...

    @property
    def portals(self) -> PortalService: ...
