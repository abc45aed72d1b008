"""The control API (``/_emulator/``), the BX24 shim and the portal page, over HTTP."""

from __future__ import annotations

import httpx

from emulator.conftest import InstalledApp, call
from emulator.receiver import Receiver
from namecase.emulator import Emulator


async def test_info_lists_endpoints_and_credentials(
    emulator: Emulator, base_url: str, http: httpx.AsyncClient
) -> None:
    info = (await http.get(f"{base_url}/_emulator/")).json()
    assert info["server_endpoint"] == f"{base_url}/rest/"
    assert info["oauth_token_url"] == f"{base_url}/oauth/token/"
    assert info["client_id"] == emulator.config.client_id
    assert info["client_secret"] == emulator.config.client_secret


async def test_a_whole_session_through_the_control_api(
    emulator: Emulator, base_url: str, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    control = f"{base_url}/_emulator"
    created = await http.post(f"{control}/portals", json={"domain": "ctl.bitrix24.test"})
    portal = created.json()
    member_id = portal["member_id"]
    installed = await http.post(
        f"{control}/portals/{member_id}/install", json={"install_url": receiver.url("/install")}
    )
    token = receiver.at("/install")[0].form["AUTH_ID"]
    await http.post(
        f"{portal['client_endpoint']}event.bind",
        json={"auth": token, "event": "ONCRMCONTACTADD", "handler": receiver.url("/e")},
    )
    added = await http.post(
        f"{control}/portals/{member_id}/contacts", json={"fields": {"NAME": "иВАН"}}
    )
    contact_id = added.json()["id"]
    await http.patch(
        f"{control}/portals/{member_id}/contacts/{contact_id}",
        json={"fields": {"LAST_NAME": "петров"}, "automation": True},
    )
    await http.post(f"{control}/deliveries/wait-idle")
    contact = (await http.get(f"{control}/portals/{member_id}/contacts/{contact_id}")).json()
    deliveries = (await http.get(f"{control}/deliveries", params={"member_id": member_id})).json()
    stats = (await http.get(f"{control}/portals/{member_id}/stats")).json()

    assert created.status_code == 201
    # Each portal is its own host on the emulator's port (settings/oauth/index.md).
    own_host = base_url.replace("127.0.0.1", "ctl.bitrix24.test")
    assert portal["client_endpoint"] == f"{own_host}/rest/"
    assert installed.json()["finished"] is True
    assert added.status_code == 201
    assert (contact["NAME"], contact["LAST_NAME"]) == ("иВАН", "петров")
    assert deliveries["total"] == 1
    assert deliveries["deliveries"][0]["status"] == 200
    assert stats["user_updates_per_record"] == {f"contact:{contact_id}": 1}
    assert stats["calls_by_method"] == {"event.bind": 1}


async def test_faults_are_read_and_set_through_the_control_api(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    url = f"{emulator.control_url}portals/{app.member_id}/faults"
    changed = await http.put(url, json={"latency": 0.01, "error_next": 1})
    failing = await call(http, app, "profile")
    unknown = await http.put(url, json={"no_such_fault": 1})

    assert changed.json()["latency"] == 0.01
    assert emulator.faults(app.member_id).latency == 0.01
    assert failing.status_code == 500
    assert unknown.status_code == 400


async def test_portal_actions_through_the_control_api(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    portal_url = f"{emulator.control_url}portals/{app.member_id}"
    await http.post(f"{portal_url}/payment-required", json={"required": True})
    unpaid = await call(http, app, "profile")
    await http.post(f"{portal_url}/payment-required", json={"required": False})
    await http.post(f"{portal_url}/expire-tokens")
    expired = await call(http, app, "profile")
    renamed = await http.post(f"{portal_url}/rename", json={"domain": "new.bitrix24.test"})
    await http.post(f"{portal_url}/revoke")
    await http.post(f"{portal_url}/uninstall", json={"clean": False})
    view = (await http.get(portal_url)).json()

    assert expired.json()["error"] == "expired_token"
    assert unpaid.json()["error"] == "PAYMENT_REQUIRED"
    assert renamed.json()["domain"] == "new.bitrix24.test"
    assert view["app_installed"] is False


async def test_offline_switches_queue_and_admin_rights_through_the_control_api(
    emulator: Emulator, base_url: str, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    control = f"{base_url}/_emulator"
    created = await http.post(
        f"{control}/portals", json={"plan": "professional", "features": {"extended": False}}
    )
    member_id = created.json()["member_id"]
    await http.post(
        f"{control}/portals/{member_id}/install", json={"install_url": receiver.url("/install")}
    )
    token = receiver.at("/install")[0].form["AUTH_ID"]
    endpoint = created.json()["client_endpoint"]
    await http.post(
        f"{endpoint}event.bind",
        json={"auth": token, "event": "ONCRMCONTACTADD", "event_type": "offline"},
    )
    await http.post(f"{control}/portals/{member_id}/contacts", json={"fields": {"NAME": "a"}})
    queue = (await http.get(f"{control}/portals/{member_id}/offline")).json()
    denied = await http.put(f"{control}/portals/{member_id}/features", json={"offline": False})
    demoted = await http.post(f"{control}/portals/{member_id}/users/1/admin", json={"admin": False})
    profile = await http.post(f"{endpoint}profile", json={"auth": token})

    assert created.json()["features"] == {
        "offline": True,
        "extended": False,
        "auth_connector": True,
    }
    assert [(e["EVENT_NAME"], e["CONNECTOR_ID"]) for e in queue] == [("ONCRMCONTACTADD", "")]
    assert denied.json()["offline"] is False
    assert demoted.json() == {"user_id": 1, "admin": False}
    assert profile.json()["result"]["ADMIN"] is False


async def test_unknown_portals_and_routes_answer_404(
    base_url: str, http: httpx.AsyncClient
) -> None:
    assert (await http.get(f"{base_url}/_emulator/portals/nope")).status_code == 404
    assert (await http.get(f"{base_url}/_emulator/teleport")).status_code == 404


async def test_the_bx24_shim_finishes_the_install_of_the_frames_portal(
    emulator: Emulator, base_url: str, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    portal = emulator.add_portal(domain="shim.bitrix24.test")
    receiver.installer_html = "<p>settings</p>"
    await emulator.install_app(portal.member_id, receiver.url("/install"))
    script = await http.get(f"{base_url}/api/v1/")
    # What the shim's installFinish() and init() request, for the frame's DOMAIN:
    finished = await http.post(f"{base_url}/_emulator/install/finish?domain=shim.bitrix24.test")
    auth = (await http.get(f"{base_url}/_emulator/frame-auth?domain=shim.bitrix24.test")).json()
    check = await http.get(
        f"{auth['client_endpoint']}app.info", params={"auth": auth["access_token"]}
    )

    assert script.headers["content-type"].startswith("application/javascript")
    for name in ("init", "installFinish", "getAuth", "fitWindow", "resizeWindow", "callMethod"):
        assert f"{name}:" in script.text
    assert finished.json() == {"finished": True}
    assert check.json()["result"]["INSTALLED"] is True


async def test_the_portal_page_frames_the_app_with_the_documented_post(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    page = await http.get(f"{app.portal.origin}/", params={"app": "http://127.0.0.1:1/app"})
    assert page.status_code == 200
    assert "target='b24frame'" in page.text
    for field in ("AUTH_ID", "REFRESH_ID", "APPLICATION_TOKEN", "member_id", "PLACEMENT"):
        assert f"name='{field}'" in page.text
    assert "DOMAIN=acme.bitrix24.test" in page.text


async def test_cors_preflight_is_allowed(base_url: str, http: httpx.AsyncClient) -> None:
    response = await http.options(f"{base_url}/_emulator/install/finish")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
