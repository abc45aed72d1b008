"""PHP-style form parsing: the event body format (protocol §2) and batch commands (§6)."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from namecase.bitrix.forms import FormError, FormTooLarge, encode_php_form, parse_php_form

DOCUMENTED_EVENT = {
    "event": "ONCRMCONTACTUPDATE",
    "event_handler_id": "12",
    "data[FIELDS][ID]": "82",
    "ts": "1724697689",
    "auth[access_token]": "s6p6eclrvim6da22ft9ch94ekreb52lv",
    "auth[expires]": "1724701289",
    "auth[expires_in]": "3600",
    "auth[scope]": "crm",
    "auth[domain]": "some-domain.bitrix24.com",
    "auth[server_endpoint]": "https://oauth.bitrix24.tech/rest/",
    "auth[status]": "F",
    "auth[client_endpoint]": "https://some-domain.bitrix24.com/rest/",
    "auth[member_id]": "a223c6b3710f85df22e9377d6c4f7553",
    "auth[user_id]": "1",
    "auth[refresh_token]": "4s386p3q0tr8dy89xvmt96234v3dljg8",
    "auth[application_token]": "51856fefc120afa4b628cc82d3935cce",
}


def test_documented_event_body_parses_into_nested_fields() -> None:
    parsed = parse_php_form(urlencode(DOCUMENTED_EVENT))

    assert parsed["event"] == "ONCRMCONTACTUPDATE"
    assert parsed["data"] == {"FIELDS": {"ID": "82"}}
    assert parsed["auth"]["member_id"] == "a223c6b3710f85df22e9377d6c4f7553"
    assert parsed["auth"]["client_endpoint"] == "https://some-domain.bitrix24.com/rest/"
    assert len(parsed["auth"]) == 12


def test_bytes_and_unencoded_brackets_are_accepted() -> None:
    body = b"event=ONAPPUNINSTALL&data[CLEAN]=1&auth[member_id]=abc"

    assert parse_php_form(body) == {
        "event": "ONAPPUNINSTALL",
        "data": {"CLEAN": "1"},
        "auth": {"member_id": "abc"},
    }


def test_empty_brackets_append_to_a_list() -> None:
    assert parse_php_form("a[]=1&a[]=2&b[x][]=3") == {"a": ["1", "2"], "b": {"x": ["3"]}}


def test_empty_brackets_before_a_key_start_a_new_element_each_time() -> None:
    assert parse_php_form("a[][x]=1&a[][y]=2") == {"a": [{"x": "1"}, {"y": "2"}]}


def test_later_duplicate_keys_win() -> None:
    assert parse_php_form("a=1&a=2&b[c]=1&b[c]=2") == {"a": "2", "b": {"c": "2"}}


def test_a_nested_key_replaces_a_scalar_and_a_scalar_replaces_a_container() -> None:
    assert parse_php_form("a=1&a[b]=2") == {"a": {"b": "2"}}
    assert parse_php_form("a[b]=2&a=1") == {"a": "1"}


def test_mixing_appends_and_named_keys_keeps_php_indices() -> None:
    assert parse_php_form("a[]=1&a[x]=2&a[]=3") == {"a": {"0": "1", "x": "2", "1": "3"}}


def test_plus_and_percent_escapes_decode_as_utf8() -> None:
    assert parse_php_form("NAME=%D0%98%D0%B2%D0%B0%D0%BD+%D0%9F") == {"NAME": "Иван П"}


def test_fields_without_value_or_name() -> None:
    assert parse_php_form("flag&=orphan&&x=") == {"flag": "", "x": ""}


def test_empty_body_is_an_empty_form() -> None:
    assert parse_php_form(b"") == {}


@pytest.mark.parametrize(
    "body",
    ["a[b=1", "a]=1", "a[b]c=1", "[a]=1", "a[b[c]]=1", "a[b]]=1"],
)
def test_malformed_brackets_are_refused(body: str) -> None:
    with pytest.raises(FormError, match="malformed"):
        parse_php_form(body)


def test_invalid_utf8_is_refused_raw_or_escaped() -> None:
    with pytest.raises(FormError, match="UTF-8"):
        parse_php_form(b"NAME=\xff\xfe")
    with pytest.raises(FormError, match="UTF-8"):
        parse_php_form("NAME=%FF%FE")


def test_limits_are_enforced() -> None:
    with pytest.raises(FormError, match="fields"):
        parse_php_form("&".join(f"k{i}=v" for i in range(201)))
    with pytest.raises(FormError, match="deeper"):
        parse_php_form("a[1][2][3][4][5][6]=x")
    with pytest.raises(FormTooLarge):
        parse_php_form(b"a=" + b"x" * 65536)
    with pytest.raises(FormTooLarge):
        parse_php_form("a=" + "я" * 40000)

    assert parse_php_form("a[1][2][3][4][5]=x")["a"]["1"]["2"]["3"]["4"]["5"] == "x"
    assert len(parse_php_form("&".join(f"k{i}=v" for i in range(200)))) == 200


def test_limits_are_configurable() -> None:
    with pytest.raises(FormError):
        parse_php_form("a=1&b=2", max_fields=1)
    with pytest.raises(FormError):
        parse_php_form("a[b]=1", max_depth=0)
    with pytest.raises(FormError):
        parse_php_form("a=12345", max_bytes=4)


def test_a_batch_command_is_a_php_query_string() -> None:
    params = {
        "id": 5,
        "fields": {"NAME": "Иван", "LAST_NAME": "Smith & Sons"},
        "params": {"REGISTER_SONET_EVENT": "N"},
    }

    encoded = encode_php_form(params)

    assert encoded == (
        "id=5&fields[NAME]=%D0%98%D0%B2%D0%B0%D0%BD&fields[LAST_NAME]=Smith+%26+Sons"
        "&params[REGISTER_SONET_EVENT]=N"
    )
    assert parse_php_form(encoded) == {
        "id": "5",
        "fields": {"NAME": "Иван", "LAST_NAME": "Smith & Sons"},
        "params": {"REGISTER_SONET_EVENT": "N"},
    }


def test_encoding_follows_http_build_query_for_lists_bools_and_none() -> None:
    encoded = encode_php_form(
        {"select": ["ID", "NAME"], "order": [{"ID": "ASC"}], "ok": True, "no": False, "skip": None}
    )

    assert encoded == "select[]=ID&select[]=NAME&order[0][ID]=ASC&ok=1&no=0"


def test_keys_that_cannot_be_field_names_are_refused() -> None:
    with pytest.raises(ValueError):
        encode_php_form({"a[b]": "x"})
    with pytest.raises(ValueError):
        encode_php_form({"": "x"})
    with pytest.raises(TypeError):
        encode_php_form({"a": object()})


# Characters that matter to the encoding: separators, escapes, spaces, Cyrillic, astral.
_ALPHABET = "aZ09 _-.~&=%+#?/:;,'\"\\\nИванёЁ€😀"
_keys = st.text(alphabet=_ALPHABET, min_size=1, max_size=8)
_values = st.text(alphabet=_ALPHABET, max_size=12)
_trees = st.recursive(
    _values | st.lists(_values, min_size=1, max_size=4),
    lambda children: st.dictionaries(_keys, children, min_size=1, max_size=4),
    max_leaves=10,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_keys, _trees, min_size=1, max_size=3))
def test_encode_then_parse_round_trips(data: dict[str, Any]) -> None:
    assert parse_php_form(encode_php_form(data), max_fields=10_000, max_depth=50) == data


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_form_error(body: bytes) -> None:
    with contextlib.suppress(FormError):
        parse_php_form(body)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab[]=&%+5BD0x", max_size=60))
def test_bracket_soup_parses_or_raises_form_error(body: str) -> None:
    with contextlib.suppress(FormError):
        parse_php_form(body, max_fields=10, max_depth=3)
