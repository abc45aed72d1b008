"""Key rotation for the tokens at rest (NAMECASE_SECRET_KEYS, issue 5 item 1).

The procedure: put a new Fernet key FIRST in NAMECASE_SECRET_KEYS, keep the old ones after it,
and restart every process (from then on new tokens are encrypted with the new key and old ones
still decrypt). Then run `namecase rotate-keys`: every stored token is re-encrypted with the
first key. After that the old keys can be removed.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from namecase.db import create_engine, create_session_factory
from namecase.portals.crypto import TokenCipher
from namecase.portals.repository import PortalRepository
from namecase.settings import Settings


async def rotate_keys(sessions: async_sessionmaker[AsyncSession], cipher: TokenCipher) -> int:
    """Re-encrypt every stored token with the cipher's first key; returns how many tokens.

    One short transaction per portal, under the same row lock as a token refresh, so rotating
    while workers run neither blocks them for long nor loses a pair they are storing.
    Raises ValueError (and leaves that portal as it was) if a token cannot be decrypted with
    any of the cipher's keys.
    """
    async with sessions() as session:
        member_ids = await PortalRepository(session).member_ids_with_tokens()
    rotated = 0
    for member_id in member_ids:
        async with sessions() as session, session.begin():
            portal = await PortalRepository(session).lock(member_id)
            if portal is None:
                continue  # deleted meanwhile
            if portal.access_token_enc is not None:
                portal.access_token_enc = _rotated(cipher, portal.access_token_enc)
                rotated += 1
            if portal.refresh_token_enc is not None:
                portal.refresh_token_enc = _rotated(cipher, portal.refresh_token_enc)
                rotated += 1
    return rotated


def _rotated(cipher: TokenCipher, ciphertext: bytes) -> bytes:
    cipher.decrypt(ciphertext)  # a clear error for a missing key, before anything is written
    return cipher.rotate(ciphertext)


async def rotate_database_keys(settings: Settings) -> int:
    """`namecase rotate-keys`: rotate_keys over the configured database and keys."""
    engine = create_engine(settings.database_url)
    try:
        return await rotate_keys(
            create_session_factory(engine), TokenCipher(settings.fernet_keys())
        )
    finally:
        await engine.dispose()
