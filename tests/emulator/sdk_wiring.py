"""Pointing clients we did not write at the emulator: real HTTP to 127.0.0.1, by portal name.

Each emulated portal is its own host (acme.bitrix24.test on the emulator's port) and no DNS knows
these names, so each client's HTTP library is told where they live, the way it allows:

- b24pysdk (requests) always calls ``https://{domain}/rest/…`` and ``https://oauth.bitrix24.tech``
  (api/callers/call_method.py, api/requesters/bitrix_oauth_requester.py), through module-level
  ``requests.get``/``post``. `EmulatorAdapter` is a requests transport adapter that sends those
  requests to the emulator over plain http, the ``Host`` header still naming the portal;
  `route_requests_to` installs it for every requests session while a test runs.
- fast-bitrix24 (aiohttp) takes the portal's URL and an ``aiohttp.ClientSession`` of ours:
  `LoopbackResolver` answers 127.0.0.1 for the names.

TLS is not modelled: the emulator speaks http (docs/EMULATOR.md, "What it does not model").
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
import requests
from aiohttp.abc import AbstractResolver, ResolveResult
from requests.adapters import HTTPAdapter

from namecase.emulator.hosts import LOOPBACK


class EmulatorAdapter(HTTPAdapter):
    """Every request goes to the emulator (http://127.0.0.1:PORT) with its own host name."""

    def __init__(self, emulator_port: int) -> None:
        super().__init__()
        self.emulator_port = emulator_port

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(str(request.url))
        request.headers["Host"] = parts.hostname or ""
        request.url = urlunsplit(
            ("http", f"{LOOPBACK}:{self.emulator_port}", parts.path, parts.query, "")
        )
        return super().send(request, **kwargs)


@contextmanager
def route_requests_to(monkeypatch: pytest.MonkeyPatch, emulator_port: int) -> Iterator[None]:
    """While inside, every requests session (the SDK makes its own) talks to the emulator."""
    adapter = EmulatorAdapter(emulator_port)
    monkeypatch.setattr(requests.Session, "get_adapter", lambda self, url: adapter)
    try:
        yield
    finally:
        adapter.close()


class LoopbackResolver(AbstractResolver):
    """aiohttp's resolver: every name is the emulator's loopback address."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": LOOPBACK,
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


def aiohttp_session() -> aiohttp.ClientSession:
    """A session whose connections go to 127.0.0.1 for any name (close it when done)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=LoopbackResolver()), raise_for_status=True
    )
