"""ASGI middleware that gives every request an id, a metrics sample and one log line."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from namecase.logs import request_id
from namecase.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("namecase.http")

# Machine-to-machine routes with a high volume, whose successes are counted in the metrics and
# recorded in the database: one log line each would cost more CPU than serving them (bench/
# ingest.py) and bury everything else. Their failures and slow answers are still logged.
QUIET_ROUTES = frozenset({("POST", "/events")})
SLOW_SECONDS = 1.0

_Observers = tuple[Any, Any]
_observers: dict[tuple[str, str, int], _Observers] = {}


class RequestObserver:
    """Request id (honouring a sane incoming X-Request-ID), latency histogram, access log.

    The access log omits the query string: frames and tests may carry tokens there.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_request_id(scope) or uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            requests, latency = _observers_for(template, method, status)
            requests.inc()
            latency.observe(elapsed)
            quiet = status < 400 and elapsed < SLOW_SECONDS and (method, template) in QUIET_ROUTES
            log.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s -> %d in %.1f ms",
                method,
                scope["path"],
                status,
                elapsed * 1000,
            )
            request_id.reset(token)


def _observers_for(template: str, method: str, status: int) -> _Observers:
    """The labelled metric children of a request kind (looking labels up costs per request)."""
    key = (template, method, status)
    observers = _observers.get(key)
    if observers is None:
        observers = (
            HTTP_REQUESTS.labels(template, method, str(status)),
            HTTP_LATENCY.labels(template, method),
        )
        if len(_observers) < 10_000:  # methods and paths come from clients: stay bounded
            _observers[key] = observers
    return observers


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if 0 < len(text) <= 64 and text.replace("-", "").isalnum():
                return text
    return None
