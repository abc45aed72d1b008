"""The HTTP client for portals and OAuth servers: it connects only to addresses it has checked.

A check of a host name followed by a connection that resolves the name again leaves a gap: the
second DNS answer may differ from the first (DNS rebinding). So the check happens where the
connection is made. `GuardedBackend` is the network layer under httpx: for every new connection
it asks `EndpointGuard` for the host's checked addresses and connects to one of them. TLS is still
verified against the host *name* (httpcore sends the URL's host as SNI and checks the
certificate for it), so connecting by address loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx

from namecase.bitrix.endpoints import EndpointGuard, Resolver
from namecase.bitrix.errors import ForbiddenEndpoint

USER_AGENT = "namecase/0.1 (+Bitrix24 app)"
POOL_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving through the guard and connecting by address."""

    def __init__(
        self, guard: EndpointGuard, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._guard.addresses(host, port)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host[:100]} timed out") from error
        except OSError as error:  # the name does not resolve: like a refused connection
            raise httpcore.ConnectError(f"{host[:100]}: {error}") from error
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error  # try the host's next checked address
        assert failure is not None  # `addresses` is never empty
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise ForbiddenEndpoint(description="unix sockets are not an endpoint")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool on a `GuardedBackend`."""

    def __init__(
        self,
        guard: EndpointGuard,
        *,
        limits: httpx.Limits = POOL_LIMITS,
    ) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx builds its pool without a way to pass a network backend; replace the (unused,
        # unopened) pool with one that has ours. tests/bitrix/test_transport.py fails loudly
        # should a newer httpx stop sending requests through `_pool`.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard),
        )


def portal_http_client(
    *,
    allow_loopback: bool,
    resolver: Resolver | None = None,
    emulator_hosts: Sequence[str] = (),
) -> httpx.AsyncClient:
    """The one shared client for portals and OAuth servers (DESIGN.md §5), guarded.

    ``allow_loopback`` is NAMECASE_ALLOW_HTTP (the emulator on 127.0.0.1). Environment proxies
    are ignored: a proxy would resolve the name itself, after our check.

    ``emulator_hosts`` is NAMECASE_EMULATOR_HOSTS: the emulator's portal names, resolved to
    127.0.0.1 (each emulated portal is its own host, issue 17). Only with ``allow_loopback``;
    empty (production) leaves resolution and every check exactly as without it.
    """
    guard = EndpointGuard(
        allow_loopback=allow_loopback, resolver=resolver, emulator_hosts=emulator_hosts
    )
    return httpx.AsyncClient(
        transport=GuardedTransport(guard),
        timeout=httpx.Timeout(30.0, connect=10.0),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )
