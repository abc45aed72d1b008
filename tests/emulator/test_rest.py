"""Portal REST: transport, authentication, methods, documented errors and the time block."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import httpx

from emulator.conftest import InstalledApp, call, install
from emulator.receiver import Receiver
from namecase.emulator import Emulator, EmulatorConfig, serve_emulator


async def test_method_answers_with_and_without_json_suffix(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    plain = await call(http, app, "profile")
    suffixed = await call(http, app, "profile.json")
    assert plain.json()["result"] == suffixed.json()["result"]


async def test_auth_is_accepted_in_the_query_a_form_body_or_a_json_body(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    endpoint = f"{app.portal.client_endpoint}user.admin"
    in_query = await http.get(endpoint, params={"auth": app.access_token})
    in_form = await http.post(endpoint, data={"auth": app.access_token})
    in_json = await http.post(endpoint, json={"auth": app.access_token})
    assert [r.json()["result"] for r in (in_query, in_form, in_json)] == [True, True, True]


async def test_success_carries_the_documented_time_block(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    body = (await call(http, app, "crm.contact.list")).json()
    assert set(body["time"]) == {
        "start",
        "finish",
        "duration",
        "processing",
        "date_start",
        "date_finish",
        "operating_reset_at",
        "operating",
    }
    assert body["time"]["date_start"].endswith("+03:00")


async def test_calls_without_valid_auth_answer_no_auth_found(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    other = emulator.add_portal(domain="other.bitrix24.test")
    endpoint = app.portal.client_endpoint
    missing = await http.post(f"{endpoint}profile", json={})
    unknown = await http.post(f"{endpoint}profile", json={"auth": "0" * 32})
    foreign = await http.post(f"{other.client_endpoint}profile", json={"auth": app.access_token})
    for response in (missing, unknown, foreign):
        assert response.status_code == 401
        assert response.json() == {
            "error": "NO_AUTH_FOUND",
            "error_description": "Wrong authorization data",
        }


async def test_unknown_method_answers_method_not_found(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    response = await call(http, app, "crm.deal.teleport")
    assert response.status_code == 404
    assert response.json()["error"] == "ERROR_METHOD_NOT_FOUND"


async def test_free_plan_has_no_rest(
    emulator: Emulator, base_url: str, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    app = await install(emulator, receiver, emulator.add_portal(plan="free"))
    response = await call(http, app, "profile")
    assert response.status_code == 403
    assert response.json()["error"] == "ACCESS_DENIED"


async def test_crm_methods_need_the_crm_scope(receiver: Receiver, http: httpx.AsyncClient) -> None:
    emulator = Emulator(config=EmulatorConfig(scope="user"))
    async with serve_emulator(emulator):
        app = await install(emulator, receiver, emulator.add_portal())
        response = await call(http, app, "crm.contact.get", {"id": 1})
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


async def test_app_info_profile_and_user_admin(app: InstalledApp, http: httpx.AsyncClient) -> None:
    info = (await call(http, app, "app.info")).json()["result"]
    profile = (await call(http, app, "profile")).json()["result"]
    admin = (await call(http, app, "user.admin")).json()["result"]

    assert info["INSTALLED"] is True
    assert info["CODE"] == "local.test.1"
    assert info["LICENSE_FAMILY"] == "basic"
    assert set(profile) == {"ID", "ADMIN", "NAME", "LAST_NAME", "PERSONAL_GENDER", "TIME_ZONE"}
    assert profile["ID"] == "1" and profile["ADMIN"] is True
    assert admin is True


async def test_app_info_says_not_installed_until_install_finish(
    emulator: Emulator, base_url: str, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    app = await install(emulator, receiver, emulator.add_portal(), finish=False)
    before = (await call(http, app, "app.info")).json()["result"]["INSTALLED"]
    emulator.finish_install(app.member_id)
    after = (await call(http, app, "app.info")).json()["result"]["INSTALLED"]
    assert (before, after) == (False, True)


async def test_a_non_admin_user_is_not_an_admin(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    pair = emulator.frame_tokens(app.member_id, user_id=2)
    endpoint = f"{app.portal.client_endpoint}user.admin"
    response = await http.get(endpoint, params={"auth": pair.access_token})
    assert response.json()["result"] is False


# --- CRM ---------------------------------------------------------------------------------


async def test_contact_add_get_update_delete(app: InstalledApp, http: httpx.AsyncClient) -> None:
    added = await call(http, app, "crm.contact.add", {"fields": {"NAME": "иван", "X_JUNK": "1"}})
    contact_id = added.json()["result"]
    updated = await call(
        http,
        app,
        "crm.contact.update",
        {"id": contact_id, "fields": {"NAME": "Иван"}, "params": {"REGISTER_SONET_EVENT": "N"}},
    )
    fetched = (await call(http, app, "crm.contact.get", {"id": contact_id})).json()["result"]
    deleted = await call(http, app, "crm.contact.delete", {"id": contact_id})
    gone = await call(http, app, "crm.contact.get", {"id": contact_id})

    assert isinstance(contact_id, int)
    assert updated.json()["result"] is True
    assert fetched["ID"] == str(contact_id)
    assert fetched["NAME"] == "Иван"
    assert "X_JUNK" not in fetched  # unknown fields are ignored
    assert fetched["DATE_MODIFY"].endswith("+03:00")
    assert deleted.json()["result"] is True
    assert gone.status_code == 400


async def test_parameter_names_are_case_insensitive(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    added = await call(http, app, "crm.contact.add", {"FIELDS": {"NAME": "Anna"}})
    got = await call(http, app, "crm.contact.get", {"ID": added.json()["result"]})
    assert got.json()["result"]["NAME"] == "Anna"


async def test_crm_errors_have_an_empty_code(app: InstalledApp, http: httpx.AsyncClient) -> None:
    missing = await call(http, app, "crm.contact.get", {"id": 999})
    invalid = await call(http, app, "crm.contact.get", {"id": "abc"})
    not_updated = await call(http, app, "crm.contact.update", {"id": 999, "fields": {"NAME": "x"}})
    no_fields = await call(http, app, "crm.contact.update", {"id": 1, "fields": "x"})
    lead_missing = await call(http, app, "crm.lead.update", {"id": 999, "fields": {"NAME": "x"}})

    assert (missing.status_code, missing.json()) == (
        400,
        {"error": "", "error_description": "Not found"},
    )
    assert invalid.json() == {"error": "", "error_description": "ID is not defined or invalid."}
    assert not_updated.json() == {"error": "", "error_description": "Contact is not found"}
    assert no_fields.json() == {
        "error": "",
        "error_description": "Parameter 'fields' must be array",
    }
    assert lead_missing.json()["error_description"] == "Lead is not found"


async def test_form_encoded_calls_use_php_style_keys(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    endpoint = app.portal.client_endpoint
    form = {"auth": app.access_token, "fields[NAME]": "Пётр", "fields[PHONE][0][VALUE]": "+7999"}
    added = await http.post(f"{endpoint}crm.contact.add", data=form)
    got = await http.get(
        f"{endpoint}crm.contact.get",
        params={"auth": app.access_token, "id": added.json()["result"]},
    )
    contact = got.json()["result"]
    assert contact["NAME"] == "Пётр"
    assert contact["HAS_PHONE"] == "Y"
    assert contact["PHONE"] == [
        {"ID": "1", "VALUE_TYPE": "WORK", "VALUE": "+7999", "TYPE_ID": "PHONE"}
    ]


async def test_contact_list_filters_pages_and_counts(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    for index in range(60):
        await emulator.user_add_contact(app.member_id, {"NAME": f"n{index}"})

    first = (await call(http, app, "crm.contact.list", {"select": ["ID", "NAME"]})).json()
    second = (await call(http, app, "crm.contact.list", {"start": first["next"]})).json()
    chosen = (
        await call(http, app, "crm.contact.list", {"filter": {"@ID": [3, 5, 7]}, "select": ["ID"]})
    ).json()

    assert len(first["result"]) == 50
    assert first["total"] == 60
    assert first["next"] == 50
    assert first["result"][0] == {"ID": "1", "NAME": "n0"}
    assert len(second["result"]) == 10
    assert "next" not in second
    assert [row["ID"] for row in chosen["result"]] == ["3", "5", "7"]
    assert chosen["total"] == 3


async def test_contact_list_filters_by_date_modify(
    receiver: Receiver, http: httpx.AsyncClient
) -> None:
    clock = [1_800_000_000.0]
    emulator = Emulator(config=EmulatorConfig(clock=lambda: clock[0]))
    async with serve_emulator(emulator):
        app = await install(emulator, receiver, emulator.add_portal())
        old = await emulator.user_add_contact(app.member_id, {"NAME": "old"})
        clock[0] += 120
        recent = await emulator.user_add_contact(app.member_id, {"NAME": "recent"})
        stamp = emulator.contact(app.member_id, recent)["DATE_MODIFY"]
        after = await call(http, app, "crm.contact.list", {"filter": {">DATE_MODIFY": stamp}})
        since = await call(http, app, "crm.contact.list", {"filter": {">=DATE_MODIFY": stamp}})
        before = await call(
            http,
            app,
            "crm.contact.list",
            {"filter": {"<DATE_MODIFY": stamp}, "order": {"ID": "DESC"}},
        )
    # Second precision: ">" with the record's own stamp does not match it.
    assert after.json()["result"] == []
    assert [row["ID"] for row in since.json()["result"]] == [str(recent)]
    assert [row["ID"] for row in before.json()["result"]] == [str(old)]


async def test_contact_list_orders_and_selects(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    for name in ("Борис", "анна", "Вера"):
        await emulator.user_add_contact(
            app.member_id, {"NAME": name, "EMAIL": [{"VALUE": f"{name}@x.ru"}]}
        )
    ordered = await call(
        http,
        app,
        "crm.contact.list",
        {"order": {"NAME": "DESC"}, "select": ["NAME", "EMAIL"], "filter": {"%NAME": "Р"}},
    )
    everyone = await call(http, app, "crm.contact.list", {"order": {"NAME": "ASC"}})
    rows = ordered.json()["result"]
    assert [row["NAME"] for row in rows] == ["Вера", "Борис"]  # LIKE is case-insensitive
    assert [row["NAME"] for row in everyone.json()["result"]] == ["анна", "Борис", "Вера"]
    assert "EMAIL" not in everyone.json()["result"][0]  # multi-fields only when selected
    assert set(rows[0]) == {"ID", "NAME", "EMAIL"}
    assert rows[0]["EMAIL"][0]["VALUE"] == "Вера@x.ru"


async def test_lead_methods_mirror_contact_methods(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    lead_id = (
        await call(http, app, "crm.lead.add", {"fields": {"TITLE": "t", "NAME": "x"}})
    ).json()["result"]
    await call(http, app, "crm.lead.update", {"id": lead_id, "fields": {"LAST_NAME": "Y"}})
    lead = (await call(http, app, "crm.lead.get", {"id": lead_id})).json()["result"]
    listed = (await call(http, app, "crm.lead.list", {"filter": {"ID": lead_id}})).json()

    assert (lead["NAME"], lead["LAST_NAME"], lead["STATUS_ID"]) == ("x", "Y", "NEW")
    assert listed["total"] == 1


# --- events.* --------------------------------------------------------------------------


async def test_event_bind_get_and_unbind(
    app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    handler = receiver.url("/events")
    bound = await call(http, app, "event.bind", {"event": "onCrmContactAdd", "handler": handler})
    listed = (await call(http, app, "event.get")).json()["result"]
    unbound = await call(
        http, app, "event.unbind", {"event": "ONCRMCONTACTADD", "handler": handler}
    )
    after = (await call(http, app, "event.get")).json()["result"]

    assert bound.json()["result"] is True
    assert listed == [
        {"event": "ONCRMCONTACTADD", "handler": handler, "auth_type": "0", "offline": 0}
    ]
    assert unbound.json()["result"] == {"count": 1}
    assert after == []


async def test_a_duplicate_bind_is_refused_as_documented(
    app: InstalledApp, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    params = {"event": "ONCRMCONTACTUPDATE", "handler": receiver.url("/events")}
    await call(http, app, "event.bind", params)
    again = await call(http, app, "event.bind", params)
    assert again.status_code == 400
    assert again.json() == {
        "error": "ERROR_CORE",
        "error_description": "Unable to set event handler: Handler already binded",
    }


async def test_event_bind_rejects_bad_input(app: InstalledApp, http: httpx.AsyncClient) -> None:
    unknown = await call(http, app, "event.bind", {"event": "ONNOTHING", "handler": "http://a.b/"})
    no_handler = await call(http, app, "event.bind", {"event": "ONCRMCONTACTADD"})
    no_dot = await call(
        http, app, "event.bind", {"event": "ONCRMCONTACTADD", "handler": "http://x/"}
    )
    ftp = await call(http, app, "event.bind", {"event": "ONCRMCONTACTADD", "handler": "ftp://a.b/"})

    assert (unknown.status_code, unknown.json()["error"]) == (400, "ERROR_EVENT_NOT_FOUND")
    assert no_handler.json() == {
        "error": "ERROR_ARGUMENT",
        "error_description": "Argument 'HANDLER' is null or empty",
    }
    assert no_dot.json()["error"] == "ERROR_WRONG_HANDLER_URL"
    assert ftp.json()["error"] == "ERROR_UNSUPPORTED_PROTOCOL"


async def test_non_admins_bind_for_themselves_and_not_offline(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    pair = emulator.frame_tokens(app.member_id, user_id=2)
    endpoint = app.portal.client_endpoint
    mine = await http.post(
        f"{endpoint}event.bind",
        json={"auth": pair.access_token, "event": "ONCRMLEADADD", "handler": "http://a.b/h"},
    )
    offline = await http.post(
        f"{endpoint}event.bind",
        json={"auth": pair.access_token, "event": "ONCRMLEADADD", "event_type": "offline"},
    )
    for_other = await http.post(
        f"{endpoint}event.bind",
        json={
            "auth": pair.access_token,
            "event": "ONCRMLEADUPDATE",
            "handler": "http://a.b/h",
            "auth_type": 1,
        },
    )
    listed = (await call(http, app, "event.get")).json()["result"]

    assert mine.json()["result"] is True
    assert listed[0]["auth_type"] == "2"
    assert offline.status_code == 403
    assert for_other.status_code == 403


# --- batch -----------------------------------------------------------------------------


async def test_batch_runs_commands_and_reports_each(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    contact_id = await emulator.user_add_contact(app.member_id, {"NAME": "a"})
    response = await call(
        http,
        app,
        "batch",
        {
            "halt": 0,
            "cmd": {
                "get": f"crm.contact.get?id={contact_id}",
                "fix": f"crm.contact.update?id={contact_id}&fields[NAME]=A"
                "&params[REGISTER_SONET_EVENT]=N",
                "missing": "crm.contact.get?id=999",
                "list": "crm.contact.list?select[]=ID",
            },
        },
    )

    assert response.status_code == 200
    result = response.json()["result"]
    assert set(result) == {"result", "result_error", "result_total", "result_next", "result_time"}
    assert result["result"]["get"]["NAME"] == "a"
    assert result["result"]["fix"] is True
    assert result["result_error"] == {"missing": {"error": "", "error_description": "Not found"}}
    assert result["result_total"] == {"list": 1}
    assert result["result_next"] == []  # empty parts are [] (protocol §6)
    assert set(result["result_time"]) == {"get", "fix", "list"}
    assert emulator.contact(app.member_id, contact_id)["NAME"] == "A"
    assert emulator.stats(app.member_id).updates_per_record[("contact", contact_id)] == 1


async def test_batch_halt_stops_at_the_first_error(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    response = await call(
        http,
        app,
        "batch",
        {"halt": 1, "cmd": ["crm.contact.get?id=999", "crm.contact.add?fields[NAME]=x"]},
    )
    result = response.json()["result"]
    assert result["result"] == []
    # Commands given as a list are keyed 0..n-1, so PHP renders the parts as lists too.
    assert result["result_error"] == [{"error": "", "error_description": "Not found"}]


async def test_batch_runs_fifty_commands_and_fails_only_the_extra_ones(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    # "При превышении подзапросы сверх лимита завершаются ошибкой ERROR_BATCH_LENGTH_EXCEEDED"
    # (settings/how-to-call-rest-api/batch.md).
    commands = {f"c{index}": "profile" for index in range(52)}
    response = await call(http, app, "batch", {"cmd": commands})
    assert response.status_code == 200
    parts = response.json()["result"]
    assert list(parts["result"]) == [f"c{index}" for index in range(50)]
    assert {key: error["error"] for key, error in parts["result_error"].items()} == {
        "c50": "ERROR_BATCH_LENGTH_EXCEEDED",
        "c51": "ERROR_BATCH_LENGTH_EXCEEDED",
    }
    assert app.portal.stats.calls_by_method["profile"] == 50


async def test_batch_refuses_a_nested_batch(app: InstalledApp, http: httpx.AsyncClient) -> None:
    response = await call(http, app, "batch", {"cmd": {"inner": "batch?cmd[a]=profile"}})
    error = response.json()["result"]["result_error"]["inner"]
    assert error["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"


async def test_batch_in_the_url_takes_double_encoded_commands(
    app: InstalledApp, http: httpx.AsyncClient
) -> None:
    command = "crm.contact.add?" + urlencode({"fields[NAME]": "Ян & Co"})
    query = f"auth={app.access_token}&cmd[one]={quote(command, safe='')}"
    response = await http.get(f"{app.portal.client_endpoint}batch?{query}")
    contact_id = response.json()["result"]["result"]["one"]
    got = await call(http, app, "crm.contact.get", {"id": contact_id})
    assert got.json()["result"]["NAME"] == "Ян & Co"


async def test_batch_counts_once_for_the_bucket_and_per_command_in_stats(
    emulator: Emulator, app: InstalledApp, http: httpx.AsyncClient
) -> None:
    requests_before = emulator.stats(app.member_id).total_requests
    await call(http, app, "batch", {"cmd": ["profile", "profile", "user.admin"]})
    stats = emulator.stats(app.member_id)
    assert stats.total_requests == requests_before + 1
    assert stats.calls_by_method["batch"] == 1
    assert stats.calls_by_method["profile"] == 2
    assert stats.calls_by_method["user.admin"] == 1
