"""ConnectionCloseMiddleware: which answers say `Connection: close` (the real server's closing
of the connection is in test_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.types import Message, Receive, Scope, Send

from todo_api import draining
from todo_api.draining import MAX_CONNECTION_AGE_SECONDS, ConnectionCloseMiddleware


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def no_marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(draining, "marker", lambda: tmp_path / "todo-api-draining")


async def _closes(middleware: ConnectionCloseMiddleware, client: tuple[str, int] | None) -> bool:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await middleware({"type": "http", "client": client, "headers": []}, receive, send)
    headers = dict(sent[0]["headers"])
    return headers.get(b"connection") == b"close"


@pytest.mark.anyio
@pytest.mark.usefixtures("no_marker")
async def test_a_connection_is_closed_after_its_first_answer_past_the_age() -> None:
    clock = Clock()
    middleware = ConnectionCloseMiddleware(_ok, max_age_seconds=30.0, clock=clock)
    assert not await _closes(middleware, ("10.0.0.7", 40000))
    clock.now += 29.9
    assert not await _closes(middleware, ("10.0.0.7", 40000))
    assert not await _closes(middleware, ("10.0.0.8", 40000)), "another client is its own"
    clock.now += 0.1
    assert await _closes(middleware, ("10.0.0.7", 40000))
    # the client's next connection may get the same port: it is new
    assert not await _closes(middleware, ("10.0.0.7", 40000))
    clock.now += 15
    assert not await _closes(middleware, ("10.0.0.8", 40000))
    clock.now += 15
    assert await _closes(middleware, ("10.0.0.8", 40000))


@pytest.mark.anyio
@pytest.mark.usefixtures("no_marker")
async def test_connections_its_clients_closed_are_forgotten() -> None:
    clock = Clock()
    middleware = ConnectionCloseMiddleware(_ok, max_age_seconds=30.0, clock=clock)
    for port in range(50000, 50100):
        await _closes(middleware, ("10.0.0.7", port))
    clock.now += 30
    await _closes(middleware, ("10.0.0.9", 1))  # a sweep: nothing is twice the age yet
    assert len(middleware.opened_at) == 101
    clock.now += 30
    await _closes(middleware, ("10.0.0.9", 2))  # the next sweep forgets the hundred
    assert set(middleware.opened_at) == {("10.0.0.9", 1), ("10.0.0.9", 2)}


@pytest.mark.anyio
async def test_while_draining_every_answer_closes_and_without_a_client_address_only_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(draining, "marker", lambda: tmp_path / "todo-api-draining")
    clock = Clock()
    middleware = ConnectionCloseMiddleware(_ok, clock=clock)
    clock.now += 10 * MAX_CONNECTION_AGE_SECONDS
    assert not await _closes(middleware, None)
    (tmp_path / "todo-api-draining").touch()
    assert await _closes(middleware, ("10.0.0.7", 40000))
    assert await _closes(middleware, None)


def test_connections_live_30_seconds_by_default() -> None:
    assert MAX_CONNECTION_AGE_SECONDS == 30.0
