"""A lean HTTP/1.1 load generator: keep-alive connections on raw asyncio protocols.

httpx costs about 3 ms of CPU per request on these machines, far more than the server under
test, so the load generator speaks HTTP itself: it writes a prebuilt request and parses only the
status line and Content-Length of the answer. Two shapes of load:

- closed loop: `connections` connections, each sends its next request as soon as the previous
  answer arrives (throughput at a fixed concurrency);
- open loop: requests are scheduled at a fixed rate whether or not earlier ones have been
  answered; a request waiting for a free connection is late, and latency is counted from its
  scheduled time (no coordinated omission).

Run as a process of its own (pinned to a core) by the benchmarks:

    python bench/loadgen.py SPEC.json      # prints one JSON object: counts and latencies

SPEC: {"host", "port", "path", "template", "mode": "closed"|"open", "connections",
"duration", "warmup", "rate", "first_id", "cpu"}. `template` is the form body with the text
`{ID}` where each request puts its own record id (first_id, first_id + 1, …), so every request
is a different record and the server cannot fold two of them into one row.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadResult:
    """What one load run saw. Latencies (s) are of answers received after the warm-up."""

    sent: int = 0
    answered: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    accepted_ids: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    measured_answers: int = 0
    measured_seconds: float = 0.0
    errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "sent": self.sent,
            "answered": self.answered,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "accepted": self.statuses.get(200, 0),
            "accepted_ids": self.accepted_ids,
            "measured_answers": self.measured_answers,
            "measured_seconds": self.measured_seconds,
            "rate": self.measured_answers / self.measured_seconds if self.measured_seconds else 0,
            "p50_ms": percentile(ordered, 0.50) * 1000,
            "p90_ms": percentile(ordered, 0.90) * 1000,
            "p99_ms": percentile(ordered, 0.99) * 1000,
            "max_ms": (ordered[-1] if ordered else 0.0) * 1000,
            "errors": self.errors,
        }


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


class RequestBuilder:
    """A POST with a form body that differs only in the record id."""

    def __init__(self, host: str, port: int, path: str, template: str) -> None:
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "User-Agent: Bitrix24 Webhook Engine\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
        ).encode()
        before, _, after = template.partition("{ID}")
        self.before = before.encode()
        self.after = after.encode()

    def build(self, record_id: int) -> bytes:
        body = self.before + str(record_id).encode() + self.after
        return self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body


class Connection(asyncio.Protocol):
    """One keep-alive connection: one request in flight at a time."""

    def __init__(self, on_answer: Callable[[Connection, int], None]) -> None:
        self.on_answer = on_answer
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.lost = asyncio.Event()
        self.started = 0.0
        self.record_id = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def send(self, request: bytes, record_id: int, started: float) -> None:
        assert self.transport is not None
        self.started = started
        self.record_id = record_id
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            marker = head.find(b"content-length:")
            length = 0
            if marker >= 0:
                line_end = head.find(b"\r\n", marker)
                length = int(head[marker + 15 : line_end if line_end >= 0 else None])
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            status = int(head[9:12])
            del self.buffer[:total]
            self.on_answer(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


class LoadRun:
    """Shared bookkeeping of one run."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.builder = RequestBuilder(spec["host"], spec["port"], spec["path"], spec["template"])
        self.result = LoadResult()
        self.next_id = int(spec.get("first_id", 1))
        self.loop = asyncio.get_running_loop()
        # uvloop's loop.time() ticks in whole milliseconds: time with perf_counter instead.
        self.started = time.perf_counter()
        self.measure_from = self.started + float(spec.get("warmup", 0.0))
        self.deadline = self.measure_from + float(spec["duration"])
        # First in, first out: every connection stays busy, so none idles past the server's
        # keep-alive timeout (uvicorn closes a connection after 5 s without a request).
        self.idle: deque[Connection] = deque()
        self.backlog: deque[float] = deque()  # scheduled times of requests not yet sent
        self.done = asyncio.Event()
        self.open_loop = spec["mode"] == "open"

    async def connect(self, count: int) -> list[Connection]:
        connections = []
        for _ in range(count):
            _, protocol = await self.loop.create_connection(
                lambda: Connection(self.answered), self.spec["host"], self.spec["port"]
            )
            connections.append(protocol)
        return connections

    def send(self, connection: Connection, scheduled: float) -> None:
        record_id = self.next_id
        self.next_id += 1
        self.result.sent += 1
        connection.send(self.builder.build(record_id), record_id, scheduled)

    def answered(self, connection: Connection, status: int) -> None:
        now = time.perf_counter()
        result = self.result
        result.answered += 1
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status == 200:
            result.accepted_ids.append(connection.record_id)
        if self.measure_from <= connection.started and now <= self.deadline:
            result.latencies.append(now - connection.started)
            result.measured_answers += 1
        if self.open_loop:
            if self.backlog:
                self.send(connection, self.backlog.popleft())
            else:
                self.idle.append(connection)
        elif now < self.deadline:
            self.send(connection, now)
        else:
            self.idle.append(connection)
        if now >= self.deadline and len(self.idle) == int(self.spec["connections"]):
            self.done.set()

    async def closed(self) -> None:
        connections = await self.connect(int(self.spec["connections"]))
        now = time.perf_counter()
        for connection in connections:
            self.send(connection, now)
        await self.finish(connections)

    async def open(self) -> None:
        connections = await self.connect(int(self.spec["connections"]))
        self.idle = deque(connections)
        rate = float(self.spec["rate"])
        total = int(rate * (self.deadline - self.started))
        begin = time.perf_counter()
        self.measure_from = begin + float(self.spec.get("warmup", 0.0))
        self.deadline = self.measure_from + float(self.spec["duration"])
        for index in range(total):
            scheduled = begin + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.idle:
                self.send(self.idle.popleft(), scheduled)
            else:
                self.backlog.append(scheduled)
        await self.finish(connections)

    async def finish(self, connections: list[Connection]) -> None:
        grace = self.deadline + 30.0
        while len(self.idle) < len(connections) and time.perf_counter() < grace:
            if any(c.lost.is_set() for c in connections):
                self.result.errors += sum(1 for c in connections if c.lost.is_set())
                break
            await asyncio.sleep(0.01)
        self.result.measured_seconds = min(time.perf_counter(), self.deadline) - self.measure_from
        for connection in connections:
            if connection.transport is not None:
                connection.transport.close()


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one load as specified; the result as a JSON-able dict."""
    load = LoadRun(spec)
    await (load.open() if load.open_loop else load.closed())
    return load.result.as_dict()


def main() -> None:
    spec = json.loads(open(sys.argv[1]).read())  # noqa: SIM115 - tiny file, read once
    if spec.get("cpu") is not None:
        os.sched_setaffinity(0, {int(spec["cpu"])})
    started = time.perf_counter()
    try:
        import uvloop
    except ImportError:  # plain asyncio works too, a little slower
        result = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    result["cpu_seconds"] = time.process_time()
    result["wall_seconds"] = time.perf_counter() - started
    print(json.dumps(result))


if __name__ == "__main__":
    main()
