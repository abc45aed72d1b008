"""Fuzzing the routes Bitrix24 (or anyone on the internet) can reach: /events, /install, /app.

Hypothesis generates requests: raw bytes, PHP-style forms built from the keys Bitrix24 sends
with arbitrary values, and real deliveries or frames with one part changed. Each request goes
over HTTP to the service on loopback. Two promises are checked on every answer:

- never a 5xx: malformed input is the sender's problem (4xx), not a crash;
- a rejected request (4xx) writes nothing: the row count of every table is the same after it.

Hypothesis runs in a worker thread with blocking HTTP, so the service and the emulator keep
serving on the test's event loop; row counts are read on that loop.

Used by tests/reliability/test_fuzz.py (a few hundred inputs, in CI) and bench/fuzz.py (long).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from namecase.emulator import Portal as EmulatedPortal
from namecase.schema import metadata
from support.stack import Stack

EVENT_NAMES = [
    "ONCRMCONTACTADD",
    "ONCRMCONTACTUPDATE",
    "onCrmLeadAdd",
    "ONCRMLEADUPDATE",
    "ONAPPINSTALL",
    "ONAPPUPDATE",
    "ONAPPUNINSTALL",
    "ONCRMDEALADD",
    "",
]
EVENT_KEYS = [
    "event",
    "event_handler_id",
    "ts",
    "data[FIELDS][ID]",
    "data[FIELDS][ID][]",
    "data[FIELDS]",
    "data",
    "data[]",
    "data[LANGUAGE_ID]",
    "data[CLEAN]",
    "auth",
    "auth[]",
    "auth[member_id]",
    "auth[member_id][x]",
    "auth[application_token]",
    "auth[access_token]",
    "auth[refresh_token]",
    "auth[domain]",
    "auth[client_endpoint]",
    "auth[server_endpoint]",
    "a[b][c][d][e][f][g]",
]
FRAME_KEYS = [
    "AUTH_ID",
    "AUTH_EXPIRES",
    "REFRESH_ID",
    "SERVER_ENDPOINT",
    "APPLICATION_TOKEN",
    "APPLICATION_SCOPE",
    "member_id",
    "status",
    "PLACEMENT",
    "PLACEMENT_OPTIONS",
    "DOMAIN",
    "PROTOCOL",
    "LANG",
    "APP_SID",
]
QUERY_KEYS = ["DOMAIN", "PROTOCOL", "LANG", "APP_SID", "member_id", "AUTH_ID"]

texts = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["", "0", "-1", "1", "9" * 30, "1e3", "0x10", "%", "%zz", "[]", "\x00"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def _encode_pair(key: str, value: str, brackets_encoded: bool) -> str:
    safe = "" if brackets_encoded else "[]"
    return f"{quote(key, safe=safe)}={quote(value, safe='')}"


@st.composite
def php_forms(draw: st.DrawFn, keys: list[str], known: dict[str, str]) -> bytes:
    """A form of Bitrix24's keys (and some others) with arbitrary or known values."""
    values = st.one_of(texts, st.sampled_from(sorted(set(known.values()) | {""})))
    pairs = draw(
        st.lists(st.tuples(st.one_of(st.sampled_from(keys), st.text(max_size=20)), values))
    )
    encoded = draw(st.booleans())
    return "&".join(_encode_pair(k, v, encoded) for k, v in pairs).encode()


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, str]) -> bytes:
    """A valid form with some fields changed, dropped or added."""
    form = dict(valid)
    for key in draw(st.lists(st.sampled_from(sorted(form)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del form[key]
        else:
            form[key] = draw(texts)
    for key, value in draw(st.lists(st.tuples(st.text(max_size=20), texts), max_size=2)):
        form[key] = value
    return urlencode(form).encode()


def bodies(keys: list[str], valid: dict[str, str]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=600), php_forms(keys, valid), mutated(valid))


def delivery(portal: EmulatedPortal, event: str = "ONCRMCONTACTUPDATE") -> dict[str, str]:
    """A real delivery form of the portal (bitrix24-protocol.md §2)."""
    return {
        "event": event,
        "event_handler_id": "3",
        "data[FIELDS][ID]": "7",
        "ts": "1724697689",
        "auth[domain]": portal.domain,
        "auth[client_endpoint]": portal.client_endpoint,
        "auth[member_id]": portal.member_id,
        "auth[application_token]": str(portal.application_token),
    }


@dataclass
class FuzzReport:
    """What was sent and what came back."""

    route: str
    tried: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[tuple[int, bytes]] = field(default_factory=list)
    rows_written_by_rejected: list[tuple[int, dict[str, int]]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "route": self.route,
            "inputs_tried": self.tried,
            "statuses": dict(sorted(self.statuses.items())),
            "5xx": len(self.server_errors),
            "rows_written_by_rejected_requests": sum(
                sum(change.values()) for _, change in self.rows_written_by_rejected
            ),
        }


_COUNTS = select(
    *(select(func.count()).select_from(t).scalar_subquery() for t in metadata.sorted_tables)
)


async def table_rows(stack: Stack) -> dict[str, int]:
    """Rows in every table of the schema (one query)."""
    async with stack.runtime.sessions() as session:
        counts = (await session.execute(_COUNTS)).one()
    return {t.name: int(n) for t, n in zip(metadata.sorted_tables, counts, strict=True)}


Send = Callable[[httpx.Client, Any], httpx.Response]


async def fuzz(
    stack: Stack,
    route: str,
    strategy: st.SearchStrategy[Any],
    send: Send,
    examples: int,
    *,
    derandomize: bool = True,
) -> FuzzReport:
    """Send `examples` generated inputs with `send`; record statuses, 5xx and stray rows.

    `derandomize` (CI) makes every run send the same inputs; the long campaign turns it off.
    """
    report = FuzzReport(route)
    loop = asyncio.get_running_loop()

    def on_loop(coroutine: Coroutine[Any, Any, dict[str, int]]) -> dict[str, int]:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(value: Any) -> None:
        before = on_loop(table_rows(stack))
        response = send(client, value)
        report.tried += 1
        report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            report.server_errors.append((response.status_code, repr(value).encode()[:300]))
        elif response.status_code >= 400:
            after = on_loop(table_rows(stack))
            changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
            if changed:
                report.rows_written_by_rejected.append((response.status_code, changed))

    with httpx.Client(base_url=stack.app_url, timeout=30) as client:
        await asyncio.to_thread(one)
    return report


def post_form(path: str) -> Send:
    def send(client: httpx.Client, body: bytes) -> httpx.Response:
        return client.post(
            path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

    return send


def post_frame(path: str) -> Send:
    """POST with a generated query string and form body, like a Bitrix24 frame."""

    def send(client: httpx.Client, value: tuple[bytes, bytes]) -> httpx.Response:
        query, body = value
        return client.post(
            f"{path}?{query.decode('latin-1')}",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    return send


def get_frame(path: str) -> Send:
    def send(client: httpx.Client, value: tuple[bytes, bytes]) -> httpx.Response:
        return client.get(f"{path}?{value[0].decode('latin-1')}")

    return send


def frames(valid_query: dict[str, str], valid_form: dict[str, str]) -> st.SearchStrategy[Any]:
    """(query string, form body) pairs around a real frame."""
    query = st.one_of(php_forms(QUERY_KEYS, valid_query), mutated(valid_query))
    return st.tuples(query, bodies(FRAME_KEYS, valid_form))
