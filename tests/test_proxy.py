"""deploy/Caddyfile run for real (Debian's caddy) in front of the app, both on loopback.

The Compose deployment cannot run here (no Docker engine), but its proxy configuration can: the
same file, with the site address on plain http and the upstream on the test's port.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Receive, Scope, Send

from conftest import make_settings
from namecase.app import create_app
from support.servers import free_port, serve

ROOT = Path(__file__).resolve().parents[1]
CADDY = shutil.which("caddy")
ADMIN_TOKEN = "proxy-test-admin-token-0123456789"


@asynccontextmanager
async def caddy_in_front_of(upstream: str, home: Path) -> AsyncIterator[str]:
    """Run deploy/Caddyfile on a free loopback port, proxying to `upstream`; yields its URL."""
    if CADDY is None:
        # Debian's caddy (2.6); .ci/run is to install it next to chromium.
        pytest.skip("caddy is not installed: apt-get install caddy")
    url = f"http://127.0.0.1:{free_port()}"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "NAMECASE_PUBLIC_URL": url,
        "PROXY_UPSTREAM": upstream,
        "PROXY_ADMIN": "off",
    }
    process = await asyncio.create_subprocess_exec(
        CADDY,
        "run",
        "--config",
        str(ROOT / "deploy" / "Caddyfile"),
        "--adapter",
        "caddyfile",
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await _until_answering(f"{url}/healthz", process)
        yield url
    finally:
        process.terminate()
        await process.wait()


async def _until_answering(url: str, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            if process.returncode is not None:
                raise AssertionError(f"caddy exited with {process.returncode}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("caddy did not start answering")


async def test_the_proxy_passes_the_app_through_and_keeps_metrics_inside(
    pg_database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(pg_database_url, admin_token=ADMIN_TOKEN)
    async with (
        serve(create_app(settings)) as direct,
        caddy_in_front_of(direct.removeprefix("http://"), tmp_path) as proxied,
        httpx.AsyncClient() as client,
    ):
        for method, path in [
            ("GET", "/"),
            ("GET", "/healthz"),
            ("GET", "/readyz"),
            ("GET", "/docs"),
            ("GET", "/app"),
            ("GET", "/admin/status"),
            ("POST", "/events"),
            ("POST", "/install"),
        ]:
            through = await client.request(method, proxied + path)
            straight = await client.request(method, direct + path)
            assert through.status_code == straight.status_code, path
            assert through.headers.get("content-type") == straight.headers.get("content-type")

        page = await client.get(proxied + "/")
        assert "Strict-Transport-Security" in page.headers
        assert "caddy" not in page.headers.get("server", "").lower()

        # Prometheus scrapes web:8000 inside the network; the internet gets a bare 404.
        for path in ("/metrics", "/metrics/"):
            hidden = await client.get(proxied + path)
            assert hidden.status_code == 404 and hidden.content == b""
        assert (await client.get(direct + "/metrics")).status_code == 200


async def test_an_oversized_body_stops_at_the_proxy(pg_database_url: str, tmp_path: Path) -> None:
    settings = make_settings(pg_database_url)
    async with (
        serve(create_app(settings)) as direct,
        caddy_in_front_of(direct.removeprefix("http://"), tmp_path) as proxied,
        httpx.AsyncClient() as client,
    ):
        refused_before = _refused_by_app((await client.get(direct + "/metrics")).text)
        body = b"event=ONCRMCONTACTUPDATE&data=" + b"x" * 300_000
        refused = await client.post(
            proxied + "/events",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert refused.status_code == 413
        # Below the proxy's limit the app's own 64 KiB limit answers, as before.
        big = b"event=ONCRMCONTACTUPDATE&data=" + b"x" * 100_000
        own = await client.post(
            proxied + "/events",
            content=big,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert own.status_code == 413
        # Only the second request reached the app (the counters are the process's, so compare).
        metrics = (await client.get(direct + "/metrics")).text
        assert _refused_by_app(metrics) == refused_before + 1


def _refused_by_app(metrics: str) -> float:
    """POSTs the app answered 413, from its /metrics."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "namecase_http_requests_total"
        and sample.labels["method"] == "POST"
        and sample.labels["status"] == "413"
    )


async def _echo_client(scope: Scope, receive: Receive, send: Send) -> None:
    """An ASGI app that answers with the client address uvicorn gave it."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    host = (scope.get("client") or ("none", 0))[0]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(host).encode()})


async def test_the_app_sees_the_clients_address_never_a_forged_one(tmp_path: Path) -> None:
    # web trusts X-Forwarded-For from any peer (FORWARDED_ALLOW_IPS="*" in docker-compose.yml),
    # so the proxy must put the connection's address there, whatever the client claims.
    async with (
        serve(_echo_client, proxy_headers=True, forwarded_allow_ips="*") as echo,
        caddy_in_front_of(echo.removeprefix("http://"), tmp_path) as proxied,
        httpx.AsyncClient() as client,
    ):
        plain = await client.get(proxied + "/healthz")
        forged = await client.get(proxied + "/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
    assert plain.text == "127.0.0.1"
    assert forged.text == "127.0.0.1"
