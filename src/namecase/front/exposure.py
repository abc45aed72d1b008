"""Can Bitrix24 reach PUBLIC_URL? The same rule for the front page and `namecase doctor`.

Bitrix24 calls only https handlers from its own servers (bitrix24-protocol.md §1), so a PUBLIC_URL
that is plain http or names this machine works only against the local emulator. When every OAuth
server is local too, the setup is the emulator's and nothing is wrong.
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from namecase.settings import Settings

Problem = Literal["not_https", "local_host"]


def is_local_host(host: str) -> bool:
    """localhost, or a loopback, private, link-local or unspecified address (unreachable)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
    )


def real_oauth_servers(settings: Settings) -> list[str]:
    """The configured OAuth servers that are not on this machine or its network."""
    return [
        server
        for server in settings.oauth_servers
        if not is_local_host(urlsplit(server).hostname or "")
    ]


def public_url_problems(settings: Settings) -> list[Problem]:
    """Why Bitrix24 could not call PUBLIC_URL (empty for the local emulator's setup)."""
    if not real_oauth_servers(settings):
        return []
    parts = urlsplit(settings.public_url)
    problems: list[Problem] = []
    if parts.scheme != "https":
        problems.append("not_https")
    if is_local_host(parts.hostname or ""):
        problems.append("local_host")
    return problems
