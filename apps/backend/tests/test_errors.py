"""What callers see when something fails (REST and MCP), and what the log keeps."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from conftest import Account
from todo_api.observability import JsonFormatter
from todo_api.store import Store

MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
DRIVER_MESSAGE = 'connection to server at "10.9.8.7", port 5432 failed: SELECT secret FROM users'


class JsonLines(logging.Handler):
    """Collects log records as the JSON lines the server would print."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[JsonLines]:
    handler = JsonLines()
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def mcp_call(
    client: TestClient,
    account: Account,
    tool: str,
    arguments: dict[str, Any],
    request_id: str | None = None,
) -> dict[str, Any]:
    """One stateless JSON-RPC `tools/call`; returns its result."""
    headers = {**account.headers, **MCP_HEADERS}
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    response = client.post(
        "/mcp",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


def error_text(result: dict[str, Any]) -> str:
    assert result["isError"] is True, result
    text: str = result["content"][0]["text"]
    return text


def _store(client: TestClient) -> Store:
    app = client.app
    assert isinstance(app, FastAPI)
    store: Store = app.state.services.store
    return store


def _database_down(*_: object, **__: object) -> Any:
    raise OperationalError("SELECT secret FROM users", {}, Exception(DRIVER_MESSAGE))


def _bug(*_: object, **__: object) -> Any:
    raise RuntimeError("internal detail: /srv/app/store.py line 42")


# MCP


def test_mcp_tool_errors_are_short_and_details_go_to_the_log(
    client: TestClient, account: Account, monkeypatch: pytest.MonkeyPatch, log_lines: JsonLines
) -> None:
    store = _store(client)
    monkeypatch.setattr(store, "list_todos", _database_down)
    result = mcp_call(client, account, "list_tasks", {}, request_id="mcp-db-down-1")
    assert error_text(result) == "database unavailable"

    monkeypatch.setattr(store, "create_todo", _bug)
    result = mcp_call(client, account, "add_task", {"title": "x"}, request_id="mcp-bug-2")
    assert error_text(result) == "internal error"

    database = next(
        entry
        for entry in log_lines.entries
        if entry.get("request_id") == "mcp-db-down-1" and entry["level"] == "error"
    )
    assert database["message"] == "database error in an MCP tool"
    assert "10.9.8.7" in database["error_detail"]
    bug = next(
        entry
        for entry in log_lines.entries
        if entry.get("request_id") == "mcp-bug-2" and entry["level"] == "error"
    )
    assert "internal detail" in bug["exception"]


def test_mcp_messages_for_the_callers_mistakes(client: TestClient, account: Account) -> None:
    missing = mcp_call(client, account, "complete_task", {"task_id": 9_000_000})
    assert error_text(missing) == "task 9000000 not found"
    assert error_text(mcp_call(client, account, "no_such_tool", {})) == "Unknown tool: no_such_tool"
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("list_tasks", {"limit": "10"}, "invalid input: limit: Input should be a valid integer"),
        ("list_tasks", {"limit": 10.0}, "invalid input: limit: Input should be a valid integer"),
        ("list_tasks", {"limit": True}, "invalid input: limit: Input should be a valid integer"),
        ("list_tasks", {"limit": 1000}, "invalid input: limit: Input should be less than"),
        ("list_tasks", {"everything": True}, "invalid input: unknown argument everything"),
        ("complete_task", {"task_id": "7"}, "invalid input: task_id: Input should be a valid"),
        ("update_task", {"task_id": 1, "completed": "yes"}, "invalid input: completed:"),
        ("update_task", {"task_id": 1, "completed": 1}, "invalid input: completed:"),
        ("add_task", {"title": "abc\u202egnp.exe"}, "RIGHT-TO-LEFT OVERRIDE"),
        ("add_task", {"title": "ding\x07"}, "must not contain the control character U+0007"),
        ("add_task", {"title": "\u200b"}, "invalid input: title: must contain a visible"),
    ]
    for tool, arguments, expected in cases:
        text = error_text(mcp_call(client, account, tool, arguments))
        assert text.startswith(expected) or expected in text, (tool, arguments, text)
        assert "Error executing tool" not in text


def test_mcp_update_task_clears_the_description(client: TestClient, account: Account) -> None:
    added = mcp_call(client, account, "add_task", {"title": "t", "description": "notes"})
    task = added["structuredContent"]
    kept = mcp_call(client, account, "update_task", {"task_id": task["id"], "title": "t2"})
    assert kept["structuredContent"]["description"] == "notes"
    for clear in (None, ""):
        mcp_call(client, account, "update_task", {"task_id": task["id"], "description": "x"})
        cleared = mcp_call(
            client, account, "update_task", {"task_id": task["id"], "description": clear}
        )
        assert cleared["structuredContent"]["description"] is None
        fetched = client.get(f"/todos/{task['id']}", headers=account.headers).json()
        assert fetched["description"] is None


def test_mcp_get_is_not_offered(client: TestClient, account: Account) -> None:
    # No standalone server-to-client stream: nothing would ever be sent on it.
    for headers in ({**account.headers, "Accept": "text/event-stream"}, {}):
        response = client.get("/mcp", headers=headers)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST, DELETE"
        assert response.json() == {"detail": "method not allowed"}


# REST


def test_rest_bugs_answer_a_fixed_500_and_log_the_traceback_with_the_request_id(
    client: TestClient, account: Account, monkeypatch: pytest.MonkeyPatch, log_lines: JsonLines
) -> None:
    monkeypatch.setattr(_store(client), "list_todos", _bug)
    response = client.get("/todos", headers={**account.headers, "X-Request-ID": "rest-bug-1"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}
    assert response.headers["x-request-id"] == "rest-bug-1"
    logged = [entry for entry in log_lines.entries if entry.get("request_id") == "rest-bug-1"]
    assert any("internal detail" in entry.get("exception", "") for entry in logged)
    assert any(entry.get("status") == 500 for entry in logged)  # the access log line


def test_rest_database_failures_are_503_without_the_drivers_message(
    client: TestClient, account: Account, monkeypatch: pytest.MonkeyPatch, log_lines: JsonLines
) -> None:
    monkeypatch.setattr(_store(client), "list_todos", _database_down)
    response = client.get("/todos", headers={**account.headers, "X-Request-ID": "rest-db-2"})
    assert response.status_code == 503
    assert response.json() == {"detail": "database unavailable"}
    assert response.headers["retry-after"] == "1"
    logged = [entry for entry in log_lines.entries if entry.get("request_id") == "rest-db-2"]
    assert any("10.9.8.7" in entry.get("error_detail", "") for entry in logged)
