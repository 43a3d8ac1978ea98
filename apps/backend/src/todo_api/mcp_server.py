"""MCP server (streamable HTTP) whose tools act for the user whose bearer token is presented."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Annotated, Any

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.session import ServerSession
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ContentBlock
from pydantic import Field, StrictBool, ValidationError
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from todo_api.database import DATABASE_ERRORS, DATABASE_RETRY_AFTER_SECONDS
from todo_api.idempotency import (
    KEY_PATTERN,
    REUSED_KEY,
    Fingerprints,
    IdempotencyKey,
    KeyReusedError,
    Outcome,
    user_scope,
)
from todo_api.observability import IDEMPOTENT_REPLAYS, request_id_var, send_json_error
from todo_api.routes import page_start, todo_out, todo_page
from todo_api.schemas import (
    DEFAULT_PAGE_SIZE,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    Description,
    PageCursor,
    StatusFilter,
    Title,
    TodoOut,
    TodoPage,
)
from todo_api.security import MAX_ID, InvalidTokenError, bearer_token
from todo_api.sessions import SessionEndedError, Sessions
from todo_api.store import Store, UnknownOwnerError

logger = logging.getLogger(__name__)

ToolContext = Context[ServerSession, object, Request]
# strict: a number is a JSON number ("10" is refused), a boolean a JSON boolean.
TaskId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID, description="Id of the task")]
_USER_ID_KEY = "todo_user_id"
_REQUEST_ID_KEY = "todo_request_id"
_KEY_ARGUMENT = "idempotency_key"
IdempotencyKeyArgument = Annotated[
    str | None,
    Field(
        pattern=KEY_PATTERN,
        description="Makes the call safe to repeat: a repeat with the same key and arguments "
        "gets the first call's result and changes nothing (16 to 128 of A-Z a-z 0-9 _ -)",
    ),
]
# The fingerprint of the tool call in progress (its name and arguments but the key), set by
# TodoMcp.call_tool for the tool's idempotency key.
_fingerprint_var: ContextVar[str | None] = ContextVar("mcp_call_fingerprint", default=None)


def _invalid_input(error: ValidationError) -> str:
    """`invalid input: <field>: <reason>`, without echoing the value back."""
    first = error.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"invalid input: {field}: {message}" if field else f"invalid input: {message}"


class TodoMcp(FastMCP[Any]):
    """FastMCP whose tool errors are short, stable messages.

    FastMCP hands a tool's exception text to the caller (`Error executing tool list_tasks:
    (psycopg.OperationalError) connection failed: connection to server at ...`). Here the
    caller gets one of: the tool's own message (`task 5 not found`), `invalid input: ...`,
    `database unavailable` or `internal error`; the details go to the log with the request id.
    """

    def __init__(self, fingerprints: Fingerprints, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fingerprints = fingerprints

    def _fingerprint(self, name: str, arguments: dict[str, Any]) -> str | None:
        """The call's fingerprint when it carries an idempotency key: its tool and arguments,
        as sent, but the key."""
        if _KEY_ARGUMENT not in arguments:
            return None
        rest = {key: value for key, value in arguments.items() if key != _KEY_ARGUMENT}
        canonical = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return self.fingerprints.of(b"mcp", name.encode(), canonical.encode())

    async def call_tool(
        self, name: str, arguments: dict[str, Any]
    ) -> Sequence[ContentBlock] | dict[str, Any]:
        request = self.get_context().request_context.request
        request_id = request.scope.get(_REQUEST_ID_KEY) if isinstance(request, Request) else None
        token = request_id_var.set(request_id if isinstance(request_id, str) else None)
        fingerprint = _fingerprint_var.set(self._fingerprint(name, arguments))
        try:
            tool = self._tool_manager.get_tool(name)
            if tool is not None:
                unknown = sorted(set(arguments) - set(tool.parameters.get("properties", {})))
                if unknown:
                    raise ToolError(f"invalid input: unknown argument {unknown[0]}")
                if name == "update_task" and arguments.get("description", "") is None:
                    # An explicit null clears the description, as in REST's PATCH.
                    arguments = {**arguments, "description": ""}
            try:
                return await super().call_tool(name, arguments)
            except ToolError as error:
                raise ToolError(_public_message(name, error)) from None
        finally:
            _fingerprint_var.reset(fingerprint)
            request_id_var.reset(token)


def _public_message(tool: str, error: ToolError) -> str:
    cause = error.__cause__
    if cause is None or isinstance(cause, ToolError):
        return str(cause or error)  # a message written for the caller
    if isinstance(cause, ValidationError):
        return _invalid_input(cause)
    if isinstance(cause, KeyReusedError):
        return REUSED_KEY.replace("Idempotency-Key", _KEY_ARGUMENT)
    if isinstance(cause, DATABASE_ERRORS):
        logger.error(
            "database error in an MCP tool",
            extra={"tool": tool, "error": type(cause).__name__, "error_detail": str(cause)},
        )
        return "database unavailable"
    logger.error("unexpected error in an MCP tool", extra={"tool": tool}, exc_info=cause)
    return "internal error"


def _user_id(ctx: ToolContext) -> int:
    request = ctx.request_context.request
    if request is None or not isinstance(request.scope.get(_USER_ID_KEY), int):
        raise ToolError("not authenticated")
    user_id: int = request.scope[_USER_ID_KEY]
    return user_id


def _key(user_id: int, key: str) -> IdempotencyKey:
    fingerprint = _fingerprint_var.get()
    assert fingerprint is not None  # set by TodoMcp.call_tool for every call with a key
    return IdempotencyKey(user_scope(user_id), key, fingerprint)


def _result(outcome: Outcome, tool: str, task_id: int | None = None) -> TodoOut:
    """A keyed call's todo, from its answer: the first call's, for a repeat."""
    if outcome.replayed:
        IDEMPOTENT_REPLAYS.labels(f"mcp {tool}").inc()
    answer = outcome.answer
    if answer.status_code == 404:
        raise ToolError(f"task {task_id} not found")
    assert answer.body is not None
    return TodoOut.model_validate_json(answer.body)


def build_mcp_server(store: Store, fingerprints: Fingerprints) -> FastMCP[Any]:
    server = TodoMcp(
        fingerprints,
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
        title: Title,
        ctx: ToolContext,
        description: Description | None = None,
        idempotency_key: IdempotencyKeyArgument = None,
    ) -> TodoOut:
        """Add a task to the user's todo list."""
        user_id = _user_id(ctx)
        try:
            if idempotency_key is not None:
                key = _key(user_id, idempotency_key)
                return _result(
                    await store.create_todo_once(key, user_id, title, description), "add_task"
                )
            todo = await store.create_todo(user_id, title, description)
        except UnknownOwnerError:
            raise ToolError("account no longer exists") from None
        return todo_out(todo)

    @server.tool()
    async def list_tasks(
        ctx: ToolContext,
        status: StatusFilter = "all",
        limit: Annotated[int, Field(strict=True, ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        cursor: PageCursor | None = None,
        offset: Annotated[int, Field(strict=True, ge=0, le=MAX_OFFSET)] = 0,
    ) -> TodoPage:
        """List the user's tasks, newest first; status is all, open or done.

        For more, call again with the page's next_cursor (older tasks), prev_cursor (newer)
        or last_cursor (the oldest); counts has the user's totals."""
        try:
            start = page_start(cursor, offset)
        except ValueError as error:
            raise ToolError(f"invalid input: {error}") from None
        listing = await store.list_todos(_user_id(ctx), status, limit, start, offset)
        return todo_page(listing, status, limit, offset)

    @server.tool()
    async def complete_task(
        task_id: TaskId, ctx: ToolContext, idempotency_key: IdempotencyKeyArgument = None
    ) -> TodoOut:
        """Mark a task as done."""
        user_id = _user_id(ctx)
        if idempotency_key is not None:
            outcome = await store.set_completed_once(
                _key(user_id, idempotency_key), user_id, task_id, True
            )
            return _result(outcome, "complete_task", task_id)
        todo = await store.set_completed(user_id, task_id, True)
        if todo is None:
            raise ToolError(f"task {task_id} not found")
        return todo_out(todo)

    @server.tool()
    async def update_task(
        task_id: TaskId,
        ctx: ToolContext,
        title: Title | None = None,
        description: Annotated[
            Description | None,
            Field(description="New description; null or an empty string clears it"),
        ] = None,
        completed: StrictBool | None = None,
        idempotency_key: IdempotencyKeyArgument = None,
    ) -> TodoOut:
        """Change a task's title, description or completion; omitted fields stay as they are."""
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = title
        if description is not None:
            changes["description"] = description or None
        if completed is not None:
            changes["completed"] = completed
        user_id = _user_id(ctx)
        if idempotency_key is not None:
            outcome = await store.update_todo_once(
                _key(user_id, idempotency_key), user_id, task_id, changes
            )
            return _result(outcome, "update_task", task_id)
        todo = await store.update_todo(user_id, task_id, changes)
        if todo is None:
            raise ToolError(f"task {task_id} not found")
        return todo_out(todo)

    @server.tool()
    async def delete_task(
        task_id: TaskId, ctx: ToolContext, idempotency_key: IdempotencyKeyArgument = None
    ) -> str:
        """Delete a task."""
        user_id = _user_id(ctx)
        if idempotency_key is not None:
            key = _key(user_id, idempotency_key)
            outcome = await store.delete_todo_once(key, user_id, task_id)
            if outcome.replayed:
                IDEMPOTENT_REPLAYS.labels("mcp delete_task").inc()
            if outcome.answer.status_code == 404:
                raise ToolError(f"task {task_id} not found")
        elif not await store.delete_todo(user_id, task_id):
            raise ToolError(f"task {task_id} not found")
        return f"task {task_id} deleted"

    return server


class McpEndpoint:
    """ASGI endpoint at /mcp: checks the bearer token, then hands over to the MCP transport.

    Only POST (and DELETE) are served. The server is stateless and answers every request with
    JSON, so it never has anything to push on a standalone GET stream; GET is 405, as the
    streamable HTTP transport allows, and no idle stream can pile up.
    """

    methods = ("POST", "DELETE")

    def __init__(self, session_manager: StreamableHTTPSessionManager, sessions: Sessions) -> None:
        self.session_manager = session_manager
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in self.methods:
            allow = ", ".join(self.methods).encode()
            await send_json_error(send, 405, "method not allowed", [(b"allow", allow)])
            return
        authorization = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value.decode("latin-1")
        try:
            claims = await self.sessions.authenticate(bearer_token(authorization))
        except (InvalidTokenError, SessionEndedError):
            await send_json_error(
                send, 401, "invalid or missing bearer token", [(b"www-authenticate", b"Bearer")]
            )
            return
        except DATABASE_ERRORS as error:  # the session check could not ask the database
            logger.error(
                "database error checking an MCP session",
                extra={"error": type(error).__name__, "error_detail": str(error)},
            )
            await send_json_error(
                send,
                503,
                "database unavailable",
                [(b"retry-after", str(DATABASE_RETRY_AFTER_SECONDS).encode())],
            )
            return
        await self.session_manager.handle_request(
            {**scope, _USER_ID_KEY: claims.user_id, _REQUEST_ID_KEY: request_id_var.get()},
            receive,
            send,
        )
