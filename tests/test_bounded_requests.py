"""Requests are bounded in size and time before any route sees them (issue 14 items 1 and 7).

The size tests run `namecase serve` as a separate process and read its peak resident memory from
/proc: tens of megabytes sent to each route must not show up there. The slow-client tests trickle
bytes into a served app with short deadlines and wait for the server to cut them off.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import make_settings
from namecase.app import create_app
from namecase.serving import free_port, serve

MIB = 1024 * 1024
UPLOAD = 40 * MIB


# --- sizes: one real process, its memory measured ----------------------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """`namecase serve` on SQLite in its own process: (pid, port)."""
    folder = tmp_path_factory.mktemp("bounded")
    port = free_port()
    environment = {
        **os.environ,
        "NAMECASE_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/namecase.db",
        "NAMECASE_WORKER": "false",
        "NAMECASE_LOG_LEVEL": "WARNING",
    }
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "namecase", "serve", "--port", str(port)],
            cwd=folder,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(port, process, log)
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(log.read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("namecase serve did not start")


def _peak_memory(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


class RawClient(asyncio.Protocol):
    """A bare TCP client that keeps every byte the server sent, even once it resets the
    connection (a stream reader would drop a buffered answer when the reset arrives)."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.WriteTransport | None = None
        self._writable = asyncio.Event()
        self._writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        self._writable.set()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    async def send(self, data: bytes) -> bool:
        """Write when the server takes more; False once the connection is gone or answered."""
        await self._writable.wait()
        if self.closed.done() or self.received or self.transport is None:
            return False
        self.transport.write(data)
        return True

    async def answer(self) -> bytes:
        """Everything the server sent until it closed (bounded wait: far past any deadline)."""
        await asyncio.wait_for(asyncio.shield(self.closed), 60)
        return bytes(self.received)


async def _connect(port: int) -> RawClient:
    _, client = await asyncio.get_running_loop().create_connection(RawClient, "127.0.0.1", port)
    return client


def _push(port: int, head: bytes, chunks: Iterator[bytes]) -> tuple[bytes, int]:
    """Send `head`, then `chunks` as fast as the server takes them, until it refuses; then read
    its answer to the end. (A blocking socket: asyncio drops an answer that is still unread when
    a write meets the server's reset.) Returns (answer, body bytes sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        try:
            sock.sendall(head)
            for chunk in chunks:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed: what we want
        answer = bytearray()
        with contextlib.suppress(OSError):
            while data := sock.recv(65536):
                answer += data
    return bytes(answer), sent


async def _upload(port: int, path: str, *, chunked: bool) -> tuple[bytes, int]:
    """POST `UPLOAD` bytes as fast as the server takes them; (its answer, bytes sent)."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {UPLOAD}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n".encode()
    )
    chunk = b"[" + b"1," * (MIB // 2 - 1) + b"1"
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
    chunks = (framed for _ in range(UPLOAD // len(chunk)))
    return await asyncio.to_thread(_push, port, head, chunks)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversized_bodies_are_refused_at_once_with_flat_memory(
    service: tuple[int, int], chunked: bool
) -> None:
    pid, port = service
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for path in ("/install", "/app", "/app/api/undo", "/events"):  # warm every route up
            await http.post(path, content=b"{}")
    before = _peak_memory(pid)

    for path in ("/install", "/app", "/app/api/undo", "/events", "/admin/status"):
        answer, sent = await _upload(port, path, chunked=chunked)
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:200])
        assert sent < UPLOAD, path  # answered without waiting for the upload

    grown = _peak_memory(pid) - before
    print(f"peak memory {before / MIB:.1f} MiB, grown by {grown / MIB:.1f} MiB")
    assert grown < 16 * MIB, f"peak memory grew by {grown / MIB:.1f} MiB for {5 * UPLOAD / MIB} MiB"


async def test_bodies_within_the_limits_reach_their_routes(service: tuple[int, int]) -> None:
    _, port = service
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        install = await http.post("/install", content=b"x=" + b"a" * (15 * 1024))
        frame = await http.post("/app", content=b"member_id=" + b"a" * (17 * 1024))
        event = await http.post("/events", data={"event": "ONCRMCONTACTUPDATE"})
    client = await _connect(port)
    await client.send(b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 1e9\r\n\r\n")
    bad_length = await client.answer()

    assert install.status_code == 400  # read and refused by the route: malformed form
    assert frame.status_code == 413  # over the frame's 16 KiB
    assert event.status_code == 400  # read by /events: malformed, not too large
    assert bad_length.startswith(b"HTTP/1.1 400")


async def test_a_body_the_proxy_lets_through_is_refused_on_a_connection_kept_open(
    service: tuple[int, int],
) -> None:
    """Over the route's limit but within the proxy's 256 KiB: read and dropped, then 413 with
    the connection kept, so a proxy still sending it answers its client 413, not 502."""
    _, port = service
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        refused = await http.post("/events", content=b"event=X&data=" + b"x" * 100_000)
        after = await http.get("/healthz")  # on the same pooled connection
        huge = await http.post("/events", content=b"x" * (300 * 1024))

    assert refused.status_code == 413
    assert refused.headers.get("connection") != "close"
    assert after.status_code == 200
    assert (huge.status_code, huge.headers.get("connection")) == (413, "close")


# --- time: clients that trickle -------------------------------------------------------------


@pytest.fixture
async def slow_app(tmp_path: Path) -> AsyncIterator[int]:
    """The app served with deadlines of half a second: its port."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/namecase.db", http_body_timeout=0.5)
    async with serve(create_app(settings), header_timeout=0.5) as base_url:
        yield int(base_url.rsplit(":", 1)[1])


async def _trickle(port: int, head: bytes, trickled: bytes) -> bytes:
    """Send `head`, then `trickled` a byte every 50 ms (minutes in all); return what the server
    answered by the time it closed the connection."""
    client = await _connect(port)
    await client.send(head)
    for byte in trickled:
        if not await client.send(bytes([byte])):
            break
        await asyncio.sleep(0.05)
    return await client.answer()


async def test_headers_trickled_a_byte_at_a_time_are_cut_off(slow_app: int) -> None:
    answer = await _trickle(slow_app, b"POST /events HTTP/1.1\r\n", b"X-Slow: " + b"a" * 10_000)

    assert answer.startswith(b"HTTP/1.1 408")


async def test_a_connection_that_sends_nothing_is_closed(slow_app: int) -> None:
    client = await _connect(slow_app)

    assert (await client.answer()).startswith(b"HTTP/1.1 408")


async def test_a_body_trickled_a_byte_at_a_time_is_cut_off(slow_app: int) -> None:
    head = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n"

    answer = await _trickle(slow_app, head, b"a" * 10_000)

    assert answer.startswith(b"HTTP/1.1 408")
    assert b"did not arrive in time" in answer


async def test_endless_headers_are_refused_past_64_kib(slow_app: int) -> None:
    padding = (b"X-Pad: " + b"a" * 1000 + b"\r\n" for _ in range(1000))  # a megabyte of them

    answer, _ = await asyncio.to_thread(_push, slow_app, b"GET /healthz HTTP/1.1\r\n", padding)

    assert answer.startswith(b"HTTP/1.1 431")


async def test_a_prompt_client_on_the_same_server_is_served(slow_app: int) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{slow_app}/healthz")

    assert response.status_code == 200
