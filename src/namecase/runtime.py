"""The long-lived objects of a process (engine, sessions, HTTP client) and request dependencies."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from namecase.bitrix import BitrixClient, OAuthClient, RestCall
from namecase.bitrix.endpoints import EndpointGuard
from namecase.bitrix.transport import portal_http_client
from namecase.db import create_engine, create_session_factory
from namecase.events.service import PortalDirectory
from namecase.metrics import REST_CALLS
from namecase.portals.crypto import TokenCipher
from namecase.portals.link import RefreshLocks
from namecase.portals.models import RestCallLog
from namecase.portals.service import PortalService
from namecase.queue.writer import InboxWriter
from namecase.settings import Settings


@dataclass
class Runtime:
    """Everything a request handler or the worker needs that outlives a single call."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    cipher: TokenCipher
    oauth: OAuthClient
    bitrix: BitrixClient
    portals: PortalService
    directory: PortalDirectory
    inbox: InboxWriter

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        sessions = create_session_factory(engine)
        # Every connection to a portal or OAuth server is checked by the endpoint guard
        # (bitrix/transport.py, docs/SECURITY.md); loopback only for the local emulator, whose
        # portal names (EMULATOR_HOSTS) resolve to 127.0.0.1.
        http = portal_http_client(
            allow_loopback=settings.allow_http, emulator_hosts=settings.emulator_hosts
        )
        cipher = TokenCipher(settings.fernet_keys())
        oauth = OAuthClient(
            http,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            oauth_servers=settings.oauth_servers,
            allow_http=settings.allow_http,
        )

        async def log_call(call: RestCall) -> None:
            REST_CALLS.labels(call.method, call.error_code or "ok").inc()
            async with sessions() as session, session.begin():
                session.add(rest_call_row(call))

        bitrix = BitrixClient(
            http,
            allow_http=settings.allow_http,
            on_call=log_call,
            request_timeout=settings.rest_timeout,
        )
        portals = PortalService(
            sessions=sessions,
            cipher=cipher,
            oauth=oauth,
            bitrix=bitrix,
            locks=RefreshLocks(),
            handler_url=f"{settings.public_url}/events",
            allow_http=settings.allow_http,
            event_mode=settings.event_mode,
            guard=EndpointGuard(
                allow_loopback=settings.allow_http, emulator_hosts=settings.emulator_hosts
            ),
        )
        directory = PortalDirectory(sessions)
        inbox = InboxWriter(sessions, window=dt.timedelta(seconds=settings.batch_window))
        return cls(
            settings, engine, sessions, http, cipher, oauth, bitrix, portals, directory, inbox
        )

    async def close(self) -> None:
        await self.http.aclose()
        await self.engine.dispose()


def rest_call_row(call: RestCall) -> RestCallLog:
    return RestCallLog(
        member_id=call.member_id,
        method=call.method,
        http_status=call.http_status,
        error_code=call.error_code,
        duration_ms=call.duration_ms,
        request=call.request,
        response=call.response,
        created_at=dt.datetime.fromtimestamp(call.started_at, dt.UTC),
    )


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a costly hop per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request, committed when the handler returns, rolled back when it raises."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# scope="function": commit before the response is sent, so a 200 means the change is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
