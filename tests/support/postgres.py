"""Find a PostgreSQL server for the tests, or start a throw-away one.

Order (issue 2): NAMECASE_TEST_DATABASE_URL; else 127.0.0.1:5432 (user postgres, database test)
if it answers; else a temporary cluster from the initdb/pg_ctl binaries on this machine; else
fail loudly.
Each test session then works in a database of its own, created here and dropped afterwards, so
several sessions (developers, CI) can share one server.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
HOW_TO = (
    "PostgreSQL is required for the tests and none was found. Either run one at 127.0.0.1:5432 "
    "(user postgres, trust auth, database test), set NAMECASE_TEST_DATABASE_URL="
    "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB, or install the server binaries "
    "(apt-get install postgresql) so the tests can start a temporary cluster."
)


class NoPostgres(RuntimeError):
    pass


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _temporary_cluster() -> Iterator[str]:
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) or [shutil.which("pg_ctl")]
    pg_ctl = next((b for b in binaries if b), None)
    if pg_ctl is None:
        raise NoPostgres(HOW_TO)
    bindir = Path(pg_ctl).parent
    folder = Path(tempfile.mkdtemp(prefix="namecase-pg-"))
    port = _free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    # The server inherits pg_ctl's stdout: give it a log file, or run() waits for it forever.
    log = folder / "server.log"
    subprocess.run(
        [*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A SQLAlchemy URL of a PostgreSQL database we may create databases from."""
    url = os.environ.get("NAMECASE_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if _answers("127.0.0.1", 5432):
        yield DEFAULT_URL
        return
    with _temporary_cluster() as temporary:
        yield temporary


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _execute_async(url: str, statement: str) -> None:
    connection = await asyncpg.connect(_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _execute(url: str, statement: str) -> None:
    # A thread of its own: fixtures may be set up while the test's event loop is running.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _execute_async(url, statement)).result()


@contextlib.contextmanager
def session_database(server_url: str) -> Iterator[str]:
    """A fresh database for this test session on the server, dropped at the end."""
    name = f"namecase_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _execute(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
