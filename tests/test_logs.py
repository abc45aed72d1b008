"""Logs are structured, carry the request id, and never contain a token or a secret."""

from __future__ import annotations

import io
import json
import logging

import httpx

from namecase.app import create_app
from namecase.logs import scrub
from namecase.settings import Settings
from support.servers import serve

SECRETS = ("acc3ss-t0ken-value", "r3fresh-t0ken-value", "test-client-secret", "app-t0ken-value")


def _capture_our_handler() -> io.StringIO:
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "namecase")
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    return buffer


async def test_request_with_tokens_leaves_no_secret_in_the_logs(settings: Settings) -> None:
    app = create_app(settings)
    buffer = _capture_our_handler()
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        await client.get(
            "/healthz",
            params={"AUTH_ID": SECRETS[0], "REFRESH_ID": SECRETS[1]},
            headers={"Authorization": f"Bearer {SECRETS[3]}"},
        )
        await client.post(
            "/events",
            data={
                "auth[access_token]": SECRETS[0],
                "auth[refresh_token]": SECRETS[1],
                "auth[application_token]": SECRETS[3],
                "client_secret": SECRETS[2],
            },
        )
    logging.getLogger("namecase.test").info(
        "oauth answered access_token=%s refresh_token=%s client_secret=%s",
        SECRETS[0],
        SECRETS[1],
        settings.client_secret,
    )
    output = buffer.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert any(line.get("request_id") for line in lines)
    assert any("GET /healthz -> 200" in line["msg"] for line in lines)
    for secret in SECRETS:
        assert secret not in output


def test_scrub_masks_key_value_pairs_in_every_notation() -> None:
    text = 'access_token=abc&x=1 "refresh_token": "def" client_secret: ghi AUTH_ID=jkl'
    assert scrub(text) == (
        'access_token=***&x=1 "refresh_token": "***" client_secret: *** AUTH_ID=***'
    )
