"""Which hosts we may talk to: the one place that decides, before and while a request leaves.

The client secret goes only to allow-listed OAuth servers, the access token only to the portal's
stored (OAuth-confirmed) client_endpoint, and both only over https unless explicitly allowed for
the local emulator (issue 5 item 6; bitrix24-protocol.md §4, §5). Neither may reach a host of
ours: a portal's endpoint, or the target of its 302 (which the OAuth server never confirmed,
settings/how-to-call-rest-api/change-domen.md), could name a loopback, private or metadata
address, and we would send it our access token (issue 14 item 3). So:

- the *form* of a host is checked wherever a URL is accepted (`rest_endpoint`, `oauth_origin`):
  address literals must be public and written canonically — `2130706433`, `127.1`, `0x7f000001`
  are all 127.0.0.1 to the system resolver;
- the *addresses* a name resolves to are checked by `EndpointGuard` when a connection is opened
  (bitrix/transport.py), and the connection goes to the address that was checked, so a DNS answer
  cannot change between the check and the call.

ALLOW_HTTP (the local emulator) allows loopback addresses, and only those.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence

import httpx

from namecase.bitrix.errors import ForbiddenEndpoint

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port → the addresses the name resolves to (as text); tests inject their own answers.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# A DNS name (IDNA-encoded by httpx) or an IP literal; httpx itself accepts "a%20b" as a host.
_HOST = re.compile(r"[a-z0-9._-]+|[0-9a-f:.]+", re.IGNORECASE)
# WHATWG URL: a host whose last label is a number (decimal, 0x-hex or 0-octal) is an IPv4
# address, and inet_aton() reads it the same way, whatever the other labels look like.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*", re.IGNORECASE)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address


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
    _require_host_form(_parse(origin), allow_loopback=allow_http)
    return origin


def rest_endpoint(client_endpoint: str, *, allow_http: bool) -> str:
    """A portal's REST base URL, checked and ending in "/" so that base + method is the call URL."""
    parsed = _parse(client_endpoint)
    _require_scheme(client_endpoint, allow_http=allow_http)
    if parsed.query or parsed.fragment:
        raise ForbiddenEndpoint(description="a REST endpoint carries no query or fragment")
    _require_host_form(parsed, allow_loopback=allow_http)
    text = str(parsed)
    return text if text.endswith("/") else text + "/"


def host_refusal(host: str, *, allow_loopback: bool) -> str | None:
    """Why ``host`` (ASCII, as in a URL, IPv6 without brackets) may not be called, or None.

    Looks at the text only: names are judged by what they resolve to (`EndpointGuard`).
    """
    name = host.lower()
    if name in ("localhost", "localhost.") or name.rstrip(".").endswith(".localhost"):
        return None if allow_loopback else "localhost is refused"
    literal = _literal(name)
    if literal is not None:
        return address_refusal(literal, allow_loopback=allow_loopback)
    if ":" in name or "%" in name:
        return "not a valid IPv6 address"
    if _NUMERIC_LABEL.fullmatch(name.rstrip(".").rpartition(".")[2]):
        return "an IPv4 address must be written as four decimal numbers"
    return None


def address_refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why we may not connect to ``address``, or None for a publicly routed one."""
    kind = _refused_kind(address, allow_loopback=allow_loopback)
    return None if kind is None else f"{kind} address is refused"


def _refused_kind(address: IPAddress, *, allow_loopback: bool) -> str | None:
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return _refused_kind(embedded, allow_loopback=allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "a loopback"
    for refused, kind in (
        (address.is_unspecified, "an unspecified"),
        (address.is_link_local, "a link-local"),
        (address.is_multicast, "a multicast"),
        (address.is_private, "a private"),
        (address.is_reserved, "a reserved"),
        (not address.is_global, "a non-public"),
    ):
        if refused:
            return kind
    return None


class EndpointGuard:
    """Resolves a host and checks every address it names before anything connects to it."""

    def __init__(
        self,
        *,
        allow_loopback: bool,
        resolver: Resolver | None = None,
        emulator_hosts: Sequence[str] = (),
    ) -> None:
        """``emulator_hosts`` (NAMECASE_EMULATOR_HOSTS) resolve to 127.0.0.1: the local
        emulator's portal names (issue 17). Only with ``allow_loopback``; empty in production,
        where resolution and every check are exactly as without it."""
        if emulator_hosts:
            if not allow_loopback:
                raise ValueError("emulator hosts resolve to loopback: ALLOW_HTTP only")
            resolver = emulator_resolver(emulator_hosts, resolver)
        self.allow_loopback = allow_loopback
        self._resolve = resolver or system_resolver

    async def addresses(self, host: str, port: int) -> list[str]:
        """The checked addresses of ``host``, in the resolver's order; connect to these only.

        Raises ForbiddenEndpoint when the host's form or any of its addresses is refused (one
        bad answer among good ones refuses all: the connection could pick it), OSError when the
        name does not resolve.
        """
        refusal = host_refusal(host, allow_loopback=self.allow_loopback)
        if refusal is not None:
            raise ForbiddenEndpoint(description=f"{host[:100]}: {refusal}")
        literal = _literal(host.lower())
        if literal is not None:
            return [str(literal)]
        checked: list[str] = []
        for answer in await self._resolve(host, port):
            address = _literal(answer.partition("%")[0])
            kind = (
                "an unreadable"
                if address is None
                else _refused_kind(address, allow_loopback=self.allow_loopback)
            )
            if kind is not None:
                raise ForbiddenEndpoint(description=f"{host[:100]} resolves to {kind} address")
            if str(address) not in checked:
                checked.append(str(address))
        if not checked:
            raise OSError(f"{host[:100]} has no address")
        return checked

    async def check(self, url: str) -> None:
        """Refuse ``url`` unless its host resolves to addresses we may call (see `addresses`)."""
        parsed = _parse(url)
        await self.addresses(parsed.raw_host.decode("ascii"), parsed.port or 443)


def emulator_resolver(names: Sequence[str], fallback: Resolver | None = None) -> Resolver:
    """A resolver that answers 127.0.0.1 for ``names`` and the names under them, for the local
    emulator, whose portals are each their own host on one loopback port (docs/EMULATOR.md);
    other names go to ``fallback`` (the system's). The guard still checks the answer: loopback
    passes only with ALLOW_HTTP (settings refuse EMULATOR_HOSTS without it).
    """
    suffixes = tuple(name.lower().strip(".") for name in names)
    resolve_elsewhere = fallback or system_resolver

    async def resolve(host: str, port: int) -> Sequence[str]:
        name = host.lower().rstrip(".")
        if any(name == suffix or name.endswith(f".{suffix}") for suffix in suffixes):
            return ["127.0.0.1"]
        return await resolve_elsewhere(host, port)

    return resolve


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's answer (getaddrinfo, run off the event loop by asyncio)."""
    answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(answer[4][0]) for answer in answers]


def _literal(host: str) -> IPAddress | None:
    """The address a canonical IP literal names, else None (names, non-canonical forms)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version == 4 and str(address) != host:
        return None  # only the canonical dotted quad is a literal; the rest are refused above
    return address


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries to (mapped, 6to4, NAT64), if any."""
    if address.version != 6:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _require_host_form(parsed: httpx.URL, *, allow_loopback: bool) -> None:
    refusal = host_refusal(parsed.raw_host.decode("ascii"), allow_loopback=allow_loopback)
    if refusal is not None:
        raise ForbiddenEndpoint(description=f"{parsed.host[:100]}: {refusal}")


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
    # Bitrix itself refuses plain http ("Https required", protocol §5,
    # settings/how-to-call-rest-api/general-principles.md); http is for the emulator.
    if not allow_http and not url.lower().startswith("https://"):
        raise ForbiddenEndpoint(description=f"{origin_of(url)} is not https and ALLOW_HTTP is off")
