"""Sessions end on logout (one token) and on "log out everywhere" (every token of the user),
over REST and MCP, on every replica; revocations are dropped once their token has expired."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from conftest import MCP_ACCEPT, MCP_INITIALIZE, Account, Server, settings_from, sign_up
from todo_api.app import create_app
from todo_api.settings import Settings


def _log_in(client: TestClient | httpx.Client, account: Account) -> Account:
    """A second session of the same account (another browser, another device)."""
    response = client.post(
        "/auth/login", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 200, response.text
    return Account(account.email, account.password, response.json()["access_token"])


def _answers(client: TestClient | httpx.Client, account: Account) -> list[int]:
    """What the backend answers to the token, on reading and on writing."""
    return [
        client.get("/me", headers=account.headers).status_code,
        client.get("/todos", headers=account.headers).status_code,
        client.post("/todos", json={"title": "after"}, headers=account.headers).status_code,
    ]


def test_logout_ends_that_session_only(client: TestClient, account: Account) -> None:
    other_device = _log_in(client, account)
    assert client.post("/auth/logout", headers=account.headers).status_code == 204
    assert _answers(client, account) == [401, 401, 401]
    assert client.post("/auth/logout", headers=account.headers).status_code == 401
    assert _answers(client, other_device) == [200, 200, 201]


def test_logout_everywhere_ends_every_session_of_the_user(
    client: TestClient, account: Account, other_account: Account
) -> None:
    other_device = _log_in(client, account)
    assert client.post("/auth/logout-everywhere", headers=account.headers).status_code == 204
    assert _answers(client, account) == [401, 401, 401]
    assert _answers(client, other_device) == [401, 401, 401]
    assert _answers(client, other_account) == [200, 200, 201]
    # Logging in again starts a session under the new version.
    assert _answers(client, _log_in(client, account)) == [200, 200, 201]


@pytest.fixture
def second_replica(database_env: dict[str, str]) -> Iterator[TestClient]:
    """Another app on the same database that asks it on every request."""
    settings = settings_from({**database_env, "SESSION_CHECK_SECONDS": "0"})
    with TestClient(create_app(settings)) as replica:
        yield replica


def test_a_logout_on_one_replica_ends_the_session_on_another(
    client: TestClient, second_replica: TestClient
) -> None:
    account, everywhere = sign_up(client), sign_up(client)
    assert _answers(second_replica, account) == [200, 200, 201]
    assert client.post("/auth/logout", headers=account.headers).status_code == 204
    assert _answers(second_replica, account) == [401, 401, 401]
    assert _answers(second_replica, everywhere) == [200, 200, 201]
    assert client.post("/auth/logout-everywhere", headers=everywhere.headers).status_code == 204
    assert _answers(second_replica, everywhere) == [401, 401, 401]


def test_revocations_are_dropped_once_their_token_has_expired(
    client: TestClient, settings: Settings
) -> None:
    expired, live = uuid.uuid4().hex, uuid.uuid4().hex
    now = int(time.time())
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO revoked_tokens (token_id, expires_at) VALUES (:id, :at)"),
                [{"id": expired, "at": now - 60}, {"id": live, "at": now + 600}],
            )
        account = sign_up(client)
        assert client.post("/auth/logout", headers=account.headers).status_code == 204
        with engine.connect() as connection:
            left = set(connection.execute(text("SELECT token_id FROM revoked_tokens")).scalars())
    finally:
        engine.dispose()
    assert expired not in left
    assert live in left


def _mcp_status(http: httpx.Client, account: Account) -> int:
    response = http.post("/mcp", json=MCP_INITIALIZE, headers={**MCP_ACCEPT, **account.headers})
    return response.status_code


def test_mcp_refuses_a_token_after_logout(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        account = sign_up(http)
        other_device = _log_in(http, account)
        assert _mcp_status(http, account) == 200
        assert http.post("/auth/logout", headers=account.headers).status_code == 204
        assert _mcp_status(http, account) == 401
        assert _mcp_status(http, other_device) == 200
        assert http.post("/auth/logout-everywhere", headers=other_device.headers).status_code == 204
        assert _mcp_status(http, other_device) == 401
