"""Removing tokens and secrets from anything that is logged, stored in the call log or shown.

Marketplace rules want request/response logs (bitrix24-protocol.md §10); the tokens in them
would hand the portal to whoever reads the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

MASK: Final = "***"

SENSITIVE_KEYS: Final = frozenset(
    {
        "auth",
        "access_token",
        "refresh_token",
        "client_secret",
        "auth_id",
        "refresh_id",
        "application_token",
        "password",
        "secret",
        "token",
    }
)


def redact(obj: Any) -> Any:
    """Return a copy of ``obj`` with the value of every sensitive key, at any depth, masked.

    Keys compare case-insensitively (``AUTH_ID``, ``APPLICATION_TOKEN``); the whole value under
    ``auth`` goes, since an event's ``auth`` block holds the tokens.
    """
    if isinstance(obj, Mapping):
        return {key: MASK if _is_sensitive(key) else redact(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact(item) for item in obj]
    return obj


def mask_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of the given secret values in ``text`` (defence in depth)."""
    for secret in secrets:
        if secret and len(secret) >= 8:  # shorter values would mask ordinary words
            text = text.replace(secret, MASK)
    return text


def _is_sensitive(key: object) -> bool:
    return isinstance(key, str) and key.lower() in SENSITIVE_KEYS
