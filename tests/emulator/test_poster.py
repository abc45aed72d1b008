"""The delivery client: a form POST, the status back, keep-alive, and honest failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from namecase.emulator.poster import DeliveryError, FormPoster

Answer = Callable[[int], bytes]


@asynccontextmanager
async def raw_server(answer: Answer, close_after: bool = False) -> AsyncIterator[list[bytes]]:
    """A TCP server answering the n-th request on a connection with ``answer(n)``."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        count = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                received.append(head + await reader.readexactly(length))
                writer.write(answer(count))
                await writer.drain()
                count += 1
                if close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    received.append(f"http://127.0.0.1:{port}".encode())
    try:
        yield received
    finally:
        server.close()
        await server.wait_closed()


def url_of(received: list[bytes]) -> str:
    return received.pop(0).decode()


async def test_posts_the_form_and_returns_the_status() -> None:
    async with raw_server(lambda n: b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok") as got:
        url = url_of(got)
        poster = FormPoster("Bitrix24 Webhook Engine", timeout=2.0)
        status = await poster.post(f"{url}/handler?x=1", b"event=ONCRMCONTACTADD")
        await poster.aclose()
    head, _, body = got[0].partition(b"\r\n\r\n")
    assert status == 202
    assert head.startswith(b"POST /handler?x=1 HTTP/1.1\r\n")
    assert b"Content-Type: application/x-www-form-urlencoded" in head
    assert b"User-Agent: Bitrix24 Webhook Engine" in head
    assert body == b"event=ONCRMCONTACTADD"


async def test_keeps_the_connection_alive_between_posts() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    async with raw_server(lambda n: answer) as got:
        url = url_of(got)
        poster = FormPoster("ua", timeout=2.0)
        statuses = [await poster.post(url, b"a=1") for _ in range(3)]
        await poster.aclose()
    assert statuses == [200, 200, 200]
    assert len(got) == 3


async def test_reads_chunked_answers_and_reuses_the_connection() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3;x=y\r\nabc\r\n0\r\n\r\n"
    )
    async with raw_server(lambda n: chunked) as got:
        url = url_of(got)
        poster = FormPoster("ua", timeout=2.0)
        statuses = [await poster.post(url, b"a=1") for _ in range(2)]
        await poster.aclose()
    assert statuses == [200, 200]


async def test_a_connection_closed_by_the_server_is_replaced() -> None:
    answer = b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"
    async with raw_server(lambda n: answer, close_after=True) as got:
        url = url_of(got)
        poster = FormPoster("ua", timeout=2.0)
        first = await poster.post(url, b"a=1")
        await asyncio.sleep(0.05)
        second = await poster.post(url, b"a=2")
        await poster.aclose()
    assert (first, second) == (500, 500)
    assert len(got) == 2


async def test_an_answer_without_length_ends_with_the_connection() -> None:
    answer = b"HTTP/1.0 200 OK\r\n\r\nbody until close"
    async with raw_server(lambda n: answer, close_after=True) as got:
        poster = FormPoster("ua", timeout=2.0)
        assert await poster.post(url_of(got), b"a=1") == 200
        await poster.aclose()


async def test_garbage_is_not_http() -> None:
    async with raw_server(lambda n: b"SSH-2.0-OpenSSH\r\n\r\n", close_after=True) as got:
        poster = FormPoster("ua", timeout=2.0)
        with pytest.raises(DeliveryError):
            await poster.post(url_of(got), b"a=1")


async def test_silence_times_out() -> None:
    async with raw_server(lambda n: b"", close_after=False) as got:
        poster = FormPoster("ua", timeout=0.1)
        with pytest.raises(TimeoutError):
            await poster.post(url_of(got), b"a=1")
        await poster.aclose()


async def test_unreachable_and_invalid_urls_fail() -> None:
    poster = FormPoster("ua", timeout=1.0)
    with pytest.raises(DeliveryError, match="cannot connect"):
        await poster.post("http://127.0.0.1:9/", b"a=1")
    with pytest.raises(DeliveryError, match="not an http"):
        await poster.post("ftp://example.com/", b"a=1")
