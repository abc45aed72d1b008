"""The emulator's single ASGI app: OAuth server, portal REST, control API, BX24 shim.

Every portal is its own host, as on Bitrix24 (``client_endpoint`` = ``https://DOMAIN/rest/``,
settings/oauth/index.md); here all of them share one loopback port and are told apart by the
``Host`` header (clients map the portal names to 127.0.0.1: docs/EMULATOR.md, "Addressing").

- ``http://{domain}:PORT/rest/{method}[.json]``: a portal's REST (``client_endpoint``), and
  ``http://{domain}:PORT/?app=URL`` its page with the app in a frame;
- a renamed portal's old name answers 302 with ``Location`` on the new name
  (settings/how-to-call-rest-api/change-domen.md);
- any other host (``127.0.0.1:PORT``): ``/oauth/token/`` and ``/rest/app.info``, the OAuth server;
- on every host: ``/_emulator/...``, the JSON control API, and ``/api/v1/``, the BX24 JS shim.

This is a bare ASGI callable rather than a routed framework app: the portal path is the hot
path of every benchmark, and an injected connection reset needs the server's own ``send``.
"""

from __future__ import annotations

import asyncio

from namecase.emulator import errors
from namecase.emulator.control import ControlApi
from namecase.emulator.emulator import Emulator
from namecase.emulator.faults import RequestFault
from namecase.emulator.portal import Portal
from namecase.emulator.shim import BX24_SHIM
from namecase.emulator.wire import (
    Receive,
    Scope,
    Send,
    read_params,
    request_host,
    reset_connection,
    send_bytes,
    send_json,
)


class EmulatorApp:
    """ASGI entry point for one ``Emulator``."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.control = ControlApi(emulator)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if scope["method"] == "OPTIONS":
            await send_bytes(send, 204, b"", b"text/plain")
        elif path.startswith("/_emulator/"):
            await self.control.handle(scope, receive, send, path[len("/_emulator/") :])
        elif path.rstrip("/") == "/api/v1":
            await send_bytes(send, 200, BX24_SHIM.encode(), b"application/javascript")
        else:
            await self._by_host(scope, receive, send, path)

    async def _by_host(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        host = request_host(scope)
        portal = self.emulator.portal_by_domain(host)
        if portal is not None:
            await self._portal(scope, receive, send, portal, path)
        elif self.emulator.renamed_to(host) is not None:
            await self._moved(scope, send, host, path)
        else:
            await self._oauth_server(scope, receive, send, path)

    async def _oauth_server(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        if path in ("/oauth/token/", "/oauth/token"):
            params = await read_params(scope, receive)
            await send_json(send, *self.emulator.oauth.token(params))
        elif path.startswith("/rest/"):
            await self._oauth_rest(scope, receive, send, path[len("/rest/") :])
        else:
            await send_json(send, 404, {"error": "NOT_FOUND", "error_description": "Not found"})

    async def _oauth_rest(self, scope: Scope, receive: Receive, send: Send, method: str) -> None:
        params = await read_params(scope, receive)
        if method_name(method) == "app.info":
            await send_json(send, *self.emulator.oauth.app_info(params))
        else:
            error = errors.method_not_found()
            await send_json(send, error.status, error.body())

    async def _portal(
        self, scope: Scope, receive: Receive, send: Send, portal: Portal, path: str
    ) -> None:
        if path.startswith("/rest/"):
            await self._portal_rest(scope, receive, send, portal, path[len("/rest/") :])
        elif path == "/":
            await self.control.portal_page(scope, send, portal)
        else:
            await send_json(send, 404, {"error": "NOT_FOUND", "error_description": "Not found"})

    async def _moved(self, scope: Scope, send: Send, old_domain: str, path: str) -> None:
        # A renamed portal answers 302 with Location on its new host; clients must re-POST
        # (settings/how-to-call-rest-api/change-domen.md, "Подход 1").
        new_domain = self.emulator.renamed_to(old_domain)
        current = self.emulator.portal_by_domain(new_domain or "")
        assert current is not None
        current.stats.redirects_302 += 1
        query = scope.get("query_string", b"").decode()
        location = f"{current.origin}{path}" + (f"?{query}" if query else "")
        await send_bytes(send, 302, b"", b"text/html", [(b"location", location.encode())])

    async def _portal_rest(
        self, scope: Scope, receive: Receive, send: Send, portal: Portal, method_path: str
    ) -> None:
        stats = portal.stats
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            await self._portal_rest_call(scope, receive, send, portal, method_path)
        finally:
            stats.in_flight -= 1

    async def _portal_rest_call(
        self, scope: Scope, receive: Receive, send: Send, portal: Portal, method_path: str
    ) -> None:
        emulator, faults, stats = self.emulator, portal.faults, portal.stats
        params = await read_params(scope, receive)
        stats.total_requests += 1
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        fault = faults.draw_request_fault(emulator.rng)
        if fault is RequestFault.RESET:
            stats.injected_resets += 1
            await reset_connection(send)
            return
        if fault is RequestFault.TIMEOUT or method_name(method_path) in faults.hang_methods:
            stats.injected_timeouts += 1
            await self._hang(faults.timeout_seconds)
            await reset_connection(send)
            return
        if fault is RequestFault.ERROR:
            stats.injected_errors += 1
            error = errors.internal_server_error()
            await send_json(send, error.status, error.body())
            return
        started = emulator.now()
        if faults.take_limit() or not portal.bucket.try_admit(started):
            stats.rejected_503 += 1
            error = errors.query_limit_exceeded()
            await send_json(send, error.status, error.body())
            return
        await send_json(
            send, *emulator.rest.execute(portal, method_name(method_path), params, started)
        )

    async def _hang(self, seconds: float) -> None:
        released = asyncio.Event()
        self.emulator.hangs.add(released)
        try:
            await asyncio.wait_for(released.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self.emulator.hangs.discard(released)


def method_name(raw: str) -> str:
    """``crm.contact.get.json`` -> ``crm.contact.get`` (method names are case-insensitive)."""
    return raw.strip("/").lower().removesuffix(".json")
