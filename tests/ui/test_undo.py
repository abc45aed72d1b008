"""Undo puts the typed value back on the portal, and our own echo does not correct it again."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from namecase.emulator import Portal as EmulatedPortal
from namecase.pipeline.models import Change, KeptValue
from support.stack import Stack

from .harness import page_api, page_stack


async def _corrected_contact(stack: Stack, portal: EmulatedPortal, **fields: str) -> int:
    contact_id = await stack.emulator.user_add_contact(portal.member_id, fields)
    await stack.drain()
    return contact_id


async def _history(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await api.get("changes", params={"limit": 100})
    assert answer.status_code == 200
    changes: list[dict[str, Any]] = answer.json()["changes"]
    return changes


async def test_history_shows_before_after_when_and_why_in_the_pages_language(
    pg_database_url: str,
) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        await _corrected_contact(stack, portal, NAME="иВАН", LAST_NAME="mcdonald")
        async with await page_api(http, stack, portal) as api:
            changes = await _history(api)

        by_field = {c["field"]: c for c in changes}
        assert (by_field["NAME"]["before"], by_field["NAME"]["after"]) == ("иВАН", "Иван")
        assert by_field["NAME"]["reasons"][0] == {
            "rule": "caps_lock",
            "text": "Typed with Caps Lock on; case inverted back.",
        }
        assert by_field["LAST_NAME"]["reasons"][0]["rule"] == "mc"
        assert all(c["can_undo"] and c["created_at"] for c in changes)


async def test_undo_restores_the_typed_name_and_the_echo_leaves_it(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        contact_id = await _corrected_contact(stack, portal, NAME="иВАН", LAST_NAME="ПЕТРОВ")
        async with await page_api(http, stack, portal) as api:
            name_change = next(c for c in await _history(api) if c["field"] == "NAME")
            delivered = len(stack.emulator.deliveries)

            undone = await api.post("undo", json={"ids": [name_change["id"]]})
            await stack.drain()  # our write fires ONCRMCONTACTUPDATE: the echo is processed
            history = {c["id"]: c for c in await _history(api)}

        echo = stack.emulator.deliveries[delivered:]
        assert [(d.event, d.ok) for d in echo] == [("ONCRMCONTACTUPDATE", True)]
        assert undone.status_code == 200
        assert undone.json() == {
            "undone": 1,
            "outcomes": [{"id": name_change["id"], "status": "undone", "detail": ""}],
        }
        contact = stack.emulator.contact(portal.member_id, contact_id)
        assert (contact["NAME"], contact["LAST_NAME"]) == ("иВАН", "Петров")
        stats = stack.emulator.stats(portal.member_id)
        assert stats.updates_per_record[("contact", contact_id)] == 2  # our fix, then the undo
        assert history[name_change["id"]]["undone_at"] is not None
        assert not history[name_change["id"]]["can_undo"]
        async with stack.runtime.sessions() as session:
            kept = (await session.execute(select(KeptValue))).scalars().all()
        assert [(k.entity_id, k.field, k.value) for k in kept] == [(contact_id, "NAME", "иВАН")]


async def test_a_later_edit_of_an_undone_name_is_corrected_again(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        contact_id = await _corrected_contact(stack, portal, NAME="иВАН")
        async with await page_api(http, stack, portal) as api:
            ids = [c["id"] for c in await _history(api)]
            assert (await api.post("undo", json={"ids": ids})).json()["undone"] == 1
        await stack.drain()

        await stack.emulator.user_update_contact(portal.member_id, contact_id, {"NAME": "пЁТР"})
        await stack.drain()

        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "Пётр"


async def test_several_corrections_are_undone_in_one_go(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        first = await _corrected_contact(stack, portal, NAME="аННА", LAST_NAME="ИВАНОВА")
        second = await _corrected_contact(stack, portal, NAME="бОРИС")
        async with await page_api(http, stack, portal) as api:
            ids = [c["id"] for c in await _history(api)]

            undone = await api.post("undo", json={"ids": ids})
            await stack.drain()

        assert undone.json()["undone"] == 3
        emulator = stack.emulator
        assert emulator.contact(portal.member_id, first)["NAME"] == "аННА"
        assert emulator.contact(portal.member_id, first)["LAST_NAME"] == "ИВАНОВА"
        assert emulator.contact(portal.member_id, second)["NAME"] == "бОРИС"
        # One batch to read the records and one to write them back.
        assert emulator.stats(portal.member_id).calls_by_method["crm.contact.update"] == 4


async def test_undo_does_not_overwrite_a_name_edited_since(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        contact_id = await _corrected_contact(stack, portal, NAME="иВАН")
        await stack.emulator.user_update_contact(portal.member_id, contact_id, {"NAME": "Пётр"})
        await stack.drain()
        async with await page_api(http, stack, portal) as api:
            ids = [c["id"] for c in await _history(api)]

            result = (await api.post("undo", json={"ids": ids})).json()

        assert result["outcomes"] == [{"id": ids[0], "status": "changed_since", "detail": ""}]
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "Пётр"


async def test_what_cannot_be_undone_is_reported_and_left_alone(database_url: str) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        other = await stack.installed_portal()
        await _corrected_contact(stack, other, NAME="чУЖОЙ")
        await _corrected_contact(stack, portal, NAME="иВАН")
        async with stack.runtime.sessions() as session:
            rows = (await session.execute(select(Change).order_by(Change.id))).scalars().all()
        foreign, own = rows[0].id, rows[1].id
        async with await page_api(http, stack, portal) as api:
            assert (await api.post("undo", json={"ids": [own]})).json()["undone"] == 1

            again = await api.post("undo", json={"ids": [own, foreign]})
            bad = [
                await api.post("undo", json={"ids": []}),
                await api.post("undo", json={"ids": [0]}),
                await api.post("undo", json={"ids": [own, own]}),
                await api.post("undo", json={"ids": list(range(1, 52))}),
                await api.post("undo", json={"ids": "1"}),
            ]

        assert {o["id"]: o["status"] for o in again.json()["outcomes"]} == {
            own: "already_undone",
            foreign: "not_found",  # another portal's correction is invisible here
        }
        assert [r.status_code for r in bad] == [422] * len(bad)


async def test_a_trial_mode_correction_has_nothing_to_undo(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        async with await page_api(http, stack, portal) as api:
            settings = (await api.get("state")).json()["settings"]
            await api.put("settings", json={**settings, "dry_run": True})
            contact_id = await _corrected_contact(stack, portal, NAME="ОЛЬГА")
            (change,) = await _history(api)

            result = (await api.post("undo", json={"ids": [change["id"]]})).json()

        assert change["dry_run"] and not change["can_undo"]
        assert result["outcomes"][0]["status"] == "dry_run"
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "ОЛЬГА"


async def test_a_lead_correction_is_undone_on_the_lead(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        async with await page_api(http, stack, portal) as api:
            settings = (await api.get("state")).json()["settings"]
            await api.put("settings", json={**settings, "entities": ["contact", "lead"]})
            lead_id = await stack.emulator.user_add_lead(portal.member_id, {"NAME": "ГЛЕБ"})
            await stack.drain()
            (change,) = await _history(api)

            result = (await api.post("undo", json={"ids": [change["id"]]})).json()
            await stack.drain()

        assert (change["entity_type"], change["entity_id"]) == ("lead", lead_id)
        assert result["undone"] == 1
        assert stack.emulator.lead(portal.member_id, lead_id)["NAME"] == "ГЛЕБ"
        assert stack.emulator.stats(portal.member_id).calls_by_method["crm.lead.update"] == 2
