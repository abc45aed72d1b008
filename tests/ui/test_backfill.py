"""“Fix existing records”: a backfill started from the page, its progress, and its refusals."""

from __future__ import annotations

import httpx

from .harness import page_api, page_stack

NAMES = ["иван", "ПЕТР", "Анна", "мария-ЛУИЗА", "Олег", "сВЕТА", "Ким", "ли", "Ян", "ЮРИЙ"]


async def test_existing_records_are_fixed_and_progress_reaches_100(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = stack.add_portal()
        # Records typed before the app was installed: no event will ever mention them.
        ids = [
            await stack.emulator.user_add_contact(portal.member_id, {"NAME": name})
            for name in NAMES * 6
        ]
        assert (await stack.install(portal)).status_code == 200
        await stack.drain()
        async with await page_api(http, stack, portal) as api:
            idle = (await api.get("backfill")).json()

            started = await api.post("backfill")
            await stack.drain()
            finished = (await api.get("backfill")).json()

        assert idle["state"] == "idle" and idle["percent"] == 0
        assert started.status_code == 202 and started.json()["state"] == "running"
        assert finished["state"] == "done" and finished["percent"] == 100
        assert finished["scanned"] == finished["total"] == len(ids)
        needs_fixing = 6 * 6  # иван, ПЕТР, мария-ЛУИЗА, сВЕТА, ли, ЮРИЙ; six of each
        assert finished["queued"] == needs_fixing
        assert finished["fixed"] == needs_fixing
        assert finished["pending"] == 0
        names = {stack.emulator.contact(portal.member_id, i)["NAME"] for i in ids}
        assert names == {
            "Иван", "Петр", "Анна", "Мария-Луиза", "Олег", "Света", "Ким", "Ли", "Ян", "Юрий"
        }  # fmt: skip


async def test_a_backfill_is_refused_while_off_or_already_running(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        async with await page_api(http, stack, portal) as api:
            settings = (await api.get("state")).json()["settings"]
            await api.put("settings", json={**settings, "enabled": False})
            while_off = await api.post("backfill")
            await api.put("settings", json=settings)
            first = await api.post("backfill")
            second = await api.post("backfill")

        assert while_off.status_code == 409 and while_off.json()["error"] == "backfill_off"
        assert first.status_code == 202
        assert second.status_code == 409 and second.json()["error"] == "backfill_already"
