"""The MCP client configuration of docs/ai-devops.md (docs/mcp-client.json), used as an MCP
client uses it: its URL (the port-forward's, moved to this test's server), its Authorization
header with ${TODO_TOKEN} filled in from the environment, over streamable HTTP."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent

from conftest import MCP_ACCEPT, MCP_INITIALIZE, Server, sign_up

pytestmark = pytest.mark.anyio
CONFIG_FILE = Path(__file__).resolve().parents[3] / "docs" / "mcp-client.json"
TOOLS = {"add_task", "list_tasks", "complete_task", "update_task", "delete_task"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _server_entry() -> dict[str, Any]:
    config = json.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    servers: dict[str, dict[str, Any]] = config["mcpServers"]
    assert list(servers) == ["todo"]
    return servers["todo"]


def _expand(value: str, env: dict[str, str]) -> str:
    """${NAME} from the environment, as MCP clients expand their configuration."""
    return re.sub(r"\$\{(\w+)\}", lambda match: env[match.group(1)], value)


def _moved_to(url: str, server: Server) -> str:
    """The configured URL on this test's server instead of the port-forward's 127.0.0.1:8000."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=urlsplit(server.base_url).netloc))


def test_the_example_points_at_the_port_forward_with_a_bearer_token() -> None:
    entry = _server_entry()
    assert entry["type"] == "http"
    # kubectl -n todo-app port-forward svc/backend 8000:8000, as docs/ai-devops.md shows.
    assert entry["url"] == "http://127.0.0.1:8000/mcp"
    assert entry["headers"] == {"Authorization": "Bearer ${TODO_TOKEN}"}


async def test_a_client_with_the_example_lists_the_tools_and_calls_one(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        account = sign_up(http)
    entry = _server_entry()
    env = {**os.environ, "TODO_TOKEN": account.token}
    headers = {name: _expand(value, env) for name, value in entry["headers"].items()}
    async with (
        httpx.AsyncClient(headers=headers, timeout=30) as http_client,
        streamable_http_client(_moved_to(entry["url"], server), http_client=http_client) as (
            read,
            write,
            _,
        ),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS
        added = await session.call_tool("add_task", {"title": "Check the HPA at its maximum"})
        assert not added.isError
        listed = await session.call_tool("list_tasks", {"status": "open"})
        first = listed.content[0]
        assert isinstance(first, TextContent)
        titles = [item["title"] for item in json.loads(first.text)["items"]]
        assert titles == ["Check the HPA at its maximum"]


async def test_the_same_request_with_a_wrong_token_is_refused(
    server: Server,
) -> None:
    entry = _server_entry()
    headers = {
        **MCP_ACCEPT,
        **{
            name: _expand(value, {"TODO_TOKEN": "not-a-token"})
            for name, value in entry["headers"].items()
        },
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(
            _moved_to(entry["url"], server), json=MCP_INITIALIZE, headers=headers
        )
    assert response.status_code == 401
