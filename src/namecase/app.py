"""The ASGI application: routers, middleware and the process lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from namecase import health
from namecase.logs import configure_logging
from namecase.middleware import RequestObserver
from namecase.runtime import Runtime
from namecase.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for the given settings (the environment's by default)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.start(settings)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.close()

    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="namecase",
        version="0.1.0",
        summary="Proper case for Bitrix24 CRM contact and lead names",
        lifespan=lifespan,
    )
    app.add_middleware(RequestObserver)
    app.include_router(health.router)
    return app
