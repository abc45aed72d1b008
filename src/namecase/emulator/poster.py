"""The queue server's HTTP client: POST a form, read the status, keep the connection.

Event delivery is the emulator's hottest outgoing path (benchmarks push tens of thousands of
events), and a general-purpose client costs milliseconds of CPU per request here. Deliveries
need little: HTTP/1.1 POST of a small body, the status code, keep-alive per host.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class DeliveryError(Exception):
    """The handler could not be reached or answered something that is not HTTP."""


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    tls: bool
    path: str

    @property
    def host_header(self) -> str:
        default = 443 if self.tls else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def _parse_target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {url!r}")
    tls = parts.scheme == "https"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(parts.hostname, parts.port or (443 if tls else 80), tls, path)


class FormPoster:
    """POSTs ``application/x-www-form-urlencoded`` bodies with a small keep-alive pool."""

    def __init__(
        self, user_agent: str, timeout: float, verify_tls: bool = False, max_idle: int = 100
    ) -> None:
        self.user_agent = user_agent
        self.timeout = timeout
        self.verify_tls = verify_tls
        self.max_idle = max_idle
        self._idle: defaultdict[tuple[str, int, bool], list[_Connection]] = defaultdict(list)
        self._ssl: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes) -> int:
        """POST ``body`` to ``url``; the status, or TimeoutError after ``self.timeout``."""
        target = _parse_target(url)
        request = self._request(target, body)
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(self.timeout):
                connection, reused = await self._connection(target)
                try:
                    status, reusable = await _exchange(connection, request)
                except (OSError, asyncio.IncompleteReadError, DeliveryError):
                    if not reused:
                        raise
                    # A kept-alive connection the server had already closed: use a fresh one.
                    _close(connection)
                    connection = await self._open(target)
                    status, reusable = await _exchange(connection, request)
        except BaseException:
            if connection is not None:
                _close(connection)
            raise
        if reusable:
            self._release(target, connection)
        else:
            _close(connection)
        return status

    async def aclose(self) -> None:
        """Close every idle connection."""
        for connections in self._idle.values():
            for connection in connections:
                _close(connection)
        self._idle.clear()

    def _request(self, target: _Target, body: bytes) -> bytes:
        head = (
            f"POST {target.path} HTTP/1.1\r\n"
            f"Host: {target.host_header}\r\n"
            f"User-Agent: {self.user_agent}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Accept: */*\r\n"
            "\r\n"
        )
        return head.encode("latin-1") + body

    async def _connection(self, target: _Target) -> tuple[_Connection, bool]:
        idle = self._idle[(target.host, target.port, target.tls)]
        while idle:
            connection = idle.pop()
            if not connection[1].is_closing() and not connection[0].at_eof():
                return connection, True
            _close(connection)
        return await self._open(target), False

    async def _open(self, target: _Target) -> _Connection:
        context = self._ssl_context() if target.tls else None
        try:
            return await asyncio.open_connection(target.host, target.port, ssl=context)
        except OSError as error:
            raise DeliveryError(f"cannot connect to {target.host}:{target.port}: {error}") from None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
            if not self.verify_tls:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        return self._ssl

    def _release(self, target: _Target, connection: _Connection) -> None:
        idle = self._idle[(target.host, target.port, target.tls)]
        if len(idle) < self.max_idle:
            idle.append(connection)
        else:
            _close(connection)


async def _exchange(connection: _Connection, request: bytes) -> tuple[int, bool]:
    """Send ``request``; read one full response. Returns (status, connection reusable)."""
    reader, writer = connection
    writer.write(request)
    await writer.drain()
    while True:
        status, version, headers = await _read_head(reader)
        if not 100 <= status < 200:
            break
    keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        await _skip_chunked(reader)
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif status in (204, 304):
        pass
    else:
        await reader.read()  # delimited by the server closing the connection
        keep_alive = False
    return status, keep_alive


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, str, dict[str, str]]:
    status_line = await reader.readline()
    parts = status_line.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise DeliveryError(f"not an HTTP response: {status_line[:60]!r}")
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[0], headers


async def _skip_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size_line = await reader.readline()
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        await reader.readexactly(size + 2)


def _close(connection: _Connection) -> None:
    with suppress(Exception):
        connection[1].close()
