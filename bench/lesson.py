"""The baseline: the per-event handler of the Bitrix24 lesson, served like our service.

On every ONCRMCONTACTADD / ONCRMCONTACTUPDATE delivery the handler does the REST work inline,
before it answers: `crm.contact.get` with the event's own access token, the same name engine as
namecase (`normalize_name`), and `crm.contact.update` when a name changed. It compares before it
writes: without that, its own update's echo event would loop forever. Nothing is queued, nothing
is batched, nothing is remembered between deliveries.

Two behaviours on a refused call (503 QUERY_LIMIT_EXCEEDED, or any error):

- `as-written` (the lesson): the handler fails and the event is gone; Bitrix24 does not
  redeliver (bitrix24-protocol.md §2);
- `retry`: what a careful reader adds, retrying a 503 with jittered exponential backoff (1 s
  doubling to 60 s) until it goes through; the delivery times out at the emulator after 5 s, but
  the handler keeps working.

    python bench/lesson.py --port 8100 [--retry]    # served by uvicorn, like `namecase serve`
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from namecase.bitrix import parse_php_form  # noqa: E402
from namecase.emulator.hosts import loopback_client  # noqa: E402
from namecase.names import normalize_name  # noqa: E402

FIELDS = {"NAME": "first", "SECOND_NAME": "middle", "LAST_NAME": "last"}


class Refused(Exception):
    """The portal refused a call (the lesson's handler just fails)."""


class LessonHandler:
    """State of the baseline app: one HTTP client and the retry switch, nothing else."""

    def __init__(self, retry: bool) -> None:
        self.retry = retry
        self.http: httpx.AsyncClient | None = None
        self.counts = {"events": 0, "updated": 0, "failed": 0, "active": 0}

    async def call(self, endpoint: str, method: str, payload: dict[str, Any]) -> Any:
        assert self.http is not None
        delay = 1.0
        while True:
            response = await self.http.post(f"{endpoint}{method}", json=payload)
            body = response.json()
            if response.status_code == 200 and "result" in body:
                return body["result"]
            if not (self.retry and body.get("error") == "QUERY_LIMIT_EXCEEDED"):
                raise Refused(f"{method}: {response.status_code} {body.get('error')}")
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(60.0, delay * 2)

    async def event(self, request: Request) -> PlainTextResponse:
        self.counts["events"] += 1
        self.counts["active"] += 1
        try:
            return await self.handle(request)
        finally:
            self.counts["active"] -= 1

    async def handle(self, request: Request) -> PlainTextResponse:
        form = parse_php_form(await request.body())
        auth, data = form["auth"], form["data"]
        endpoint, token = auth["client_endpoint"], auth["access_token"]
        contact_id = data["FIELDS"]["ID"]
        try:
            contact = await self.call(
                endpoint, "crm.contact.get", {"id": contact_id, "auth": token}
            )
            fields = {
                name: normalize_name(contact.get(name), field)
                for name, field in FIELDS.items()
                if contact.get(name) and normalize_name(contact.get(name), field) != contact[name]
            }
            if fields:
                await self.call(
                    endpoint,
                    "crm.contact.update",
                    {"id": contact_id, "fields": fields, "auth": token},
                )
                self.counts["updated"] += 1
        except Refused:
            self.counts["failed"] += 1
            return PlainTextResponse("error", status_code=500)
        return PlainTextResponse("OK")

    async def install(self, request: Request) -> HTMLResponse:
        # Binding is done by the benchmark (the lesson's install page is not what is measured).
        return HTMLResponse("<html><body>installed</body></html>")

    async def stats(self, request: Request) -> JSONResponse:
        return JSONResponse(self.counts)

    async def healthz(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})


def lesson_app(retry: bool) -> Starlette:
    """The baseline as an ASGI app: POST /events, POST /install, GET /stats, GET /healthz."""
    handler = LessonHandler(retry)

    async def lifespan(app: Starlette) -> Any:
        # The emulator's portals are named hosts on loopback (docs/EMULATOR.md, "Addressing").
        async with loopback_client(timeout=120.0) as http:
            handler.http = http
            yield

    return Starlette(
        routes=[
            Route("/events", handler.event, methods=["POST"]),
            Route("/install", handler.install, methods=["POST", "GET"]),
            Route("/stats", handler.stats),
            Route("/healthz", handler.healthz),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--retry", action="store_true")
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(
        lesson_app(args.retry),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
