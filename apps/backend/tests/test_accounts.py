from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from conftest import TEST_SECRET, Account, sign_up, unique_email
from todo_api.settings import Settings


def test_signup_returns_a_bearer_token(client: TestClient) -> None:
    response = client.post("/auth/signup", json={"email": unique_email(), "password": "longenough"})
    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].count(".") == 2


def test_signup_twice_with_the_same_email_is_a_conflict(client: TestClient) -> None:
    email = unique_email()
    assert (
        client.post(
            "/auth/signup", json={"email": email, "password": "a calm password 1"}
        ).status_code
        == 201
    )
    again = client.post(
        "/auth/signup", json={"email": email.upper(), "password": "a calm password 2"}
    )
    assert again.status_code == 409
    assert again.json() == {"detail": "an account with this email exists"}


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": "a calm password 1"},
        {"email": "a@example.com", "password": "short"},
        {"email": "a@example.com", "password": "p" * 129},
        {"email": "a@example.com"},
        {"password": "a calm password 1"},
        {"email": "a@example.com", "password": "pass\u0000word1"},
        {"email": "a@example.com", "password": "a calm password 1", "admin": True},
        {"email": ["a@example.com"], "password": "a calm password 1"},
    ],
)
def test_signup_rejects_bad_input_with_422(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/auth/signup", json=body)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


def test_signup_rejects_a_body_that_is_not_json(client: TestClient) -> None:
    response = client.post(
        "/auth/signup", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_login_with_the_right_password(client: TestClient, account: Account) -> None:
    response = client.post(
        "/auth/login", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == account.email


def test_login_ignores_email_case(client: TestClient, account: Account) -> None:
    response = client.post(
        "/auth/login", json={"email": account.email.upper(), "password": account.password}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("wrong", ["wrong-password", "unknown-user"])
def test_login_failures_are_401_and_say_the_same(
    client: TestClient, account: Account, wrong: str
) -> None:
    email = account.email if wrong == "wrong-password" else unique_email()
    password = "not the password" if wrong == "wrong-password" else account.password
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid email or password"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_me_returns_the_account(client: TestClient, account: Account) -> None:
    response = client.get("/me", headers=account.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == account.email
    assert isinstance(body["id"], int)
    created = datetime.fromisoformat(body["created_at"])
    assert created.tzinfo is not None
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)


def _forged(secret: str, **claims: object) -> str:
    now = datetime.now(UTC)
    payload: dict[str, object] = {
        "sub": "1",
        "jti": uuid.uuid4().hex,
        "ver": 0,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": "todo-api",
    }
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not.a.token",
        f"Bearer {_forged('another-secret-' + 'y' * 40)}",
        f"Bearer {_forged(TEST_SECRET, exp=datetime.now(UTC) - timedelta(seconds=5))}",
        f"Bearer {_forged(TEST_SECRET, iss='someone-else')}",
        f"Bearer {_forged(TEST_SECRET, sub='admin')}",
        f"Bearer {jwt.encode({'sub': '1'}, TEST_SECRET, algorithm='HS256')}",
        f"Bearer {_forged(TEST_SECRET, sub='0')}",
        f"Bearer {_forged(TEST_SECRET, sub=str(2**63))}",
        f"Bearer {_forged(TEST_SECRET, sub='9' * 30)}",
        f"Bearer {_forged(TEST_SECRET, sub='1' * 5000)}",
        f"Bearer {_forged(TEST_SECRET, sub='-1')}",
        f"Bearer {_forged(TEST_SECRET, sub=7)}",
        f"Bearer {_forged(TEST_SECRET, jti=None)}",
        f"Bearer {_forged(TEST_SECRET, ver='0')}",
    ],
    ids=[
        "missing",
        "empty",
        "no-token",
        "basic",
        "garbage",
        "wrong-secret",
        "expired",
        "wrong-issuer",
        "bad-subject",
        "no-expiry",
        "subject-zero",
        "subject-2-to-the-63",
        "subject-30-digits",
        "subject-5000-digits",
        "subject-negative",
        "subject-a-number",
        "no-token-id",
        "version-a-string",
    ],
)
def test_protected_endpoints_refuse_bad_tokens(
    client: TestClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in [
        ("GET", "/me"),
        ("GET", "/me/todos"),
        ("GET", "/todos"),
        ("POST", "/todos"),
        ("DELETE", "/todos/1"),
        ("POST", "/mcp"),
    ]:
        response = client.request(method, path, headers=headers, json={"title": "x"})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert isinstance(response.json()["detail"], str)


def test_the_largest_possible_subject_is_a_valid_token_for_no_one(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {_forged(TEST_SECRET, sub=str(2**63 - 1))}"}
    assert client.get("/me", headers=headers).status_code == 401
    assert client.get("/todos", headers=headers).status_code == 401
    assert client.get("/me/todos", headers=headers).status_code == 401


def test_ids_of_deleted_accounts_are_never_given_again(
    client: TestClient, settings: Settings
) -> None:
    first = sign_up(client)
    first_id = client.get("/me", headers=first.headers).json()["id"]
    client.post("/todos", json={"title": "private"}, headers=first.headers)
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM todos WHERE user_id = :id"), {"id": first_id})
            connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": first_id})
    finally:
        engine.dispose()
    second = sign_up(client)
    assert client.get("/me", headers=second.headers).json()["id"] > first_id
    # The deleted account's token names no one and reads nothing (until this process asks
    # the database again about the session, the list is that of no one: empty).
    assert client.get("/me", headers=first.headers).status_code == 401
    listing = client.get("/todos", headers=first.headers)
    assert listing.status_code == 401 or listing.json()["total"] == 0


def test_a_token_for_a_user_that_does_not_exist_cannot_create_todos(client: TestClient) -> None:
    ghost = _forged(TEST_SECRET, sub="999999999")
    headers = {"Authorization": f"Bearer {ghost}"}
    assert client.post("/todos", json={"title": "x"}, headers=headers).status_code == 401
    assert client.get("/me", headers=headers).status_code == 401
    assert client.get("/todos", headers=headers).status_code == 401
    assert client.get("/me/todos", headers=headers).status_code == 401


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    from todo_api import security

    token = _forged(TEST_SECRET, sub="7", exp=datetime.now(UTC) + timedelta(seconds=30))
    assert security.verify_token(token, TEST_SECRET).user_id == 7
    assert security.verify_token(token, TEST_SECRET).user_id == 7  # now from the cache
    later = time.time() + 60
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(security.InvalidTokenError, match="expired"):
        security.verify_token(token, TEST_SECRET)


def test_a_token_is_only_valid_with_the_secret_that_signed_it() -> None:
    from todo_api import security

    token = _forged(TEST_SECRET, sub="8")
    assert security.verify_token(token, TEST_SECRET).user_id == 8
    with pytest.raises(security.InvalidTokenError):
        security.verify_token(token, "another-secret-" + "q" * 40)
