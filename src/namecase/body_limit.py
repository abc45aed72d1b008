"""Request bodies: bounded in size and in time before any route sees them (issue 14 items 1, 7).

Every body this service accepts is small: an install or frame POST is under 2 KiB, an event under
2 KiB (bitrix24-protocol.md §1, §2), a settings form or an undo list a few hundred bytes. Without a
bound, a 256 MB POST made the process read all of it into memory, and a 39 MB JSON stalled the
event loop while it was parsed — delaying /events, whose deliveries Bitrix24 never repeats.

So this middleware reads the body itself, up to the route's limit: a `Content-Length` over it is
answered 413 before a byte is read, a streamed body is cut off as soon as it passes it, and a body
that trickles in slower than `deadline` seconds is answered 408. The route then reads the buffered
body as usual. Both refusals close the connection, so the rest of an upload is never waited for,
except one: a body that declares a size over the route's limit but within what the reverse proxy
lets through (deploy/Caddyfile, 256 KiB) is read and thrown away before the 413. A proxy still
sending such a body when the connection closes answers its client 502 instead of our 413; reading
and discarding a few hundred KiB costs no memory.
"""

from __future__ import annotations

import asyncio
import json
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB: Final = 1024
FORM_LIMIT: Final = 16 * KIB  # /install and the frame POST /app
API_LIMIT: Final = 64 * KIB  # /app/api/*, /admin/*, anything else
BODY_DEADLINE: Final = 20.0  # seconds for a whole body; real ones arrive in milliseconds
DISCARD_LIMIT: Final = 256 * KIB  # the proxy's own bound (deploy/Caddyfile request_body)


class _Refused(Exception):
    def __init__(self, status: int, detail: str, *, close: bool = True) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.close = close


class BodyLimit:
    """Per-route body size limit and read deadline, enforced before the route runs."""

    def __init__(
        self, app: ASGIApp, *, events_limit: int = API_LIMIT, deadline: float = BODY_DEADLINE
    ) -> None:
        self.app = app
        self.events_limit = events_limit
        self.deadline = deadline

    def limit_for(self, path: str) -> int:
        """The largest body the route at ``path`` accepts, in bytes."""
        if path in ("/install", "/app"):
            return FORM_LIMIT
        if path == "/events":
            return self.events_limit
        return API_LIMIT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        try:
            body = await self._read(scope, receive, limit)
        except _Refused as refused:
            await _refuse(send, refused)
            return
        if body is None:
            return  # the client left; nobody to answer
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, scope: Scope, receive: Receive, limit: int) -> bytes | None:
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            if declared <= DISCARD_LIMIT and await self._discard(receive, declared):
                raise _Refused(413, f"the body is over {limit} bytes", close=False)
            raise _Refused(413, f"the body is over {limit} bytes")
        try:
            async with asyncio.timeout(self.deadline):
                return await _read_at_most(receive, limit)
        except TimeoutError:
            raise _Refused(408, "the body did not arrive in time") from None

    async def _discard(self, receive: Receive, declared: int) -> bool:
        """Read and drop a body of `declared` bytes; False if it did not arrive (in time)."""
        size = 0
        try:
            async with asyncio.timeout(self.deadline):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return False
                    size += len(message.get("body", b""))
                    if size > declared:
                        return False
                    if not message.get("more_body", False):
                        return True
        except TimeoutError:
            return False


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit() or len(value) > 18:
                raise _Refused(400, "Content-Length is not a number of bytes")
            return int(value)
    return None


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _Refused(413, f"the body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the route the buffered body, then waits as the server's would."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()  # only http.disconnect can come now
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(send: Send, refused: _Refused) -> None:
    content = json.dumps({"error": "request_refused", "detail": refused.detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    if refused.close:
        # Do not wait for the rest of the upload: uvicorn closes after this response.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
