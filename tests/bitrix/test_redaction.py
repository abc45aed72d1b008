"""Redaction: no token or secret survives into logs (issue 5 item 6)."""

from __future__ import annotations

import json

from namecase.bitrix.redaction import (
    MASK,
    OMITTED,
    call_log_request,
    call_log_response,
    mask_secrets,
    redact,
)


def test_event_auth_block_is_masked_whole() -> None:
    event = {
        "event": "ONCRMCONTACTUPDATE",
        "data": {"FIELDS": {"ID": "82"}},
        "auth": {"access_token": "s6p6eclrvim6da22ft9ch94ekreb52lv", "member_id": "a22"},
    }

    assert redact(event) == {
        "event": "ONCRMCONTACTUPDATE",
        "data": {"FIELDS": {"ID": "82"}},
        "auth": MASK,
    }


def test_install_frame_keys_are_masked_in_any_case() -> None:
    frame = {
        "AUTH_ID": "ahodg4h37n89vo17gbkgq0x1l825nnb5",
        "REFRESH_ID": "2lg086mxijlpvwh0h7r4nl19udm4try5",
        "APPLICATION_TOKEN": "ec1b2074a9d3f5c81b6e40d27a95cf38",
        "member_id": "a223c6b3710f85df22e9377d6c4f7553",
        "DOMAIN": "portal.bitrix24.ru",
    }

    assert redact(frame) == {
        "AUTH_ID": MASK,
        "REFRESH_ID": MASK,
        "APPLICATION_TOKEN": MASK,
        "member_id": "a223c6b3710f85df22e9377d6c4f7553",
        "DOMAIN": "portal.bitrix24.ru",
    }


def test_nested_lists_and_token_responses_are_masked() -> None:
    body = {"result": [{"x": {"refresh_token": "r", "Client_Secret": "s", "password": "p"}}]}

    assert redact(body) == {
        "result": [{"x": {"refresh_token": MASK, "Client_Secret": MASK, "password": MASK}}]
    }


def test_redact_leaves_the_original_untouched() -> None:
    original = {"auth": "token-value", "id": 5}

    redact(original)

    assert original == {"auth": "token-value", "id": 5}


def test_scalars_pass_through() -> None:
    assert redact("text") == "text"
    assert redact(5) == 5
    assert redact(None) is None


def test_mask_secrets_replaces_known_values_in_free_text() -> None:
    text = "error: token ydtj8pho532wydb5ixk78ol7uqlb7sch rejected"

    assert (
        mask_secrets(text, ["ydtj8pho532wydb5ixk78ol7uqlb7sch", None])
        == f"error: token {MASK} rejected"
    )


def test_mask_secrets_ignores_short_values_that_would_mask_words() -> None:
    assert mask_secrets("a rose", ["a", ""]) == "a rose"


# --- least data in the REST call log (issue 14 item 8) ------------------------------------------

CONTACT = {
    "ID": "82",
    "NAME": "иван",
    "SECOND_NAME": "",
    "LAST_NAME": "ПЕТРОВ",
    "PHONE": [{"ID": "5", "VALUE_TYPE": "WORK", "VALUE": "+7 999 123-45-67", "TYPE_ID": "PHONE"}],
    "EMAIL": [{"ID": "6", "VALUE_TYPE": "WORK", "VALUE": "ivan@example.com", "TYPE_ID": "EMAIL"}],
    "COMMENTS": "owes us money",
    "ADDRESS": "Lenina 1",
    "BIRTHDATE": "1980-01-01T00:00:00+03:00",
    "UF_CRM_PASSPORT": "4509 123456",
}
PRIVATE_VALUES = ("+7 999", "ivan@example.com", "owes us", "Lenina", "1980-01-01", "4509")
KEPT_CONTACT = {"ID": "82", "NAME": "иван", "SECOND_NAME": "", "LAST_NAME": "ПЕТРОВ", OMITTED: 6}


def _leaks(logged: object) -> list[str]:
    text = json.dumps(logged, ensure_ascii=False)
    return [value for value in PRIVATE_VALUES if value in text]


def test_a_get_answer_keeps_the_id_and_the_name_fields_only() -> None:
    body = {"result": CONTACT, "time": {"start": 1.0, "operating": 0}}

    logged = call_log_response("crm.contact.get", body)

    assert logged == {"result": KEPT_CONTACT, "time": {"start": 1.0, "operating": 0}}


def test_a_list_answer_keeps_paging_and_each_records_names() -> None:
    body = {"result": [CONTACT, {**CONTACT, "ID": "83"}], "total": 2, "next": 50}

    logged = call_log_response("crm.contact.list", body)

    assert logged["total"] == 2 and logged["next"] == 50
    assert [item["ID"] for item in logged["result"]] == ["82", "83"]
    assert _leaks(logged) == []


def test_batch_answers_keep_each_parts_ids_names_and_errors() -> None:
    body = {
        "result": {
            "result": {"contact_82": CONTACT, "contact_83": {**CONTACT, "ID": "83"}},
            "result_error": {"contact_84": {"error": "", "error_description": "Not found"}},
            "result_total": [],
            "result_next": [],
            "result_time": {"contact_82": {"start": 1.0}},
        },
        "time": {"start": 1.0},
    }

    logged = call_log_response("batch", body)

    assert logged["result"]["result"]["contact_82"] == KEPT_CONTACT
    assert logged["result"]["result_error"] == {
        "contact_84": {"error": "", "error_description": "Not found"}
    }
    assert _leaks(logged) == []


def test_batch_commands_keep_ids_names_and_protocol_parameters() -> None:
    params = {
        "halt": 0,
        "cmd": {
            "u82": "crm.contact.update?id=82&fields[NAME]=Иван&fields[PHONE][0][VALUE]=%2B7+999"
            "&params[REGISTER_SONET_EVENT]=N",
            "bind": "event.bind?event=ONCRMCONTACTADD&handler=https%3A%2F%2Fapp.example%2Fevents",
        },
        "auth": "access-token-0123456789",
    }

    logged = call_log_request("batch", params)

    assert logged["auth"] == MASK and logged["halt"] == 0
    update = logged["cmd"]["u82"]
    assert update.startswith("crm.contact.update?id=82&fields")
    assert "PHONE" not in update and "999" not in update
    assert "REGISTER_SONET_EVENT" in update
    assert logged["cmd"]["bind"].startswith("event.bind?event=ONCRMCONTACTADD&handler=https")


def test_list_filters_keep_our_cursors_and_drop_searches_by_other_fields() -> None:
    params = {
        "filter": {">ID": 100, ">DATE_MODIFY": "2026-01-01T00:00:00", "%PHONE": "+7 999"},
        "select": ["ID", "NAME", "LAST_NAME"],
        "order": {"ID": "ASC"},
        "start": -1,
    }

    logged = call_log_request("crm.contact.list", params)

    assert logged == {
        "filter": {">ID": 100, ">DATE_MODIFY": "2026-01-01T00:00:00", OMITTED: 1},
        "select": ["ID", "NAME", "LAST_NAME"],
        "order": {"ID": "ASC"},
        "start": -1,
    }


def test_the_profile_answer_keeps_who_and_whether_admin() -> None:
    body = {
        "result": {
            "ID": "1",
            "ADMIN": True,
            "NAME": "Вадим",
            "LAST_NAME": "Валеев",
            "PERSONAL_GENDER": "M",
            "TIME_ZONE": "Europe/Moscow",
        }
    }

    assert call_log_response("profile", body) == {
        "result": {"ID": "1", "ADMIN": True, "NAME": "Вадим", "LAST_NAME": "Валеев", OMITTED: 2}
    }


def test_protocol_answers_pass_whole() -> None:
    bindings = {
        "result": [{"event": "ONCRMCONTACTADD", "handler": "https://a/events", "offline": 0}]
    }
    app_info = {"result": {"ID": 5, "CODE": "x", "STATUS": "F", "INSTALLED": True, "DAYS": None}}
    error = {"error": "expired_token", "error_description": "The access token provided has expired"}

    for body in (bindings, app_info, error, {"result": True}):
        assert call_log_response("any.method", body) == body
