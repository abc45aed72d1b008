"""Serve an ASGI app with uvicorn: `namecase serve`, and loopback servers inside tests and demos.

Slow clients (issue 14 item 7): uvicorn closes an idle keep-alive connection, but it sets no
deadline on a request's headers and no bound on their size, so a client that connects and sends
a byte every few seconds (or endless headers) holds a connection, and memory, for as long as it
likes. `DeadlineProtocol` adds both: a request's headers must be complete within
`header_timeout` seconds of its first byte (or of the connection, for the first request) and
within `MAX_HEADER_BYTES`; otherwise it answers 408 / 431 and closes. The body has its own
deadline in body_limit.py. `limit_concurrency` caps the connections served at once (503 past it).
A reverse proxy in front (deploy/) applies the same deadlines at the edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from asyncio import TimerHandle
from collections.abc import AsyncIterator
from typing import Any, Final

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADER_BYTES: Final = 64 * 1024  # a frame POST's headers are well under 8 KiB
HEADER_TIMEOUT: Final = 10.0
KEEP_ALIVE_TIMEOUT: Final = 5
LIMIT_CONCURRENCY: Final = 1000


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size bound for each request's headers."""

    header_timeout: float = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_deadline: TimerHandle | None = None
        self._header_bytes = 0
        super().connection_made(transport)
        self._arm()  # the first request's clock starts at the connection

    def data_received(self, data: bytes) -> None:
        in_headers = self._header_deadline is not None
        super().data_received(data)
        # Counted after parsing: a chunk that completes the headers may carry a body too.
        if in_headers and self._header_deadline is not None:
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse(b"431 Request Header Fields Too Large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm()  # a later request's clock starts at its first byte

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_bytes = 0
        self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        self._refuse(b"408 Request Timeout")

    def _refuse(self, status: bytes) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # nothing else is answering
            self.transport.write(
                b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
        self.transport.close()


def deadline_protocol(header_timeout: float) -> type[DeadlineProtocol]:
    """The protocol class for a server whose request headers must arrive within the timeout."""
    return type("DeadlineProtocol", (DeadlineProtocol,), {"header_timeout": header_timeout})


def server_config(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    header_timeout: float = HEADER_TIMEOUT,
    limit_concurrency: int = LIMIT_CONCURRENCY,
    **options: Any,
) -> uvicorn.Config:
    """uvicorn's configuration with our deadlines, for the service and for test servers."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=deadline_protocol(header_timeout),
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        limit_concurrency=limit_concurrency,
        log_config=None,
        access_log=False,
        **options,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, port: int | None = None, **options: Any) -> AsyncIterator[str]:
    """Serve `app` (lifespan included) on 127.0.0.1 until the block ends; yields the base URL.

    ``options`` are `server_config`'s (``header_timeout``, ``limit_concurrency``).
    """
    port = port or free_port()
    server = uvicorn.Server(
        server_config(app, host="127.0.0.1", port=port, lifespan="on", **options)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start-up")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
