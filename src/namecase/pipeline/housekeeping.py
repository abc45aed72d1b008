"""Keeping house, once a minute in every worker: retention of logs and settled rows, heartbeats."""

from __future__ import annotations

import datetime as dt
import os
import socket

from namecase.db import utcnow
from namecase.pipeline.context import WorkerContext
from namecase.pipeline.repository import WorkerRepository
from namecase.portals.repository import PortalRepository
from namecase.queue import echoes, inbox

STALE_HEARTBEAT = dt.timedelta(minutes=10)


async def keep_house(ctx: WorkerContext) -> None:
    """Delete what is past its retention (REST call log, done inbox rows, silent workers) and end
    the echo holds that are over."""
    now = utcnow()
    settings = ctx.settings
    async with ctx.sessions() as session, session.begin():
        await PortalRepository(session).prune_calls(
            now - dt.timedelta(days=settings.rest_log_retention_days)
        )
        await inbox.prune_done(session, now - dt.timedelta(days=settings.inbox_retention_days))
        await echoes.end_arrived_holds(session, now)
        await WorkerRepository(session).prune(now - STALE_HEARTBEAT)


async def beat(ctx: WorkerContext, worker_id: str, items_done: int) -> None:
    """Say this worker is alive (the admin view's list of workers)."""
    async with ctx.sessions() as session, session.begin():
        await WorkerRepository(session).beat(
            worker_id, socket.gethostname(), os.getpid(), items_done
        )


async def forget(ctx: WorkerContext, worker_id: str) -> None:
    """Remove this worker from the list (a clean exit)."""
    async with ctx.sessions() as session, session.begin():
        await WorkerRepository(session).forget(worker_id)
