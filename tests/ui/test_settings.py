"""The settings the page saves are what the pipeline obeys; invalid input changes nothing."""

from __future__ import annotations

from typing import Any

import httpx

from namecase.portals.repository import PortalRepository
from namecase.portals.service import options_of

from .harness import page_api, page_stack

DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "entities": ["contact"],
    "fields": ["NAME", "SECOND_NAME", "LAST_NAME"],
    "dry_run": False,
    "particles": True,
    "keep_latin_mixed_case": True,
    "fix_lookalikes": True,
    "history_for_everyone": False,
}


async def test_saved_settings_are_stored_and_read_back(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        async with await page_api(http, stack, portal) as api:
            wanted = {
                **DEFAULTS,
                "entities": ["lead", "contact"],
                "fields": ["LAST_NAME"],
                "fix_lookalikes": False,
            }

            saved = await api.put("settings", json=wanted)
            state = (await api.get("state")).json()

        assert saved.status_code == 200
        canonical = {**wanted, "entities": ["contact", "lead"]}
        assert saved.json() == canonical
        assert state["settings"] == canonical
        async with stack.runtime.sessions() as session:
            row = await PortalRepository(session).get(portal.member_id)
        assert row is not None
        assert options_of(row).entities == ("contact", "lead")
        assert options_of(row).fields == ("LAST_NAME",)
        assert options_of(row).name_options().fix_lookalikes is False


async def test_the_worker_follows_the_saved_settings(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        async with await page_api(http, stack, portal) as api:
            settings = {**DEFAULTS, "entities": ["contact", "lead"], "fields": ["NAME"]}
            assert (await api.put("settings", json=settings)).status_code == 200
        emulator = stack.emulator
        lead_id = await emulator.user_add_lead(
            portal.member_id, {"NAME": "пётр", "LAST_NAME": "сидоров"}
        )
        await stack.drain()

        assert emulator.lead(portal.member_id, lead_id)["NAME"] == "Пётр"
        assert emulator.lead(portal.member_id, lead_id)["LAST_NAME"] == "сидоров"


async def test_turned_off_the_app_leaves_new_names_alone(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        async with await page_api(http, stack, portal) as api:
            assert (await api.put("settings", json={**DEFAULTS, "enabled": False})).is_success
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "ОЛЬГА"})
        await stack.drain()

        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "ОЛЬГА"


INVALID: list[dict[str, Any]] = [
    {"entities": []},
    {"fields": []},
    {"entities": ["deal"]},
    {"fields": ["EMAIL"]},
    {"fields": ["NAME", "NAME"]},
    {"enabled": "false"},
    {"dry_run": 1},
    {"surprise": True},
]


async def test_invalid_settings_are_refused_and_nothing_changes(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        async with await page_api(http, stack, portal) as api:
            before = (await api.get("state")).json()["settings"]

            refused = [
                await api.put("settings", json={**DEFAULTS, "dry_run": True, **change})
                for change in INVALID
            ]
            missing = await api.put("settings", json={"enabled": False})
            not_json = await api.put("settings", content=b"enabled=false")
            after = (await api.get("state")).json()["settings"]

        assert [r.status_code for r in refused] == [422] * len(INVALID)
        assert missing.status_code == 422
        assert not_json.status_code == 422
        assert after == before


async def test_settings_stored_by_an_older_version_still_open(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        async with stack.runtime.sessions() as session, session.begin():
            row = await PortalRepository(session).get(portal.member_id)
            assert row is not None
            row.settings = {"entities": [], "legacy_flag": 1}
        async with await page_api(http, stack, portal) as api:
            shown = (await api.get("state")).json()["settings"]
            saved = await api.put("settings", json=DEFAULTS)

        assert shown["entities"] == []
        assert saved.status_code == 200
        async with stack.runtime.sessions() as session:
            row = await PortalRepository(session).get(portal.member_id)
        assert row is not None and row.settings["legacy_flag"] == 1  # unknown keys are kept
