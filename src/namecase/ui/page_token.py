"""The page token: how the settings page authorizes its own API calls without cookies.

The page lives in a Bitrix24 iframe on another site, where browsers block third-party cookies.
So `/app` embeds a short-lived token in the page it renders, and the page's script sends it in
the `Authorization` header of every API call. A cross-site form or image cannot set that header,
which makes every state change CSRF-safe by construction. The token is an HMAC over
`member_id`, language, expiry and whether the user is a portal administrator (the only one who
may change anything), with a key derived from the first NAMECASE_SECRET_KEYS entry, so every
replica that shares the keys accepts it and nothing is stored server-side.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from namecase.i18n import Language, language_of

PAGE_TOKEN_SECONDS = 3600  # an admin session in the frame; reopening the app issues a new one
# A page left open longer may renew its token with the user's BX24 token (POST /app/api/token).
RENEWAL_GRACE_SECONDS = 12 * 3600
_PURPOSE = b"namecase/ui/page-token/v1"


class InvalidPageToken(Exception):
    """The token is malformed, forged, or expired."""


@dataclass(frozen=True)
class PageGrant:
    """What a valid token grants: this portal's page, in this language, until `expires_at`.

    Everyone with a grant may read; only an `admin` grant may change settings, undo or backfill.
    """

    member_id: str
    lang: Language
    expires_at: int
    admin: bool


class PageTokenSigner:
    """Issues and verifies page tokens with a key derived from a Fernet key."""

    def __init__(self, fernet_key: str) -> None:
        # Derive a separate key: the Fernet key encrypts tokens at rest and must not double as
        # a MAC key for data the browser sees.
        self._key = hmac.new(fernet_key.encode(), _PURPOSE, hashlib.sha256).digest()

    def issue(
        self, member_id: str, lang: Language, *, admin: bool, now: float | None = None
    ) -> str:
        """A token for `member_id` valid for PAGE_TOKEN_SECONDS; `admin` as the portal said."""
        expires_at = int((now if now is not None else time.time()) + PAGE_TOKEN_SECONDS)
        payload = json.dumps(
            {"m": member_id, "l": lang, "e": expires_at, "a": admin}, separators=(",", ":")
        ).encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def verify(self, token: str, now: float | None = None, *, grace: float = 0.0) -> PageGrant:
        """The grant of a genuine token unexpired (or expired less than `grace` seconds ago)."""
        encoded, _, signature = token.partition(".")
        try:
            payload = _unb64(encoded)
            presented = _unb64(signature)
        except (ValueError, binascii.Error) as error:
            raise InvalidPageToken("malformed token") from error
        if not hmac.compare_digest(presented, self._sign(payload)):
            raise InvalidPageToken("bad signature")
        try:
            claims = json.loads(payload)
            grant = PageGrant(
                str(claims["m"]),
                language_of(str(claims["l"])),
                int(claims["e"]),
                # A token without the claim (issued before it existed) is not an admin's.
                admin=claims.get("a") is True,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidPageToken("malformed claims") from error
        if grant.expires_at + grace <= (now if now is not None else time.time()):
            raise InvalidPageToken("expired")
        return grant

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or len(text) > 1024:
        raise ValueError("empty or oversized token part")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
