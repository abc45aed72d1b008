"""The bench rig: throw-away databases, the service as a pinned subprocess, the emulator.

Every benchmark and campaign under bench/ builds on these pieces so that they measure the
service the way an operator runs it: `namecase serve` / `namecase worker` as processes, talking
HTTP on loopback to the Bitrix24 emulator (docs/EMULATOR.md), on a database of their own that is
dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from namecase import migration  # noqa: E402
from namecase.emulator import (  # noqa: E402
    PORTAL_DOMAIN_SUFFIX,
    Emulator,
    EmulatorConfig,
    serve_emulator,
)
from namecase.emulator import Portal as EmulatedPortal  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
CLIENT_ID = "local.namecase.bench"
CLIENT_SECRET = "bench-client-secret"
POSTGRES_ADMIN_URL = os.environ.get(
    "NAMECASE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SERVICE_CPU = 0
LOAD_CPU = 1


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pin(cpu: int | None) -> None:
    """Pin this process to one core (None: leave it where the OS puts it)."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write bench/results/{name}.json (git-ignored) and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2, default=str) + "\n")
    return path


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain-text table with right-aligned numbers."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for number, row in enumerate(cells):
        print(
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# --- databases ----------------------------------------------------------------------------


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin_sql(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def migrate(url: str, code: Code | None = None) -> None:
    """Bring a fresh database to `code`'s schema (by its own migrations) or this checkout's."""
    if code is None:
        await asyncio.to_thread(migration.upgrade, url)
        return
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        *["-m", "namecase", "migrate"],
        env={**service_env(url, "http://127.0.0.1", 0), **code.env()},
        cwd=tempfile.gettempdir(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"{code.name}: namecase migrate failed: {output.decode()[-2000:]}")


@contextlib.asynccontextmanager
async def throwaway_postgres(code: Code | None = None) -> AsyncIterator[str]:
    """A migrated PostgreSQL database of its own (dropped afterwards); yields its URL."""
    name = f"namecase_bench_{uuid.uuid4().hex[:10]}"
    await _admin_sql(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    try:
        await migrate(url, code)
        yield url
    finally:
        await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def throwaway_sqlite(code: Code | None = None) -> AsyncIterator[str]:
    """A migrated SQLite file in a temporary folder; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="namecase-bench-") as folder:
        url = f"sqlite+aiosqlite:///{folder}/namecase.db"
        await migrate(url, code)
        yield url


@contextlib.asynccontextmanager
async def database(kind: str, code: Code | None = None) -> AsyncIterator[str]:
    """`postgresql` or `sqlite`: a throw-away database migrated to `code`'s schema."""
    make = throwaway_postgres if kind == "postgresql" else throwaway_sqlite
    async with make(code) as url:
        yield url


class Rows:
    """Counting rows directly in the database, without the service's code."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def scalar(self, sql: str, *args: object) -> Any:
        if self.url.startswith("sqlite"):
            import aiosqlite

            path = self.url.split(":///", 1)[1]
            async with aiosqlite.connect(path) as connection:
                cursor = await connection.execute(sql.replace("$1", "?"), args)
                row = await cursor.fetchone()
                return row[0] if row else None
        connection = await asyncpg.connect(_asyncpg_dsn(self.url))
        try:
            return await connection.fetchval(sql, *args)
        finally:
            await connection.close()

    async def pending_work(self, member_id: str | None = None) -> int:
        """Inbox rows with work to do: pending, except rows held for the echo of our own write
        (version <= 0 until their hold ends; see src/namecase/queue/echoes.py)."""
        sql = (
            "SELECT count(*) FROM inbox WHERE state = 'pending'"
            " AND (version > 0 OR next_attempt_at <= datetime('now'))"
            if self.url.startswith("sqlite")
            else "SELECT count(*) FROM inbox WHERE state = 'pending'"
            " AND (version > 0 OR next_attempt_at <= now())"
        )
        if member_id is None:
            return int(await self.scalar(sql))
        return int(await self.scalar(sql + " AND member_id = $1", member_id))

    async def tables(self) -> dict[str, int]:
        """Row count of every table of ours."""
        from namecase.schema import metadata

        counts = {}
        for table in metadata.sorted_tables:
            counts[table.name] = int(await self.scalar(f'SELECT count(*) FROM "{table.name}"'))  # noqa: S608
        return counts


# --- the code under test ------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """A checkout of namecase whose `src` the service processes import (first on PYTHONPATH), so
    that one run of a script measures two versions side by side (`--code old=…,new=…`).

    Only the `namecase` processes run it. The bench process itself (the emulator, migrations,
    row counts) always uses this checkout's code, so every contender meets the same emulator.
    """

    name: str
    src: Path

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.src)}

    def describe(self) -> dict[str, Any]:
        """Which code a `python -m namecase` process really imports, and the commit it is at."""
        probe = (
            "import importlib.util, json, namecase; print(json.dumps({'file': namecase.__file__,"
            " 'has_queue_package': importlib.util.find_spec('namecase.queue') is not None}))"
        )
        answer = subprocess.run(
            [PYTHON, "-c", probe],
            env={**os.environ, **self.env()},
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            check=True,
        )
        found: dict[str, Any] = json.loads(answer.stdout)
        if not Path(found["file"]).resolve().is_relative_to(self.src.resolve()):
            raise RuntimeError(f"{self.name}: processes import {found['file']}, not {self.src}")
        git = ["git", "-C", str(self.src)]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "."], capture_output=True, text=True
        )
        return {
            "name": self.name,
            "src": str(self.src),
            **found,
            "commit": commit.stdout.strip() or None,
            "uncommitted_changes": bool(dirty.stdout.strip()),
        }


def codes(spec: str) -> list[Code]:
    """`old=/tmp/nc-old/src,new=src`: the code of each contender (relative paths: from the repo)."""
    found = []
    for part in spec.split(","):
        name, _, path = part.partition("=")
        if not name or not path:
            raise SystemExit(f"--code: expected name=path, got {part!r}")
        src = Path(path) if Path(path).is_absolute() else ROOT / path
        found.append(Code(name, src.resolve()))
    return found


def check_codes(found: Sequence[Code]) -> list[dict[str, Any]]:
    """Describe each contender's code (and fail early if a process would import another)."""
    described = [code.describe() for code in found]
    for one in described:
        print(
            f"code {one['name']}: {one['file']} at {one['commit']}"
            + (" (with uncommitted changes)" if one["uncommitted_changes"] else ""),
            flush=True,
        )
    return described


# --- the service as a process ---------------------------------------------------------------

SECRET_KEY = Fernet.generate_key().decode()


def service_env(
    database_url: str, emulator_url: str, port: int, **settings: object
) -> dict[str, str]:
    """The environment of a `namecase` process: our settings and nothing from the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAMECASE_")}
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "SECRET_KEYS": SECRET_KEY,
        "ALLOW_HTTP": "true",
        # The emulator's portals are hosts under this name on its port; the service resolves
        # them to 127.0.0.1 (docs/EMULATOR.md, "Addressing").
        "EMULATOR_HOSTS": PORTAL_DOMAIN_SUFFIX,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_SERVERS": emulator_url,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LOG_FORMAT": "json",
        # Benchmarks install hundreds of portals from one address in seconds.
        "INSTALL_LIMIT_PER_CALLER": 1_000_000,
        "INSTALL_LIMIT_OVERALL": 1_000_000,
    }
    values.update({key.upper(): value for key, value in settings.items()})
    env.update(
        {
            f"NAMECASE_{key}": str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in values.items()
        }
    )
    return env


@dataclass
class ServiceProcess:
    """`namecase serve` (or `worker`) in a process of its own, optionally pinned to one core."""

    command: list[str]
    env: dict[str, str]
    port: int | None
    cpu: int | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    _log: Any = field(default=None, repr=False)

    @classmethod
    def serve(
        cls,
        database_url: str,
        emulator_url: str,
        *,
        cpu: int | None = SERVICE_CPU,
        port: int | None = None,
        log_path: Path | None = None,
        code: Code | None = None,
        **settings: object,
    ) -> ServiceProcess:
        port = port or free_port()
        command = [PYTHON, "-m", "namecase", "serve", "--host", "127.0.0.1", "--port", str(port)]
        env = service_env(database_url, emulator_url, port, **settings)
        return cls(command, {**env, **(code.env() if code else {})}, port, cpu, log_path)

    @classmethod
    def worker(
        cls,
        database_url: str,
        emulator_url: str,
        *,
        concurrency: int = 4,
        cpu: int | None = None,
        log_path: Path | None = None,
        code: Code | None = None,
        **settings: object,
    ) -> ServiceProcess:
        command = [PYTHON, "-m", "namecase", "worker", "--concurrency", str(concurrency)]
        if profile := os.environ.get("NAMECASE_BENCH_PROFILE_WORKER"):
            # cProfile of the worker, written when it exits on SIGTERM (inspect with pstats).
            command[1:1] = ["-m", "cProfile", "-o", profile]
        env = service_env(database_url, emulator_url, 0, **settings)
        return cls(command, {**env, **(code.env() if code else {})}, None, cpu, log_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        cpu = self.cpu
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=tempfile.gettempdir(),
            stdout=self._log,
            stderr=self._log,
            preexec_fn=(lambda: pin(cpu)) if cpu is not None else None,
        )
        self.started_at = time.monotonic()
        return self

    async def ready(self, seconds: float = 60.0) -> None:
        """Wait until /healthz answers (serve) or the process is running (worker)."""
        deadline = time.monotonic() + seconds
        if self.port is None:
            await asyncio.sleep(0.5)
            self._check_alive()
            return
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                self._check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/healthz", timeout=1)).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.command} did not become ready in {seconds}s")

    def _check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(
                f"{' '.join(self.command[2:])} exited with {self.process.returncode}"
                + (f"; see {self.log_path}" if self.log_path else "")
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def peak_rss_mb(self) -> float:
        """The process's peak resident set size so far (VmHWM), in MiB."""
        return _status_kb(self.pid, "VmHWM") / 1024

    def rss_mb(self) -> float:
        return _status_kb(self.pid, "VmRSS") / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (the crash being simulated)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self._close_log()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM and wait (SIGKILL after `timeout`)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        self._log = None


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


@contextlib.asynccontextmanager
async def running(service: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    """Start the process, wait until it is ready, stop it (SIGTERM) at the end.

    The wait for the exit runs in a thread: the emulator is served by this process's event loop,
    and a worker stopping in the middle of a REST call needs its answer to finish its unit.
    """
    service.start()
    try:
        await service.ready()
        yield service
    finally:
        await asyncio.to_thread(service.stop)


# --- the emulator --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def emulator(**config: Any) -> AsyncIterator[Emulator]:
    """The Bitrix24 emulator served in this process on a free loopback port."""
    emu = Emulator(
        config=EmulatorConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **config)
    )
    async with serve_emulator(emu):
        yield emu


async def install_portals(
    emu: Emulator, app_url: str, count: int, *, concurrency: int = 8, **portal: Any
) -> list[EmulatedPortal]:
    """Add `count` portals and install the app on each through its real install flow."""
    portals = [emu.add_portal(**portal) for _ in range(count)]
    limit = asyncio.Semaphore(concurrency)

    async def install(one: EmulatedPortal) -> None:
        async with limit:
            response = await emu.install_app(one.member_id, install_url=f"{app_url}/install")
            if response.status_code != 200 or not one.install_finished:
                raise RuntimeError(f"install failed: {response.status_code} {response.text[:200]}")

    await asyncio.gather(*(install(p) for p in portals))
    return portals


async def event_body(emu: Emulator, portal: EmulatedPortal) -> str:
    """A real ONCRMCONTACTADD delivery body of `portal`, with `{ID}` in place of the record id.

    One contact is added and its delivery taken from the emulator's log, so the body is exactly
    what the emulator (and Bitrix24) sends: every auth key, PHP-style bracket keys.
    """
    record_id = await emu.user_add_contact(portal.member_id, {"NAME": "Анна"})
    await emu.wait_deliveries_idle()
    delivery = next(
        d
        for d in reversed(emu.deliveries)
        if d.member_id == portal.member_id and d.data["FIELDS"]["ID"] == record_id
    )
    key = "data%5BFIELDS%5D%5BID%5D="
    assert f"{key}{record_id}&" in delivery.body, delivery.body
    return delivery.body.replace(f"{key}{record_id}&", f"{key}{{ID}}&")
