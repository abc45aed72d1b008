"""Redaction: no token or secret survives into logs (issue 5 item 6)."""

from __future__ import annotations

from namecase.bitrix.redaction import MASK, mask_secrets, redact


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
