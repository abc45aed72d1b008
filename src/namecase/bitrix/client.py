"""The Bitrix24 REST client (DESIGN.md §5): one portal call, with everything Bitrix needs around it.

Around every request: the portal's rate budget, retries with jittered backoff on overload and
transport trouble, one refresh on an expired token, hand-followed renames, terminal errors that
disable the portal, and a redacted entry for the REST call log. The portal layer supplies the
per-portal state through ``PortalLink``; this module owns no storage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import httpx

from namecase.bitrix.endpoints import origin_of, rest_endpoint
from namecase.bitrix.errors import (
    BitrixError,
    ExpiredToken,
    ForbiddenEndpoint,
    OperationTimeLimit,
    PortalDisabled,
    PortalUnavailable,
    QueryLimitExceeded,
    error_from_response,
)
from namecase.bitrix.forms import encode_php_form
from namecase.bitrix.operating import TimingObserver
from namecase.bitrix.rate import LeakyBucket
from namecase.bitrix.redaction import call_log_request, call_log_response, mask_secrets

log = logging.getLogger(__name__)

MAX_BATCH: Final = 50  # protocol §6: more gives ERROR_BATCH_LENGTH_EXCEEDED
# A batch of 50 whole CRM records is well under a megabyte. A portal's owner controls its
# answers (an on-premise Bitrix24 is anyone's server): a larger one is not read into memory.
MAX_ANSWER_BYTES: Final = 32 * 1024 * 1024
_MAX_HOPS: Final = 3
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_METHOD: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_HEADERS: Final = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": "namecase",
}


@dataclass(frozen=True)
class Credentials:
    """Where and as whom to call one portal."""

    client_endpoint: str  # e.g. "https://acme.bitrix24.ru/rest/"
    access_token: str = field(repr=False)


class PortalLink(Protocol):
    """What the client needs from the portal layer for one portal (implemented by portals)."""

    @property
    def member_id(self) -> str: ...

    @property
    def bucket(self) -> LeakyBucket:
        """The portal's rate budget, owned by the caller (the lease holder)."""
        ...

    async def credentials(self) -> Credentials:
        """The stored endpoint and access token; raise PortalDisabled if calls must stop."""
        ...

    async def refresh(self, stale: Credentials) -> Credentials:
        """New credentials after ``stale`` expired, serialized per portal across processes."""
        ...

    async def moved(self, new_client_endpoint: str) -> None:
        """The portal was renamed (protocol §5): persist the new endpoint."""
        ...

    async def disabled(self, error: PortalDisabled) -> None:
        """Persist ``error.portal_state``; the client re-raises the error afterwards."""
        ...


@dataclass(frozen=True)
class RestCall:
    """One HTTP exchange with a portal, for the REST call log (Marketplace: >= 3 days)."""

    member_id: str
    method: str
    http_status: int | None  # None: no answer (timeout, connection error)
    error_code: str | None  # Bitrix code, or TIMEOUT / CONNECTION_ERROR without an answer
    duration_ms: float
    request: str  # JSON, redacted, truncated
    response: str  # JSON (or raw text), redacted, truncated
    started_at: float  # unix time


@dataclass(frozen=True)
class Page:
    """One page of a ``*.list`` method: 50 items at most, ``next`` is the next ``start``."""

    result: Any
    total: int | None
    next: int | None


@dataclass(frozen=True)
class BatchResult:
    """Per-command outcomes of one batch, keyed by command name."""

    result: dict[str, Any]
    errors: dict[str, BitrixError]
    total: dict[str, Any] = field(default_factory=dict)
    next: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Target:
    """Where the current call goes; a redirect or a refresh changes it mid-call."""

    endpoint: str
    credentials: Credentials
    log_refusals: bool = True


class BitrixClient:
    """Calls portal REST methods over one shared ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        allow_http: bool = False,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_operating_wait: float = 60.0,
        request_timeout: float = 65.0,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        log_body_limit: int = 4096,
        on_call: Callable[[RestCall], Awaitable[None]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._http = http
        self._allow_http = allow_http
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_operating_wait = max_operating_wait
        self._request_timeout = request_timeout
        self._max_answer_bytes = max_answer_bytes
        self._log_body_limit = log_body_limit
        self._on_call = on_call
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()  # jitter, not security

    async def call(
        self,
        link: PortalLink,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        log_refusals: bool = True,
    ) -> Any:
        """Call ``method`` and return its ``result``; raise a BitrixError subclass on failure.

        ``log_refusals=False`` keeps an answer of 400 and up out of the call log: a check of a
        token anyone may make up must not let them write rows into our database.
        """
        body = await self._call(link, method, params or {}, log_refusals=log_refusals)
        return body["result"]

    async def call_page(
        self, link: PortalLink, method: str, params: Mapping[str, Any] | None = None
    ) -> Page:
        """Call a list method and return the page with its ``total`` and ``next``."""
        body = await self._call(link, method, params or {})
        return Page(body["result"], _int_or_none(body.get("total")), _int_or_none(body.get("next")))

    async def batch(
        self,
        link: PortalLink,
        commands: Mapping[str, tuple[str, Mapping[str, Any]]],
        *,
        halt: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> BatchResult:
        """Run up to 50 commands in one request (one unit of the rate budget, protocol §6).

        Per-command failures come back in ``errors`` (HTTP is 200 even then); a terminal error
        (e.g. PAYMENT_REQUIRED) in any command disables the portal and is raised. ``params`` go
        on the batch request itself, next to ``auth`` (e.g. ``auth_connector``, protocol §10).
        """
        if len(commands) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} commands, got {len(commands)}")
        if not commands:
            return BatchResult({}, {})
        cmd = {name: _command(method, params) for name, (method, params) in commands.items()}
        body = await self._call(link, "batch", {**(params or {}), "halt": int(halt), "cmd": cmd})
        outer = body["result"]
        if not isinstance(outer, Mapping):
            raise PortalUnavailable(
                "ERROR_UNEXPECTED_ANSWER", "batch answer without parts", method="batch"
            )
        errors = {
            name: error_from_response(None, raw, method=_method_of(commands, name))
            for name, raw in _parts(outer.get("result_error")).items()
        }
        for error in errors.values():
            if isinstance(error, PortalDisabled):
                await link.disabled(error)
                raise error
        for name, timing in _parts(outer.get("result_time")).items():
            # Each command counts toward its own method's operating time (protocol §6).
            _observe(link, _method_of(commands, name) or "", timing)
        return BatchResult(
            result=_parts(outer.get("result")),
            errors=errors,
            total=_parts(outer.get("result_total")),
            next=_parts(outer.get("result_next")),
        )

    async def _call(
        self,
        link: PortalLink,
        method: str,
        params: Mapping[str, Any],
        *,
        log_refusals: bool = True,
    ) -> Mapping[str, Any]:
        if not _METHOD.fullmatch(method):
            raise ValueError(f"not a REST method name: {method[:60]!r}")
        credentials = await link.credentials()
        target = _Target(
            rest_endpoint(credentials.client_endpoint, allow_http=self._allow_http),
            credentials,
            log_refusals,
        )
        refreshed = False
        failures = 0
        while True:
            try:
                body = await self._exchange(link, target, method, params)
                _observe(link, method, body.get("time"))
                return body
            except ExpiredToken:
                # Refresh only on expired_token, once, then retry once (protocol §4).
                if refreshed:
                    raise
                refreshed = True
                await self._refresh(link, target)
            except PortalDisabled as error:
                await link.disabled(error)
                raise
            except (QueryLimitExceeded, OperationTimeLimit, PortalUnavailable) as error:
                if isinstance(error, OperationTimeLimit):
                    error = _with_known_reset(error, link)
                failures += 1
                delay = self._retry_delay(link, error, failures)
                if delay is None:
                    raise error from None
                log.info(
                    "bitrix call retried",
                    extra={
                        "member_id": link.member_id,
                        "method": method,
                        "code": error.code,
                        "delay": round(delay, 3),
                    },
                )
                await self._sleep(delay)

    async def _refresh(self, link: PortalLink, target: _Target) -> None:
        stale = Credentials(target.endpoint, target.credentials.access_token)
        try:
            fresh = await link.refresh(stale)
        except PortalDisabled as error:
            await link.disabled(error)
            raise
        target.credentials = fresh
        target.endpoint = rest_endpoint(fresh.client_endpoint, allow_http=self._allow_http)

    def _retry_delay(self, link: PortalLink, error: BitrixError, failures: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if isinstance(error, QueryLimitExceeded):
            # We were refused despite our budget: someone else shares the portal's bucket
            # (other processes, other apps on our IP, protocol §6). Assume it is full.
            link.bucket.penalize(self._wall_clock())
        if failures >= self._max_attempts:
            return None
        if isinstance(error, OperationTimeLimit) and error.reset_at is not None:
            wait = error.reset_at - self._wall_clock()
            return None if wait > self._max_operating_wait else max(0.0, wait)
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (failures - 1))
        return self._rng.uniform(ceiling / 2, ceiling)

    async def _exchange(
        self, link: PortalLink, target: _Target, method: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        token = target.credentials.access_token
        # auth goes in the JSON body, never in the URL: URLs end up in access logs (protocol §5).
        content = json.dumps({**params, "auth": token}, ensure_ascii=False).encode("utf-8")
        logged_request = self._log_text(call_log_request(method, {**params, "auth": token}), token)
        endpoint = target.endpoint
        for _hop in range(_MAX_HOPS + 1):
            await self._await_budget(link.bucket)
            response, body = await self._post(
                link,
                endpoint + method,
                method,
                content,
                logged_request,
                token,
                log_refusals=target.log_refusals,
            )
            if response.status_code not in _REDIRECTS:
                if endpoint != target.endpoint:
                    # Only a chain that ends at a REST answer is a rename worth storing.
                    target.endpoint = endpoint
                    await link.moved(endpoint)
                return _success_body(response.status_code, body, method, token)
            # A renamed portal answers 302; following it automatically would turn the POST into
            # a GET without the body (protocol §5), so re-POST by hand.
            endpoint = self._renamed_endpoint(endpoint, method, response)
        raise PortalUnavailable(
            "", "too many redirects", status=response.status_code, method=method
        )

    async def _await_budget(self, bucket: LeakyBucket) -> None:
        now = self._wall_clock()
        wait = bucket.wait_time(now)
        bucket.take(now)  # reserves the slot, so concurrent callers queue behind us
        if wait > 0:
            await self._sleep(wait)

    async def _post(
        self,
        link: PortalLink,
        url: str,
        method: str,
        content: bytes,
        logged_request: str,
        token: str,
        *,
        log_refusals: bool = True,
    ) -> tuple[httpx.Response, Any]:
        started_at = self._wall_clock()
        started = self._clock()
        try:
            response, raw = await self._send(url, content)
        except (httpx.TransportError, ForbiddenEndpoint, _AnswerTooLarge) as exc:
            await self._record_failure(link, method, exc, logged_request, started, started_at)
            if isinstance(exc, ForbiddenEndpoint):
                raise  # the guarded transport found the host resolving to an address of ours
            raise PortalUnavailable(_failure_code(exc), _failure_text(exc), method=method) from exc
        body = _json_or_none(raw)
        if response.status_code >= 400 and not log_refusals:
            return response, body
        await self._record(
            RestCall(
                link.member_id,
                method,
                response.status_code,
                _error_code(body),
                (self._clock() - started) * 1000,
                logged_request,
                self._logged_response(response, len(raw), body, method, token),
                started_at,
            )
        )
        return response, body

    async def _record_failure(
        self,
        link: PortalLink,
        method: str,
        exc: Exception,
        logged_request: str,
        started: float,
        started_at: float,
    ) -> None:
        status = exc.status if isinstance(exc, _AnswerTooLarge) else None
        elapsed_ms = (self._clock() - started) * 1000
        await self._record(
            RestCall(
                link.member_id,
                method,
                status,
                _failure_code(exc),
                elapsed_ms,
                logged_request,
                _failure_text(exc),
                started_at,
            )
        )

    async def _send(self, url: str, content: bytes) -> tuple[httpx.Response, bytes]:
        """POST and read the answer, at most ``max_answer_bytes`` of it (decoded)."""
        request = self._http.build_request(
            "POST", url, content=content, headers=_HEADERS, timeout=self._request_timeout
        )
        response = await self._http.send(request, stream=True, follow_redirects=False)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_answer_bytes:
                raise _AnswerTooLarge(response.status_code)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_answer_bytes:
                    raise _AnswerTooLarge(response.status_code)
                chunks.append(chunk)
        finally:
            await response.aclose()
        return response, b"".join(chunks)

    def _renamed_endpoint(self, endpoint: str, method: str, response: httpx.Response) -> str:
        location = response.headers.get("location")
        if not location:
            raise PortalUnavailable(
                "", "redirect without Location", status=response.status_code, method=method
            )
        try:
            target = httpx.URL(endpoint + method).join(location)
        except httpx.InvalidURL as exc:
            raise PortalUnavailable(
                "", "redirect to an invalid URL", status=response.status_code, method=method
            ) from exc
        renamed = _rest_base(target, method)
        if renamed is None:
            if origin_of(str(target)) == origin_of(endpoint):
                # Same host, somewhere that is not REST (e.g. a licence page): not a rename.
                raise PortalUnavailable(
                    "",
                    f"redirected away from REST to {target.path[:80]}",
                    status=response.status_code,
                    method=method,
                )
            renamed = str(
                target.copy_with(path=httpx.URL(endpoint).path, query=None, fragment=None)
            )
        # The stored endpoint was confirmed by the OAuth server, a redirect target was not, and
        # the token is re-sent there: its host form is checked here, its addresses on connect.
        renamed = rest_endpoint(renamed, allow_http=self._allow_http)
        if renamed == endpoint:
            raise PortalUnavailable("", "redirect loop", status=response.status_code, method=method)
        return renamed

    async def _record(self, call: RestCall) -> None:
        if self._on_call is None:
            return
        try:
            await self._on_call(call)
        except Exception as exc:  # the call log must never fail the call it records
            log.warning(
                "REST call log entry lost",
                extra={"member_id": call.member_id, "error": type(exc).__name__},
            )

    def _logged_response(
        self, response: httpx.Response, size: int, body: Any, method: str, token: str
    ) -> str:
        if response.status_code in _REDIRECTS:
            return self._log_text({"location": response.headers.get("location", "")}, token)
        if body is None:
            # An HTML error page or a proxy's text: its size and kind, never its content.
            kind = response.headers.get("content-type", "no content type")[:80]
            return f"(not JSON: {size} bytes, {kind})"
        return self._log_text(call_log_response(method, body), token)

    def _log_text(self, data: Any, token: str) -> str:
        text = json.dumps(data, ensure_ascii=False, default=str)
        return self._truncate(mask_secrets(text, (token,)))

    def _truncate(self, text: str) -> str:
        if len(text) <= self._log_body_limit:
            return text
        return text[: self._log_body_limit] + "…(truncated)"


def _success_body(status: int, body: Any, method: str, token: str) -> Mapping[str, Any]:
    """The body of a successful answer, or the error it carries (read on every status, §5)."""
    if isinstance(body, Mapping):
        if status == 200 and "result" in body and not body.get("error"):
            return body
        description = body.get("error_description")
        if isinstance(description, str):
            # Error messages reach logs and the admin page: never with our token in them.
            body = {**body, "error_description": mask_secrets(description, (token,))}
        raise error_from_response(status, body, method=method)
    if status == 200:
        raise PortalUnavailable(
            "ERROR_UNEXPECTED_ANSWER", "answer is not JSON", status=status, method=method
        )
    raise error_from_response(status, None, method=method)


def _observe(link: PortalLink, method: str, timing: Any) -> None:
    """Hand a successful answer's `time` block to a link that keeps operating times."""
    if method and isinstance(link, TimingObserver):
        link.observe_timing(method, timing)


def _with_known_reset(error: OperationTimeLimit, link: PortalLink) -> OperationTimeLimit:
    """A 429 need not say when the block ends: "Для первой повторной попытки ориентироваться на
    operating_reset_at из последнего успешного ответа" ([RU] limits.md), if the link kept it."""
    if error.reset_at is not None or not isinstance(link, TimingObserver) or not error.method:
        return error
    reset_at = link.operating_reset_at(error.method)
    if reset_at is None:
        return error
    return OperationTimeLimit(
        error.code, error.description, status=error.status, method=error.method, reset_at=reset_at
    )


def _rest_base(target: httpx.URL, method: str) -> str | None:
    """``https://new.bitrix24.ru/rest/crm.contact.get.json`` → ``https://new.bitrix24.ru/rest/``."""
    path = target.path
    for suffix in (method, f"{method}.json"):
        if path.endswith("/" + suffix):
            base = path[: -len(suffix)]
            return str(target.copy_with(path=base, query=None, fragment=None))
    return None


def _command(method: str, params: Mapping[str, Any]) -> str:
    # Batch cmd values are PHP query strings (protocol §6); no nested batch since rest 24.0.0.
    if not _METHOD.fullmatch(method) or method.lower() == "batch":
        raise ValueError(f"not a batchable REST method: {method[:60]!r}")
    query = encode_php_form(params)
    return f"{method}?{query}" if query else method


def _method_of(commands: Mapping[str, tuple[str, Mapping[str, Any]]], name: str) -> str | None:
    command = commands.get(name)
    return command[0] if command else None


def _parts(value: Any) -> dict[str, Any]:
    """A batch part keyed by command name. Empty parts come as ``[]`` (protocol §6), and PHP
    sends a JSON list when the command names are 0..n-1."""
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    return {}


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None


class _AnswerTooLarge(Exception):
    """The portal's answer is over ``max_answer_bytes``; the rest was not read."""

    def __init__(self, status: int) -> None:
        super().__init__(f"answer over the limit (HTTP {status})")
        self.status = status


def _failure_text(exc: Exception) -> str:
    return str(exc) if isinstance(exc, _AnswerTooLarge) else type(exc).__name__


def _failure_code(exc: Exception) -> str:
    """The call log's code for an exchange that brought no usable answer."""
    if isinstance(exc, ForbiddenEndpoint):
        return "FORBIDDEN_ENDPOINT"
    if isinstance(exc, _AnswerTooLarge):
        return "ANSWER_TOO_LARGE"
    if isinstance(exc, httpx.TimeoutException):
        return "TIMEOUT"
    return "CONNECTION_ERROR"


def _error_code(body: Any) -> str | None:
    if isinstance(body, Mapping) and "error" in body:
        code = body["error"]
        return code if isinstance(code, str) else None
    return None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
