"""The service's shared HTTP client is the guarded one (issue 14 item 3): every connection to a
portal or OAuth server goes through EndpointGuard (bitrix/transport.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_settings
from namecase.bitrix import ForbiddenEndpoint
from namecase.runtime import Runtime


async def test_the_services_http_client_refuses_our_own_addresses(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/namecase.db", allow_http=False)
    runtime = Runtime.start(settings)
    try:
        with pytest.raises(ForbiddenEndpoint):
            await runtime.http.get("https://127.0.0.1:9/")  # loopback, with ALLOW_HTTP off
    finally:
        await runtime.close()
