"""Login and sign-up throttling, the client address, and the bounded hashing pool."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import DatabaseFactory, settings_from, unique_email
from todo_api import throttle
from todo_api.app import create_app
from todo_api.migrations import upgrade_to_head
from todo_api.security import HashingBusyError, HashingPool
from todo_api.throttle import FIRST_DELAY_SECONDS, Counted, Slowdown, address_bucket

FRONTEND_SECRET = "frontend-to-backend-" + "s" * 32
PASSWORD = "correct horse battery"
ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"
# What the account's owner may wait for a login while someone guesses at it.
OWNER_LOGIN_SECONDS = 2.0

AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(database_factory: DatabaseFactory) -> Iterator[AppFactory]:
    """Test clients of apps on one fresh database, with the limits a test asks for."""
    env = {
        key: value
        for key, value in database_factory.make().items()
        if not key.endswith("_ATTEMPTS")
    }
    env["FORWARDED_ADDRESS_SECRET"] = FRONTEND_SECRET
    upgrade_to_head(settings_from(env))
    clients: list[TestClient] = []

    def make(**limits: str | int) -> TestClient:
        settings = settings_from({**env, **{key.upper(): str(v) for key, v in limits.items()}})
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _as(address: str, secret: str = FRONTEND_SECRET) -> dict[str, str]:
    return {"X-Client-Address": address, "X-Client-Address-Secret": secret}


def _signup(client: TestClient, email: str, **headers: str) -> int:
    body = {"email": email, "password": PASSWORD}
    return client.post("/auth/signup", json=body, headers=headers).status_code


def _login(
    client: TestClient, email: str, password: str, headers: dict[str, str] | None = None
) -> int:
    response = client.post(
        "/auth/login", json={"email": email, "password": password}, headers=headers or {}
    )
    if response.status_code == 429:
        assert 1 <= int(response.headers["retry-after"]) <= 300
        assert response.json() == {"detail": "too many attempts, try again later"}
    return response.status_code


def _record_delays(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The slowdown of each request counted from now on, in order."""
    services_throttle = client.app.state.services.throttle  # type: ignore[attr-defined]
    count = services_throttle.count
    delays: list[float] = []

    async def recording(*args: Any, **kwargs: Any) -> Counted:
        counted: Counted = await count(*args, **kwargs)
        delays.append(counted.delay_seconds)
        return counted

    monkeypatch.setattr(services_throttle, "count", recording)
    return delays


def _timed_login(client: TestClient, email: str, address: str) -> tuple[int, float]:
    began = time.monotonic()
    status = _login(client, email, PASSWORD, _as(address))
    return status, time.monotonic() - began


def test_a_flood_from_one_address_keeps_neither_the_owner_out_nor_the_flood_in(
    make_client: AppFactory,
) -> None:
    # The default limits, but the longest slowdown the settings allow: had the flood's
    # refused guesses slowed the account down, the owner would wait that long.
    client = make_client(login_account_max_delay_seconds=OWNER_LOGIN_SECONDS)
    email = unique_email()
    assert _signup(client, email) == 201
    flood = [_login(client, email, "wrong password", _as(ATTACKER)) for _ in range(40)]
    assert flood == [401] * 10 + [429] * 30
    # The owner, at an address that took no part in the flood, gets in, and quickly.
    status, seconds = _timed_login(client, email, OWNER)
    assert status == 200
    assert seconds < OWNER_LOGIN_SECONDS
    # The flooding address stays refused, the right password included.
    refused = client.post(
        "/auth/login", json={"email": email, "password": PASSWORD}, headers=_as(ATTACKER)
    )
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 300


def test_guesses_from_many_addresses_slow_the_account_down_but_never_lock_it(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(login_account_attempts=2, login_account_max_delay_seconds=1)
    email = unique_email()
    assert _signup(client, email) == 201
    delays = _record_delays(client, monkeypatch)
    guessers = [_as(f"203.0.113.{n}") for n in range(1, 5)]
    assert [_login(client, email, "wrong password", headers) for headers in guessers] == [401] * 4
    # Past 2 failures each attempt waits, twice as long as the last.
    assert delays == [0, 0, FIRST_DELAY_SECONDS, 2 * FIRST_DELAY_SECONDS]
    # The owner waits too, at most the longest delay, and gets in.
    status, seconds = _timed_login(client, email, OWNER)
    assert status == 200
    assert delays[-1] == 1
    assert 1 <= seconds < OWNER_LOGIN_SECONDS
    # Another account is not slowed down.
    other = unique_email()
    assert _signup(client, other) == 201
    assert _login(client, other, PASSWORD, _as(OWNER)) == 200
    assert delays[-1] == 0


def test_the_slowdown_doubles_up_to_its_longest_delay() -> None:
    slowdown = Slowdown("login-account", attempts=3, window_seconds=300, max_delay_seconds=1.5)
    delays = [slowdown.delay_seconds(attempts) for attempts in range(1, 9)]
    assert delays == [0, 0, 0, 0.25, 0.5, 1.0, 1.5, 1.5]
    assert slowdown.delay_seconds(10**9) == 1.5


def test_wrong_passwords_lock_the_account_at_that_address_then_the_window_ends(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(login_account_address_attempts=3, login_window_seconds=60)
    email = unique_email()
    assert _signup(client, email) == 201
    assert [_login(client, email, "wrong password") for _ in range(4)] == [401, 401, 401, 429]
    # Locked at this address: the right password is refused as well, so guessing on gains
    # nothing.
    assert _login(client, email, PASSWORD) == 429
    response = client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert 1 <= int(response.headers["retry-after"]) <= 60
    # Another account is not affected.
    other = unique_email()
    assert _signup(client, other) == 201
    assert _login(client, other, PASSWORD) == 200
    # Once the window is over, the account opens again.
    later = time.time() + 61
    monkeypatch.setattr(throttle, "_now_ms", lambda: int(later * 1000))
    assert _login(client, email, PASSWORD) == 200


def test_a_successful_login_resets_the_account_counter_of_its_address(
    make_client: AppFactory,
) -> None:
    client = make_client(login_account_address_attempts=3)
    email = unique_email()
    assert _signup(client, email) == 201
    for _ in range(3):
        assert _login(client, email, "wrong password") == 401
        assert _login(client, email, "wrong password") == 401
        assert _login(client, email, PASSWORD) == 200  # counter back to zero
    assert [_login(client, email, "wrong password") for _ in range(4)] == [401, 401, 401, 429]


def test_unknown_emails_are_limited_like_accounts(make_client: AppFactory) -> None:
    client = make_client(login_account_address_attempts=2)
    ghost = unique_email()
    assert [_login(client, ghost, "anything at all") for _ in range(3)] == [401, 401, 429]
    # Case and spaces do not make another account.
    assert _login(client, f"  {ghost.upper()} ", "anything at all") == 429


def test_the_address_limit_spans_accounts_and_uses_the_frontends_header(
    make_client: AppFactory,
) -> None:
    client = make_client(login_address_attempts=3)
    emails = [unique_email() for _ in range(5)]
    for email in emails:
        assert _signup(client, email) == 201
    attacker = _as("203.0.113.9")
    statuses = [_login(client, email, "wrong password", attacker) for email in emails[:4]]
    assert statuses == [401, 401, 401, 429]
    assert _login(client, emails[4], PASSWORD, attacker) == 429
    # Someone else behind the same frontend, from another address, is not throttled, and
    # logins with the right password do not count against an address.
    person = _as("198.51.100.1")
    assert [_login(client, email, PASSWORD, person) for email in emails] == [200] * 5


def test_the_header_counts_only_with_the_shared_secret(make_client: AppFactory) -> None:
    client = make_client(login_address_attempts=2)
    # Without the secret (or with a wrong one) the header is ignored: every attempt counts
    # against the connection's own address, whatever address it claims.
    claims = [
        {"X-Client-Address": "192.0.2.1"},
        _as("192.0.2.2", secret="not-the-secret-" + "x" * 32),
        _as("not an address"),
    ]
    statuses = [_login(client, unique_email(), "guess-1234", headers) for headers in claims]
    assert statuses == [401, 401, 429]
    # The frontend, with the secret, still speaks for its people.
    assert _login(client, unique_email(), "guess-1234", _as("192.0.2.3")) == 401


def test_ipv6_addresses_count_by_their_64(make_client: AppFactory) -> None:
    client = make_client(login_address_attempts=2)
    statuses = [
        _login(client, unique_email(), "guess-1234", _as(f"2001:db8:1:2::{n:x}"))
        for n in range(1, 4)
    ]
    assert statuses == [401, 401, 429]
    assert _login(client, unique_email(), "guess-1234", _as("2001:db8:1:3::1")) == 401


def test_address_buckets() -> None:
    assert address_bucket("203.0.113.9") == "203.0.113.9"
    assert address_bucket("::ffff:203.0.113.9") == "203.0.113.9"
    assert address_bucket("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_bucket("testclient") == "testclient"


def test_sign_ups_are_limited_per_address(make_client: AppFactory) -> None:
    client = make_client(signup_address_attempts=2, signup_window_seconds=3600)
    person = _as("198.51.100.20")
    statuses = [_signup(client, unique_email(), **person) for _ in range(3)]
    assert statuses == [201, 201, 429]
    refused = client.post(
        "/auth/signup", json={"email": unique_email(), "password": PASSWORD}, headers=person
    )
    assert 3500 <= int(refused.headers["retry-after"]) <= 3600
    assert _signup(client, unique_email(), **_as("198.51.100.21")) == 201


def test_limits_hold_across_workers_and_replicas(make_client: AppFactory) -> None:
    # Two apps on one database stand for two worker processes, or two pods.
    first = make_client(login_account_address_attempts=4)
    second = make_client(login_account_address_attempts=4)
    email = unique_email()
    assert _signup(first, email) == 201
    statuses = [_login(app, email, "wrong password") for app in (first, second) * 3]
    assert statuses == [401, 401, 401, 401, 429, 429]
    # A success on one resets the account on both.
    other = unique_email()
    assert _signup(first, other) == 201
    assert [_login(first, other, "wrong password") for _ in range(3)] == [401] * 3
    assert _login(second, other, PASSWORD) == 200
    assert [_login(first, other, "wrong password") for _ in range(5)] == [401] * 4 + [429]


def test_limits_of_zero_turn_throttling_off(make_client: AppFactory) -> None:
    client = make_client(
        login_account_address_attempts=0,
        login_account_attempts=0,
        login_address_attempts=0,
        signup_address_attempts=0,
    )
    email = unique_email()
    assert _signup(client, email) == 201
    assert {_login(client, email, "wrong password") for _ in range(15)} == {401}


def test_parallel_guesses_cannot_outrun_the_counter(make_client: AppFactory) -> None:
    client = make_client(login_account_address_attempts=5)
    email = unique_email()
    assert _signup(client, email) == 201
    statuses: list[int] = []
    lock = threading.Lock()

    def guess() -> None:
        status = _login(client, email, "wrong password")
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=guess) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(401) == 5
    assert statuses.count(429) == 25


def test_a_full_hashing_pool_answers_503_and_the_attempt_is_given_back(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(login_account_address_attempts=2, signup_address_attempts=2)
    email = unique_email()
    assert _signup(client, email) == 201
    hashing = client.app.state.services.hashing  # type: ignore[attr-defined]

    async def busy(*_: object) -> bool:
        raise HashingBusyError

    monkeypatch.setattr(hashing, "verify_password", busy)
    monkeypatch.setattr(hashing, "hash_password", busy)
    for _ in range(4):  # more than the limit: refunded attempts do not add up
        response = client.post("/auth/login", json={"email": email, "password": "wrong-pass"})
        assert response.status_code == 503
        assert response.json() == {"detail": "busy, try again shortly"}
        assert int(response.headers["retry-after"]) >= 1
    signup = client.post("/auth/signup", json={"email": unique_email(), "password": PASSWORD})
    assert signup.status_code == 503
    monkeypatch.undo()
    assert _login(client, email, "wrong password") == 401
    assert _login(client, email, PASSWORD) == 200
    assert _signup(client, unique_email()) == 201  # the 503 did not use up the one sign-up


def test_the_hashing_pool_bounds_concurrency_and_waits_briefly() -> None:
    pool = HashingPool(size=2, wait_seconds=0.2)
    running = 0
    peak = 0
    lock = threading.Lock()

    def work() -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return 1

    async def main() -> list[int | str]:
        async def one() -> int | str:
            try:
                return await pool.run(work)
            except HashingBusyError:
                return "busy"

        return list(await asyncio.gather(*(one() for _ in range(40))))

    try:
        results = asyncio.run(main())
    finally:
        pool.close()
    assert peak == 2
    assert results.count(1) >= 4  # the first ones ran, and waiting ones got a slot
    assert results.count("busy") >= 10  # the rest gave up after 0.2 s


def test_the_hashing_pool_hashes_and_verifies() -> None:
    pool = HashingPool(size=1, wait_seconds=1)

    async def main() -> tuple[bool, bool, bool]:
        digest = await pool.hash_password("s3cret-password")
        return (
            await pool.verify_password(digest, "s3cret-password"),
            await pool.verify_password(digest, "other-password"),
            await pool.verify_password(None, "s3cret-password"),
        )

    try:
        assert asyncio.run(main()) == (True, False, False)
    finally:
        pool.close()
