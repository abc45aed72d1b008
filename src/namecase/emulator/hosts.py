"""Reaching the emulator's portals by name from httpx, for tests and tools.

Each portal is its own host (``http://acme.bitrix24.test:PORT/rest/``) and no DNS knows these
names, so a client must map them to the emulator's loopback address itself. `LoopbackTransport`
does that for httpx: requests to a mapped name are sent to 127.0.0.1 on the URL's port, with the
``Host`` header still naming the portal, which is how the emulator tells portals apart (app.py).
The service has its own, guarded, hook for the same (NAMECASE_EMULATOR_HOSTS).
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from namecase.emulator.emulator import PORTAL_DOMAIN_SUFFIX

LOOPBACK = "127.0.0.1"


def is_mapped(host: str, suffixes: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``suffixes`` or a name under one (``acme.bitrix24.test``)."""
    name = host.lower().rstrip(".")
    names = (suffix.lower().strip(".") for suffix in suffixes)
    return any(name == suffix or name.endswith(f".{suffix}") for suffix in names)


class LoopbackTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends requests for the mapped names to 127.0.0.1."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | None = None,
        suffixes: Iterable[str] = (PORTAL_DOMAIN_SUFFIX,),
    ) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._suffixes = tuple(suffixes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if is_mapped(request.url.host, self._suffixes):
            # The Host header was set from the URL when the request was built; it stays.
            request.url = request.url.copy_with(host=LOOPBACK)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def loopback_client(**options: object) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` that reaches the emulator's portals by name."""
    # verify=False: the emulator speaks plain http, and loading the CA bundle costs ~60 ms.
    transport = LoopbackTransport(httpx.AsyncHTTPTransport(verify=False))
    return httpx.AsyncClient(transport=transport, **options)  # type: ignore[arg-type]
