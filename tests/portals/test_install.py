"""POST /install: trusted only after the OAuth server confirms it; then events are bound and the
installer page finishes the installation (bitrix24-protocol.md §1, §3)."""

from __future__ import annotations

import httpx

from namecase.emulator.tokens import new_token
from namecase.portals.crypto import hash_application_token
from support.stack import Stack, running_stack

from .harness import BOUND, bound_handlers, bystander, row_counts, stored


async def test_install_binds_the_five_events_and_serves_a_page_that_finishes_it(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = stack.add_portal()

        response = await stack.install(portal, lang="en")

        assert response.status_code == 200
        assert "BX24.installFinish()" in response.text
        assert '<html lang="en">' in response.text
        assert "namecase is installed" in response.text
        handler = f"{stack.settings.public_url}/events"
        assert bound_handlers(portal) == sorted((event, handler) for event in BOUND)
        assert portal.install_finished  # the emulator ran the page's installFinish()
        row = await stored(stack, portal.member_id)
        assert row is not None
        assert row.state == "active"
        assert row.client_endpoint == portal.client_endpoint
        assert row.domain == portal.domain
        assert row.application_token_hash == hash_application_token(portal.application_token or "")
        assert not row.needs_bind


async def test_the_installer_page_speaks_the_frames_language(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = stack.add_portal()

        response = await stack.install(portal, lang="ru")

        assert response.status_code == 200
        assert '<html lang="ru">' in response.text
        assert "namecase установлен" in response.text
        assert "BX24.installFinish()" in response.text
        row = await stored(stack, portal.member_id)
        assert row is not None and row.lang == "ru"


async def test_binding_twice_leaves_one_handler_per_event_and_binds_nothing_new(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        row = await stored(stack, portal.member_id)
        assert row is not None
        binds_before = stack.emulator.stats(portal.member_id).calls_by_method["event.bind"]

        await stack.runtime.portals.bind_events(row)

        assert len(bound_handlers(portal)) == len(BOUND)
        stats = stack.emulator.stats(portal.member_id)
        assert stats.calls_by_method["event.bind"] == binds_before == len(BOUND)


async def test_a_reinstall_updates_the_portal_and_binds_again(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        portal = await stack.installed_portal()
        first = await stored(stack, portal.member_id)
        assert first is not None

        response = await stack.install(portal, lang="ru")  # wipes handlers, new app token

        assert response.status_code == 200
        assert len(bound_handlers(portal)) == len(BOUND)
        second = await stored(stack, portal.member_id)
        assert second is not None
        assert second.application_token_hash == hash_application_token(
            portal.application_token or ""
        )
        assert second.application_token_hash != first.application_token_hash
        assert second.token_version > first.token_version
        assert second.access_token_enc != first.access_token_enc
        assert second.lang == "ru"
        counts = await row_counts(stack.runtime.sessions)
        assert counts["portals"] == 1


async def _post_install(
    stack: Stack, form: dict[str, str], query: dict[str, str]
) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(f"{stack.app_url}/install", params=query, data=form)


def _frame(stack: Stack, member_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """The installer frame's form and query for a portal, with a token pair of its admin."""
    portal = stack.emulator.portal(member_id)
    portal.app_installed = True
    portal.application_token = new_token()
    pair = stack.emulator.tokens.issue(member_id, 1, stack.emulator.now())
    return stack.emulator.frame_form(portal, pair), stack.emulator.frame_query(portal, "en")


async def _nothing_stored(stack: Stack) -> None:
    counts = await row_counts(stack.runtime.sessions)
    assert counts == dict.fromkeys(counts, 0)


async def test_an_install_naming_a_foreign_oauth_server_stores_nothing_and_sends_it_nothing(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack, bystander() as foreign:
        portal = stack.add_portal()
        form, query = _frame(stack, portal.member_id)
        form["SERVER_ENDPOINT"] = f"{foreign.base_url}/rest/"

        response = await _post_install(stack, form, query)

        assert response.status_code == 403
        assert "BX24.installFinish" not in response.text
        assert foreign.hits == []  # the client secret never left for a host not allow-listed
        assert stack.emulator.refresh_count == 0
        await _nothing_stored(stack)


async def test_an_install_whose_tokens_the_oauth_server_rejects_stores_nothing(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = stack.add_portal()
        form, query = _frame(stack, portal.member_id)
        form["REFRESH_ID"] = new_token()  # never issued: invalid_grant

        response = await _post_install(stack, form, query)

        assert response.status_code == 403
        assert "BX24.installFinish" not in response.text
        assert portal.handlers == []
        await _nothing_stored(stack)


async def test_an_install_whose_member_id_the_oauth_server_contradicts_stores_nothing(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        claimed = stack.add_portal()
        actual = stack.add_portal()
        form, query = _frame(stack, actual.member_id)
        form["member_id"] = claimed.member_id  # tokens of one portal, presented for another

        response = await _post_install(stack, form, query)

        assert response.status_code == 403
        assert "BX24.installFinish" not in response.text
        assert claimed.handlers == [] and actual.handlers == []
        await _nothing_stored(stack)


async def test_an_incomplete_install_form_is_refused_in_the_frames_language(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = stack.add_portal()
        for missing in ("REFRESH_ID", "APPLICATION_TOKEN", "member_id"):
            form, query = _frame(stack, portal.member_id)
            del form[missing]
            query["LANG"] = "ru"

            response = await _post_install(stack, form, query)

            assert response.status_code == 400, missing
            assert "Установку не удалось завершить" in response.text
        assert stack.emulator.refresh_count == 0
        await _nothing_stored(stack)


async def test_a_failed_binding_fails_the_page_and_leaves_the_binding_to_the_worker(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        portal = stack.add_portal()
        # event.get has used up its operating time for the next 10 minutes: 429 (protocol §6).
        portal.operating.record("event.get", 100.0, stack.emulator.now())
        portal.faults.operating_limit_seconds["event.get"] = 1.0

        response = await stack.install(portal)

        assert response.status_code == 502
        assert "BX24.installFinish" not in response.text
        assert not portal.install_finished
        row = await stored(stack, portal.member_id)
        assert row is not None and row.state == "active" and row.needs_bind
        portal.faults.operating_limit_seconds.clear()
        await stack.drain()
        assert len(bound_handlers(portal)) == len(BOUND)
        row = await stored(stack, portal.member_id)
        assert row is not None and not row.needs_bind
