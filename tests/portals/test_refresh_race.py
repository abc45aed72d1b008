"""The refresh race (issue 5 item 7): several OS processes on one PostgreSQL database find the
access token expired at the same moment. Bitrix24 rotates the refresh token on every use
(bitrix24-protocol.md §4), so a second refresh would spend a dead token (invalid_grant). The row
lock serializes them: exactly one refresh reaches the OAuth server and every call succeeds."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from sqlalchemy import func, select

from namecase.portals.models import RestCallLog
from support.stack import Stack, running_stack

from .harness import stored

PROCESSES = 4
CALLS_PER_PROCESS = 3
SCRIPT = Path(__file__).with_name("refresh_race_process.py")


async def _spawn(cwd: Path) -> asyncio.subprocess.Process:
    # No NAMECASE_* from our environment and no .env: the test hands over the settings.
    env = {key: value for key, value in os.environ.items() if not key.startswith("NAMECASE_")}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )


async def _say(processes: list[asyncio.subprocess.Process], line: str) -> None:
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(line.encode() + b"\n")
    await asyncio.gather(*(p.stdin.drain() for p in processes if p.stdin))


async def _hear(processes: list[asyncio.subprocess.Process]) -> list[str]:
    async def line(process: asyncio.subprocess.Process) -> str:
        assert process.stdout is not None
        return (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode().strip()

    return list(await asyncio.gather(*(line(p) for p in processes)))


def _task(stack: Stack, member_id: str, contact_id: int) -> str:
    settings = stack.settings.model_dump(
        include={
            "database_url",
            "secret_keys",
            "allow_http",
            "emulator_hosts",
            "oauth_servers",
            "client_id",
            "client_secret",
        }
    )
    settings["log_level"] = "WARNING"
    return json.dumps(
        {
            "settings": settings,
            "member_id": member_id,
            "contact_id": contact_id,
            "calls": CALLS_PER_PROCESS,
        }
    )


async def _expired_answers(stack: Stack) -> int:
    async with stack.runtime.sessions() as session:
        statement = select(func.count()).where(RestCallLog.error_code == "expired_token")
        return int((await session.execute(statement)).scalar_one())


async def test_processes_hitting_an_expired_token_at_once_refresh_exactly_once(
    pg_database_url: str, tmp_path: Path
) -> None:
    processes = [await _spawn(tmp_path) for _ in range(PROCESSES)]  # they import meanwhile
    try:
        async with running_stack(pg_database_url) as stack:
            portal = await stack.installed_portal()
            contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "Анна"})
            before = await stored(stack, portal.member_id)
            assert before is not None
            refreshes = stack.emulator.refresh_count
            stack.emulator.expire_access_tokens(portal.member_id)
            await _say(processes, _task(stack, portal.member_id, contact_id))
            assert await _hear(processes) == ["ready"] * PROCESSES

            await _say(processes, "go")
            outcomes = [json.loads(line) for line in await _hear(processes)]

            assert outcomes == [{"ok": CALLS_PER_PROCESS, "errors": []}] * PROCESSES
            assert stack.emulator.refresh_count == refreshes + 1
            after = await stored(stack, portal.member_id)
            assert after is not None
            assert after.state == "active"
            assert after.token_version == before.token_version + 1
            assert [await p.wait() for p in processes] == [0] * PROCESSES
            # Every call did meet the expired token: the refresh was contended, not sequential.
            assert await _expired_answers(stack) == PROCESSES * CALLS_PER_PROCESS
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
