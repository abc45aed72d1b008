"""The Docker deployment names only real CLI commands and known settings (no Docker here)."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.main import get_command

from namecase.cli import cli
from namecase.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _cli_commands() -> set[str]:
    group = get_command(cli)
    return set(getattr(group, "commands", {}))


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
            assert variable in known, f"unknown setting {variable}"
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
