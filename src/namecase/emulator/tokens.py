"""OAuth token bookkeeping of the emulated Bitrix24 OAuth server (bitrix24-protocol.md §4).

- An access token lives ``access_ttl`` seconds (1 hour by default), a refresh token 180 days.
- Every refresh returns a new pair and the used refresh token stops working: a second use
  answers ``invalid_grant`` (rotation, the strict reading of §4 "Lifetimes and rotation").
- After a refresh the previous access token stays valid until its own expiry unless
  ``old_access_valid_after_refresh`` is off.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from namecase.emulator.errors import OAuthError, RestError, expired_token, no_auth_found

REFRESH_TOKEN_TTL_SECONDS = 180 * 24 * 3600.0


def new_token() -> str:
    """A 32-character lowercase token like Bitrix24's (``s6p6eclrvim6da22ft9ch94ekreb52lv``)."""
    return secrets.token_hex(16)


@dataclass
class AccessGrant:
    """What an access token stands for."""

    token: str
    member_id: str
    user_id: int
    expires_at: float
    serial: int
    epoch: int


@dataclass
class RefreshGrant:
    """What a refresh token stands for; it is removed from the store when used."""

    token: str
    member_id: str
    user_id: int
    expires_at: float
    epoch: int
    access_token: str


@dataclass(frozen=True)
class TokenPair:
    """A freshly issued access/refresh pair."""

    access_token: str
    refresh_token: str
    member_id: str
    user_id: int
    expires_at: float
    expires_in: int


def invalid_grant() -> OAuthError:
    """400 invalid_grant: the refresh token is unknown, used, expired or revoked."""
    return OAuthError(400, "invalid_grant", "Invalid grant")


class TokenStore:
    """All tokens of all portals, indexed by token for O(1) checks."""

    def __init__(self, access_ttl: float, old_access_valid_after_refresh: bool = True) -> None:
        self.access_ttl = access_ttl
        self.old_access_valid_after_refresh = old_access_valid_after_refresh
        self._access: dict[str, AccessGrant] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._epochs: dict[str, int] = {}
        self._expired_up_to: dict[str, int] = {}
        self._serials = itertools.count(1)

    def issue(self, member_id: str, user_id: int, now: float) -> TokenPair:
        """Issue a new pair for ``user_id`` on the portal ``member_id``."""
        epoch = self._epochs.get(member_id, 0)
        access = AccessGrant(
            token=new_token(),
            member_id=member_id,
            user_id=user_id,
            expires_at=now + self.access_ttl,
            serial=next(self._serials),
            epoch=epoch,
        )
        refresh = RefreshGrant(
            token=new_token(),
            member_id=member_id,
            user_id=user_id,
            expires_at=now + REFRESH_TOKEN_TTL_SECONDS,
            epoch=epoch,
            access_token=access.token,
        )
        self._access[access.token] = access
        self._refresh[refresh.token] = refresh
        return TokenPair(
            access_token=access.token,
            refresh_token=refresh.token,
            member_id=member_id,
            user_id=user_id,
            expires_at=access.expires_at,
            expires_in=round(self.access_ttl),
        )

    def refresh_owner(self, refresh_token: str) -> str | None:
        """The member_id a refresh token belongs to, without using it."""
        grant = self._refresh.get(refresh_token)
        return grant.member_id if grant else None

    def rotate(self, refresh_token: str, now: float) -> TokenPair:
        """Use ``refresh_token`` once: it is spent and a new pair comes back."""
        grant = self._refresh.pop(refresh_token, None)
        if grant is None or grant.epoch != self._epochs.get(grant.member_id, 0):
            raise invalid_grant()
        if now >= grant.expires_at:
            raise invalid_grant()
        if not self.old_access_valid_after_refresh:
            self._access.pop(grant.access_token, None)
        return self.issue(grant.member_id, grant.user_id, now)

    def is_live_refresh(self, refresh_token: str, now: float) -> bool:
        """True while ``refresh_token`` can still be used."""
        grant = self._refresh.get(refresh_token)
        if grant is None:
            return False
        return grant.epoch == self._epochs.get(grant.member_id, 0) and now < grant.expires_at

    def authenticate(self, access_token: str, now: float) -> AccessGrant:
        """The grant behind ``access_token``, or the documented 401 error."""
        grant = self._access.get(access_token)
        if grant is None or grant.epoch != self._epochs.get(grant.member_id, 0):
            raise no_auth_found()
        if now >= grant.expires_at or grant.serial <= self._expired_up_to.get(grant.member_id, 0):
            raise expired_token()
        return grant

    def check_live(self, access_token: str, now: float) -> AccessGrant | None:
        """The grant if ``access_token`` is valid now, else None."""
        try:
            return self.authenticate(access_token, now)
        except RestError:
            return None

    def revoke(self, member_id: str) -> None:
        """Invalidate every token of the portal: calls NO_AUTH_FOUND, refreshes invalid_grant."""
        self._epochs[member_id] = self._epochs.get(member_id, 0) + 1

    def expire_access(self, member_id: str) -> None:
        """Make every access token issued so far for the portal expired (refresh still works)."""
        self._expired_up_to[member_id] = next(self._serials)
