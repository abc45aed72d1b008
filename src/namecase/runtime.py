"""The long-lived objects of a process (engine, sessions, HTTP client) and request dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from namecase.db import create_engine, create_session_factory
from namecase.settings import Settings


@dataclass
class Runtime:
    """Everything a request handler or the worker needs that outlives a single call."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=10.0),
            follow_redirects=False,
            headers={"User-Agent": "namecase/0.1 (+Bitrix24 app)"},
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        return cls(settings, engine, create_session_factory(engine), http)

    async def close(self) -> None:
        await self.http.aclose()
        await self.engine.dispose()


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request, committed when the handler returns, rolled back when it raises."""
    async with get_runtime(request).sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
