"""The Docker deployment names only real CLI commands and known settings (no Docker here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from typer.main import get_command

from conftest import make_settings
from namecase.app import create_app
from namecase.cli import cli
from namecase.settings import Settings
from support.servers import serve

ROOT = Path(__file__).resolve().parents[1]


def _cli_commands() -> set[str]:
    group = get_command(cli)
    return set(getattr(group, "commands", {}))


# uvicorn's own: whose X-Forwarded-For it believes (the proxy's, inside the compose network).
UVICORN_VARIABLES = {"FORWARDED_ALLOW_IPS"}


def _known_variables() -> set[str]:
    return {f"NAMECASE_{name.upper()}" for name in Settings.model_fields}


def test_every_compose_command_is_a_cli_command() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    commands = _cli_commands()
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        command = service.get("command", ["serve"])
        assert command[0] in commands, f"service {name} runs unknown command {command[0]!r}"
    assert {"web", "worker", "migrate", "postgres"} <= set(compose["services"])
    assert "healthcheck" in compose["services"]["postgres"]


def test_every_environment_variable_is_a_known_setting() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    known = _known_variables()
    for service in compose["services"].values():
        for variable in service.get("environment", {}) if "build" in service else {}:
            assert variable in known | UVICORN_VARIABLES, f"unknown setting {variable}"
    example = (ROOT / ".env.example").read_text().splitlines()
    for line in example:
        if line and not line.startswith("#"):
            assert line.split("=", 1)[0] in known, f".env.example names unknown {line}"


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile and "--uid 10001" in dockerfile  # numeric: not root
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert dockerfile.count("FROM ") >= 2  # multi-stage
    assert 'CMD ["serve"' in dockerfile


def test_cli_is_also_python_dash_m(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "namecase", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert "serve" in result.stdout and "migrate" in result.stdout


# --- the TLS proxy in front (deploy/Caddyfile) ------------------------------------------------

CADDYFILE = ROOT / "deploy" / "Caddyfile"
# Routes the app serves that the proxy keeps from the internet (Prometheus scrapes web:8000).
INTERNAL_ROUTES = {"/metrics"}


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


async def _served(paths: set[str], tmp_path: Path) -> set[str]:
    """Which of `paths` the running app serves (any answer but its plain 404 for no route)."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'routes.db'}", admin_token="x" * 32)
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
        answers = {path: await client.get(path) for path in paths}
    return {
        path
        for path, answer in answers.items()
        if answer.status_code != 404 or answer.json() != {"detail": "Not Found"}
    }


def _caddy_size(value: str) -> int:
    units = {"KB": 1000, "MB": 1000**2, "KIB": 1024, "MIB": 1024**2, "B": 1}
    number, unit = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", value.strip()).groups()  # type: ignore[union-attr]
    return int(number) * units[unit.upper() or "B"]


def _caddy_seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(s|m|h)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"s": 1, "m": 60, "h": 3600}[unit]


def _caddy_option(name: str) -> str:
    found = re.search(rf"^\s*{name}\s+(\S+)\s*$", CADDYFILE.read_text(), re.MULTILINE)
    assert found, f"deploy/Caddyfile sets no {name}"
    return found.group(1)


def test_only_the_proxy_is_published_and_it_serves_https() -> None:
    services = _compose()["services"]
    assert "ports" not in services["web"], "web must be reached only through the proxy"
    proxy = services["proxy"]
    assert {"80:80", "443:443"} <= set(proxy["ports"])
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in proxy["volumes"]}
    assert mounted["./deploy/Caddyfile"] == "/etc/caddy/Caddyfile"
    assert CADDYFILE.exists()
    assert any(volume.endswith(":/data") for volume in proxy["volumes"]), "certificates persist"
    # The proxy learns the site address and nothing else from .env.
    assert set(proxy["environment"]) == {"NAMECASE_PUBLIC_URL"}
    assert "env_file" not in proxy


def test_the_proxy_forwards_to_the_port_web_listens_on() -> None:
    web = _compose()["services"]["web"]
    port = web["command"][web["command"].index("--port") + 1]
    assert f"reverse_proxy {{$PROXY_UPSTREAM:web:{port}}}" in CADDYFILE.read_text()
    assert port in web["expose"]
    # The site address is PUBLIC_URL itself: https://host gets its certificate automatically.
    assert re.search(r"^\{\$NAMECASE_PUBLIC_URL\} \{$", CADDYFILE.read_text(), re.MULTILINE)


async def test_the_proxy_blocks_exactly_the_internal_routes(tmp_path: Path) -> None:
    blocked = re.search(r"@internal path (.+)$", CADDYFILE.read_text(), re.MULTILINE)
    assert blocked
    paths = {path for path in blocked.group(1).split() if not path.endswith("/*")}
    assert paths == INTERNAL_ROUTES
    # Every route Bitrix24, the operator's browser or a load balancer uses is passed through.
    public = {"/", "/install", "/events", "/app", "/admin", "/admin/status", "/healthz", "/readyz"}
    assert not public & paths
    served = await _served(paths | public | {"/no-such-route"}, tmp_path)
    assert paths <= served, "the proxy blocks a route the app does not have"
    assert public <= served
    assert "/no-such-route" not in served


def test_the_proxy_limits_bodies_and_slow_clients_within_what_the_app_needs() -> None:
    defaults = Settings(database_url="sqlite+aiosqlite:///:memory:")
    limit = _caddy_size(_caddy_option("max_size"))
    assert defaults.event_max_bytes < limit <= 1024**2
    assert _caddy_seconds(_caddy_option("read_header")) <= 30
    assert _caddy_seconds(_caddy_option("read_body")) <= 60
    # The /app page may wait for one REST call to the portal before it answers.
    assert _caddy_seconds(_caddy_option("write")) > defaults.rest_timeout
    assert _caddy_seconds(_caddy_option("response_header_timeout")) > defaults.rest_timeout
    assert _caddy_size(_caddy_option("max_header_size")) >= 8 * 1024


def test_env_example_public_url_is_an_https_origin_the_proxy_can_serve() -> None:
    values = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    url = values["NAMECASE_PUBLIC_URL"]
    # Caddy takes a path in a site address as an exact match: the app must own the whole host.
    assert re.fullmatch(r"https://[a-z0-9.-]+", url), url


def test_web_believes_the_proxys_forwarded_address() -> None:
    # Behind the proxy every connection comes from the proxy: without this, all callers would
    # share one install and frame-check budget (namecase/callers.py).
    web = _compose()["services"]["web"]
    assert web["environment"]["FORWARDED_ALLOW_IPS"] == "*"
    assert "ports" not in web  # trusting every peer is safe only while web is unpublished
    # Caddy replaces a client's own X-Forwarded-For unless told to trust it: it must not be.
    assert "trusted_proxies" not in CADDYFILE.read_text()
