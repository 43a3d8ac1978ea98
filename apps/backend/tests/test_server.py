"""Against `python -m todo_api serve` on 127.0.0.1: MCP tools, readiness, graceful shutdown."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from conftest import MCP_ACCEPT, MCP_INITIALIZE, TEST_SECRET, Account, Server, sign_up
from pgcluster import PostgresCluster, free_port
from todo_api.migrations import upgrade_to_head
from todo_api.settings import STATE_DIR_ENV, Settings

pytestmark = pytest.mark.anyio
TOOLS = {"add_task", "list_tasks", "complete_task", "update_task", "delete_task"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _structured(result: CallToolResult) -> Any:
    assert not result.isError, result.content
    if result.structuredContent is not None:
        return result.structuredContent
    first = result.content[0]
    assert isinstance(first, TextContent)
    return json.loads(first.text)


def _error_text(result: CallToolResult) -> str:
    assert result.isError
    first = result.content[0]
    assert isinstance(first, TextContent)
    return first.text


@dataclass
class McpScenario:
    owner: Account
    stranger: Account
    rest_todo: dict[str, Any]


@pytest.fixture
def scenario(server: Server) -> McpScenario:
    with httpx.Client(base_url=server.base_url) as http:
        owner = sign_up(http)
        stranger = sign_up(http)
        rest_todo = http.post("/todos", json={"title": "made over REST"}, headers=owner.headers)
    return McpScenario(owner, stranger, rest_todo.json())


async def test_mcp_tools_act_for_the_token_owner(server: Server, scenario: McpScenario) -> None:
    owner, stranger, rest_todo = scenario.owner, scenario.stranger, scenario.rest_todo

    async with (
        httpx.AsyncClient(headers=owner.headers, timeout=30) as http_client,
        streamable_http_client(f"{server.base_url}/mcp", http_client=http_client) as (
            read,
            write,
            _,
        ),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS

        added = _structured(
            await session.call_tool(
                "add_task", {"title": "write report", "description": "by Friday"}
            )
        )
        assert (added["title"], added["description"], added["completed"]) == (
            "write report",
            "by Friday",
            False,
        )

        listed = _structured(await session.call_tool("list_tasks", {}))
        assert [item["id"] for item in listed["items"]] == [added["id"], rest_todo["id"]]
        assert listed["total"] == 2

        done = _structured(await session.call_tool("complete_task", {"task_id": added["id"]}))
        assert done["completed"] is True
        open_only = _structured(await session.call_tool("list_tasks", {"status": "open"}))
        assert [item["id"] for item in open_only["items"]] == [rest_todo["id"]]

        updated = _structured(
            await session.call_tool(
                "update_task", {"task_id": added["id"], "title": "send report", "completed": False}
            )
        )
        assert (updated["title"], updated["completed"], updated["description"]) == (
            "send report",
            False,
            "by Friday",
        )

        deleted = await session.call_tool("delete_task", {"task_id": rest_todo["id"]})
        assert not deleted.isError
        missing = await session.call_tool("complete_task", {"task_id": rest_todo["id"]})
        assert f"task {rest_todo['id']} not found" in _error_text(missing)

        invalid = await session.call_tool("add_task", {"title": ""})
        assert invalid.isError
        too_many = await session.call_tool("list_tasks", {"limit": 1000})
        assert too_many.isError

    # The stranger's session cannot see or touch the owner's tasks.
    async with (
        httpx.AsyncClient(headers=stranger.headers, timeout=30) as http_client,
        streamable_http_client(f"{server.base_url}/mcp", http_client=http_client) as (
            read,
            write,
            _,
        ),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        assert _structured(await session.call_tool("list_tasks", {}))["total"] == 0
        for tool in ("complete_task", "delete_task"):
            result = await session.call_tool(tool, {"task_id": added["id"]})
            assert f"task {added['id']} not found" in _error_text(result)
        result = await session.call_tool(
            "update_task", {"task_id": added["id"], "title": "mine now"}
        )
        assert result.isError

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        still = (await http.get(f"/todos/{added['id']}", headers=owner.headers)).json()
        assert still["title"] == "send report"


@pytest.fixture
def thousand_tasks(server: Server) -> tuple[Account, list[int]]:
    """An account with 1000 tasks, every fourth done; their ids, oldest first."""
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        owner = sign_up(http)
        ids = [
            http.post("/todos", json={"title": f"task {n}"}, headers=owner.headers).json()["id"]
            for n in range(1000)
        ]
        for todo_id in ids[::4]:
            http.post(f"/todos/{todo_id}/complete", headers=owner.headers)
    return owner, ids


async def test_mcp_pages_through_a_thousand_tasks_once_each(
    server: Server, thousand_tasks: tuple[Account, list[int]]
) -> None:
    owner, ids = thousand_tasks
    added = 0
    async with (
        httpx.AsyncClient(base_url=server.base_url, headers=owner.headers, timeout=30) as http,
        streamable_http_client(f"{server.base_url}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()

        async def walk(status: str) -> list[int]:
            nonlocal added
            seen: list[int] = []
            arguments: dict[str, Any] = {"status": status, "limit": 37}
            for _ in range(100):  # 28 pages at most
                page = _structured(await session.call_tool("list_tasks", arguments))
                assert page["counts"] == {"all": 1000 + added, "open": 750 + added, "done": 250}
                seen.extend(item["id"] for item in page["items"])
                # A task added while paging is newer than every page still to come.
                await http.post("/todos", json={"title": "meanwhile"})
                added += 1
                if page["next_cursor"] is None:
                    return seen
                arguments["cursor"] = page["next_cursor"]
            raise AssertionError("the pages did not end")

        assert await walk("all") == list(reversed(ids))
        assert await walk("done") == list(reversed(ids[::4]))

        refused = await session.call_tool("list_tasks", {"cursor": "bm9wZQ"})
        assert _error_text(refused) == "invalid input: cursor: invalid cursor"


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc"])
async def test_mcp_refuses_requests_without_a_valid_token(
    server: Server, authorization: str | None
) -> None:
    headers = dict(MCP_ACCEPT)
    if authorization:
        headers["Authorization"] = authorization
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post("/mcp", json=MCP_INITIALIZE, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid or missing bearer token"}
    assert response.headers["www-authenticate"] == "Bearer"


def _wait_for_status(url: str, expected: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    status = -1
    while time.monotonic() < deadline:
        try:
            status = httpx.get(url, timeout=5).status_code
        except httpx.TransportError:
            status = -1
        if status == expected:
            return status
        time.sleep(0.25)
    return status


def _timed(send: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


@pytest.mark.postgres_only
def test_ready_waits_for_the_database_once_then_stays_up_through_an_outage(
    tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    if os.environ.get("TODO_TEST_DB", "sqlite") != "postgres":
        pytest.skip("stopping the database is exercised in the PostgreSQL run")
    cluster = PostgresCluster().init()  # its own cluster: the shared one stays up
    cluster.start()
    request.addfinalizer(cluster.destroy)
    url = cluster.create_database("ready_check")
    # One minute of trust in a checked token: the owner's requests in the outage reach the hot
    # paths' own pool (psycopg) instead of failing at the session check (SQLAlchemy).
    env = {"DATABASE_URL": url, "JWT_SECRET": TEST_SECRET, "SESSION_CHECK_SECONDS": "60"}
    upgrade_to_head(Settings(database_url=url, jwt_secret=TEST_SECRET))
    cluster.stop()
    app = Server(env, tmp_path / "server.log")
    try:
        # A server that never reached its database is not ready.
        for _ in range(6):
            never = httpx.get(f"{app.base_url}/ready", timeout=10)
            assert never.status_code == 503
            assert never.json()["detail"].startswith("database")
        cluster.start()
        assert _wait_for_status(f"{app.base_url}/ready", 200, 20) == 200
        with httpx.Client(base_url=app.base_url) as http:
            owner = sign_up(http)
            unchecked = sign_up(http)  # its token has never been checked
            todo = http.post("/todos", json={"title": "before"}, headers=owner.headers).json()
            assert http.get("/todos", headers=owner.headers).status_code == 200  # trusted now
        cluster.stop()
        # Once it has, an outage of the shared database keeps it ready, and the database's
        # calls answer 503 with Retry-After, quickly.
        for _ in range(12):
            assert httpx.get(f"{app.base_url}/ready", timeout=5).status_code == 200
        assert httpx.get(f"{app.base_url}/health", timeout=5).status_code == 200
        with httpx.Client(base_url=app.base_url, timeout=30) as http:
            key = {"Idempotency-Key": uuid.uuid4().hex}
            calls = {
                "login": lambda: http.post(
                    "/auth/login", json={"email": "a@example.com", "password": "x"}
                ),
                "list": lambda: http.get("/todos", headers=owner.headers),
                "get": lambda: http.get(f"/todos/{todo['id']}", headers=owner.headers),
                "create": lambda: http.post(
                    "/todos", json={"title": "during"}, headers=owner.headers
                ),
                "keyed create": lambda: http.post(
                    "/todos", json={"title": "during"}, headers={**owner.headers, **key}
                ),
                "complete": lambda: http.post(
                    f"/todos/{todo['id']}/complete", headers=owner.headers
                ),
            }
            for _ in range(4):
                for name, send in calls.items():
                    answer, seconds = _timed(send)
                    assert answer.status_code == 503, (name, answer.text)
                    assert answer.json() == {"detail": "database unavailable"}, name
                    assert answer.headers["retry-after"] == "1", name
                    assert seconds < 3, (name, seconds)
            # MCP says the same in as few words, nothing of the driver's message: a token
            # whose session cannot be checked is answered 503 before any tool; a trusted
            # token's tool call fails with "database unavailable".
            call = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "list_tasks", "arguments": {}},
            }
            accept = {"Accept": "application/json, text/event-stream"}
            answer, seconds = _timed(
                lambda: http.post("/mcp", json=call, headers={**unchecked.headers, **accept})
            )
            assert answer.status_code == 503
            assert answer.json() == {"detail": "database unavailable"}
            assert answer.headers["retry-after"] == "1"
            assert seconds < 3
            answer, seconds = _timed(
                lambda: http.post("/mcp", json=call, headers={**owner.headers, **accept})
            )
            assert answer.json()["result"]["content"][0]["text"] == "database unavailable"
            assert seconds < 3
        cluster.start()
        with httpx.Client(base_url=app.base_url, timeout=30) as http:
            # The hot paths' pool reconnects by itself within seconds.
            deadline = time.monotonic() + 20
            answers: list[int] = []
            while answers[-8:] != [200] * 8:
                assert time.monotonic() < deadline, f"the backend did not recover: {answers}"
                answers.append(http.get("/todos", headers=owner.headers).status_code)
                time.sleep(0.1)
            sign_up(http)
            assert http.get("/ready").status_code == 200
    finally:
        app.stop()


def _environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = (entry.decode(errors="replace").partition("=") for entry in raw if entry)
    return {name: value for name, _, value in pairs}


def test_the_workers_of_one_start_share_one_fresh_state_directory(
    database_env: dict[str, str], tmp_path: Any
) -> None:
    """Where a worker records that the server reached its database, for the other workers'
    /ready (see DatabaseReach): one directory per start of `serve`, the same for its workers."""
    if not Path("/proc/self/environ").exists():
        pytest.skip("needs /proc")
    directories: list[str] = []
    for start in ("first", "second"):
        app = Server({**database_env, "WEB_CONCURRENCY": "2"}, tmp_path / f"{start}.log")
        try:
            workers: list[int] = []
            deadline = time.monotonic() + 30
            while len(workers) < 2:
                assert time.monotonic() < deadline, "the workers did not start"
                children = Path(f"/proc/{app.process.pid}/task/{app.process.pid}/children")
                workers = [int(pid) for pid in children.read_text().split()]
                time.sleep(0.1)
            shared = {_environment(pid).get(STATE_DIR_ENV) for pid in workers}
            assert len(shared) == 1
            directory = shared.pop()
            assert directory is not None
            assert httpx.get(f"{app.base_url}/ready", timeout=10).status_code == 200
            assert (Path(directory) / "database-reached").exists()
            directories.append(directory)
        finally:
            app.stop()
    assert directories[0] != directories[1]


def test_sigterm_lets_in_flight_requests_finish(
    database_env: dict[str, str], server: Server, tmp_path: Any
) -> None:
    app = Server(database_env, tmp_path / "server.log")
    with httpx.Client(base_url=app.base_url) as http:
        account = sign_up(http)
    body = json.dumps({"title": f"in flight {uuid.uuid4().hex}"}).encode()
    head = (
        f"POST /todos HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {account.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", app.port), timeout=30) as connection:
        connection.sendall(head + body[:5])
        time.sleep(0.5)  # the request is now in flight, waiting for the rest of its body
        app.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert app.process.poll() is None, "server quit with a request in flight"
        connection.sendall(body[5:])
        response = connection.recv(65536).decode()
    assert response.startswith("HTTP/1.1 201"), response
    # Uvicorn re-raises SIGTERM once it has shut down cleanly.
    assert app.process.wait(timeout=30) in (0, -signal.SIGTERM)
    app.stop()
    assert "Finished server process" in app.log_path.read_text()
    # New connections are refused once it has stopped.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", app.port), timeout=2)


def _get_on(connection: socket.socket, path: str) -> str:
    """One GET on a kept-alive connection, its body read; the answer's head, lower-cased."""
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = connection.recv(65536)
        assert chunk, f"connection closed before an answer: {answer!r}"
        answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    length = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
    assert length, head
    while len(body) < int(length.group(1)):
        body += connection.recv(65536)
    return head.decode().lower()


def _run_drain_hook(tmp_path: Any, seconds: float) -> None:
    """The preStop hook, as the pod runs it, in the server's temporary directory."""
    hook = subprocess.run(
        [sys.executable, "-m", "todo_api", "drain", "--seconds", str(seconds)],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        check=False,
    )
    assert hook.returncode == 0, hook.stderr


def test_drain_closes_each_connection_after_its_answer(
    database_env: dict[str, str], tmp_path: Any
) -> None:
    # Its own temporary directory: the marker must not reach the suite's other servers.
    env = {**database_env, "TMPDIR": str(tmp_path)}
    app = Server(env, tmp_path / "server.log")
    try:
        with socket.create_connection(("127.0.0.1", app.port), timeout=10) as connection:
            for _ in range(2):
                assert "connection: close" not in _get_on(connection, "/health")
            _run_drain_hook(tmp_path, 0)
            head = _get_on(connection, "/health")
            assert head.startswith("http/1.1 200"), head
            assert "connection: close" in head
            assert connection.recv(1) == b"", "the server kept the connection open"
    finally:
        app.stop()
    # A container restarted in the same pod (same emptyDir) serves kept-alive connections again.
    restarted = Server(env, tmp_path / "restarted.log")
    try:
        with socket.create_connection(("127.0.0.1", restarted.port), timeout=10) as connection:
            assert "connection: close" not in _get_on(connection, "/health")
            assert "connection: close" not in _get_on(connection, "/health")
    finally:
        restarted.stop()


def test_drain_waits_its_pause(tmp_path: Any) -> None:
    started = time.monotonic()
    _run_drain_hook(tmp_path, 1.5)
    assert time.monotonic() - started >= 1.5
    assert (tmp_path / "todo-api-draining").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_metrics_are_served_on_their_own_port_only(
    database_env: dict[str, str], tmp_path: Any, workers: str
) -> None:
    metrics_port = free_port()
    app = Server(
        {**database_env, "METRICS_PORT": str(metrics_port), "WEB_CONCURRENCY": workers},
        tmp_path / "server.log",
    )
    try:
        for _ in range(4):  # with two workers, both likely answer some
            assert httpx.get(f"{app.base_url}/health", timeout=10).status_code == 200
        assert httpx.get(f"{app.base_url}/metrics", timeout=10).status_code == 404
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert scraped.status_code == 200
        served = re.search(
            r'^http_requests_total\{method="GET",route="/health",status="200"\} (\S+)$',
            scraped.text,
            re.MULTILINE,
        )
        # Every worker's requests, summed: the four above at least.
        assert served is not None, scraped.text[:2000]
        assert float(served.group(1)) >= 4
    finally:
        app.stop()


def test_a_metrics_port_equal_to_the_api_port_is_refused(database_env: dict[str, str]) -> None:
    port = free_port()
    refused = subprocess.run(
        [sys.executable, "-m", "todo_api", "serve", "--port", str(port)],
        env={**os.environ, **database_env, "METRICS_PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert f"METRICS_PORT {port} is the API's port (PORT, --port)" in refused.stderr
