"""One OS process of the refresh race (test_refresh_race.py).

Protocol on stdin/stdout, so the slow imports overlap with the test's set-up: the process
imports, reads one JSON line {"settings": {...}, "member_id", "contact_id", "calls"}, loads the
portal, prints "ready", waits for a second line (so all processes start together), makes `calls`
concurrent calls with the stored token and prints {"ok": n, "errors": ["Class:code", ...]}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from namecase.bitrix import BitrixError
from namecase.portals.repository import PortalRepository
from namecase.runtime import Runtime
from namecase.settings import Settings


async def _read_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def race() -> dict[str, Any]:
    task = json.loads(await _read_line())
    runtime = Runtime.start(Settings(**task["settings"]))
    try:
        async with runtime.sessions() as session:
            portal = await PortalRepository(session).get(task["member_id"])
        assert portal is not None
        link = runtime.portals.link(portal)
        print("ready", flush=True)
        await _read_line()
        outcomes = await asyncio.gather(
            *(
                runtime.bitrix.call(link, "crm.contact.get", {"id": task["contact_id"]})
                for _ in range(task["calls"])
            ),
            return_exceptions=True,
        )
    finally:
        await runtime.close()
    errors = [
        f"{type(outcome).__name__}:{outcome.code if isinstance(outcome, BitrixError) else ''}"
        for outcome in outcomes
        if isinstance(outcome, BaseException)
    ]
    found = [o for o in outcomes if isinstance(o, dict) and o.get("ID") == str(task["contact_id"])]
    return {"ok": len(found), "errors": errors}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(race())), flush=True)
