"""PHP-style form encoding: how Bitrix24 reads request parameters and writes event bodies."""

from __future__ import annotations

from urllib.parse import parse_qsl

from namecase.emulator.phpform import decode_php_query, encode_php_query, php_values


def test_nested_keys_become_nested_values() -> None:
    decoded = decode_php_query("id=5&fields%5BNAME%5D=Ivan&fields[LAST_NAME]=Petrov&params[X]=N")
    assert decoded == {
        "id": "5",
        "fields": {"NAME": "Ivan", "LAST_NAME": "Petrov"},
        "params": {"X": "N"},
    }


def test_empty_brackets_append_like_php() -> None:
    assert decode_php_query("select[]=ID&select[]=NAME") == {"select": ["ID", "NAME"]}
    assert decode_php_query("filter[@ID][]=1&filter[@ID][]=2") == {"filter": {"@ID": ["1", "2"]}}


def test_arrays_keyed_zero_to_n_are_lists_and_others_stay_maps() -> None:
    assert decode_php_query("cmd[0]=a&cmd[1]=b") == {"cmd": ["a", "b"]}
    assert decode_php_query("cmd[1]=a&cmd[0]=b") == {"cmd": {"1": "a", "0": "b"}}
    assert decode_php_query("cmd[x]=a") == {"cmd": {"x": "a"}}


def test_top_level_dots_and_spaces_become_underscores_as_in_php() -> None:
    assert decode_php_query("a.b=1&c+d=2&e[f.g]=3") == {"a_b": "1", "c_d": "2", "e": {"f.g": "3"}}


def test_a_later_scalar_key_does_not_break_an_array() -> None:
    assert decode_php_query("a=1&a[b]=2") == {"a": {"b": "2"}}
    assert decode_php_query("[x]=1&y=2") == {"y": "2"}


def test_encoding_matches_http_build_query() -> None:
    body = encode_php_query(
        {"event": "ONCRMCONTACTADD", "data": {"FIELDS": {"ID": "5"}}, "flag": True, "skip": None}
    )
    assert body == "event=ONCRMCONTACTADD&data%5BFIELDS%5D%5BID%5D=5&flag=1"
    assert parse_qsl(body) == [
        ("event", "ONCRMCONTACTADD"),
        ("data[FIELDS][ID]", "5"),
        ("flag", "1"),
    ]


def test_encoding_round_trips_through_decoding() -> None:
    original = {"auth": {"domain": "a.bitrix24.ru", "scope": "crm"}, "list": ["x", "y z"]}
    assert decode_php_query(encode_php_query(original)) == original


def test_php_values_reads_lists_maps_and_scalars() -> None:
    assert php_values(["a"]) == ["a"]
    assert php_values({"k": "a"}) == ["a"]
    assert php_values("a") == ["a"]
    assert php_values(None) == []
