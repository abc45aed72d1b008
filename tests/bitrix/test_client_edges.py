"""Portal answers the emulator does not produce, from a scripted stub portal on loopback:
redirects that are not renames, HTML error pages, batch parts shaped as JSON lists."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from namecase.bitrix import (
    BitrixClient,
    BitrixError,
    LeakyBucket,
    OAuthClient,
    PaymentRequired,
    PortalDeleted,
    PortalUnavailable,
)
from support.servers import serve

from .portal_doubles import Answer, CallLog, MemoryLink, Sleeps, StubPortal

JSON = {"content-type": "application/json"}
_UNUSED_HTTP = httpx.AsyncClient()  # opens nothing until a request is made, and none is


def _json(status: int, body: Any) -> Answer:
    return status, JSON, json.dumps(body).encode()


def _redirect(location: str, status: int = 302) -> Answer:
    return status, {"location": location}, b""


@pytest.fixture
async def stub() -> AsyncIterator[tuple[StubPortal, str]]:
    portal = StubPortal()
    async with serve(portal) as base_url:
        yield portal, base_url


@pytest.fixture
async def second_stub() -> AsyncIterator[tuple[StubPortal, str]]:
    portal = StubPortal()
    async with serve(portal) as base_url:
        yield portal, base_url


@pytest.fixture
async def client_and_log() -> AsyncIterator[tuple[BitrixClient, CallLog, Sleeps]]:
    log, sleeps = CallLog(), Sleeps()
    async with httpx.AsyncClient() as http:
        yield (
            BitrixClient(http, allow_http=True, on_call=log, sleep=sleeps, max_attempts=3),
            log,
            sleeps,
        )


def _link(endpoint: str) -> MemoryLink:
    # The stub portals never expire tokens: this OAuth client is never asked to refresh.
    oauth = OAuthClient(
        _UNUSED_HTTP, client_id="x", client_secret="y", oauth_servers=(), allow_http=True
    )
    return MemoryLink(
        member_id="stub-member",
        oauth=oauth,
        server_endpoint="http://127.0.0.1:9/rest/",
        client_endpoint=endpoint,
        access_token="stub-access-token-0123456789",
        refresh_token="stub-refresh-token-0123456789",
        bucket=LeakyBucket(),
    )


async def test_a_same_host_redirect_away_from_rest_is_not_a_rename(
    stub: tuple[StubPortal, str], client_and_log: tuple[BitrixClient, CallLog, Sleeps]
) -> None:
    # An expired licence redirects to /bitrix/coupon_activation.php (PHP SDK Core.php).
    portal, base = stub
    portal.answer = lambda path, body: _redirect(f"{base}/bitrix/coupon_activation.php")
    client, _, _ = client_and_log
    link = _link(f"{base}/rest/")

    with pytest.raises(PortalUnavailable, match="redirected away from REST"):
        await client.call(link, "profile")

    assert link.moves == []
    assert all(path == "/rest/profile" for _, path, _ in portal.requests)


async def test_a_redirect_to_another_host_keeps_the_rest_path_layout(
    stub: tuple[StubPortal, str],
    second_stub: tuple[StubPortal, str],
    client_and_log: tuple[BitrixClient, CallLog, Sleeps],
) -> None:
    old, old_base = stub
    new, new_base = second_stub
    old.answer = lambda path, body: _redirect(f"{new_base}/", status=301)
    new.answer = lambda path, body: _json(200, {"result": {"ID": "1"}, "time": {}})
    client, log, _ = client_and_log
    link = _link(f"{old_base}/rest/")

    result = await client.call(link, "crm.contact.update", {"id": 5, "fields": {"NAME": "Иван"}})

    assert result == {"ID": "1"}
    assert link.moves == [f"{new_base}/rest/"]
    ((method, path, body),) = new.requests
    assert (method, path) == ("POST", "/rest/crm.contact.update")
    assert json.loads(body)["fields"] == {"NAME": "Иван"}
    assert log.statuses() == [301, 200]


@pytest.mark.parametrize("status", [307, 308])
async def test_every_redirect_status_is_followed_by_hand(
    status: int,
    stub: tuple[StubPortal, str],
    second_stub: tuple[StubPortal, str],
    client_and_log: tuple[BitrixClient, CallLog, Sleeps],
) -> None:
    old, old_base = stub
    new, new_base = second_stub
    old.answer = lambda path, body: _redirect(f"{new_base}/rest/profile.json", status)
    new.answer = lambda path, body: _json(200, {"result": True})
    client, _, _ = client_and_log
    link = _link(f"{old_base}/rest/")

    assert await client.call(link, "profile") is True
    assert link.moves == [f"{new_base}/rest/"]


async def test_redirect_loops_and_long_chains_end(
    stub: tuple[StubPortal, str],
    second_stub: tuple[StubPortal, str],
    client_and_log: tuple[BitrixClient, CallLog, Sleeps],
) -> None:
    first, first_base = stub
    second, second_base = second_stub
    first.answer = lambda path, body: _redirect(f"{second_base}{path}")
    second.answer = lambda path, body: _redirect(f"{first_base}{path}")
    client, _, _ = client_and_log
    link = _link(f"{first_base}/rest/")

    with pytest.raises(PortalUnavailable, match="too many redirects"):
        await client.call(link, "profile")

    # Three attempts, each starting again at the stored endpoint and giving up after 3 hops.
    assert link.moves == []
    assert (len(first.requests), len(second.requests)) == (6, 6)


async def test_a_redirect_to_the_same_url_is_a_loop(
    stub: tuple[StubPortal, str], client_and_log: tuple[BitrixClient, CallLog, Sleeps]
) -> None:
    portal, base = stub
    portal.answer = lambda path, body: _redirect(f"{base}{path}")
    client, _, _ = client_and_log

    with pytest.raises(PortalUnavailable, match="redirect loop"):
        await client.call(_link(f"{base}/rest/"), "profile")


async def test_an_html_error_page_is_a_transient_failure(
    stub: tuple[StubPortal, str], client_and_log: tuple[BitrixClient, CallLog, Sleeps]
) -> None:
    portal, base = stub
    portal.answer = lambda path, body: (502, {"content-type": "text/html"}, b"<h1>Bad gateway</h1>")
    client, log, sleeps = client_and_log

    with pytest.raises(PortalUnavailable) as raised:
        await client.call(_link(f"{base}/rest/"), "profile")

    assert raised.value.status == 502
    assert len(portal.requests) == 3
    assert len(sleeps.delays) == 2
    # Its size and kind only: an error page may quote anything (issue 14 item 8).
    assert log.calls[0].response == "(not JSON: 20 bytes, text/html)"


async def test_a_200_that_is_not_json_is_a_transient_failure(
    stub: tuple[StubPortal, str], client_and_log: tuple[BitrixClient, CallLog, Sleeps]
) -> None:
    portal, base = stub
    portal.answer = lambda path, body: (200, {"content-type": "text/html"}, b"<html>maintenance")
    client, _, _ = client_and_log

    with pytest.raises(PortalUnavailable, match="not JSON"):
        await client.call(_link(f"{base}/rest/"), "profile")


async def test_batch_parts_sent_as_json_lists_are_keyed_by_position(
    stub: tuple[StubPortal, str], client_and_log: tuple[BitrixClient, CallLog, Sleeps]
) -> None:
    # PHP encodes arrays keyed 0..n-1 as JSON lists; empty parts come as [] (protocol §6).
    portal, base = stub
    parts = {
        "result": [{"ID": "1"}, {"ID": "2"}],
        "result_error": [],
        "result_total": [],
        "result_next": [],
        "result_time": [],
    }
    portal.answer = lambda path, body: _json(200, {"result": parts})
    client, _, _ = client_and_log

    outcome = await client.batch(
        _link(f"{base}/rest/"),
        {"0": ("crm.contact.get", {"id": 1}), "1": ("crm.contact.get", {"id": 2})},
    )

    assert outcome.result == {"0": {"ID": "1"}, "1": {"ID": "2"}}
    assert outcome.errors == {}
    ((_, _, body),) = portal.requests
    assert json.loads(body)["cmd"] == {"0": "crm.contact.get?id=1", "1": "crm.contact.get?id=2"}
    assert json.loads(body)["halt"] == 0


async def test_a_terminal_error_inside_a_batch_disables_the_portal(
    stub: tuple[StubPortal, str], client_and_log: tuple[BitrixClient, CallLog, Sleeps]
) -> None:
    portal, base = stub
    parts = {
        "result": [],
        "result_error": {"a": {"error": "PAYMENT_REQUIRED", "error_description": "Payment"}},
    }
    portal.answer = lambda path, body: _json(200, {"result": parts})
    client, _, _ = client_and_log
    link = _link(f"{base}/rest/")

    with pytest.raises(PaymentRequired):
        await client.batch(link, {"a": ("crm.contact.get", {"id": 1})})

    assert [error.portal_state for error in link.disabled_with] == ["payment_required"]


async def test_a_token_echoed_in_an_error_reaches_neither_the_log_nor_the_message(
    stub: tuple[StubPortal, str], client_and_log: tuple[BitrixClient, CallLog, Sleeps]
) -> None:
    portal, base = stub
    link = _link(f"{base}/rest/")
    echo = f"token {link.access_token} is not valid here"
    portal.answer = lambda path, body: _json(
        400, {"error": "ERROR_CORE", "error_description": echo}
    )
    client, log, _ = client_and_log

    with pytest.raises(BitrixError) as raised:
        await client.call(link, "profile")

    assert link.access_token not in str(raised.value)
    assert raised.value.description == "token *** is not valid here"
    assert link.access_token not in log.calls[0].response
    assert "***" in log.calls[0].response


async def test_a_deleted_portal_is_disabled_without_retries(
    stub: tuple[StubPortal, str], client_and_log: tuple[BitrixClient, CallLog, Sleeps]
) -> None:
    # PORTAL_DELETED comes with HTTP 500 (system-errors.md): the portal is closed for a while;
    # retrying within the call does not help, probing it later does (docs/LIFECYCLE.md).
    portal, base = stub
    deleted = {"error": "PORTAL_DELETED", "error_description": "Portal was deleted"}
    portal.answer = lambda path, body: _json(500, deleted)
    client, _, sleeps = client_and_log
    link = _link(f"{base}/rest/")

    with pytest.raises(PortalDeleted):
        await client.call(link, "profile")

    assert [error.portal_state for error in link.disabled_with] == ["unreachable"]
    assert len(portal.requests) == 1
    assert sleeps.delays == []


class EndlessPortal:
    """Answers 200 with a JSON string streamed in 64 KiB chunks, without a Content-Length, until
    the client hangs up (or `cap` chunks, gigabytes, have gone out)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.sent = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"result": "', "more_body": True})
        while not gone.is_set() and self.sent < self.cap:
            self.sent += 1
            await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b'"}'})
        watcher.cancel()


async def test_an_answer_over_the_size_limit_is_not_read(
    stub: tuple[StubPortal, str],
) -> None:
    """A portal's owner controls its answers (issue 14): a huge one is refused, not read whole,
    whether it declares its length or streams without one."""
    portal, base = stub
    portal.answer = lambda path, body: _json(200, {"result": "x" * (2 * 1024 * 1024)})
    endless = EndlessPortal(cap=100_000)  # 6 GiB unless the reader stops
    log = CallLog()
    async with serve(endless) as endless_base, httpx.AsyncClient() as http:
        client = BitrixClient(
            http,
            allow_http=True,
            on_call=log,
            sleep=Sleeps(),
            max_attempts=1,
            max_answer_bytes=1024 * 1024,
        )
        with pytest.raises(PortalUnavailable, match="ANSWER_TOO_LARGE"):
            await client.call(_link(f"{base}/rest/"), "crm.contact.get", {"id": 1})
        with pytest.raises(PortalUnavailable, match="ANSWER_TOO_LARGE"):
            await client.call(_link(f"{endless_base}/rest/"), "crm.contact.get", {"id": 1})

    assert [(c.http_status, c.error_code) for c in log.calls] == [(200, "ANSWER_TOO_LARGE")] * 2
    assert endless.sent < 1000  # the reader stopped after 1 MiB and hung up
