"""What every emulated REST method receives and returns (used by rest.py and the method modules).

Kept apart from ``RestApi`` so that method modules (event_methods.py, offline_methods.py) can be
imported by rest.py without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from namecase.emulator.portal import Portal, User

if TYPE_CHECKING:
    from namecase.emulator.emulator import Emulator


@dataclass
class CallContext:
    """Who calls, on which portal, at what time, and with which ``auth_connector``.

    ``connector`` is the request's top-level ``auth_connector`` (for a batch command: its own, or
    else the batch's), read with the authentication as Bitrix24 does (bitrix24-protocol.md §10,
    "auth_connector: our own writes don't come back"); "" when the call carries none.
    """

    emulator: Emulator
    portal: Portal
    user: User
    now: float
    connector: str = ""


@dataclass
class MethodResult:
    """A method's ``result`` plus list paging (``total``/``next``)."""

    result: Any
    total: int | None = None
    next: int | None = None


MethodHandler = Callable[[CallContext, dict[str, Any]], MethodResult]


def as_int(value: Any) -> int:
    """PHP's intval for the values a form or JSON body carries: 0 when not a number."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0
