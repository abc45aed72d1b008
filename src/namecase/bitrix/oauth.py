"""The OAuth server side: exchanging a refresh token for a new (rotated) token pair.

bitrix24-protocol.md §4: the OAuth host comes from the portal's ``server_endpoint`` (it differs by
region), every refresh returns a new pair that must replace the old one, and the answer names the
portal (``member_id``, ``client_endpoint``) — which is how an install is confirmed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from namecase.bitrix.endpoints import oauth_origin, rest_endpoint
from namecase.bitrix.errors import OAuthError, PortalUnavailable, oauth_error_from_response
from namecase.bitrix.redaction import mask_secrets


@dataclass(frozen=True)
class TokenGrant:
    """A token pair confirmed by the OAuth server, and the portal it belongs to."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float  # unix time
    member_id: str
    client_endpoint: str
    server_endpoint: str
    scope: str
    status: str
    user_id: int | None


class OAuthClient:
    """Refreshes tokens at allow-listed OAuth servers; the secret travels only in a POST body."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: str,
        oauth_servers: Iterable[str],
        allow_http: bool = False,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self._oauth_servers = tuple(oauth_servers)
        self._allow_http = allow_http
        self._timeout = timeout
        self._clock = clock

    async def refresh(self, server_endpoint: str, refresh_token: str) -> TokenGrant:
        """Exchange ``refresh_token`` for a new pair; the old refresh token is spent afterwards.

        Raises ForbiddenEndpoint (before any I/O) for a host not in the allow-list or plain http,
        InvalidGrant / AppNotInstalled (invalid_client) / PaymentRequired for a portal we may not
        serve now, OAuthError for other refusals and PortalUnavailable for transport trouble.
        """
        origin = oauth_origin(
            server_endpoint, allowed=self._oauth_servers, allow_http=self._allow_http
        )
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": refresh_token,
        }
        body = await self._post(f"{origin}/oauth/token/", form, secrets=(refresh_token,))
        return self._grant_from(body)

    async def _post(
        self, url: str, form: Mapping[str, str], *, secrets: tuple[str, ...]
    ) -> Mapping[str, Any]:
        # Both SDKs send a GET with the secret in the query (protocol §4); URLs end up in access
        # logs, so we POST the form. A redirect is never followed: it could carry the body away.
        try:
            response = await self._http.post(
                url, data=form, follow_redirects=False, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise PortalUnavailable("TIMEOUT", "OAuth server timed out") from exc
        except httpx.TransportError as exc:
            raise PortalUnavailable(
                "CONNECTION_ERROR", f"OAuth server unreachable ({type(exc).__name__})"
            ) from exc
        body = _json_or_none(response)
        if not isinstance(body, Mapping):
            raise oauth_error_from_response(response.status_code, None)
        if "error" in body or response.status_code != 200:
            # wrong_client comes with HTTP 200 (protocol §4), so look at the body first. The
            # description is the server's text: make sure it cannot echo our secrets.
            description = mask_secrets(
                str(body.get("error_description", "")), (*secrets, self._client_secret)
            )
            raise oauth_error_from_response(
                response.status_code, {**body, "error_description": description}
            )
        return body

    def _grant_from(self, body: Mapping[str, Any]) -> TokenGrant:
        try:
            access_token = _required(body, "access_token")
            refresh_token = _required(body, "refresh_token")
            member_id = _required(body, "member_id")
            client_endpoint = _required(body, "client_endpoint")
        except KeyError as exc:
            raise OAuthError(
                "invalid_response", f"token answer lacks {exc.args[0]}", method="oauth/token"
            ) from None
        return TokenGrant(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=self._expires_at(body),
            member_id=member_id,
            client_endpoint=rest_endpoint(client_endpoint, allow_http=self._allow_http),
            server_endpoint=str(body.get("server_endpoint") or ""),
            scope=str(body.get("scope") or ""),
            status=str(body.get("status") or ""),
            user_id=_int_or_none(body.get("user_id")),
        )

    def _expires_at(self, body: Mapping[str, Any]) -> float:
        # expires_in is relative, so our clock's skew from theirs does not matter; "expires" is
        # absent from authorization-code answers (protocol §4).
        expires_in = _float_or_none(body.get("expires_in"))
        if expires_in is not None:
            return self._clock() + expires_in
        expires = _float_or_none(body.get("expires"))
        if expires is not None:
            return expires
        return self._clock() + 3600.0  # the documented access-token lifetime


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _required(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise KeyError(key)
    return value


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _int_or_none(value: Any) -> int | None:
    number = _float_or_none(value)
    return int(number) if number is not None and number.is_integer() else None
