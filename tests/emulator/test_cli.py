"""``namecase emulator``: the standalone server prints how to reach it and serves."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from namecase.emulator import Emulator, serve_emulator
from namecase.emulator.cli import describe_emulator


async def test_the_summary_names_portals_credentials_and_urls() -> None:
    emulator = Emulator(client_id="app.x", client_secret="sec")
    async with serve_emulator(emulator) as base_url:
        portal = emulator.add_portal(domain="portal1.bitrix24.test", plan="enterprise")
        text = describe_emulator(emulator)
    for expected in (
        f"{base_url}/oauth/token/",
        f"{base_url}/rest/",
        f"{base_url}/_emulator/",
        "client_id=app.x",
        "client_secret=sec",
        "portal1.bitrix24.test",
        portal.member_id,
        "enterprise",
        portal.client_endpoint,
    ):
        assert expected in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_emulator_serves_until_terminated() -> None:
    port = free_port()
    code = (
        "from namecase.emulator.cli import run_emulator; "
        f"run_emulator(port={port}, portals=2, client_id='cli.app', client_secret='cli-secret')"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    ) as process:
        try:
            assert process.stdout is not None
            banner = ""
            deadline = time.monotonic() + 20
            while "Ctrl+C" not in banner and time.monotonic() < deadline:
                line = process.stdout.readline().decode()
                if not line:
                    break
                banner += line
            portals = httpx.get(f"http://127.0.0.1:{port}/_emulator/portals").json()
        finally:
            process.send_signal(signal.SIGTERM)
            exit_code = process.wait(timeout=10)

    assert "client_id=cli.app" in banner
    assert "portal2.bitrix24.test" in banner
    assert [p["domain"] for p in portals] == ["portal1.bitrix24.test", "portal2.bitrix24.test"]
    assert exit_code == 0
