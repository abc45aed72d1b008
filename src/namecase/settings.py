"""Service configuration: environment variables with the prefix NAMECASE_, also read from `.env`.

Every setting is validated when the process starts, so a typo fails loudly at boot instead of at the
first portal call. The table in README.md ("Configuration") documents each one.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./namecase.db"
DEFAULT_OAUTH_SERVERS = ("https://oauth.bitrix.info", "https://oauth.bitrix24.tech")
# A bearer token guessed or copied from .env.example opens every portal's status page.
ADMIN_TOKEN_MIN_LENGTH = 24
EXAMPLE_ADMIN_TOKENS = frozenset({"change-me-too", "change-me"})


# A DNS name with a dot whose last label is not a number (an address is no name to map).
_EMULATOR_HOST = re.compile(r"(?=.*\.)(?!.*\.[0-9]+$)[a-z0-9]([a-z0-9.-]*[a-z0-9])?", re.IGNORECASE)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _shown(url: str) -> str:
    """A URL for an error message: without user and password, should it carry them."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=host).geturl()


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, lower-cased, the unit the allow-lists compare."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class Settings(BaseSettings):
    """All settings of the service (DESIGN.md §3)."""

    # hide_input_in_errors: pydantic would otherwise print the offending value (a secret key, the
    # client secret, a database URL with its password) in the error shown at start.
    model_config = SettingsConfigDict(
        env_prefix="NAMECASE_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    database_url: str = DEFAULT_DATABASE_URL
    client_id: str = ""
    client_secret: str = ""
    public_url: str = "http://127.0.0.1:8000"
    oauth_servers: Annotated[tuple[str, ...], NoDecode] = DEFAULT_OAUTH_SERVERS
    allow_http: bool = False
    # The local emulator's portal names (issue 17): names equal to or under these resolve to
    # 127.0.0.1 in our HTTP client (bitrix/endpoints.py, emulator_resolver). ALLOW_HTTP only.
    emulator_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    admin_token: str | None = None
    secret_keys: Annotated[tuple[str, ...], NoDecode] = ()
    worker: bool | None = None
    reconcile_interval: float = Field(default=60.0, ge=0)
    # docs/LIFECYCLE.md: a payment_required or unreachable portal is probed this often (and when
    # an event arrives or its page opens); an active portal's `event.get` is compared with what
    # should be bound this often (and when a worker starts).
    recovery_interval: float = Field(default=900.0, ge=10)
    binding_check_interval: float = Field(default=3600.0, ge=60)
    # Issue 13 (bitrix24-protocol.md §10): `auto` collects offline events with our auth_connector
    # wherever the portal allows them and binds online events elsewhere; `online` never tries.
    event_mode: str = Field(default="auto", pattern="^(auto|online)$")
    # The reconciliation sweep of a portal whose offline queue is kept with reserve/confirm
    # (rest_offline_extended): a net, not the way changes are found. 0 turns it off there.
    offline_reconcile_interval: float = Field(default=3600.0, ge=0)
    lease_seconds: float = Field(default=30.0, gt=0)
    # Beyond DESIGN.md §3: operational knobs with safe defaults.
    rest_log_retention_days: float = Field(default=3.0, gt=0)
    inbox_retention_days: float = Field(default=7.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    # An idle portal's first event waits this long so a burst is fetched in full batches of 50.
    batch_window: float = Field(default=0.5, ge=0, le=30)
    # Seconds of the portal's drain kept free in our copy of its rate budget: the spread between
    # when we count a request and when the portal does (bitrix/rate.py, bench/rate_margin.py).
    rate_margin_seconds: float = Field(default=2.0, ge=0, le=30)
    # Seconds of one method's operating time (its last ten minutes, limits.md) at which a portal
    # waits for the oldest minute to drop off before more work: blocked past a limit that is
    # 420 s on-premise by default and set by configuration in the cloud. 0: never wait.
    operating_budget: float = Field(default=300.0, ge=0)
    # `namecase worker` serves its own Prometheus metrics (REST calls, refreshes, records
    # updated, event-to-update latency) on this port; 0 = not at all. `serve` has /metrics.
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    rest_timeout: float = Field(default=65.0, gt=0)
    event_max_bytes: int = Field(default=65536, ge=1024)
    # Slow clients (issue 14 item 7): a request's headers, and then its body, must arrive within
    # these many seconds, or the connection is closed; at most `http_limit_concurrency`
    # connections are served at once (uvicorn answers 503 past it).
    http_header_timeout: float = Field(default=10.0, gt=0, le=300)
    http_body_timeout: float = Field(default=20.0, gt=0, le=300)
    http_limit_concurrency: int = Field(default=1000, ge=1)
    # Install attempts (each costs an OAuth call with our secret) per minute, and burst: per
    # caller address and overall (issue 14 item 5, portals/throttle.py).
    install_limit_per_caller: float = Field(default=10.0, ge=1)
    install_limit_overall: float = Field(default=120.0, ge=1)
    bx24_js_url: str = "//api.bitrix24.com/api/v1/"
    log_format: str = Field(default="auto", pattern="^(auto|json|text)$")
    log_level: str = "INFO"

    _split_servers = field_validator(
        "oauth_servers", "secret_keys", "emulator_hosts", mode="before"
    )(_split_csv)

    @field_validator("emulator_hosts")
    @classmethod
    def _host_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not _EMULATOR_HOST.fullmatch(name):
                raise ValueError(f"EMULATOR_HOSTS: {name[:100]!r} is not a DNS name")
        return tuple(name.lower() for name in names)

    @field_validator("oauth_servers")
    @classmethod
    def _origins_only(cls, servers: tuple[str, ...]) -> tuple[str, ...]:
        for server in servers:
            parts = urlsplit(server)
            if parts.scheme not in ("https", "http") or not parts.netloc:
                raise ValueError(f"OAUTH_SERVERS entry {_shown(server)!r} is not an http(s) origin")
        return tuple(origin_of(server) for server in servers)

    @field_validator("secret_keys")
    @classmethod
    def _valid_fernet_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        for position, key in enumerate(keys, start=1):
            try:
                Fernet(key.encode())
            except (ValueError, TypeError) as error:
                raise ValueError(
                    f"SECRET_KEYS entry #{position} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes); "
                    "generate one with: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'"
                ) from error
        return keys

    @field_validator("admin_token")
    @classmethod
    def _strong_admin_token(cls, token: str | None) -> str | None:
        if token is None or token == "":
            return None  # unset: the admin surface does not exist
        if token.strip() in EXAMPLE_ADMIN_TOKENS:
            raise ValueError("ADMIN_TOKEN is the example value from .env.example; generate one")
        if len(token) < ADMIN_TOKEN_MIN_LENGTH:
            raise ValueError(
                f"ADMIN_TOKEN is shorter than {ADMIN_TOKEN_MIN_LENGTH} characters; generate one "
                "with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return token

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError(f"PUBLIC_URL {_shown(url)!r} must be an absolute http(s) URL")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _https_unless_allowed(self) -> Settings:
        plain = [server for server in self.oauth_servers if server.startswith("http://")]
        if plain and not self.allow_http:
            raise ValueError(
                f"OAUTH_SERVERS {[_shown(server) for server in plain]} use http://; "
                "set NAMECASE_ALLOW_HTTP=true (local emulator only)"
            )
        return self

    @model_validator(mode="after")
    def _emulator_hosts_with_http_only(self) -> Settings:
        if self.emulator_hosts and not self.allow_http:
            raise ValueError(
                "NAMECASE_EMULATOR_HOSTS maps names to this machine for the local emulator; "
                "it needs NAMECASE_ALLOW_HTTP=true and is never for production"
            )
        return self

    @model_validator(mode="after")
    def _keys_for_postgres(self) -> Settings:
        if self.is_postgres and not self.secret_keys:
            raise ValueError(
                "NAMECASE_SECRET_KEYS is required with PostgreSQL: tokens are stored encrypted"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def runs_worker_in_serve(self) -> bool:
        """`serve` runs the worker in-process by default only on the embedded database."""
        return self.is_sqlite if self.worker is None else self.worker

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1] if ":///" in self.database_url else ""
        return None if path in ("", ":memory:") else Path(path)

    def fernet_keys(self) -> tuple[str, ...]:
        """The configured keys, or on the embedded database a key file generated beside it."""
        if self.secret_keys:
            return self.secret_keys
        path = self.sqlite_path
        if path is None:
            raise ValueError("NAMECASE_SECRET_KEYS is required for this database")
        return (_embedded_key(path.with_suffix(".key")),)


def _embedded_key(key_path: Path) -> str:
    """Read, or create with mode 0600, the key file of the embedded deployment."""
    if key_path.exists():
        return key_path.read_text().strip()
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
