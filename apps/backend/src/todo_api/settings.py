"""Configuration read from the environment, validated once at start."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 32
# Not a setting: `python -m todo_api serve` sets it for its workers, to a directory made afresh
# at each start, where a worker records that the server has reached its database (app.py).
STATE_DIR_ENV = "TODO_API_STATE_DIR"
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class ConfigError(Exception):
    """Settings that stop the process at start; the message is one line for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str | None = None
    sqlite_path: Path = Path("todo.db")
    jwt_secret: str | None = Field(default=None, repr=False)
    jwt_expire_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)
    # How long this process trusts the database's word that a token's session is current
    # (see sessions.py); 0 asks on every request.
    session_check_seconds: float = Field(default=5.0, ge=0, le=60)
    cors_origins: str = ""
    log_level: LogLevel = "info"
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=5, ge=0, le=100)
    web_concurrency: int = Field(default=1, ge=1, le=64)
    # Prometheus metrics on a port of their own, off the API's (which every client reaches);
    # unset, no metrics are served.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # The interactive docs (/docs, /redoc) and /openapi.json: a map of every endpoint, off
    # unless asked for.
    api_docs: bool = False
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    ready_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # Password hashing: at most this many argon2 hashes (19 MiB each) at once per worker; a
    # request waits up to PASSWORD_HASH_WAIT_SECONDS for a slot, then gets 503 + Retry-After.
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
    password_hash_wait_seconds: float = Field(default=2.0, ge=0, le=30)
    # Throttling (shared by every worker and replica through the database); 0 turns a limit off.
    # Failed logins for one email from one client address per window, then 429.
    login_account_address_attempts: int = Field(default=10, ge=0, le=1_000_000)
    # Failed logins for one email from any addresses per window, then each further attempt
    # for it waits (never 429, so that guessing from elsewhere cannot keep the owner out)...
    login_account_attempts: int = Field(default=10, ge=0, le=1_000_000)
    # ...up to this long. At most 2 s: the frontend gives a backend call 5 s, and a login may
    # also wait PASSWORD_HASH_WAIT_SECONDS (default 2) for a hashing slot.
    login_account_max_delay_seconds: float = Field(default=1.0, gt=0, le=2)
    # Failed logins from one client address per window, whatever the emails, then 429.
    login_address_attempts: int = Field(default=50, ge=0, le=1_000_000)
    login_window_seconds: int = Field(default=300, ge=1, le=86_400)
    signup_address_attempts: int = Field(default=20, ge=0, le=1_000_000)
    signup_window_seconds: int = Field(default=3600, ge=1, le=86_400)
    # Shared with the frontend: a request that carries it in X-Client-Address-Secret may name
    # the person's address in X-Client-Address. Unset: the connection's peer address counts.
    forwarded_address_secret: str | None = Field(default=None, repr=False)
    # How long the answer of a write sent with an Idempotency-Key is kept (and replayed).
    idempotency_key_hours: int = Field(default=24, ge=24, le=24 * 30)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_log_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("forwarded_address_secret")
    @classmethod
    def _empty_secret_is_unset(cls, value: str | None) -> str | None:
        return value if value else None

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in _POSTGRES_SCHEMES:
            raise ValueError("must be a postgresql:// or postgres:// URL")
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError("has no host")
        return urlunsplit(parts._replace(scheme="postgresql+psycopg"))

    @model_validator(mode="after")
    def _require_secret_with_database(self) -> Settings:
        if self.jwt_secret is not None and len(self.jwt_secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        secret = self.forwarded_address_secret
        if secret is not None and len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"FORWARDED_ADDRESS_SECRET must be at least {MIN_SECRET_LENGTH} characters"
            )
        if self.database_url is not None and self.jwt_secret is None:
            raise ValueError("JWT_SECRET is required when DATABASE_URL is set")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url is None

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.sqlite_path.expanduser().resolve()}"

    @property
    def sync_sqlalchemy_url(self) -> str:
        """URL for the synchronous engine that runs migrations."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite:///{self.sqlite_path.expanduser().resolve()}"

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def signing_secret(self) -> str:
        if self.jwt_secret is None:  # set by load_settings in dev mode
            raise ConfigError("JWT_SECRET is not set")
        return self.jwt_secret


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]).upper() or "settings"
    message = str(first["msg"]).removeprefix("Value error, ")
    if field == "settings":
        return message
    return f"{field}: {message}"


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """Read the environment; raise ConfigError with a one-line reason on bad settings."""
    try:
        settings = Settings()
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None
    if settings.jwt_secret is None:
        # Dev mode (SQLite): tokens only need to survive this process.
        settings.jwt_secret = secrets.token_urlsafe(48)
        logger.warning("JWT_SECRET is not set: using a random secret, tokens end with the process")
    return settings
