"""HTTP plumbing of the emulator's bare ASGI app: reading parameters, sending answers."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from contextlib import suppress
from typing import Any

from namecase.emulator.phpform import decode_php_query

Scope = dict[str, Any]
Receive = Any
Send = Any

CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-headers", b"*"),
    (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE, OPTIONS"),
]


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def read_params(scope: Scope, receive: Receive) -> dict[str, Any]:
    """Query string and body merged (body wins), PHP-style; JSON or form bodies (§5)."""
    body = await read_body(receive)
    return decode_request_params(
        scope.get("query_string", b""), body, header(scope, b"content-type")
    )


def decode_request_params(query_string: bytes, body: bytes, content_type: str) -> dict[str, Any]:
    """Decode a REST request's parameters the way the portal does."""
    params = decode_php_query(query_string) if query_string else {}
    if not body:
        return params
    if "json" in content_type:
        with suppress(ValueError):
            data = json.loads(body)
            if isinstance(data, dict):
                params.update(data)
    elif "multipart" not in content_type:
        params.update(decode_php_query(body))
    return params


def request_host(scope: Scope) -> str:
    """The host name the request was addressed to (``Host`` header, no port, lower case).

    Every portal is its own host, as on Bitrix24 (``https://DOMAIN/rest/``); one server tells
    them apart by this name, the way a shared web server tells its sites apart.
    """
    host = header(scope, b"host").strip().lower()
    if host.startswith("["):  # an IPv6 literal: [::1]:8900
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def header(scope: Scope, name: bytes) -> str:
    """A request header's value ('' when absent)."""
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def send_json(send: Send, status: int, body: Any) -> None:
    """Answer with JSON encoded like PHP's json_encode (ASCII with \\u escapes)."""
    await send_bytes(send, status, json.dumps(body).encode(), b"application/json; charset=utf-8")


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a complete response."""
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *CORS_HEADERS,
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def reset_connection(send: Send) -> None:
    """Drop the TCP connection with a RST and no answer (an injected connection reset).

    Works on uvicorn, whose ``send`` is bound to the request cycle that owns the transport;
    elsewhere it degrades to an empty 502.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        await send_bytes(send, 502, b"", b"text/plain")
        return
    with suppress(OSError, AttributeError):
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Let the server notice the lost connection before the app returns, so it does not try
    # to answer with a 500 of its own.
    for _ in range(3):
        await asyncio.sleep(0)
