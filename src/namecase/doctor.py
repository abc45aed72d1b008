"""`namecase doctor`: the configuration checked as an operator needs it, as a checklist.

Each check says what it found and, when something is wrong, what to do. Nothing is written: the
database is only read (an embedded SQLite file that does not exist yet is not created).
"""

from __future__ import annotations

import asyncio
import math
import socket
import string
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select

from namecase.db import create_engine, create_session_factory
from namecase.front.exposure import is_local_host, public_url_problems, real_oauth_servers
from namecase.health import readiness
from namecase.portals.models import Portal
from namecase.settings import ADMIN_TOKEN_MIN_LENGTH, Settings, origin_of

RESOLVE_TIMEOUT = 5.0
ADMIN_TOKEN_MIN_BITS = 128
# Placeholders of .env.example and the like: a token that says "change me" was not changed.
_PLACEHOLDERS = ("change-me", "changeme", "change_me", "secret", "password", "admin")


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    ok: bool
    detail: str


async def diagnose(settings: Settings) -> list[Check]:
    """Every check, in the order an operator would fix them."""
    checks = [Check("settings", True, "valid")]
    database = await _database(settings)
    checks.append(database)
    # Stored portals can be read only from a database that exists and answers.
    readable = database.ok and not _not_created(settings)
    if readable:
        checks.append(await _stored_tokens(settings))
    checks.append(await _public_url(settings))
    checks.append(_oauth_servers(settings))
    if readable:
        checks.append(await _portal_oauth_servers(settings))
    checks.append(_credentials(settings))
    checks.append(_admin_token(settings.admin_token))
    return checks


def report(checks: Sequence[Check]) -> tuple[str, int]:
    """The checklist as text, and the exit code (1 when anything is wrong)."""
    width = max(len(check.name) for check in checks)
    lines = [f"{'ok  ' if c.ok else 'FAIL'}  {c.name.ljust(width)}  {c.detail}" for c in checks]
    failed = sum(not check.ok for check in checks)
    lines.append("everything checked is in order" if not failed else f"{failed} problem(s) found")
    return "\n".join(lines), 1 if failed else 0


# --- the database ------------------------------------------------------------------------------


def _not_created(settings: Settings) -> bool:
    """An embedded database whose file is not there yet (connecting would create it)."""
    path = settings.sqlite_path
    return path is not None and not path.exists()


async def _database(settings: Settings) -> Check:
    if _not_created(settings):
        detail = f"{settings.sqlite_path} does not exist yet; `namecase serve` creates it"
        return Check("database", True, detail)
    engine = create_engine(settings.database_url)
    try:
        state = await readiness(engine)
    finally:
        await engine.dispose()
    if state.ready:
        return Check("database", True, f"reachable, migrations at head ({state.revision})")
    if settings.is_sqlite and state.revision is not None:
        return Check("database", True, f"{state.reason} (`namecase serve` does it on start)")
    return Check("database", False, state.reason)


async def _stored_portals(settings: Settings) -> list[Portal]:
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return list((await session.execute(select(Portal))).scalars().all())
    except Exception:  # an unmigrated embedded database has no portals table yet
        return []
    finally:
        await engine.dispose()


def _configured_keys(settings: Settings) -> tuple[str, ...]:
    """The keys the service would use, without generating the embedded key file."""
    if settings.secret_keys:
        return settings.secret_keys
    path = settings.sqlite_path
    key_file = path.with_suffix(".key") if path is not None else None
    if key_file is None or not key_file.exists():
        return ()
    return (key_file.read_text().strip(),)


async def _stored_tokens(settings: Settings) -> Check:
    ciphertexts = [
        (portal.member_id, token)
        for portal in await _stored_portals(settings)
        for token in (portal.access_token_enc, portal.refresh_token_enc)
        if token is not None
    ]
    if not ciphertexts:
        return Check("secret keys", True, "no stored tokens yet")
    keys = _configured_keys(settings)
    if not keys:
        return Check("secret keys", False, "tokens are stored but no key is configured")
    every_key = MultiFernet([Fernet(key.encode()) for key in keys])
    first_key = Fernet(keys[0].encode())
    unreadable: set[str] = set()
    older = 0
    for member_id, token in ciphertexts:
        try:
            every_key.decrypt(token)
        except InvalidToken:
            unreadable.add(member_id)
            continue
        try:
            first_key.decrypt(token)
        except InvalidToken:
            older += 1
    if unreadable:
        names = ", ".join(sorted(unreadable)[:5])
        return Check(
            "secret keys",
            False,
            f"tokens of {len(unreadable)} portal(s) do not decrypt ({names}): "
            "a key was removed from NAMECASE_SECRET_KEYS before `namecase rotate-keys` ran",
        )
    detail = f"all {len(ciphertexts)} stored tokens decrypt"
    if older:
        detail += f"; {older} still use an older key (run `namecase rotate-keys`)"
    return Check("secret keys", True, detail)


# --- what Bitrix24 and the OAuth servers see ----------------------------------------------------


async def _public_url(settings: Settings) -> Check:
    url = settings.public_url
    host = urlsplit(url).hostname or ""
    problems = public_url_problems(settings)
    if "not_https" in problems:
        detail = f"{url} is not https: Bitrix24 calls only https handlers"
        if "local_host" in problems:
            detail += f"; and {host} is this machine or a private network"
        return Check("PUBLIC_URL", False, detail)
    addresses = await _resolve(host)
    if not addresses:
        return Check(
            "PUBLIC_URL", False, f"{host} does not resolve (DNS): Bitrix24 cannot reach it"
        )
    local = [address for address in addresses if is_local_host(address)]
    if real_oauth_servers(settings) and local:
        return Check(
            "PUBLIC_URL",
            False,
            f"{host} resolves to {', '.join(local)} here: Bitrix24's servers cannot connect there",
        )
    note = "" if real_oauth_servers(settings) else " (local emulator setup)"
    return Check("PUBLIC_URL", True, f"{url} resolves to {', '.join(addresses)}{note}")


async def _resolve(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        answers = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
    except (OSError, TimeoutError):
        return []
    return sorted({str(answer[4][0]) for answer in answers})


def _oauth_servers(settings: Settings) -> Check:
    servers = ", ".join(settings.oauth_servers)
    if not settings.oauth_servers:
        return Check("OAUTH_SERVERS", False, "empty: no install can be confirmed")
    if settings.allow_http and real_oauth_servers(settings):
        return Check(
            "OAUTH_SERVERS",
            False,
            f"{servers} with ALLOW_HTTP=true: plain http is for the local emulator only",
        )
    return Check("OAUTH_SERVERS", True, servers)


async def _portal_oauth_servers(settings: Settings) -> Check:
    allowed = set(settings.oauth_servers)
    outside = sorted(
        {
            f"{portal.domain} → {origin_of(portal.server_endpoint)}"
            for portal in await _stored_portals(settings)
            if portal.state != "uninstalled" and origin_of(portal.server_endpoint) not in allowed
        }
    )
    if outside:
        return Check(
            "portals' OAuth servers",
            False,
            f"not in OAUTH_SERVERS, so their tokens cannot be refreshed: {'; '.join(outside[:5])}",
        )
    return Check("portals' OAuth servers", True, "every installed portal's is allow-listed")


def _credentials(settings: Settings) -> Check:
    missing = [
        name
        for name, value in (
            ("CLIENT_ID", settings.client_id),
            ("CLIENT_SECRET", settings.client_secret),
        )
        if not value
    ]
    if missing:
        return Check(
            "app credentials",
            False,
            f"{' and '.join(missing)} unset: copy them from the Bitrix24 developer cabinet",
        )
    return Check("app credentials", True, f"CLIENT_ID {settings.client_id}")


def _admin_token(token: str | None) -> Check:
    if not token:
        return Check("ADMIN_TOKEN", False, "unset: /admin is off and nobody can see the fleet")
    lowered = token.lower()
    if any(placeholder in lowered for placeholder in _PLACEHOLDERS):
        return Check("ADMIN_TOKEN", False, "still a placeholder: generate a random one")
    bits = token_bits(token)
    if len(token) < ADMIN_TOKEN_MIN_LENGTH or bits < ADMIN_TOKEN_MIN_BITS:
        return Check(
            "ADMIN_TOKEN",
            False,
            f"weak ({len(token)} characters, about {bits:.0f} bits; want "
            f"{ADMIN_TOKEN_MIN_LENGTH}+ characters and {ADMIN_TOKEN_MIN_BITS}+ bits): "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    return Check("ADMIN_TOKEN", True, f"set ({len(token)} characters, about {bits:.0f} bits)")


def token_bits(token: str) -> float:
    """An upper estimate of a token's entropy from its length and the character classes it uses."""
    pool = 0
    for alphabet in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        if any(character in alphabet for character in token):
            pool += len(alphabet)
    if any(not character.isalnum() for character in token):
        pool += 32
    distinct = len(set(token))
    return len(token) * math.log2(max(pool, 2)) if distinct > 1 else 0.0
