"""The ASGI application: routers, middleware and the process lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from namecase import health
from namecase.admin.router import router as admin_router
from namecase.body_limit import BodyLimit
from namecase.events.router import router as events_router
from namecase.front.router import router as front_router
from namecase.logs import configure_logging
from namecase.middleware import RequestObserver
from namecase.pipeline.worker import Worker
from namecase.portals.router import router as install_router
from namecase.runtime import Runtime
from namecase.settings import Settings, get_settings
from namecase.ui.router import router as settings_page_router


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for the given settings (the environment's by default)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.start(settings)
        app.state.runtime = runtime
        worker = Worker(runtime) if settings.runs_worker_in_serve else None
        worker_task = asyncio.create_task(worker.run()) if worker else None
        try:
            yield
        finally:
            if worker is not None and worker_task is not None:
                worker.stop()
                await worker_task
            await runtime.close()

    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="namecase",
        version="0.1.0",
        summary="Proper case for Bitrix24 CRM contact and lead names",
        lifespan=lifespan,
    )
    # Bodies are bounded before any route reads them; inside the observer, so 413s are counted.
    app.add_middleware(
        BodyLimit, events_limit=settings.event_max_bytes, deadline=settings.http_body_timeout
    )
    app.add_middleware(RequestObserver)
    app.include_router(front_router)
    app.include_router(health.router)
    app.include_router(install_router)
    app.include_router(events_router)
    app.include_router(settings_page_router)
    app.include_router(admin_router)
    return app
