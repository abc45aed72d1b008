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
    from namecase.serving import server_config

    config = server_config(
        create_app(settings),
        host=host,
        port=port,
        header_timeout=settings.http_header_timeout,
        limit_concurrency=settings.http_limit_concurrency,
    )
    uvicorn.Server(config).run()


@cli.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Portals worked on at once")] = 4,
) -> None:
    """Run a worker process: claims portals from the queue until SIGTERM or Ctrl+C."""
    settings = _settings()
    if settings.is_sqlite:
        # SQLite is one process: `serve` runs the worker itself. A second process would race it
        # (token refreshes are serialized by a PostgreSQL row lock across processes).
        typer.echo(
            "namecase: `worker` needs PostgreSQL; on the embedded SQLite database "
            "`namecase serve` runs the worker in-process",
            err=True,
        )
        raise typer.Exit(2)
    configure_logging(settings.log_level, settings.log_format)
    _require_head(settings)
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        from namecase.metrics import REGISTRY

        # A daemon thread: the counters this process keeps, for Prometheus to scrape.
        start_http_server(settings.worker_metrics_port, registry=REGISTRY)
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


@cli.command()
def emulator(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8900,
    portals: Annotated[int, typer.Option(help="Number of portals to create")] = 1,
) -> None:
    """Run the Bitrix24 emulator and print its portals, credentials and URLs."""
    from namecase.emulator.cli import run_emulator

    run_emulator(port=port, portals=portals)


@cli.command()
def demo() -> None:
    """Show the whole path on this machine: emulator, service, badly typed names, fixes."""
    from namecase.demo import run_demo

    asyncio.run(run_demo(typer.echo))


@cli.command()
def backfill(
    member_id: Annotated[str, typer.Argument(help="The portal's member_id")],
    wait: Annotated[bool, typer.Option(help="Follow the progress until it is done")] = False,
) -> None:
    """Fix a portal's existing records: start a backfill that the workers run and can resume."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    _require_head(settings)
    asyncio.run(_backfill(settings, member_id, wait))


async def _backfill(settings: Settings, member_id: str, wait: bool) -> None:
    from namecase.db import create_session_factory
    from namecase.pipeline.backfill import BackfillRefused, backfill_progress, start_backfill
    from namecase.portals.models import Portal

    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            portal = await session.get(Portal, member_id)
            if portal is None or not portal.served:
                typer.echo(f"namecase: no active portal with member_id {member_id}", err=True)
                raise typer.Exit(1)
            try:
                await start_backfill(session, portal)
            except BackfillRefused as refused:
                typer.echo(f"namecase: backfill not started ({refused})", err=True)
                raise typer.Exit(1) from refused
        typer.echo(f"backfill of {portal.domain} started; a running worker carries it out")
        while wait:
            await asyncio.sleep(1.0)
            async with sessions() as session:
                progress = await backfill_progress(session, portal)
            typer.echo(
                f"{progress.percent:3d}%  scanned {progress.scanned}/{progress.total or '?'}"
                f"  queued {progress.queued}  fixed {progress.fixed}"
            )
            wait = progress.state == "running" or progress.pending > 0
    finally:
        await engine.dispose()


@cli.command()
def portals() -> None:
    """List the installed portals with their state, token expiry and queue."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    _require_head(settings)
    asyncio.run(_portals(settings))


async def _portals(settings: Settings) -> None:
    from namecase.db import create_session_factory
    from namecase.portals.repository import PortalRepository
    from namecase.queue import inbox

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            rows = [("member_id", "domain", "state", "token expires", "pending", "dead")]
            for portal in await PortalRepository(session).all():
                counts = await inbox.counts(session, portal.member_id)
                expires = portal.access_expires_at
                rows.append(
                    (
                        portal.member_id,
                        portal.domain,
                        portal.state,
                        expires.strftime("%Y-%m-%d %H:%M") if expires else "-",
                        str(counts.get("pending", 0)),
                        str(counts.get("dead", 0)),
                    )
                )
    finally:
        await engine.dispose()
    if len(rows) == 1:
        typer.echo("no portals yet: install the app from Bitrix24 (or run `namecase demo`)")
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@cli.command()
def doctor() -> None:
    """Check the configuration as an operator needs it; exits non-zero when something is wrong."""
    try:
        settings = Settings()
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        typer.echo(f"FAIL  settings  invalid:\n{error}")
        raise typer.Exit(2) from error
    configure_logging("WARNING", settings.log_format)
    from namecase.doctor import diagnose, report

    text, code = report(asyncio.run(diagnose(settings)))
    typer.echo(text)
    raise typer.Exit(code)


@cli.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored token with the first key of NAMECASE_SECRET_KEYS."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    _require_head(settings)
    from namecase.portals.keys import rotate_database_keys

    try:
        count = asyncio.run(rotate_database_keys(settings))
    except ValueError as error:
        typer.echo(f"namecase: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"re-encrypted {count} tokens with the first key of NAMECASE_SECRET_KEYS")


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
