"""``namecase emulator``: run the emulator standalone and say how to reach it."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from namecase.emulator.emulator import PORTAL_DOMAIN_SUFFIX, Emulator, EmulatorConfig
from namecase.emulator.server import serve_emulator

DEFAULT_CLIENT_ID = EmulatorConfig.client_id
DEFAULT_CLIENT_SECRET = EmulatorConfig.client_secret


def run_emulator(
    host: str = "127.0.0.1",
    port: int = 8900,
    portals: int = 1,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
) -> None:
    """Serve the emulator with ``portals`` portals until Ctrl+C or SIGTERM (blocking)."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_stopped(host, port, portals, client_id, client_secret))


async def _serve_until_stopped(
    host: str, port: int, portals: int, client_id: str, client_secret: str
) -> None:
    emulator = Emulator(client_id=client_id, client_secret=client_secret)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with serve_emulator(emulator, host=host, port=port):
        for number in range(1, portals + 1):
            emulator.add_portal(domain=f"portal{number}.{PORTAL_DOMAIN_SUFFIX}")
        print(describe_emulator(emulator), flush=True)
        await stop.wait()


def describe_emulator(emulator: Emulator) -> str:
    """The human-readable summary ``namecase emulator`` prints at start."""
    config = emulator.config
    lines = [
        f"Bitrix24 emulator listening on {emulator.base_url}",
        f"  OAuth server:     {emulator.oauth_token_url}  "
        f"(server_endpoint {emulator.server_endpoint})",
        f"  App credentials:  client_id={config.client_id}  client_secret={config.client_secret}",
        f"  Control API:      {emulator.control_url}",
        f"  BX24 JS library:  {emulator.base_url}/api/v1/",
        "",
        f"Each portal is its own host on this port: map *.{PORTAL_DOMAIN_SUFFIX} to 127.0.0.1 in",
        "your client (namecase: NAMECASE_ALLOW_HTTP=true "
        f"NAMECASE_EMULATOR_HOSTS={PORTAL_DOMAIN_SUFFIX}).",
        "",
        "Portals:",
    ]
    rows = [("domain", "member_id", "plan", "client_endpoint")]
    rows += [(p.domain, p.member_id, p.plan, p.client_endpoint) for p in emulator.portals.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        padded = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        lines.append("  " + "  ".join([*padded, row[3]]))
    example = next(iter(emulator.portals.values()), None)
    if example is not None:
        lines += [
            "",
            "Install your app on a portal (the emulator POSTs the installer frame to it):",
            f"  curl -X POST {emulator.control_url}portals/{example.member_id}/install \\",
            "       -H 'Content-Type: application/json' \\",
            '       -d \'{"install_url": "http://127.0.0.1:8000/install"}\'',
        ]
    lines += ["", "Press Ctrl+C to stop."]
    return "\n".join(lines)
