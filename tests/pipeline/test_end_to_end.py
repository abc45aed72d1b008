"""Names are fixed end to end: emulator → /events → inbox → worker → emulator."""

from __future__ import annotations

from support.stack import running_stack


async def test_bad_names_on_add_get_exactly_one_update_and_the_echo_none(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(
            portal.member_id,
            {"NAME": "иВАН", "SECOND_NAME": "петрович", "LAST_NAME": "людвиг ван бетховен"},
        )
        await stack.drain()
        contact = stack.emulator.contact(portal.member_id, contact_id)
        assert contact["NAME"] == "Иван"
        assert contact["SECOND_NAME"] == "Петрович"
        assert contact["LAST_NAME"] == "Людвиг ван Бетховен"
        stats = stack.emulator.stats(portal.member_id)
        assert stats.updates_per_record.get(("contact", contact_id)) == 1
        assert stats.calls_by_method.get("crm.contact.update", 0) == 1


async def test_already_normal_contact_is_never_updated(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(
            portal.member_id, {"NAME": "Анна-Мария", "LAST_NAME": "Иванова"}
        )
        await stack.drain()
        stats = stack.emulator.stats(portal.member_id)
        assert stats.updates_per_record.get(("contact", contact_id), 0) == 0
