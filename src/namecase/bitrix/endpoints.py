"""Which hosts we may talk to: the checks run before any request leaves the process.

The client secret goes only to allow-listed OAuth servers, the access token only to the portal's
stored (OAuth-confirmed) client_endpoint, and both only over https unless explicitly allowed for
the local emulator (issue 5 item 6; bitrix24-protocol.md §4, §5).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

import httpx

from namecase.bitrix.errors import ForbiddenEndpoint

_DEFAULT_PORTS = {"http": 80, "https": 443}
# A DNS name (IDNA-encoded by httpx) or an IP literal; httpx itself accepts "a%20b" as a host.
_HOST = re.compile(r"[a-z0-9._-]+|[0-9a-f:.]+", re.IGNORECASE)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` lower-cased, default port dropped: the unit allow-lists compare."""
    parsed = _parse(url)
    port = "" if parsed.port in (None, _DEFAULT_PORTS.get(parsed.scheme)) else f":{parsed.port}"
    return f"{parsed.scheme}://{parsed.host}{port}"


def oauth_origin(server_endpoint: str, *, allowed: Iterable[str], allow_http: bool) -> str:
    """The OAuth server origin named by ``server_endpoint``, if we may send it our secret."""
    origin = origin_of(server_endpoint)
    _require_scheme(origin, allow_http=allow_http)
    if origin not in {origin_of(entry) for entry in allowed}:
        raise ForbiddenEndpoint(description=f"OAuth server {origin} is not in OAUTH_SERVERS")
    return origin


def rest_endpoint(client_endpoint: str, *, allow_http: bool) -> str:
    """A portal's REST base URL, checked and ending in "/" so that base + method is the call URL."""
    parsed = _parse(client_endpoint)
    _require_scheme(client_endpoint, allow_http=allow_http)
    if parsed.query or parsed.fragment:
        raise ForbiddenEndpoint(description="a REST endpoint carries no query or fragment")
    text = str(parsed)
    return text if text.endswith("/") else text + "/"


def public_endpoint(url: str, *, allow_http: bool) -> str:
    """`url`, unless it names a loopback, private or link-local address (or localhost).

    Used for the host a portal redirects us to: the stored endpoint was confirmed by the OAuth
    server, a redirect target was not, and we re-send the access token there. With ALLOW_HTTP
    (the local emulator on 127.0.0.1) any host is accepted.
    """
    if allow_http:
        return url
    host = _parse(url).host
    if host == "localhost" or host.endswith(".localhost"):
        raise ForbiddenEndpoint(description="a redirect to localhost is refused")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return url  # a name, not an address literal
    if not address.is_global:
        raise ForbiddenEndpoint(description="a redirect to a non-public address is refused")
    return url


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ForbiddenEndpoint(description="not a valid URL") from exc
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        raise ForbiddenEndpoint(description="not an absolute http(s) URL")
    if not _HOST.fullmatch(parsed.raw_host.decode("ascii", "replace")):
        raise ForbiddenEndpoint(description="not a valid host name")
    if parsed.userinfo:
        raise ForbiddenEndpoint(description="URLs with credentials are refused")
    return parsed


def _require_scheme(url: str, *, allow_http: bool) -> None:
    # Bitrix itself refuses plain http ("Https required", protocol §5); http is for the emulator.
    if not allow_http and not url.lower().startswith("https://"):
        raise ForbiddenEndpoint(description=f"{origin_of(url)} is not https and ALLOW_HTTP is off")
