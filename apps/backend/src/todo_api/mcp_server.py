"""MCP server (streamable HTTP) whose tools act for the user whose bearer token is presented."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.session import ServerSession
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from todo_api.observability import send_json_error
from todo_api.routes import MAX_ID, todo_out
from todo_api.schemas import (
    DEFAULT_PAGE_SIZE,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    Description,
    StatusFilter,
    Title,
    TodoOut,
    TodoPage,
)
from todo_api.security import InvalidTokenError, bearer_token, user_id_from_token
from todo_api.store import Store, UnknownOwnerError

ToolContext = Context[ServerSession, object, Request]
TaskId = Annotated[int, Field(ge=1, le=MAX_ID, description="Id of the task")]
_USER_ID_KEY = "todo_user_id"


def _user_id(ctx: ToolContext) -> int:
    request = ctx.request_context.request
    if request is None or not isinstance(request.scope.get(_USER_ID_KEY), int):
        raise ToolError("not authenticated")
    user_id: int = request.scope[_USER_ID_KEY]
    return user_id


def build_mcp_server(store: Store) -> FastMCP[Any]:
    server: FastMCP[Any] = FastMCP(
        "todo",
        instructions="Manage the signed-in user's todo list.",
        stateless_http=True,
        json_response=True,
        streamable_http_path="/",
        # Requests are authenticated with bearer tokens, so Host/Origin pinning adds nothing
        # and would break access through the cluster's service names.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    @server.tool()
    async def add_task(
        title: Title, ctx: ToolContext, description: Description | None = None
    ) -> TodoOut:
        """Add a task to the user's todo list."""
        try:
            todo = await store.create_todo(_user_id(ctx), title, description)
        except UnknownOwnerError:
            raise ToolError("account no longer exists") from None
        return todo_out(todo)

    @server.tool()
    async def list_tasks(
        ctx: ToolContext,
        status: StatusFilter = "all",
        limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0,
    ) -> TodoPage:
        """List the user's tasks, newest first; status is all, open or done."""
        listing = await store.list_todos(_user_id(ctx), status, limit, offset)
        return TodoPage(
            items=[todo_out(todo) for todo in listing.items],
            total=listing.total,
            limit=limit,
            offset=offset,
        )

    @server.tool()
    async def complete_task(task_id: TaskId, ctx: ToolContext) -> TodoOut:
        """Mark a task as done."""
        todo = await store.set_completed(_user_id(ctx), task_id, True)
        if todo is None:
            raise ToolError(f"task {task_id} not found")
        return todo_out(todo)

    @server.tool()
    async def update_task(
        task_id: TaskId,
        ctx: ToolContext,
        title: Title | None = None,
        description: Description | None = None,
        completed: bool | None = None,
    ) -> TodoOut:
        """Change a task's title, description or completion; omitted fields stay as they are."""
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = title
        if description is not None:
            changes["description"] = description
        if completed is not None:
            changes["completed"] = completed
        todo = await store.update_todo(_user_id(ctx), task_id, changes)
        if todo is None:
            raise ToolError(f"task {task_id} not found")
        return todo_out(todo)

    @server.tool()
    async def delete_task(task_id: TaskId, ctx: ToolContext) -> str:
        """Delete a task."""
        if not await store.delete_todo(_user_id(ctx), task_id):
            raise ToolError(f"task {task_id} not found")
        return f"task {task_id} deleted"

    return server


class McpEndpoint:
    """ASGI endpoint at /mcp: checks the bearer token, then hands over to the MCP transport."""

    def __init__(self, session_manager: StreamableHTTPSessionManager, secret: str) -> None:
        self.session_manager = session_manager
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value.decode("latin-1")
        try:
            user_id = user_id_from_token(bearer_token(authorization), self.secret)
        except InvalidTokenError:
            await send_json_error(
                send, 401, "invalid or missing bearer token", [(b"www-authenticate", b"Bearer")]
            )
            return
        await self.session_manager.handle_request({**scope, _USER_ID_KEY: user_id}, receive, send)
