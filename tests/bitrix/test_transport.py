"""The guarded HTTP client (issue 14 item 3): every connection resolves through EndpointGuard and
goes to the address it checked; addresses of ours are refused before anything is sent.

The refusal tests run with ALLOW_HTTP off (allow_loopback=False) against made-up host names whose
DNS answers a test resolver gives; nothing listens at the refused addresses, and nothing is sent.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from namecase.bitrix import BitrixClient, ForbiddenEndpoint, LeakyBucket, OAuthClient
from namecase.bitrix.endpoints import EndpointGuard
from namecase.bitrix.transport import portal_http_client
from support.servers import serve

from .portal_doubles import CallLog, MemoryLink, Sleeps


class Resolver:
    """A DNS stand-in: fixed answers per name, and a count of the questions asked."""

    def __init__(self, answers: dict[str, Sequence[str]]) -> None:
        self.answers = answers
        self.questions: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.questions.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


class HostRecorder:
    """A loopback server that answers 200 with the Host header it received."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        host = dict(scope["headers"]).get(b"host", b"")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": host})


@pytest.fixture
async def loopback_port() -> AsyncIterator[int]:
    async with serve(HostRecorder()) as base_url:
        yield int(base_url.rsplit(":", 1)[1])


async def test_the_connection_goes_to_the_address_the_guard_checked(loopback_port: int) -> None:
    # No real DNS knows this name: the request can only arrive through the guard's answer.
    resolver = Resolver({"portal.namecase-test": ["127.0.0.1"]})
    async with portal_http_client(allow_loopback=True, resolver=resolver) as http:
        first = await http.get(f"http://portal.namecase-test:{loopback_port}/rest/profile")
        second = await http.get(f"http://portal.namecase-test:{loopback_port}/rest/profile")

    assert first.status_code == second.status_code == 200
    assert first.text == f"portal.namecase-test:{loopback_port}"  # the name, not the address
    # One question for one connection (kept alive): no second lookup that could answer otherwise.
    assert resolver.questions == ["portal.namecase-test"]


async def test_a_dns_answer_that_changes_after_the_check_is_never_asked_for(
    loopback_port: int,
) -> None:
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])

    async def rebinding(host: str, port: int) -> Sequence[str]:
        return next(answers)

    async with portal_http_client(allow_loopback=True, resolver=rebinding) as http:
        response = await http.get(f"http://rebind.namecase-test:{loopback_port}/")

    assert response.status_code == 200
    assert next(answers) == ["10.0.0.1"]  # the second answer was never used


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.7"],
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["93.184.215.14", "192.168.0.10"],  # one bad answer among good ones refuses them all
        ["::1"],
        ["fd00::5"],
        ["::ffff:10.0.0.7"],
    ],
)
async def test_a_name_resolving_to_an_address_of_ours_is_refused_before_connecting(
    addresses: list[str],
) -> None:
    resolver = Resolver({"evil.namecase-test": addresses})
    async with portal_http_client(allow_loopback=False, resolver=resolver) as http:
        with pytest.raises(ForbiddenEndpoint, match="resolves to"):
            await http.post("https://evil.namecase-test/rest/profile", json={"auth": "x"})


async def test_allow_http_allows_loopback_and_nothing_else() -> None:
    answers = {"lan.test": ["192.168.1.2"], "localhost": ["127.0.0.1", "::1"]}
    guard = EndpointGuard(allow_loopback=True, resolver=Resolver(answers))
    closed = EndpointGuard(allow_loopback=False, resolver=Resolver(answers))

    assert await guard.addresses("127.0.0.1", 80) == ["127.0.0.1"]
    assert await guard.addresses("localhost", 80) == ["127.0.0.1", "::1"]
    with pytest.raises(ForbiddenEndpoint, match="private"):
        await guard.addresses("lan.test", 80)
    with pytest.raises(ForbiddenEndpoint, match="localhost is refused"):
        await closed.addresses("localhost", 80)


async def test_public_answers_are_handed_back_in_order_without_repeats() -> None:
    guard = EndpointGuard(
        allow_loopback=False,
        resolver=Resolver(
            {
                "portal.test": [
                    "93.184.215.14",
                    "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                    "93.184.215.14",
                ]
            }
        ),
    )

    assert await guard.addresses("portal.test", 443) == [
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]


async def test_a_name_that_does_not_resolve_is_a_connection_error() -> None:
    async with portal_http_client(allow_loopback=False, resolver=Resolver({})) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("https://nowhere.namecase-test/")


async def test_the_client_refuses_a_stored_endpoint_on_our_network_and_logs_it() -> None:
    log = CallLog()
    resolver = Resolver({"portal.namecase-test": ["10.20.30.40"]})
    async with portal_http_client(allow_loopback=False, resolver=resolver) as http:
        client = BitrixClient(http, on_call=log, sleep=Sleeps(), max_attempts=3)
        link = MemoryLink(
            member_id="m1",
            oauth=OAuthClient(http, client_id="c", client_secret="s", oauth_servers=()),
            server_endpoint="https://oauth.bitrix.info/rest/",
            client_endpoint="https://portal.namecase-test/rest/",
            access_token="access-token-0123456789",
            refresh_token="refresh-token-0123456789",
            bucket=LeakyBucket(),
        )
        with pytest.raises(ForbiddenEndpoint):
            await client.call(link, "crm.contact.get", {"id": 1})

    assert resolver.questions == ["portal.namecase-test"]  # refused once, never retried
    assert [(c.method, c.http_status, c.error_code) for c in log.calls] == [
        ("crm.contact.get", None, "FORBIDDEN_ENDPOINT")
    ]


async def test_the_oauth_server_is_checked_like_a_portal() -> None:
    resolver = Resolver({"oauth.namecase-test": ["127.0.0.1"]})
    async with portal_http_client(allow_loopback=False, resolver=resolver) as http:
        oauth = OAuthClient(
            http,
            client_id="c",
            client_secret="client-secret-0123456789",
            oauth_servers=("https://oauth.namecase-test",),
        )
        with pytest.raises(ForbiddenEndpoint, match="loopback"):
            await oauth.refresh("https://oauth.namecase-test/rest/", "refresh-token-0123456789")
