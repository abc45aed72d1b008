"""/app opens only for the portal that framed it, in its language, framed only by it."""

from __future__ import annotations

import time
from collections.abc import Awaitable

import httpx

from namecase.callers import caller_of
from namecase.emulator import Portal as EmulatedPortal
from namecase.portals import lifecycle
from namecase.portals.repository import PortalRepository
from namecase.ui.frame import AuthCheckBudget
from namecase.ui.page_token import PAGE_TOKEN_SECONDS, RENEWAL_GRACE_SECONDS, PageTokenSigner
from support.stack import Stack

from .harness import frame_request, open_frame, page_stack, page_token


async def test_the_frame_post_opens_the_page_in_the_portals_language(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()

        russian = await open_frame(http, stack, portal, lang="ru")
        english = await open_frame(http, stack, portal, lang="en")

        assert russian.status_code == 200
        assert '<html lang="ru">' in russian.text and "Последние исправления" in russian.text
        assert english.status_code == 200
        assert '<html lang="en">' in english.text and "Recent corrections" in english.text
        assert f'src="{stack.settings.bx24_js_url}"' in english.text


async def test_only_the_portal_itself_may_frame_the_page(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()

        page = await open_frame(http, stack, portal)

        policy = page.headers["content-security-policy"]
        ancestors = next(p for p in policy.split(";") if p.strip().startswith("frame-ancestors"))
        # The stored client_endpoint's origin (the portal's own host, on the emulator's port) and
        # the portal's domain over https; nobody else.
        assert ancestors.split()[1:] == [portal.origin, f"https://{portal.domain}"]
        assert "x-frame-options" not in page.headers
        assert page.headers["cache-control"] == "no-store"
        assert "set-cookie" not in page.headers


async def test_a_wrong_application_token_without_auth_is_refused(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()

        forged = await open_frame(http, stack, portal, APPLICATION_TOKEN="0" * 32, AUTH_ID="")
        unknown = await open_frame(
            http, stack, portal, member_id="f" * 32, AUTH_ID="", APPLICATION_TOKEN=""
        )
        missing = await http.post(f"{stack.app_url}/app", data={"LANG": "en"})

        assert forged.status_code == 403
        assert unknown.status_code == 403
        assert missing.status_code == 403
        assert "namecase-token" not in forged.text + unknown.text + missing.text


async def test_a_users_auth_id_is_checked_with_the_portal_when_no_token_is_sent(
    pg_database_url: str,
) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()

        installed = _requests_to(stack, portal)
        with_user_token = await open_frame(http, stack, portal, APPLICATION_TOKEN="")
        with_made_up_token = await open_frame(
            http, stack, portal, APPLICATION_TOKEN="", AUTH_ID="not-a-token"
        )

        assert with_user_token.status_code == 200
        assert with_made_up_token.status_code == 403
        async with stack.runtime.sessions() as session:
            calls = await PortalRepository(session).recent_calls(portal.member_id)
        # Both asked the portal at its stored endpoint; the refusal of a token anyone can make
        # up writes no row (issue 14 item 2), and the user's token is never logged.
        assert _requests_to(stack, portal) - installed == 2
        answers = [(c.method, c.http_status) for c in calls if c.method == "profile"]
        assert answers == [("profile", 200)]
        assert all("not-a-token" not in call.request for call in calls)


async def test_the_page_opens_with_a_get_for_local_use(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        query, form = frame_request(stack, portal, lang="ru")

        page = await http.get(f"{stack.app_url}/app", params={**query, **form})

        assert page.status_code == 200
        assert "Настройки" in page.text


async def test_the_pages_api_needs_the_pages_own_token(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        token = page_token(await open_frame(http, stack, portal))
        api = f"{stack.app_url}/app/api/state"
        signer = PageTokenSigner(stack.settings.fernet_keys()[0])
        stale = signer.issue(portal.member_id, "en", admin=True, now=0.0)
        other_key = PageTokenSigner("another key").issue(portal.member_id, "en", admin=True)
        payload, _, signature = token.partition(".")
        tampered = f"{payload[:-2]}xx.{signature}"

        ok = await http.get(api, headers={"Authorization": f"Bearer {token}"})
        refused = [
            await http.get(api),
            await http.get(api, headers={"Authorization": f"Bearer {stale}"}),
            await http.get(api, headers={"Authorization": f"Bearer {other_key}"}),
            await http.get(api, headers={"Authorization": f"Bearer {tampered}"}),
            # A cookie never authorizes anything: there is no cookie auth at all.
            await http.get(api, headers={"Cookie": f"token={token}"}),
        ]

        assert ok.status_code == 200
        assert [r.status_code for r in refused] == [401] * len(refused)
        assert PAGE_TOKEN_SECONDS <= 3600


async def _frame_from(
    http: httpx.AsyncClient, stack: Stack, portal: EmulatedPortal, address: str, **form: str
) -> httpx.Response:
    """The frame POST from a client at `address` (as the trusted proxy on loopback reports it)."""
    query, body = frame_request(stack, portal, **form)
    return await http.post(
        f"{stack.app_url}/app", params=query, data=body, headers={"X-Forwarded-For": address}
    )


def _requests_to(stack: Stack, portal: EmulatedPortal) -> int:
    """Every REST request the portal received, refused ones included."""
    return stack.emulator.stats(portal.member_id).total_requests


async def test_a_flood_of_made_up_auth_ids_cannot_lock_the_administrator_out(
    pg_database_url: str,
) -> None:
    """Issue 14 item 2: strangers (no APPLICATION_TOKEN) guessing AUTH_IDs from one address and
    from thirty, then the real administrator opens the app."""
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        installed = _requests_to(stack, portal)
        flood = [
            await _frame_from(
                http, stack, portal, "203.0.113.7", APPLICATION_TOKEN="", AUTH_ID=f"g{n}"
            )
            for n in range(20)
        ]
        flood += [
            await _frame_from(
                http, stack, portal, f"198.51.100.{n}", APPLICATION_TOKEN="", AUTH_ID=f"h{n}-{k}"
            )
            for n in range(30)
            for k in range(2)
        ]
        asked = _requests_to(stack, portal) - installed

        # Same address as the first flood: its budget for strangers is spent, not the users'.
        administrator = await _frame_from(http, stack, portal, "203.0.113.7")

        assert [r.status_code for r in flood] == [403] * 80
        assert asked < 40  # the caller and portal budgets, not one call per guess
        assert administrator.status_code == 200
        assert 'id="read-only"' not in administrator.text
        async with stack.runtime.sessions() as session:
            calls = await PortalRepository(session).recent_calls(portal.member_id, limit=1000)
        profiles = [call for call in calls if call.method == "profile"]
        assert [call.http_status for call in profiles] == [200]  # the guesses wrote no rows


async def test_a_verified_token_is_not_asked_again_during_its_life(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        installed = _requests_to(stack, portal)
        query, form = frame_request(stack, portal)

        pages = [
            await http.post(f"{stack.app_url}/app", params=query, data=form) for _ in range(15)
        ]

        assert all(page.status_code == 200 and 'id="read-only"' not in page.text for page in pages)
        assert _requests_to(stack, portal) - installed == 1


async def test_a_token_that_expired_is_asked_again(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        installed = _requests_to(stack, portal)
        query, form = frame_request(stack, portal, AUTH_EXPIRES="0")

        for _ in range(2):
            page = await http.post(f"{stack.app_url}/app", params=query, data=form)
            assert page.status_code == 200

        assert _requests_to(stack, portal) - installed == 2


def test_a_caller_over_its_budget_spends_nothing_of_the_portals() -> None:
    budget = AuthCheckBudget(caller=(5.0, 0.1), portal=(20.0, 0.5))
    spent = [budget.bucket_for("m", "203.0.113.7", vouched=False, now=100.0) for _ in range(50)]

    assert sum(bucket is not None for bucket in spent) == 5
    shared = next(bucket for bucket in spent if bucket is not None)
    assert budget.bucket_for("m", "198.51.100.1", vouched=False, now=100.0) is shared
    assert budget.bucket_for("m", "203.0.113.7", vouched=True, now=100.0) is not None
    assert budget.bucket_for("m", "203.0.113.7", vouched=False, now=110.0) is not None  # refilled


def test_callers_are_ipv4_addresses_or_ipv6_subscriber_networks() -> None:
    assert caller_of("203.0.113.7") == "203.0.113.7"
    assert caller_of("2001:db8:1:2:aaaa::1") == caller_of("2001:db8:1:2:bbbb::9")
    assert caller_of("2001:db8:1:2:aaaa::1") != caller_of("2001:db8:1:3::1")
    assert caller_of(None) == caller_of("not an address") == "unknown"


async def test_a_portal_that_lost_access_is_told_how_to_recover(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        async with stack.runtime.sessions() as session, session.begin():
            await lifecycle.record(
                session, portal.member_id, lifecycle.Trigger.TOKENS_REFUSED, reason="revoked"
            )

        page = await open_frame(http, stack, portal, lang="ru")

        assert page.status_code == 200
        assert '<div id="banner" class="banner" role="alert">' in page.text
        assert "Приложение потеряло доступ к Битрикс24. Переустановите его." in page.text


async def test_an_expired_page_token_is_renewed_with_the_users_bitrix24_token(
    pg_database_url: str,
) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        signer = PageTokenSigner(stack.settings.fernet_keys()[0])
        an_hour_ago = time.time() - PAGE_TOKEN_SECONDS - 60
        expired = signer.issue(portal.member_id, "ru", admin=True, now=an_hour_ago)
        long_gone = signer.issue(
            portal.member_id, "ru", admin=True, now=an_hour_ago - RENEWAL_GRACE_SECONDS
        )
        user_token = stack.emulator.frame_tokens(portal.member_id).access_token
        url = f"{stack.app_url}/app/api/token"

        def renew(token: str, auth_id: str) -> Awaitable[httpx.Response]:
            headers = {"Authorization": f"Bearer {token}"}
            return http.post(url, headers=headers, json={"auth_id": auth_id})

        renewed = await renew(expired, user_token)
        refused = [
            await renew(long_gone, user_token),
            await renew(
                PageTokenSigner("other").issue(portal.member_id, "ru", admin=True), user_token
            ),
            await renew(expired, "made-up"),
            await http.post(url, json={"auth_id": user_token}),
        ]

        assert renewed.status_code == 200
        fresh = renewed.json()["token"]
        state = await http.get(
            f"{stack.app_url}/app/api/state", headers={"Authorization": f"Bearer {fresh}"}
        )
        assert state.status_code == 200
        assert signer.verify(fresh).lang == "ru"
        assert signer.verify(fresh).admin  # user 1 is the portal's administrator
        assert [r.status_code for r in refused] == [401, 401, 403, 401]
