"""The `namecase` command line (also `python -m namecase`)."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
import uvicorn

from namecase import migration
from namecase.db import create_engine
from namecase.logs import configure_logging
from namecase.settings import Settings, get_settings

cli = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        typer.echo(f"namecase: invalid configuration:\n{error}", err=True)
        raise typer.Exit(2) from error


async def _revision_gap(settings: Settings) -> tuple[str | None, str | None]:
    engine = create_engine(settings.database_url)
    try:
        return await migration.current_revision(engine), migration.head_revision()
    finally:
        await engine.dispose()


@cli.command()
def migrate() -> None:
    """Upgrade the database schema to the newest revision (safe to run again)."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    migration.upgrade(settings.database_url)
    current, _ = asyncio.run(_revision_gap(settings))
    typer.echo(f"database at revision {current}")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Run the HTTP service (and, by default on SQLite, the worker in the same process)."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    _require_head(settings)
    from namecase.app import create_app

    typer.echo(f"namecase serving on http://{host}:{port} (database: {_safe_url(settings)})")
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


@cli.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Portals worked on at once")] = 4,
) -> None:
    """Run a worker process: claims portals from the queue until SIGTERM or Ctrl+C."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    _require_head(settings)
    asyncio.run(_run_worker(settings, concurrency))


async def _run_worker(settings: Settings, concurrency: int) -> None:
    from namecase.pipeline.worker import Worker
    from namecase.runtime import Runtime

    runtime = Runtime.start(settings)
    worker = Worker(runtime, concurrency=concurrency)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.stop)
    try:
        await worker.run()
    finally:
        await runtime.close()


def _require_head(settings: Settings) -> None:
    if settings.is_sqlite:
        migration.upgrade(settings.database_url)
        return
    current, head = asyncio.run(_revision_gap(settings))
    if current != head:
        typer.echo(
            f"namecase: the database is at revision {current}, the code needs {head}; "
            "run `namecase migrate` first",
            err=True,
        )
        raise typer.Exit(1)


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def main() -> None:
    cli()
