"""PHP-style form encoding, the way Bitrix24 (a PHP application) reads and writes it.

Bitrix24 decodes request bodies and query strings with PHP's ``parse_str`` rules
(``fields[NAME]=x``, ``cmd[]=...``) and sends event deliveries built with
``http_build_query`` (bitrix24-protocol.md §2). Both directions live here so the
emulator speaks the same dialect on the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote_plus

PhpArray = dict[str, Any]


def decode_php_query(query: str | bytes) -> dict[str, Any]:
    """Decode an urlencoded string with PHP ``parse_str`` semantics into nested values.

    Arrays whose keys are exactly ``0..n-1`` in order become Python lists, as PHP's
    ``json_encode`` would render them; other arrays stay dicts with string keys.
    """
    if isinstance(query, bytes):
        query = query.decode("utf-8", errors="replace")
    return decode_php_pairs(parse_qsl(query, keep_blank_values=True))


def decode_php_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Build nested PHP-style values from already unquoted ``(key, value)`` pairs."""
    root: PhpArray = {}
    for key, value in pairs:
        path = _split_key(key)
        if path:
            _assign(root, path, value)
    result = _listify(root)
    assert isinstance(result, dict)
    return result


def _split_key(key: str) -> list[str | None]:
    """Split ``a[b][]`` into ``["a", "b", None]`` (None = append), as PHP does."""
    bracket = key.find("[")
    if bracket == 0:
        return []  # PHP drops variables without a name
    if bracket < 0 or "]" not in key[bracket:]:
        name = _top_level_name(key)
        return [name] if name else []
    path: list[str | None] = [_top_level_name(key[:bracket])]
    rest = key[bracket:]
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            break
        segment = rest[1:close]
        path.append(segment if segment != "" else None)
        rest = rest[close + 1 :]
    return path


def _top_level_name(name: str) -> str:
    # PHP turns spaces, dots and a stray "[" in top-level names into underscores.
    return name.replace(" ", "_").replace(".", "_").replace("[", "_")


def _assign(root: PhpArray, path: list[str | None], value: str) -> None:
    node = root
    for index, segment in enumerate(path):
        key = _next_index(node) if segment is None else segment
        if index == len(path) - 1:
            node[key] = value
            return
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child


def _next_index(node: PhpArray) -> str:
    numeric = [int(key) for key in node if _is_php_int(key)]
    return str(max(numeric) + 1) if numeric else "0"


def _is_php_int(key: str) -> bool:
    if key == "0":
        return True
    body = key[1:] if key.startswith("-") else key
    return body.isdigit() and not body.startswith("0")


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _listify(item) for key, item in value.items()}
    if converted and list(converted) == [str(i) for i in range(len(converted))]:
        return list(converted.values())
    return converted


def encode_php_query(data: Mapping[str, Any]) -> str:
    """Encode nested values like PHP ``http_build_query``: ``auth[domain]=x&data[FIELDS][ID]=5``.

    Booleans become ``1``/``0`` and ``None`` values are left out, as in PHP.
    """
    parts: list[str] = []
    for key, value in data.items():
        _encode_into(parts, str(key), value)
    return "&".join(parts)


def _encode_into(parts: list[str], prefix: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _encode_into(parts, f"{prefix}[{key}]", item)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _encode_into(parts, f"{prefix}[{index}]", item)
        return
    scalar = ("1" if value else "0") if isinstance(value, bool) else str(value)
    parts.append(f"{quote_plus(prefix)}={quote_plus(scalar)}")


def php_values(value: Any) -> list[Any]:
    """The elements of a PHP array given either as a list or as a dict (``cmd[a]=...``)."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    if value is None or value == "":
        return []
    return [value]
