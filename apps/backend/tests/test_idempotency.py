"""Writes sent with an Idempotency-Key take effect once: repeats get the first answer."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, delete, insert, select, update
from sqlalchemy.pool import NullPool

from conftest import (
    TEST_SECRET,
    Account,
    Server,
    metrics_text,
    openapi_document,
    settings_from,
    sign_up,
    unique_email,
)
from todo_api import idempotency, pgstore, store
from todo_api.app import create_app
from todo_api.database import create_engine as create_app_engine
from todo_api.idempotency import (
    INVALID_KEY,
    REUSED_KEY,
    Fingerprints,
    IdempotencyKey,
    prune_expired,
    user_scope,
)
from todo_api.settings import Settings
from todo_api.tables import idempotency_keys

FRONTEND_SECRET = "frontend-to-backend-" + "f" * 32
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
REPLAYED = "idempotent-replayed"


def new_key() -> str:
    return uuid.uuid4().hex


def keyed(account: Account, key: str) -> dict[str, str]:
    return {**account.headers, "Idempotency-Key": key}


def total(client: TestClient | httpx.Client, account: Account) -> int:
    response = client.get("/todos", headers=account.headers)
    assert response.status_code == 200, response.text
    count: int = response.json()["total"]
    return count


def create(client: TestClient, account: Account, title: str) -> dict[str, Any]:
    response = client.post("/todos", json={"title": title}, headers=account.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def user_id(client: TestClient | httpx.Client, account: Account) -> int:
    found: int = client.get("/me", headers=account.headers).json()["id"]
    return found


class Answer(Protocol):
    """A response of the TestClient (httpx2) or of httpx."""

    @property
    def status_code(self) -> int: ...
    @property
    def content(self) -> bytes: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


def assert_replay_of(again: Answer, first: Answer) -> None:
    """`again` is the first answer, byte for byte, marked as a repeat's."""
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert REPLAYED not in first.headers
    assert again.headers[REPLAYED] == "true"


@contextmanager
def sync_connection(settings: Settings) -> Iterator[Connection]:
    """A connection of the test's own to the database under test, in autocommit mode."""
    engine = create_engine(
        settings.sync_sqlalchemy_url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


# --- the header -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 15,
        "x" * 129,
        "has spaces in it, sixteen+",
        "slashes/are/not/allowed",
        "base64+padding+is/not==",
        "dots.are.not.allowed.either",
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/todos"),
        ("POST", "/todos/1/complete"),
        ("POST", "/todos/1/uncomplete"),
        ("PATCH", "/todos/1"),
        ("DELETE", "/todos/1"),
        ("POST", "/auth/logout"),
        ("POST", "/auth/logout-everywhere"),
    ],
)
def test_a_malformed_key_is_refused_before_anything_is_written(
    client: TestClient, account: Account, method: str, path: str, value: str
) -> None:
    todo = create(client, account, "stays as it is")
    path = path.replace("/1", f"/{todo['id']}")
    body = {"title": "x"} if path == "/todos" or method == "PATCH" else None
    response = client.request(method, path, json=body, headers=keyed(account, value))
    assert response.status_code == 422
    assert response.json() == {"detail": INVALID_KEY}
    assert "Idempotency-Key" in INVALID_KEY
    assert "16 to 128 characters of A-Z, a-z, 0-9, '_' and '-'" in INVALID_KEY
    # Nothing changed: the todo is there as it was, and the session still works.
    assert client.get(f"/todos/{todo['id']}", headers=account.headers).json() == todo
    assert total(client, account) == 1


def test_a_malformed_key_on_sign_up_is_refused(client: TestClient) -> None:
    email = unique_email()
    body = {"email": email, "password": "correct horse battery"}
    response = client.post("/auth/signup", json=body, headers={"Idempotency-Key": "short"})
    assert response.status_code == 422
    assert response.json() == {"detail": INVALID_KEY}
    assert client.post("/auth/signup", json=body).status_code == 201  # the email stayed free


@pytest.mark.parametrize("length", [16, 128])
def test_keys_of_16_and_128_characters_are_accepted(
    client: TestClient, account: Account, length: int
) -> None:
    key = ("Az09_-" * 30)[:length]
    response = client.post("/todos", json={"title": "edge"}, headers=keyed(account, key))
    assert response.status_code == 201


def test_every_write_documents_the_header(client: TestClient) -> None:
    paths = openapi_document(client)["paths"]
    writes = [
        ("/auth/signup", "post"),
        ("/auth/logout", "post"),
        ("/auth/logout-everywhere", "post"),
        ("/todos", "post"),
        ("/todos/{todo_id}", "patch"),
        ("/todos/{todo_id}", "delete"),
        ("/todos/{todo_id}/complete", "post"),
        ("/todos/{todo_id}/uncomplete", "post"),
    ]
    for path, method in writes:
        headers = [p for p in paths[path][method]["parameters"] if p["in"] == "header"]
        assert [p["name"] for p in headers] == ["Idempotency-Key"], (path, method)
        assert headers[0]["required"] is False
        assert headers[0]["schema"]["pattern"] == idempotency.KEY_PATTERN


# --- each write, repeated ----------------------------------------------------------------


def test_a_repeated_create_answers_the_first_answer_and_writes_once(
    client: TestClient, account: Account
) -> None:
    headers = keyed(account, new_key())
    first = client.post("/todos", json={"title": "once", "description": "d"}, headers=headers)
    assert first.status_code == 201
    again = client.post("/todos", json={"title": "once", "description": "d"}, headers=headers)
    assert_replay_of(again, first)
    assert total(client, account) == 1
    # The answer is the todo as created, in the shape of an unkeyed create.
    unkeyed = client.post("/todos", json={"title": "plain"}, headers=account.headers).json()
    assert list(first.json()) == list(unkeyed)
    assert client.get(f"/todos/{first.json()['id']}", headers=account.headers).json() == (
        first.json()
    )


@pytest.mark.parametrize(
    ("title", "description"),
    [
        ("plain", None),
        ("quote \" backslash \\ slash / <tag> & '", "line\nbreak\ttab\rreturn"),
        ("é 漢字 😀 👨\u200d👩\u200d👧 🇫🇷 1\ufe0f\u20e3", "\u2028 separators \u2029"),
        # Right-to-left text with its marks (Hebrew "shalom olam").
        ("\u05e9\u05dc\u05d5\u05dd \u200f\u05e2\u05d5\u05dc\u05dd\u200e", "\u00a0\u200b \ufeff"),
    ],
)
@pytest.mark.parametrize("whole_second", [False, True])
def test_a_keyed_answer_is_the_todo_as_every_other_answer_writes_it(
    client: TestClient,
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
    title: str,
    description: str | None,
    whole_second: bool,
) -> None:
    """On PostgreSQL the keyed hot paths' answers are JSON written by the database: byte for
    byte what the other answers (orjson) write, timestamps without a fraction included."""
    if whole_second:

        def now() -> datetime:
            return datetime.now(UTC).replace(microsecond=0)

        monkeypatch.setattr(pgstore, "_now", now)
        monkeypatch.setattr(store, "_now", now)
    body = {"title": title, "description": description}
    created = client.post("/todos", json=body, headers=keyed(account, new_key()))
    assert created.status_code == 201
    todo_id = created.json()["id"]
    assert (created.json()["title"], created.json()["description"]) == (title, description)
    assert ("." not in created.json()["created_at"]) is whole_second
    assert created.content == client.get(f"/todos/{todo_id}", headers=account.headers).content
    done = client.post(f"/todos/{todo_id}/complete", headers=keyed(account, new_key()))
    assert done.json()["completed"] is True
    assert done.content == client.get(f"/todos/{todo_id}", headers=account.headers).content
    edited = client.patch(
        f"/todos/{todo_id}", json={"completed": False}, headers=keyed(account, new_key())
    )
    assert edited.content == client.get(f"/todos/{todo_id}", headers=account.headers).content


@pytest.mark.parametrize(
    ("action", "undo"), [("complete", "uncomplete"), ("uncomplete", "complete")]
)
def test_a_repeated_completion_answers_the_first_answer_and_writes_once(
    client: TestClient, account: Account, action: str, undo: str
) -> None:
    todo = create(client, account, "toggle")
    if action == "uncomplete":
        client.post(f"/todos/{todo['id']}/complete", headers=account.headers)
    headers = keyed(account, new_key())
    first = client.post(f"/todos/{todo['id']}/{action}", headers=headers)
    assert first.status_code == 200
    assert first.json()["completed"] is (action == "complete")
    # Someone undoes it meanwhile; the repeat must not do it again.
    undone = client.post(f"/todos/{todo['id']}/{undo}", headers=account.headers).json()
    again = client.post(f"/todos/{todo['id']}/{action}", headers=headers)
    assert_replay_of(again, first)
    assert client.get(f"/todos/{todo['id']}", headers=account.headers).json() == undone
    counts = client.get("/todos", headers=account.headers).json()["counts"]
    assert counts["done"] == (1 if undo == "complete" else 0)


def test_a_repeated_edit_answers_the_first_answer_and_writes_once(
    client: TestClient, account: Account
) -> None:
    todo = create(client, account, "draft")
    headers = keyed(account, new_key())
    first = client.patch(f"/todos/{todo['id']}", json={"title": "first"}, headers=headers)
    assert first.status_code == 200
    assert first.json()["title"] == "first"
    later = client.patch(f"/todos/{todo['id']}", json={"title": "later"}, headers=account.headers)
    again = client.patch(f"/todos/{todo['id']}", json={"title": "first"}, headers=headers)
    assert_replay_of(again, first)
    assert client.get(f"/todos/{todo['id']}", headers=account.headers).json() == later.json()
    # The keyed answer has the unkeyed answer's shape and values.
    assert first.json() == {**todo, "title": "first", "updated_at": first.json()["updated_at"]}


def test_a_repeated_delete_answers_204_and_deletes_once(
    client: TestClient, account: Account
) -> None:
    todo = create(client, account, "to go")
    headers = keyed(account, new_key())
    first = client.delete(f"/todos/{todo['id']}", headers=headers)
    assert first.status_code == 204
    again = client.delete(f"/todos/{todo['id']}", headers=headers)
    assert_replay_of(again, first)
    # Without the key, the repeat is what it always was: the todo is gone.
    assert client.delete(f"/todos/{todo['id']}", headers=account.headers).status_code == 404
    assert total(client, account) == 0


@pytest.mark.parametrize(
    ("method", "suffix"), [("POST", "/complete"), ("PATCH", ""), ("DELETE", "")]
)
def test_a_writes_404_is_stored_and_repeated(
    client: TestClient, account: Account, method: str, suffix: str
) -> None:
    missing = 2**62
    headers = keyed(account, new_key())
    body = {"title": "x"} if method == "PATCH" else None
    first = client.request(method, f"/todos/{missing}{suffix}", json=body, headers=headers)
    assert first.status_code == 404
    assert first.json() == {"detail": f"todo {missing} not found"}
    again = client.request(method, f"/todos/{missing}{suffix}", json=body, headers=headers)
    assert_replay_of(again, first)


def test_a_repeated_sign_up_answers_201_with_a_new_token_for_the_same_account(
    client: TestClient, settings: Settings
) -> None:
    key = new_key()
    body = {"email": unique_email(), "password": "correct horse battery"}
    first = client.post("/auth/signup", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    again = client.post("/auth/signup", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert REPLAYED not in first.headers
    assert set(again.json()) == set(first.json())
    assert again.json()["token_type"] == "bearer"
    assert again.json()["expires_in"] == first.json()["expires_in"]
    assert again.json()["access_token"] != first.json()["access_token"]
    me = [
        client.get("/me", headers={"Authorization": f"Bearer {answer.json()['access_token']}"})
        for answer in (first, again)
    ]
    assert [answer.status_code for answer in me] == [200, 200]
    assert me[0].json() == me[1].json()
    # One account: without the key the email is taken.
    assert client.post("/auth/signup", json=body).status_code == 409
    # The database keeps the account's id, never a token.
    with sync_connection(settings) as connection:
        rows = connection.execute(
            select(idempotency_keys).where(idempotency_keys.c.key == key)
        ).all()
    assert len(rows) == 1
    assert rows[0].created_user_id == me[0].json()["id"]
    assert rows[0].body is None
    assert rows[0].status_code == 201
    for token in (first.json()["access_token"], again.json()["access_token"]):
        assert token not in repr(tuple(rows[0]))


def test_a_repeated_logout_answers_204_although_the_token_is_refused_now(
    client: TestClient, account: Account
) -> None:
    key = new_key()
    first = client.post("/auth/logout", headers=keyed(account, key))
    assert first.status_code == 204
    again = client.post("/auth/logout", headers=keyed(account, key))
    assert_replay_of(again, first)
    # The token stays refused everywhere else, and for any other logout.
    assert client.get("/me", headers=account.headers).status_code == 401
    assert client.post("/auth/logout", headers=account.headers).status_code == 401
    assert client.post("/auth/logout", headers=keyed(account, new_key())).status_code == 401
    assert client.post("/auth/logout-everywhere", headers=keyed(account, key)).status_code == 401


def test_a_logout_key_reused_with_another_token_logs_nothing_out_silently(
    client: TestClient, account: Account
) -> None:
    key = new_key()
    login = {"email": account.email, "password": account.password}
    second = Account(
        account.email,
        account.password,
        client.post("/auth/login", json=login).json()["access_token"],
    )
    assert client.post("/auth/logout", headers=keyed(account, key)).status_code == 204
    # The same key with the other token is another request: refused, and that token works on.
    reused = client.post("/auth/logout", headers=keyed(second, key))
    assert reused.status_code == 422
    assert reused.json() == {"detail": REUSED_KEY}
    assert client.get("/me", headers=second.headers).status_code == 200


def test_a_repeated_logout_everywhere_answers_204_and_ends_sessions_once(
    client: TestClient, account: Account
) -> None:
    key = new_key()
    first = client.post("/auth/logout-everywhere", headers=keyed(account, key))
    assert first.status_code == 204
    # A session started after it must survive the repeat.
    login = {"email": account.email, "password": account.password}
    later = Account(
        account.email,
        account.password,
        client.post("/auth/login", json=login).json()["access_token"],
    )
    again = client.post("/auth/logout-everywhere", headers=keyed(account, key))
    assert_replay_of(again, first)
    assert client.get("/me", headers=account.headers).status_code == 401
    assert client.get("/me", headers=later.headers).status_code == 200


# --- keys and requests ---------------------------------------------------------------------


def test_a_key_reused_for_another_request_is_refused(client: TestClient, account: Account) -> None:
    key = new_key()
    first = client.post("/todos", json={"title": "a"}, headers=keyed(account, key))
    assert first.status_code == 201
    todo_id = first.json()["id"]
    for method, path, body in [
        ("POST", "/todos", {"title": "b"}),
        ("POST", "/todos", {"title": "a", "description": "more"}),
        ("POST", f"/todos/{todo_id}/complete", None),
        ("PATCH", f"/todos/{todo_id}", {"title": "a"}),
        ("DELETE", f"/todos/{todo_id}", None),
    ]:
        response = client.request(method, path, json=body, headers=keyed(account, key))
        assert response.status_code == 422, (method, path)
        assert response.json() == {"detail": REUSED_KEY}
        assert "different request" in REUSED_KEY
    assert client.get(f"/todos/{todo_id}", headers=account.headers).json() == first.json()
    assert total(client, account) == 1


def test_the_same_key_of_another_user_is_another_key(
    client: TestClient, account: Account, other_account: Account
) -> None:
    key = new_key()
    mine = client.post("/todos", json={"title": "same"}, headers=keyed(account, key))
    theirs = client.post("/todos", json={"title": "same"}, headers=keyed(other_account, key))
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert REPLAYED not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert (total(client, account), total(client, other_account)) == (1, 1)


@pytest.fixture
def forwarding_client(settings: Settings) -> Iterator[TestClient]:
    """An app that takes the person's address from the frontend, allowing one sign-up per
    address and hour."""
    env = {
        "JWT_SECRET": TEST_SECRET,
        "FORWARDED_ADDRESS_SECRET": FRONTEND_SECRET,
        "SIGNUP_ADDRESS_ATTEMPTS": "1",
    }
    if settings.database_url is not None:
        env["DATABASE_URL"] = settings.database_url
    else:
        env["SQLITE_PATH"] = str(settings.sqlite_path)
    with TestClient(create_app(settings_from(env))) as forwarding:
        yield forwarding


def _from(address: str, key: str) -> dict[str, str]:
    return {
        "X-Client-Address": address,
        "X-Client-Address-Secret": FRONTEND_SECRET,
        "Idempotency-Key": key,
    }


def _address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def test_a_repeated_sign_up_is_not_counted_by_the_throttle(forwarding_client: TestClient) -> None:
    key, address = new_key(), _address()
    body = {"email": unique_email(), "password": "correct horse battery"}
    first = forwarding_client.post("/auth/signup", json=body, headers=_from(address, key))
    assert first.status_code == 201
    # The address has used its one sign-up: a repeat still gets the first answer, not 429.
    again = forwarding_client.post("/auth/signup", json=body, headers=_from(address, key))
    assert again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    other = {"email": unique_email(), "password": "correct horse battery"}
    refused = forwarding_client.post("/auth/signup", json=other, headers=_from(address, new_key()))
    assert refused.status_code == 429


def test_a_sign_up_key_belongs_to_its_client_address(forwarding_client: TestClient) -> None:
    key = new_key()
    body = {"email": unique_email(), "password": "correct horse battery"}
    first = forwarding_client.post("/auth/signup", json=body, headers=_from(_address(), key))
    assert first.status_code == 201
    # Another address with the same key and body is another request: the email is taken.
    elsewhere = forwarding_client.post("/auth/signup", json=body, headers=_from(_address(), key))
    assert elsewhere.status_code == 409
    assert REPLAYED not in elsewhere.headers
    # The same /64 of IPv6 is one address (as for the throttle).
    prefix = f"2001:db8:{random.randrange(65536):x}:{random.randrange(65536):x}"
    body = {"email": unique_email(), "password": "correct horse battery"}
    v6_key = new_key()
    one = forwarding_client.post("/auth/signup", json=body, headers=_from(f"{prefix}::1", v6_key))
    two = forwarding_client.post("/auth/signup", json=body, headers=_from(f"{prefix}::2", v6_key))
    assert (one.status_code, two.status_code) == (201, 201)
    assert two.headers[REPLAYED] == "true"


def test_a_refused_sign_up_is_not_stored_so_its_retry_may_succeed(
    forwarding_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from todo_api import throttle

    address, key = _address(), new_key()
    taken = {"email": unique_email(), "password": "correct horse battery"}
    first = forwarding_client.post("/auth/signup", json=taken, headers=_from(address, new_key()))
    assert first.status_code == 201
    body = {"email": unique_email(), "password": "correct horse battery"}
    refused = forwarding_client.post("/auth/signup", json=body, headers=_from(address, key))
    assert refused.status_code == 429
    # An hour later the same request with the same key signs up: the 429 was not kept.
    later = throttle._now_ms() + 3601 * 1000
    monkeypatch.setattr(throttle, "_now_ms", lambda: later)
    retried = forwarding_client.post("/auth/signup", json=body, headers=_from(address, key))
    assert retried.status_code == 201
    assert REPLAYED not in retried.headers


# --- concurrency and lost answers ------------------------------------------------------------


def _burst(base_url: str, send: Callable[[httpx.AsyncClient], Any], count: int) -> list[Any]:
    async def run() -> list[Any]:
        limits = httpx.Limits(max_connections=count)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
            return list(await asyncio.gather(*(send(http) for _ in range(count))))

    return asyncio.run(run())


def test_concurrent_creates_with_one_key_write_once(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        account = sign_up(http)
    headers = keyed(account, new_key())
    answers: list[httpx.Response] = _burst(
        server.base_url,
        lambda http: http.post("/todos", json={"title": "raced"}, headers=headers),
        12,
    )
    assert [answer.status_code for answer in answers] == [201] * 12
    assert len({answer.content for answer in answers}) == 1
    assert sorted(answer.headers.get(REPLAYED, "first") for answer in answers) == (
        ["first"] + ["true"] * 11
    )
    with httpx.Client(base_url=server.base_url) as http:
        assert total(http, account) == 1


def test_concurrent_completions_with_one_key_write_once(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        account = sign_up(http)
        todo = http.post("/todos", json={"title": "x"}, headers=account.headers).json()
    headers = keyed(account, new_key())
    answers: list[httpx.Response] = _burst(
        server.base_url,
        lambda http: http.post(f"/todos/{todo['id']}/complete", headers=headers),
        12,
    )
    assert [answer.status_code for answer in answers] == [200] * 12
    assert len({answer.content for answer in answers}) == 1
    assert [answer.headers.get(REPLAYED) for answer in answers].count(None) == 1


def test_concurrent_sign_ups_with_one_key_make_one_account(server: Server) -> None:
    key = new_key()
    body = {"email": unique_email(), "password": "correct horse battery"}
    answers: list[httpx.Response] = _burst(
        server.base_url,
        lambda http: http.post("/auth/signup", json=body, headers={"Idempotency-Key": key}),
        8,
    )
    assert [answer.status_code for answer in answers] == [201] * 8
    assert [answer.headers.get(REPLAYED) for answer in answers].count(None) == 1
    with httpx.Client(base_url=server.base_url) as http:
        ids = {
            http.get(
                "/me", headers={"Authorization": f"Bearer {answer.json()['access_token']}"}
            ).json()["id"]
            for answer in answers
        }
        assert len(ids) == 1
        assert http.post("/auth/signup", json=body).status_code == 409


@contextmanager
def held_claim(settings: Settings, key: IdempotencyKey) -> Iterator[Connection]:
    """A transaction of the test's own that has claimed `key`, as a first request does, and
    neither commits nor rolls back until the test says so."""
    with sync_connection(settings) as connection:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if settings.is_sqlite else "BEGIN")
        connection.execute(
            insert(idempotency_keys).values(
                scope=key.scope,
                key=key.key,
                fingerprint=key.fingerprint,
                status_code=0,
                created_at=datetime.now(UTC),
            )
        )
        try:
            yield connection
        finally:
            with suppress(Exception):  # unless the test ended it already
                connection.exec_driver_sql("ROLLBACK")


@pytest.mark.parametrize("first_ends", ["commit", "rollback"])
def test_a_request_waits_for_the_transaction_that_holds_its_key(
    server: Server, settings: Settings, first_ends: str
) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        account = sign_up(http)
        owner = user_id(http, account)
    body = b'{"title":"held"}'
    key = IdempotencyKey(
        user_scope(owner), new_key(), Fingerprints(TEST_SECRET).of(b"POST", b"/todos", body)
    )
    headers = {**keyed(account, key.key), "Content-Type": "application/json"}
    stored = b'{"answer":"of the first request"}'
    with ThreadPoolExecutor(1) as pool, held_claim(settings, key) as holder:
        pending = pool.submit(
            httpx.post, f"{server.base_url}/todos", content=body, headers=headers, timeout=60
        )
        time.sleep(1.0)
        assert not pending.done(), "the request did not wait for the key's transaction"
        if first_ends == "commit":
            holder.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.key == key.key)
                .values(status_code=201, body=stored.decode())
            )
            holder.exec_driver_sql("COMMIT")
        else:
            holder.exec_driver_sql("ROLLBACK")
        answer = pending.result(timeout=60)
    assert answer.status_code == 201
    with httpx.Client(base_url=server.base_url) as http:
        if first_ends == "commit":  # the first request's answer, and no write of its own
            assert answer.content == stored
            assert answer.headers[REPLAYED] == "true"
            assert total(http, account) == 0
        else:  # the first request is gone: this one is the first now
            assert REPLAYED not in answer.headers
            assert answer.json()["title"] == "held"
            assert total(http, account) == 1


def _send_and_drop(server: Server, account: Account, key: str, body: bytes) -> socket.socket:
    head = (
        f"POST /todos HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {account.token}\r\n"
        f"Idempotency-Key: {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    connection.sendall(head + body)
    return connection


def _reset(connection: socket.socket) -> None:
    """Drop the connection as a lost network would: unread answer discarded, RST sent."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def test_a_retry_after_the_answer_was_lost_does_not_write_twice(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        account = sign_up(http)
        key, body = new_key(), json.dumps({"title": "sent once"}).encode()
        connection = _send_and_drop(server, account, key, body)
        # The server commits the todo; the client never reads the answer.
        deadline = time.monotonic() + 20
        while total(http, account) == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        _reset(connection)
        written = http.get("/todos", headers=account.headers).json()["items"]
        retry = http.post(
            "/todos",
            content=body,
            headers={**keyed(account, key), "Content-Type": "application/json"},
        )
        assert retry.status_code == 201
        assert retry.headers[REPLAYED] == "true"
        assert retry.json() == written[0]
        assert total(http, account) == 1


def test_a_retry_while_the_dropped_request_may_still_run_writes_once(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        account = sign_up(http)
        for _ in range(5):
            key, body = new_key(), json.dumps({"title": f"once {new_key()}"}).encode()
            _reset(_send_and_drop(server, account, key, body))
            retry = http.post(
                "/todos",
                content=body,
                headers={**keyed(account, key), "Content-Type": "application/json"},
            )
            assert retry.status_code == 201
        time.sleep(0.5)  # a dropped request still in the server ends meanwhile
        items = http.get("/todos", headers=account.headers).json()["items"]
        titles = [item["title"] for item in items]
        assert len(titles) == len(set(titles)) == 5


# --- expiry --------------------------------------------------------------------------------


def _age(settings: Settings, key: str, hours: float) -> None:
    with sync_connection(settings) as connection:
        connection.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.key == key)
            .values(created_at=datetime.now(UTC) - timedelta(hours=hours))
        )


def _stored_keys(settings: Settings, keys: list[str]) -> set[str]:
    with sync_connection(settings) as connection:
        rows = connection.execute(
            select(idempotency_keys.c.key).where(idempotency_keys.c.key.in_(keys))
        )
        return {row.key for row in rows}


def test_expired_keys_are_pruned_and_then_are_new_again(
    client: TestClient, account: Account, settings: Settings
) -> None:
    old, fresh = new_key(), new_key()
    for key in (old, fresh):
        client.post("/todos", json={"title": key}, headers=keyed(account, key))
    _age(settings, old, 24.5)
    _age(settings, fresh, 23.5)

    async def prune() -> int:
        engine = create_app_engine(settings)
        try:
            return await prune_expired(engine, datetime.now(UTC) - timedelta(hours=24))
        finally:
            await engine.dispose()

    assert asyncio.run(prune()) >= 1
    assert _stored_keys(settings, [old, fresh]) == {fresh}
    # The pruned key is free: the same request writes again; the kept one still repeats.
    again = client.post("/todos", json={"title": old}, headers=keyed(account, old))
    assert again.status_code == 201
    assert REPLAYED not in again.headers
    kept = client.post("/todos", json={"title": fresh}, headers=keyed(account, fresh))
    assert kept.headers[REPLAYED] == "true"
    assert total(client, account) == 3


def test_pruning_deletes_in_bounded_batches(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = f"test:{new_key()}"
    expired = datetime.now(UTC) - timedelta(hours=48)
    with sync_connection(settings) as connection:
        connection.execute(
            insert(idempotency_keys),
            [
                {"scope": scope, "key": f"k{n:02}", "fingerprint": "f", "status_code": 204}
                | {"created_at": expired}
                for n in range(7)
            ],
        )

    def remaining() -> int:
        with sync_connection(settings) as connection:
            rows = connection.execute(
                select(idempotency_keys.c.key).where(idempotency_keys.c.scope == scope)
            )
            return len(rows.all())

    async def prune() -> int:
        engine = create_app_engine(settings)
        try:
            return await prune_expired(engine, datetime.now(UTC) - timedelta(hours=24))
        finally:
            await engine.dispose()

    monkeypatch.setattr(idempotency, "PRUNE_BATCH", 2)
    monkeypatch.setattr(idempotency, "PRUNE_MAX_BATCHES", 2)
    assert asyncio.run(prune()) == 4  # two batches of two, then it stops for this run
    assert remaining() == 3
    monkeypatch.setattr(idempotency, "PRUNE_MAX_BATCHES", 20)
    assert asyncio.run(prune()) == 3
    assert remaining() == 0
    with sync_connection(settings) as connection:
        connection.execute(delete(idempotency_keys).where(idempotency_keys.c.scope == scope))


def test_the_app_prunes_expired_keys_in_the_background(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "PRUNE_EVERY_SECONDS", 0.05)
    with TestClient(create_app(settings)) as app_client:
        account = sign_up(app_client)
        key = new_key()
        app_client.post("/todos", json={"title": "x"}, headers=keyed(account, key))
        _age(settings, key, 25)
        deadline = time.monotonic() + 10
        while _stored_keys(settings, [key]):
            assert time.monotonic() < deadline, "the key was not pruned"
            time.sleep(0.05)


def test_keys_are_kept_at_least_24_hours() -> None:
    assert Settings(database_url=None).idempotency_key_hours == 24
    with pytest.raises(ValueError, match="greater than or equal to 24"):
        Settings(database_url=None, idempotency_key_hours=23)


# --- MCP ----------------------------------------------------------------------------------


def _call(client: TestClient, account: Account, tool: str, arguments: dict[str, Any]) -> Any:
    response = client.post(
        "/mcp",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        },
        headers={**account.headers, **MCP_HEADERS},
    )
    assert response.status_code == 200, response.text
    return response.json()["result"]


def _text(result: dict[str, Any]) -> str:
    text: str = result["content"][0]["text"]
    return text


def test_mcp_add_task_with_a_key_adds_once(client: TestClient, account: Account) -> None:
    key = new_key()
    arguments = {"title": "by MCP", "description": "once", "idempotency_key": key}
    first = _call(client, account, "add_task", arguments)
    again = _call(client, account, "add_task", arguments)
    assert first["isError"] is False
    assert again == first
    assert total(client, account) == 1
    reused = _call(client, account, "add_task", {**arguments, "title": "other"})
    assert reused["isError"] is True
    assert _text(reused) == "idempotency_key was already used for a different request"
    assert total(client, account) == 1
    metrics = metrics_text()
    assert 'todo_idempotent_replays_total{endpoint="mcp add_task"}' in metrics


def test_mcp_completion_edit_and_delete_with_a_key_write_once(
    client: TestClient, account: Account
) -> None:
    todo = create(client, account, "by REST")
    done_key, edit_key, delete_key = new_key(), new_key(), new_key()
    complete = {"task_id": todo["id"], "idempotency_key": done_key}
    first = _call(client, account, "complete_task", complete)
    assert first["structuredContent"]["completed"] is True
    client.post(f"/todos/{todo['id']}/uncomplete", headers=account.headers)
    assert _call(client, account, "complete_task", complete) == first
    assert client.get(f"/todos/{todo['id']}", headers=account.headers).json()["completed"] is False

    edit = {
        "task_id": todo["id"],
        "title": "first",
        "description": None,
        "idempotency_key": edit_key,
    }
    edited = _call(client, account, "update_task", edit)
    assert edited["structuredContent"]["title"] == "first"
    client.patch(f"/todos/{todo['id']}", json={"title": "later"}, headers=account.headers)
    assert _call(client, account, "update_task", edit) == edited
    assert client.get(f"/todos/{todo['id']}", headers=account.headers).json()["title"] == "later"

    remove = {"task_id": todo["id"], "idempotency_key": delete_key}
    deleted = _call(client, account, "delete_task", remove)
    assert _text(deleted) == f"task {todo['id']} deleted"
    assert _call(client, account, "delete_task", remove) == deleted
    missing = _call(client, account, "delete_task", {"task_id": todo["id"]})
    assert _text(missing) == f"task {todo['id']} not found"

    gone = {"task_id": todo["id"], "idempotency_key": new_key()}
    not_found = _call(client, account, "complete_task", gone)
    assert _text(not_found) == f"task {todo['id']} not found"
    assert _call(client, account, "complete_task", gone) == not_found


def test_mcp_keys_are_checked_and_scoped_to_the_user(
    client: TestClient, account: Account, other_account: Account
) -> None:
    bad = _call(client, account, "add_task", {"title": "x", "idempotency_key": "short"})
    assert bad["isError"] is True
    assert _text(bad).startswith("invalid input: idempotency_key: String should match pattern")
    key = new_key()
    mine = _call(client, account, "add_task", {"title": "same", "idempotency_key": key})
    theirs = _call(client, other_account, "add_task", {"title": "same", "idempotency_key": key})
    assert mine["structuredContent"]["id"] != theirs["structuredContent"]["id"]
    # A REST request and an MCP call are different requests, whatever the key.
    rest = client.post("/todos", json={"title": "same"}, headers=keyed(account, key))
    assert rest.status_code == 422
    assert total(client, account) == 1


def test_replays_are_counted_by_endpoint(client: TestClient, account: Account) -> None:
    headers = keyed(account, new_key())
    client.post("/todos", json={"title": "counted"}, headers=headers)

    def replays() -> float:
        for line in metrics_text().splitlines():
            if line.startswith('todo_idempotent_replays_total{endpoint="POST /todos"}'):
                return float(line.split()[-1])
        return 0.0

    before = replays()
    client.post("/todos", json={"title": "counted"}, headers=headers)
    client.post("/todos", json={"title": "counted"}, headers=headers)
    assert replays() == before + 2
