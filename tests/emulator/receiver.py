"""A stand-in for the app's side of the wire: it records every request the emulator makes
(installer frame posts, event deliveries) and answers as configured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from namecase.emulator import serve_asgi

INSTALLER_FINISHING = (
    "<!doctype html><html><body><script src='//api.bitrix24.com/api/v1/'></script>"
    "<script>BX24.init(function(){ BX24.installFinish(); });</script></body></html>"
)
INSTALLER_UNFINISHED = "<!doctype html><html><body>Settings…</body></html>"


@dataclass
class Received:
    """One request as the app would have seen it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """The urlencoded body as flat ``key -> value`` pairs (``auth[domain]`` stays a key)."""
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass
class Receiver:
    """Configurable app stub: ``/install`` answers ``installer_html``, others ``status``."""

    base_url: str = ""
    installer_html: str = INSTALLER_FINISHING
    status: int = 200
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)

    def url(self, path: str) -> str:
        """An absolute URL on the receiver."""
        return f"{self.base_url}{path}"

    def at(self, path: str) -> list[Received]:
        """Requests received at ``path``."""
        return [r for r in self.requests if r.path == path]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.requests.append(
            Received(
                method=scope["method"],
                path=scope["path"],
                query=dict(parse_qsl(scope["query_string"].decode())),
                headers={k.decode(): v.decode() for k, v in scope["headers"]},
                body=body,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        is_installer = scope["path"].startswith("/install")
        payload = self.installer_html.encode() if is_installer else b"ok"
        status = 200 if is_installer else self.status
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


@asynccontextmanager
async def serve_receiver() -> AsyncIterator[Receiver]:
    """A ``Receiver`` listening on a free loopback port."""
    receiver = Receiver()
    async with serve_asgi(receiver) as base_url:
        receiver.base_url = base_url
        yield receiver
