"""Test stand-ins for the portal layer: an in-memory PortalLink and a capturing installer.

The DB-backed PortalLink is namecase.portals'; these keep the same promises in memory, so the
client's tests exercise the contract rather than a database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send

from namecase.bitrix import (
    Credentials,
    LeakyBucket,
    OAuthClient,
    OperatingMeter,
    PortalDisabled,
    RestCall,
    parse_php_form,
)

INSTALL_PAGE = (
    b"<!doctype html><script src='//api.bitrix24.com/api/v1/'></script>"
    b"<script>BX24.init(function(){BX24.installFinish();});</script>"
)


@dataclass
class MemoryLink:
    """One portal's tokens in memory; refresh serialized with a lock, re-checked inside it."""

    member_id: str
    oauth: OAuthClient
    server_endpoint: str
    client_endpoint: str
    access_token: str
    refresh_token: str
    bucket: LeakyBucket = field(default_factory=LeakyBucket.for_portal)
    moves: list[str] = field(default_factory=list)
    disabled_with: list[PortalDisabled] = field(default_factory=list)
    refreshes: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def credentials(self) -> Credentials:
        return Credentials(self.client_endpoint, self.access_token)

    async def refresh(self, stale: Credentials) -> Credentials:
        async with self._lock:
            if stale.access_token != self.access_token:
                return await self.credentials()  # someone refreshed while we waited
            grant = await self.oauth.refresh(self.server_endpoint, self.refresh_token)
            self.access_token = grant.access_token
            self.refresh_token = grant.refresh_token
            self.client_endpoint = grant.client_endpoint
            self.refreshes += 1
            return await self.credentials()

    async def moved(self, new_client_endpoint: str) -> None:
        self.client_endpoint = new_client_endpoint
        self.moves.append(new_client_endpoint)

    async def disabled(self, error: PortalDisabled) -> None:
        self.disabled_with.append(error)


@dataclass
class MeteredLink(MemoryLink):
    """A MemoryLink that keeps operating times (bitrix.TimingObserver), as the portals'
    StoredPortalLink does."""

    operating: OperatingMeter = field(default_factory=OperatingMeter)

    def observe_timing(self, method: str, timing: Any) -> None:
        self.operating.observe(method, timing)

    def operating_reset_at(self, method: str) -> float | None:
        return self.operating.reset_at(method)


class Installer:
    """An ASGI app standing in for our /install: records each installer frame it receives."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        frame = parse_php_form(body)
        frame.update(parse_php_form(scope.get("query_string", b"")))
        self.frames.append(frame)
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": INSTALL_PAGE})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


@dataclass
class CallLog:
    """Collects the client's REST call log entries."""

    calls: list[RestCall] = field(default_factory=list)

    async def __call__(self, call: RestCall) -> None:
        self.calls.append(call)

    def statuses(self) -> list[int | None]:
        return [call.http_status for call in self.calls]


@dataclass
class Sleeps:
    """A sleep that records and returns at once, so backoff does not slow tests down."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


Answer = tuple[int, dict[str, str], bytes]


@dataclass
class StubPortal:
    """An ASGI portal answering what a test scripts, for answers the emulator never gives
    (licence-page redirects, HTML error pages, odd batch shapes). Records every request."""

    answer: Any = None  # Callable[[str, bytes], Answer]
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.requests.append((scope["method"], scope["path"], body))
        status, headers, content = self.answer(scope["path"], body)
        raw_headers = [(key.encode(), value.encode()) for key, value in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": content})
