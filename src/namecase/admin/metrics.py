"""Metrics read from the database when /metrics is scraped: inbox depth, portals by state.

These facts are shared by every process (N web replicas, M workers), so no process can count
them in memory; each scrape asks the database instead. Prometheus collectors are synchronous and
/metrics renders them on the event loop, so the query runs on a short-lived thread with its own
loop and engine, bounded by a timeout — unless the handler awaited `refresh()` just before, in
which case the snapshot read on its own loop is used. A failed read is reported as
`namecase_database_scrape_ok 0` instead of failing the whole scrape.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from namecase.admin.repository import AdminRepository
from namecase.admin.service import ALIVE
from namecase.db import create_engine, create_session_factory, utcnow
from namecase.metrics import REGISTRY
from namecase.portals.models import PORTAL_STATES

log = logging.getLogger(__name__)
SCRAPE_TIMEOUT = 2.0  # the read blocks the loop that renders /metrics: keep it short
FRESH_SECONDS = 1.0


@dataclass(frozen=True)
class DatabaseSnapshot:
    pending: int
    dead: int
    oldest_pending_seconds: float
    portals_by_state: dict[str, int]
    workers_alive: int


async def snapshot_of(session: AsyncSession) -> DatabaseSnapshot:
    """One read of the shared facts."""
    repository = AdminRepository(session)
    depth = await repository.inbox_depth()
    oldest = await repository.oldest_pending()
    by_state = await repository.portals_by_state()
    now = utcnow()
    alive = sum(now - w.heartbeat_at <= ALIVE for w in await repository.workers())
    return DatabaseSnapshot(
        pending=sum(n for (_, state), n in depth.items() if state == "pending"),
        dead=sum(n for (_, state), n in depth.items() if state == "dead"),
        oldest_pending_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        portals_by_state={state: 0 for state in PORTAL_STATES} | by_state,
        workers_alive=alive,
    )


async def read_snapshot(database_url: str) -> DatabaseSnapshot:
    """A snapshot on an engine of its own (this runs on the collector's own thread and loop)."""
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            return await snapshot_of(session)
    finally:
        await engine.dispose()


@dataclass(eq=False)  # registries key collectors by identity
class DatabaseCollector(Collector):
    """Registered once on namecase.metrics.REGISTRY; reads the database of the running app."""

    timeout: float = SCRAPE_TIMEOUT
    _urls: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _fresh: tuple[float, DatabaseSnapshot] | None = None

    def attach(self, database_url: str) -> None:
        with self._lock:
            self._urls.append(database_url)

    def detach(self, database_url: str) -> None:
        with self._lock:
            if database_url in self._urls:
                self._urls.remove(database_url)

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Read the snapshot on the caller's loop, for the scrape that follows at once.

        A /metrics handler that awaits this first spares the collector its blocking read.
        """
        async with sessions() as session:
            snapshot = await snapshot_of(session)
        self._fresh = (time.monotonic(), snapshot)

    def describe(self) -> Iterable[Metric]:
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            url = self._urls[-1] if self._urls else None
        if url is None:
            return []
        fresh, self._fresh = self._fresh, None  # a refreshed snapshot serves one scrape
        if fresh is not None and time.monotonic() - fresh[0] < FRESH_SECONDS:
            return self._families(fresh[1])
        snapshot: DatabaseSnapshot | None
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="namecase-metrics")
        try:
            snapshot = pool.submit(asyncio.run, read_snapshot(url)).result(self.timeout)
        except Exception:  # any driver error or the timeout: say so in the scrape, go on
            log.warning("metrics: the database could not be read", exc_info=True)
            snapshot = None
        finally:
            pool.shutdown(wait=False)
        return self._families(snapshot)

    def _families(self, snapshot: DatabaseSnapshot | None) -> list[Metric]:
        ok = GaugeMetricFamily(
            "namecase_database_scrape_ok",
            "1 when this scrape could read the database-backed metrics, else 0.",
        )
        inbox = GaugeMetricFamily(
            "namecase_inbox_items", "Inbox items by state (pending, dead).", labels=["state"]
        )
        oldest = GaugeMetricFamily(
            "namecase_inbox_oldest_pending_seconds",
            "Age of the oldest pending inbox item (0 when none is pending).",
        )
        portals = GaugeMetricFamily(
            "namecase_portals", "Installed portals by state.", labels=["state"]
        )
        workers = GaugeMetricFamily(
            "namecase_workers_alive", "Worker processes with a heartbeat in the last minute."
        )
        families: list[Metric] = [ok, inbox, oldest, portals, workers]
        if snapshot is None:
            ok.add_metric([], 0.0)
            return families
        ok.add_metric([], 1.0)
        inbox.add_metric(["pending"], snapshot.pending)
        inbox.add_metric(["dead"], snapshot.dead)
        oldest.add_metric([], snapshot.oldest_pending_seconds)
        for state, count in sorted(snapshot.portals_by_state.items()):
            portals.add_metric([state], count)
        workers.add_metric([], snapshot.workers_alive)
        return families


DATABASE_METRICS = DatabaseCollector()
_registered = threading.Lock()
_is_registered = False


def register_database_metrics() -> None:
    """Put the collector on the shared registry (once per process)."""
    global _is_registered
    with _registered:
        if not _is_registered:
            REGISTRY.register(DATABASE_METRICS)
            _is_registered = True


@asynccontextmanager
async def database_metrics(app: FastAPI) -> AsyncIterator[None]:
    """Router lifespan: scrape this app's database while it runs."""
    register_database_metrics()
    url: str = app.state.runtime.settings.database_url
    DATABASE_METRICS.attach(url)
    try:
        yield
    finally:
        DATABASE_METRICS.detach(url)
