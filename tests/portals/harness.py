"""What the portal tests observe and send besides the stack: rows in the database, event
deliveries written by hand (the emulator has no app-update or forged events), and a bystander
HTTP server that must never be called."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Receive, Scope, Send

from namecase.bitrix import encode_php_form
from namecase.emulator import Emulator, serve_asgi
from namecase.emulator import Portal as EmulatedPortal
from namecase.emulator.events import EventAuth, event_auth_block
from namecase.emulator.tokens import new_token
from namecase.portals.models import Portal
from namecase.portals.repository import PortalRepository
from namecase.schema import metadata
from support.stack import Stack

BOUND = (
    "ONCRMCONTACTADD",
    "ONCRMCONTACTUPDATE",
    "ONCRMLEADADD",
    "ONCRMLEADUPDATE",
    "ONAPPUPDATE",
    "ONAPPUNINSTALL",
)


async def stored(stack: Stack, member_id: str) -> Portal | None:
    """The portal row as the database holds it now."""
    async with stack.runtime.sessions() as session:
        return await PortalRepository(session).get(member_id)


async def row_counts(
    sessions: async_sessionmaker[AsyncSession], member_id: str | None = None
) -> dict[str, int]:
    """Rows per table (of one portal when `member_id` is given)."""
    counts: dict[str, int] = {}
    async with sessions() as session:
        for table in metadata.sorted_tables:
            statement = select(func.count()).select_from(table)
            if member_id is not None:
                if "member_id" not in table.c:
                    continue
                statement = statement.where(table.c.member_id == member_id)
            counts[table.name] = int((await session.execute(statement)).scalar_one())
    return counts


def bound_handlers(portal: EmulatedPortal) -> list[tuple[str, str]]:
    """(event, handler URL) of every handler the portal holds, duplicates kept."""
    return sorted((handler.event, handler.handler) for handler in portal.handlers)


def issued_tokens(emulator: Emulator, member_id: str) -> set[str]:
    """Every access and refresh token the OAuth server ever issued for the portal (read from
    the emulator's token store, so none escapes the search)."""
    access = {t for t, grant in emulator.tokens._access.items() if grant.member_id == member_id}
    refresh = {t for t, grant in emulator.tokens._refresh.items() if grant.member_id == member_id}
    return access | refresh


def event_auth(
    emulator: Emulator, portal: EmulatedPortal, *, with_tokens: bool = True, **overrides: str
) -> dict[str, str]:
    """An `auth[...]` block as Bitrix24 sends it, with a fresh token pair of the admin."""
    assert portal.application_token is not None
    auth = EventAuth(
        domain=portal.domain,
        client_endpoint=portal.client_endpoint,
        server_endpoint=emulator.server_endpoint,
        member_id=portal.member_id,
        application_token=portal.application_token,
        scope=emulator.config.scope,
        status=emulator.config.app_status,
    )
    if with_tokens:
        pair = emulator.tokens.issue(portal.member_id, 1, emulator.now())
        auth.access_token = pair.access_token
        auth.refresh_token = pair.refresh_token
        auth.expires_at = pair.expires_at
        auth.expires_in = pair.expires_in
        auth.user_id = 1
    return {**event_auth_block(auth), **overrides}


def update_app(emulator: Emulator, portal: EmulatedPortal) -> dict[str, str]:
    """A new app version is installed on the portal: handlers wiped, a new application token
    (bitrix24-protocol.md §3, §2). Returns the auth block of the ONAPPUPDATE it sends."""
    portal.handlers = []
    portal.application_token = new_token()
    return event_auth(emulator, portal)


async def post_event(
    stack: Stack, event: str, auth: Mapping[str, str], data: Mapping[str, Any] | None = None
) -> httpx.Response:
    """Deliver one event to the service's /events as Bitrix24 would (a PHP-style form)."""
    form = {"event": event, "data": dict(data or {}), "ts": "1724697689", "auth": dict(auth)}
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{stack.app_url}/events",
            content=encode_php_form(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


@dataclass
class Bystander:
    """An HTTP server that records every request and answers like a cooperative Bitrix24 would.

    Whatever it is named as (an OAuth server, a portal), nothing of ours may ever reach it.
    """

    base_url: str = ""
    hits: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.hits.append(f"{scope['method']} {scope['path']}")
        body = b'{"result": [], "access_token": "x", "refresh_token": "y", "expires_in": 3600}'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def bystander() -> AsyncIterator[Bystander]:
    """A `Bystander` on a free loopback port."""
    server = Bystander()
    async with serve_asgi(server) as base_url:
        server.base_url = base_url
        yield server
