"""Event delivery as Bitrix24 does it (bitrix24-protocol.md §2).

- A form POST (``application/x-www-form-urlencoded``, PHP-style keys, all values strings)
  to each bound handler, from a queue: asynchronous, never blocking the change itself.
- ``auth`` carries tokens of the user whose action caused the event, or none at all when the
  change came from an automation; ``application_token`` is always there.
- Failures are logged and the event is not resent ("Повторных отправок нет").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from namecase.emulator.phpform import encode_php_query
from namecase.emulator.poster import DeliveryError, FormPoster

USER_AGENT = "Bitrix24 Webhook Engine"


@dataclass
class EventAuth:
    """Inputs of an event's ``auth`` block."""

    domain: str
    client_endpoint: str
    server_endpoint: str
    member_id: str
    application_token: str
    scope: str
    status: str
    access_token: str | None = None
    refresh_token: str | None = None
    expires_at: float | None = None
    expires_in: int | None = None
    user_id: int | None = None


def event_auth_block(auth: EventAuth) -> dict[str, str]:
    """The ``auth[...]`` keys, in the order of captured real payloads (§2); values are strings.

    Token keys (access_token, expires, expires_in, user_id, refresh_token) are left out when
    the change came from an automation.
    """
    block: dict[str, str] = {}
    if auth.access_token is not None:
        block["access_token"] = auth.access_token
        if auth.expires_at is not None:
            block["expires"] = str(int(auth.expires_at))
        if auth.expires_in is not None:
            block["expires_in"] = str(auth.expires_in)
    block.update(
        {
            "scope": auth.scope,
            "domain": auth.domain,
            "server_endpoint": auth.server_endpoint,
            "status": auth.status,
            "client_endpoint": auth.client_endpoint,
            "member_id": auth.member_id,
        }
    )
    if auth.access_token is not None and auth.user_id is not None:
        block["user_id"] = str(auth.user_id)
    if auth.access_token is not None and auth.refresh_token is not None:
        block["refresh_token"] = auth.refresh_token
    block["application_token"] = auth.application_token
    return block


def event_payload(
    event: str, handler_id: int, data: Mapping[str, Any], auth: Mapping[str, str], ts: float
) -> dict[str, Any]:
    """``{event, event_handler_id, data, ts, auth}`` as in the documented payload (§2)."""
    return {
        "event": event,
        "event_handler_id": str(handler_id),
        "data": _stringify(data),
        "ts": str(int(ts)),
        "auth": dict(auth),
    }


def _stringify(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return "" if value is None else str(value)


@dataclass
class Delivery:
    """One attempt to deliver one event to one handler; never retried."""

    member_id: str
    event: str
    url: str
    handler_id: int
    data: dict[str, Any]
    auth: dict[str, str]
    queued_at: float
    body: str = ""
    sent_at: float | None = None
    status: int | None = None
    latency: float | None = None
    error: str | None = None
    dropped: bool = False

    @property
    def ok(self) -> bool:
        """True when the handler answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view for the control API."""
        return {
            "member_id": self.member_id,
            "event": self.event,
            "url": self.url,
            "handler_id": self.handler_id,
            "body": self.body,
            "queued_at": self.queued_at,
            "sent_at": self.sent_at,
            "status": self.status,
            "latency": self.latency,
            "error": self.error,
            "dropped": self.dropped,
        }


class EventDispatcher:
    """The queue server: sends deliveries concurrently and logs each outcome."""

    def __init__(
        self,
        timeout: float,
        concurrency: int,
        verify_tls: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.timeout = timeout
        self.clock = clock
        self.concurrency = concurrency
        self.verify_tls = verify_tls
        self.deliveries: list[Delivery] = []
        self._pending: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._poster = FormPoster(USER_AGENT, timeout, verify_tls=verify_tls, max_idle=concurrency)
        self._slots: asyncio.Semaphore | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """A browser-like HTTP client for installer frames (created in the running loop)."""
        if self._client is None:
            self._client = httpx.AsyncClient(verify=self.verify_tls)
        return self._client

    def submit(self, delivery: Delivery, delay: float, drop: bool) -> None:
        """Queue ``delivery``; it is logged now and sent after ``delay`` unless dropped."""
        self.deliveries.append(delivery)
        if drop:
            delivery.dropped = True
            delivery.error = "dropped by fault injection"
            return
        task = asyncio.get_running_loop().create_task(self._send(delivery, delay))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @property
    def pending(self) -> int:
        """Deliveries queued or in flight."""
        return len(self._pending)

    async def wait_idle(self) -> None:
        """Return once every queued delivery has finished (including ones queued meanwhile)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel what is still queued and close the HTTP client."""
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await self._poster.aclose()
        self._slots = None

    async def _send(self, delivery: Delivery, delay: float) -> None:
        try:
            await self._deliver(delivery, delay)
        except asyncio.CancelledError:
            delivery.error = delivery.error or "cancelled: the emulator stopped"
            raise

    async def _deliver(self, delivery: Delivery, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        async with self._slots:
            sent_at = self.clock()
            payload = event_payload(
                delivery.event, delivery.handler_id, delivery.data, delivery.auth, sent_at
            )
            delivery.body = encode_php_query(payload)
            delivery.sent_at = sent_at
            started = time.perf_counter()
            try:
                delivery.status = await self._poster.post(delivery.url, delivery.body.encode())
            except TimeoutError:
                delivery.error = f"TimeoutError: no answer within {self.timeout} s"
            except (OSError, asyncio.IncompleteReadError, DeliveryError) as exc:
                delivery.error = f"{type(exc).__name__}: {exc}"
            finally:
                delivery.latency = time.perf_counter() - started
