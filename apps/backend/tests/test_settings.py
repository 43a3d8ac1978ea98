from __future__ import annotations

import os
import subprocess
import sys

import pytest

from todo_api.settings import ConfigError, Settings, load_settings

SECRET = "s" * 32


def test_postgres_urls_are_normalised_to_psycopg() -> None:
    for scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        settings = Settings(database_url=f"{scheme}://u:p@db:5432/todo", jwt_secret=SECRET)
        assert settings.sqlalchemy_url == "postgresql+psycopg://u:p@db:5432/todo"


def test_neon_style_query_parameters_are_kept() -> None:
    url = "postgresql://u:p@ep-x.eu.aws.neon.tech/db?sslmode=require&channel_binding=require"
    settings = Settings(database_url=url, jwt_secret=SECRET)
    assert settings.sqlalchemy_url.endswith("/db?sslmode=require&channel_binding=require")


def test_sqlite_is_the_default() -> None:
    settings = Settings(database_url=None, jwt_secret=None)
    assert settings.is_sqlite
    assert settings.sqlalchemy_url.startswith("sqlite+aiosqlite:///")


def test_cors_origins_are_a_comma_list() -> None:
    settings = Settings(cors_origins=" https://a.example , ,https://b.example")
    assert settings.cors_origin_list == ["https://a.example", "https://b.example"]


def test_throttling_and_hashing_defaults() -> None:
    settings = Settings(forwarded_address_secret="")
    assert settings.forwarded_address_secret is None  # empty means unset
    assert (settings.password_hash_concurrency, settings.password_hash_wait_seconds) == (2, 2.0)
    assert settings.login_account_address_attempts == 10
    assert (settings.login_account_attempts, settings.login_account_max_delay_seconds) == (10, 1.0)
    assert settings.login_address_attempts == 50
    assert settings.login_window_seconds == 300
    assert (settings.signup_address_attempts, settings.signup_window_seconds) == (20, 3600)


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "JWT_SECRET"}}
    return subprocess.run(
        [sys.executable, "-m", "todo_api", "migrate"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DATABASE_URL": "postgresql://db/todo"},
            "JWT_SECRET is required when DATABASE_URL is set",
        ),
        ({"JWT_SECRET": "short"}, "JWT_SECRET must be at least 32 characters"),
        (
            {"DATABASE_URL": "mysql://db/todo", "JWT_SECRET": SECRET},
            "DATABASE_URL: must be a postgresql://",
        ),
        ({"JWT_EXPIRE_MINUTES": "soon"}, "JWT_EXPIRE_MINUTES:"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL:"),
        ({"DB_POOL_SIZE": "0"}, "DB_POOL_SIZE:"),
        ({"PASSWORD_HASH_CONCURRENCY": "0"}, "PASSWORD_HASH_CONCURRENCY:"),
        ({"PASSWORD_HASH_WAIT_SECONDS": "-1"}, "PASSWORD_HASH_WAIT_SECONDS:"),
        ({"LOGIN_ACCOUNT_ATTEMPTS": "many"}, "LOGIN_ACCOUNT_ATTEMPTS:"),
        ({"LOGIN_ACCOUNT_ADDRESS_ATTEMPTS": "-1"}, "LOGIN_ACCOUNT_ADDRESS_ATTEMPTS:"),
        ({"LOGIN_ACCOUNT_MAX_DELAY_SECONDS": "0"}, "LOGIN_ACCOUNT_MAX_DELAY_SECONDS:"),
        ({"LOGIN_ACCOUNT_MAX_DELAY_SECONDS": "2.5"}, "LOGIN_ACCOUNT_MAX_DELAY_SECONDS:"),
        ({"LOGIN_WINDOW_SECONDS": "0"}, "LOGIN_WINDOW_SECONDS:"),
        ({"SIGNUP_ADDRESS_ATTEMPTS": "-5"}, "SIGNUP_ADDRESS_ATTEMPTS:"),
        (
            {"FORWARDED_ADDRESS_SECRET": "short"},
            "FORWARDED_ADDRESS_SECRET must be at least 32 characters",
        ),
    ],
)
def test_bad_settings_stop_the_process_with_one_line(env: dict[str, str], message: str) -> None:
    result = _start(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("todo_api: invalid configuration: ")
    assert message in lines[0]


def test_load_settings_reports_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "too-short")
    load_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="at least 32"):
            load_settings()
    finally:
        load_settings.cache_clear()


def test_dev_mode_generates_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    load_settings.cache_clear()
    try:
        assert len(load_settings().signing_secret) >= 32
    finally:
        load_settings.cache_clear()
