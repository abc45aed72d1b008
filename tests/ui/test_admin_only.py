"""Only a portal administrator may change anything; every other user of the portal only looks.

The APPLICATION_TOKEN in the frame names the portal, not the user: every employee who opens the
app sends it. Admin rights come from the portal's own answer about the user's AUTH_ID
(`profile` → ADMIN, protocol §9), and travel inside the signed page token.
"""

from __future__ import annotations

import base64
import json
import time

import httpx
from sqlalchemy import func, select

from namecase.emulator import Portal as EmulatedPortal
from namecase.pipeline.models import Backfill, Change, KeptValue
from namecase.portals.repository import PortalRepository
from namecase.portals.schemas import PortalOptions
from namecase.portals.service import options_of
from namecase.ui.page_token import PAGE_TOKEN_SECONDS, PageTokenSigner
from support.stack import Stack

from .harness import NOT_ADMIN, open_frame, page_api, page_stack, page_token

READ_ONLY_NOTE = 'id="read-only"'
ADMIN_ONLY = {
    "en": "Only a Bitrix24 administrator can change these settings.",
    "ru": "Изменять эти настройки может только администратор Битрикс24.",
}
TURN_OFF = {
    "enabled": False,
    "entities": ["contact", "lead"],
    "fields": ["NAME"],
    "dry_run": True,
    "particles": False,
    "keep_latin_mixed_case": False,
    "fix_lookalikes": False,
    "history_for_everyone": True,
}


async def _stored_options(stack: Stack, portal: EmulatedPortal) -> PortalOptions:
    async with stack.runtime.sessions() as session:
        row = await PortalRepository(session).get(portal.member_id)
    assert row is not None
    return options_of(row)


async def _writes_refused(api: httpx.AsyncClient, change_id: int) -> list[httpx.Response]:
    return [
        await api.put("settings", json=TURN_OFF),
        await api.post("undo", json={"ids": [change_id]}),
        await api.post("backfill"),
    ]


async def test_a_non_admin_sees_a_read_only_page(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()

        manager = await open_frame(http, stack, portal, lang="ru", user_id=NOT_ADMIN)
        admin = await open_frame(http, stack, portal, lang="ru")

        assert manager.status_code == 200
        assert READ_ONLY_NOTE in manager.text
        assert "может только администратор Битрикс24" in manager.text
        assert '<meta name="namecase-admin" content="no">' in manager.text
        assert 'id="enabled" disabled' in manager.text
        assert 'id="backfill-start" disabled' in manager.text
        assert admin.status_code == 200
        assert READ_ONLY_NOTE not in admin.text
        assert '<meta name="namecase-admin" content="yes">' in admin.text
        assert 'id="enabled" disabled' not in admin.text


async def test_a_non_admin_may_read_but_every_change_is_refused_and_nothing_changes(
    database_url: str,
) -> None:
    async with page_stack(database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        contact_id = await stack.emulator.user_add_contact(portal.member_id, {"NAME": "иВАН"})
        await stack.drain()
        before = await _stored_options(stack, portal)
        async with stack.runtime.sessions() as session:
            change_id = (await session.execute(select(Change.id))).scalar_one()
        async with await page_api(http, stack, portal, user_id=NOT_ADMIN) as api:
            reads = [await api.get("state"), await api.get("backfill")]

            refused = await _writes_refused(api, change_id)

        assert [r.status_code for r in reads] == [200, 200]
        assert [r.status_code for r in refused] == [403, 403, 403]
        assert [r.json()["detail"] for r in refused] == [ADMIN_ONLY["en"]] * 3
        assert await _stored_options(stack, portal) == before
        assert stack.emulator.contact(portal.member_id, contact_id)["NAME"] == "Иван"
        async with stack.runtime.sessions() as session:
            (stored,) = (await session.execute(select(Change))).scalars().all()
            kept = await session.scalar(select(func.count()).select_from(KeptValue))
            backfills = await session.scalar(select(func.count()).select_from(Backfill))
        assert stored.undone_at is None
        assert (kept, backfills) == (0, 0)


async def test_the_refusal_speaks_the_pages_language(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        async with await page_api(http, stack, portal, user_id=NOT_ADMIN, lang="ru") as api:
            refused = await api.put("settings", json=TURN_OFF)

        assert refused.status_code == 403
        assert refused.json()["detail"] == ADMIN_ONLY["ru"]


async def test_the_application_token_alone_opens_the_page_read_only(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        before = await _stored_options(stack, portal)

        # The portal's APPLICATION_TOKEN, without a user's AUTH_ID (or with one the portal
        # refuses): the page opens, but nothing says this user administers the portal.
        no_auth = await open_frame(http, stack, portal, AUTH_ID="")
        refused_auth = await open_frame(http, stack, portal, AUTH_ID="not-a-token")
        put = await http.put(
            f"{stack.app_url}/app/api/settings",
            headers={"Authorization": f"Bearer {page_token(no_auth)}"},
            json=TURN_OFF,
        )

        assert [no_auth.status_code, refused_auth.status_code] == [200, 200]
        assert READ_ONLY_NOTE in no_auth.text and READ_ONLY_NOTE in refused_auth.text
        assert put.status_code == 403
        assert await _stored_options(stack, portal) == before


async def test_an_edited_or_forged_admin_claim_is_rejected(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        before = await _stored_options(stack, portal)
        manager_token = page_token(await open_frame(http, stack, portal, user_id=NOT_ADMIN))
        payload, _, signature = manager_token.partition(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert claims["a"] is False
        promoted = base64.urlsafe_b64encode(json.dumps({**claims, "a": True}).encode())
        edited = f"{promoted.decode().rstrip('=')}.{signature}"
        other_key = PageTokenSigner("not the service's key").issue(
            portal.member_id, "en", admin=True
        )

        answers = [
            await http.put(
                f"{stack.app_url}/app/api/settings",
                headers={"Authorization": f"Bearer {token}"},
                json=TURN_OFF,
            )
            for token in (edited, other_key)
        ]

        assert [a.status_code for a in answers] == [401, 401]
        assert await _stored_options(stack, portal) == before


async def test_renewing_the_page_token_cannot_make_a_user_an_admin(pg_database_url: str) -> None:
    async with page_stack(pg_database_url) as stack, httpx.AsyncClient() as http:
        portal = await stack.installed_portal()
        signer = PageTokenSigner(stack.settings.fernet_keys()[0])
        # An expired admin token (say, left behind by an admin) and a manager's BX24 token.
        expired = signer.issue(
            portal.member_id, "en", admin=True, now=time.time() - PAGE_TOKEN_SECONDS - 60
        )
        manager = stack.emulator.frame_tokens(portal.member_id, NOT_ADMIN).access_token

        renewed = await http.post(
            f"{stack.app_url}/app/api/token",
            headers={"Authorization": f"Bearer {expired}"},
            json={"auth_id": manager},
        )
        fresh = renewed.json()["token"]
        put = await http.put(
            f"{stack.app_url}/app/api/settings",
            headers={"Authorization": f"Bearer {fresh}"},
            json=TURN_OFF,
        )

        assert renewed.status_code == 200
        assert not signer.verify(fresh).admin
        assert put.status_code == 403
