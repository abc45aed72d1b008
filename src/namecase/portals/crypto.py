"""Secrets at rest: tokens encrypted with Fernet, the application token kept only as a hash."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenCipher:
    """Encrypts with the first key, decrypts with any (NAMECASE_SECRET_KEYS rotation)."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken as error:
            raise ValueError(
                "a stored token cannot be decrypted with NAMECASE_SECRET_KEYS "
                "(was a key removed before `namecase rotate-keys` ran?)"
            ) from error

    def rotate(self, ciphertext: bytes) -> bytes:
        """Re-encrypt with the first (newest) key."""
        return self._fernet.rotate(ciphertext)


def hash_application_token(token: str) -> str:
    """SHA-256 hex of the application_token (it is a random secret, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def application_token_matches(token: str, stored_hash: str | None) -> bool:
    """Constant-time comparison of a presented application_token with the stored hash."""
    if not stored_hash:
        return False
    return hmac.compare_digest(hash_application_token(token), stored_hash)
