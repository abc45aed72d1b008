"""PHP-style form bodies: the one parser of the project, and its inverse for batch commands.

Bitrix24 posts events and install frames as ``application/x-www-form-urlencoded`` with nested
PHP keys such as ``auth[member_id]`` and ``data[FIELDS][ID]`` (bitrix24-protocol.md §2). Batch
commands are PHP query strings too (§6). The parser runs on every /events request, so it is lean
and bounded: it rejects oversized, over-deep or undecodable bodies instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus, unquote_plus

Node = dict[str, Any] | list[Any]


class FormError(ValueError):
    """The body is not a form we accept (too big, too deep, malformed, not UTF-8)."""


class FormTooLarge(FormError):
    """The body is over ``max_bytes`` (the events endpoint answers 413 for it)."""


def parse_php_form(
    body: bytes | str,
    *,
    max_fields: int = 200,
    max_depth: int = 5,
    max_bytes: int = 65536,
) -> dict[str, Any]:
    """Parse ``a[b][]=1&c=2`` into nested dicts and lists with PHP semantics.

    ``a[]`` appends to a list; a later duplicate key wins; a scalar met by a deeper key is
    replaced by a container, as PHP does. Raises FormError on anything outside the limits.
    """
    text = _body_text(body, max_bytes)
    pairs = text.split("&")
    if len(pairs) - pairs.count("") > max_fields:
        raise FormError(f"form has more than {max_fields} fields")
    result: dict[str, Any] = {}
    for pair in pairs:
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        base, segments = (
            _parse_known_name(raw_name) if len(raw_name) <= 64 else _parse_name(raw_name)
        )
        if "%" in raw_value or "+" in raw_value:
            value = _decode_known(raw_value) if len(raw_value) <= 128 else _decode(raw_value)
        else:
            value = raw_value
        if not segments:
            if base:  # PHP ignores fields without a name
                result[base] = value
            continue
        if len(segments) > max_depth:
            raise FormError(f"field name nested deeper than {max_depth}")
        # The common event shape, auth[member_id]: one named key under an existing dict.
        child = result.get(base)
        if len(segments) == 1 and segments[0] and type(child) is dict:
            child[segments[0]] = value
        else:
            _assign(result, base, segments, value)
    return result


def encode_php_form(data: Mapping[str, Any]) -> str:
    """Encode a mapping as a PHP query string (``fields[NAME]=Ivan&ids[]=1``).

    Scalars: str, int, float; bool as 1/0 and None omitted (like PHP's http_build_query).
    Lists of scalars use ``[]``; lists holding containers use explicit indices.
    """
    parts: list[str] = []
    for key, value in data.items():
        _encode_value(parts, _encode_key(key), value)
    return "&".join(parts)


def _body_text(body: bytes | str, max_bytes: int) -> str:
    if isinstance(body, str):
        size = len(body) if body.isascii() else len(body.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise FormTooLarge(f"form is larger than {max_bytes} bytes")
        return body
    if len(body) > max_bytes:
        raise FormTooLarge(f"form is larger than {max_bytes} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormError("form is not valid UTF-8") from exc


def _decode(raw: str) -> str:
    if "%" not in raw:
        return raw.replace("+", " ") if "+" in raw else raw
    try:
        return unquote_plus(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise FormError("form field is not valid UTF-8") from exc


def _parse_name(raw_name: str) -> tuple[str, tuple[str, ...]]:
    """``data%5BFIELDS%5D%5BID%5D`` → ("data", ("FIELDS", "ID"))."""
    name = _decode(raw_name)
    opening = name.find("[")
    if opening == -1:
        if "]" in name:
            raise FormError(f"malformed field name {name[:40]!r}")
        return name, ()
    base = name[:opening]
    if not base or "]" in base:
        raise FormError(f"malformed field name {name[:40]!r}")
    segments: list[str] = []
    position = opening
    while position < len(name):
        closing = name.find("]", position)
        if name[position] != "[" or closing == -1:
            raise FormError(f"malformed field name {name[:40]!r}")
        segment = name[position + 1 : closing]
        if "[" in segment:
            raise FormError(f"malformed field name {name[:40]!r}")
        segments.append(segment)
        position = closing + 1
    return base, tuple(segments)


# Every delivery repeats the same dozen short field names and endpoint values, and decoding
# them dominated the cost of parsing an event. Bounded: 1024 short strings per cache.
_parse_known_name = lru_cache(maxsize=1024)(_parse_name)
_decode_known = lru_cache(maxsize=1024)(_decode)


def _assign(result: dict[str, Any], base: str, segments: tuple[str, ...], value: str) -> None:
    node: Node = result
    key = base
    for segment in segments:
        child = _child(node, key)
        if segment == "":
            if not isinstance(child, list | dict):
                child = []
                _store(node, key, child)
        elif isinstance(child, list):
            child = {str(index): item for index, item in enumerate(child)}
            _store(node, key, child)
        elif not isinstance(child, dict):
            child = {}
            _store(node, key, child)
        node = child
        key = segment
    _store(node, key, value)


def _child(node: Node, key: str) -> Any:
    if isinstance(node, list):
        return None  # "[]" in a list always starts a new element, as in PHP
    return node.get(key) if key else None


def _store(node: Node, key: str, value: Any) -> None:
    if isinstance(node, list):
        node.append(value)
    elif key:
        node[key] = value
    else:
        node[str(_next_index(node))] = value


def _next_index(node: dict[str, Any]) -> int:
    indices = [int(key) for key in node if key.isascii() and key.isdigit()]
    return max(indices, default=-1) + 1


def _encode_key(key: object) -> str:
    text = str(key)
    if not text or "[" in text or "]" in text:
        raise ValueError(f"key {text!r} cannot be written as a PHP form field name")
    return quote_plus(text, safe="")


def _encode_value(parts: list[str], prefix: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _encode_value(parts, f"{prefix}[{_encode_key(key)}]", item)
    elif isinstance(value, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in value):
            for item in value:
                _encode_value(parts, f"{prefix}[]", item)
        else:
            for index, item in enumerate(value):
                _encode_value(parts, f"{prefix}[{index}]", item)
    elif isinstance(value, bool):
        parts.append(f"{prefix}={int(value)}")
    elif isinstance(value, str | int | float):
        parts.append(f"{prefix}={quote_plus(str(value), safe='')}")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} in a PHP form")
