"""The pure parts of ``batch`` (settings/how-to-call-rest-api/batch.md): reading ``cmd``,
``$result[...]`` references between commands, and how PHP renders each part of the answer.

``RestApi`` (rest.py) runs the commands; this module holds no state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

BATCH_LIMIT = 50
PARTS = ("result", "result_error", "result_total", "result_next", "result_time")

# "$result[идентификатор_запроса][поле_ответа]", any depth; "$result[user_by_name][0][ID]" for a
# list method's first row (batch.md, "Связанные вызовы").
_REFERENCE = re.compile(r"\$result((?:\[[^\[\]]*\])+)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_MISSING = object()


def batch_items(commands: Any) -> list[tuple[str, Any]]:
    """``cmd`` as (key, command) pairs: a list is keyed 0..n-1, an object by its keys."""
    if isinstance(commands, list):
        return [(str(index), command) for index, command in enumerate(commands)]
    if isinstance(commands, Mapping):
        return [(str(key), command) for key, command in commands.items()]
    return []


def php_array(part: Mapping[str, Any]) -> Any:
    """One part of the answer as PHP's json_encode renders an array.

    A PHP array whose keys are exactly 0..n-1 in order is a JSON list, any other an object; and
    PHP turns the numeric keys of a decoded ``cmd`` object ("0", "1") into integers. So commands
    keyed "0", "1", … (or sent as a list) answer lists, as the official SDK expects (b24pysdk
    api/callers/call_list_fast.py keys its commands from "1" to keep objects), and an empty
    part is ``[]`` (batch.md, the error examples).
    """
    if not part:
        return []
    if list(part) == [str(index) for index in range(len(part))]:
        return list(part.values())
    return dict(part)


def substitute_results(value: Any, results: Mapping[str, Any]) -> Any:
    """``value`` (a command's decoded parameters) with ``$result[...]`` references replaced.

    Commands run in order, so a reference reads any earlier command's result (batch.md). A value
    that is one reference takes the referenced value as it is (a list stays a list); inside
    other text the value is written as PHP would (true → "1"; an array → "Array"). A reference to
    nothing (a later or failed command, a row past the end) becomes "" — PHP's null.
    """
    if isinstance(value, dict):
        return {key: substitute_results(item, results) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_results(item, results) for item in value]
    if not isinstance(value, str) or "$result[" not in value:
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole is not None:
        found = _resolve(whole.group(1), results)
        return "" if found is _MISSING else found
    return _REFERENCE.sub(lambda match: _as_php_text(_resolve(match.group(1), results)), value)


def _resolve(path: str, results: Mapping[str, Any]) -> Any:
    current: Any = results
    for segment in _SEGMENT.findall(path):
        if isinstance(current, Mapping) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return _MISSING
    return current


def _as_php_text(value: Any) -> str:
    if value is _MISSING or value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, dict | list):
        return "Array"
    return str(value)
