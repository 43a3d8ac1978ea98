"""Queries for accounts and todos; every todo query is scoped to its owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    any_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from todo_api.credentials import email_skeleton, normalise_email
from todo_api.idempotency import Answer, IdempotencyKey, KeyedWrites, Outcome
from todo_api.paging import Cursor, Direction
from todo_api.schemas import StatusFilter
from todo_api.tables import Identifier, todo_counts, todos, users

_TODO_COLUMNS = (
    todos.c.id,
    todos.c.title,
    todos.c.description,
    todos.c.completed,
    todos.c.created_at,
    todos.c.updated_at,
)


# The hot statements are built once with bound parameters: building a statement per request
# costs more CPU than PostgreSQL spends answering it.
_OWNED_TODO = and_(todos.c.id == bindparam("todo_id"), todos.c.user_id == bindparam("owner_id"))
PageStart = Direction | Literal["first"]


def page_query(start: PageStart, filtered: bool, *, postgres: bool) -> Select[Any]:
    """Keyset pages: each walks the (user_id, id) or (user_id, completed, id) index from the
    cursor and stops after the page, whatever the number of rows behind it. One row more than
    the page is asked for, which tells whether there is more in that direction."""
    owner = bindparam("owner_id", type_=Identifier)
    # PostgreSQL takes a column compared with `=` for a constant and drops it from ORDER BY;
    # ordered by id alone, a plan may walk the primary key and filter out the other users'
    # rows (prepared statements' generic plans do: the oldest page then read every row of the
    # table). `= ANY(ARRAY[...])` is the same test without that inference, so only the user's
    # index can give the order.
    is_owner = todos.c.user_id == (any_(array([owner])) if postgres else owner)
    index_columns: list[ColumnElement[Any]] = [todos.c.user_id, todos.c.id]
    statement = select(*_TODO_COLUMNS).where(is_owner)
    if filtered:
        index_columns.insert(1, todos.c.completed)
        statement = statement.where(todos.c.completed == bindparam("completed"))
    newest_first = [column.desc() for column in index_columns]
    if start == "first":  # the newest page, or an offset into the list (bounded by MAX_OFFSET)
        statement = statement.order_by(*newest_first).offset(bindparam("page_offset"))
    elif start == "older":
        statement = statement.where(todos.c.id < bindparam("after_id")).order_by(*newest_first)
    else:
        statement = statement.where(todos.c.id > bindparam("after_id")).order_by(*index_columns)
    return statement.limit(bindparam("page_limit"))


def _pages(*, postgres: bool) -> dict[tuple[PageStart, bool], Select[Any]]:
    return {
        (start, filtered): page_query(start, filtered, postgres=postgres)
        for start in ("first", "older", "newer")
        for filtered in (False, True)
    }


_PAGES_POSTGRES = _pages(postgres=True)
_PAGES_SQLITE = _pages(postgres=False)
_COUNTS = select(todo_counts.c.open_count, todo_counts.c.done_count).where(
    todo_counts.c.user_id == bindparam("owner_id")
)
_INSERT_TODO = insert(todos).returning(*_TODO_COLUMNS)
_GET_TODO = select(*_TODO_COLUMNS).where(_OWNED_TODO)
_SET_COMPLETED = (
    update(todos)
    .where(_OWNED_TODO)
    .values(completed=bindparam("new_completed"), updated_at=bindparam("now"))
    .returning(*_TODO_COLUMNS)
)


class EmailTakenError(Exception):
    """An account with this email, or one that looks the same, already exists."""


class UnknownOwnerError(Exception):
    """The token names a user that no longer exists."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    password_hash: str
    created_at: datetime
    token_version: int


@dataclass(frozen=True, slots=True)
class Todo:
    id: int
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TodoCounts:
    open: int
    done: int


@dataclass(frozen=True, slots=True)
class TodoListing:
    """A page, newest first, with the cursors of the pages beside it (None: nothing there)."""

    items: list[Todo]
    counts: TodoCounts
    older: Cursor | None
    newer: Cursor | None


@dataclass(frozen=True, slots=True)
class TodosView:
    """What the list screen shows: whose list it is, and a page of it."""

    user_id: int
    email: str
    created_at: datetime
    listing: TodoListing


def _now() -> datetime:
    return datetime.now(UTC)


def not_found_detail(todo_id: int) -> str:
    return f"todo {todo_id} not found"


def _utc(value: datetime) -> datetime:
    # Naive timestamps are UTC already (see pgstore.py; SQLite hands them back so).
    return value if value.tzinfo is None else value.astimezone(UTC)


def todo_body(todo: Todo) -> bytes:
    """A todo as JSON: the fields of TodoOut, in its order, timestamps in UTC."""
    if todo.created_at.tzinfo is not None or todo.updated_at.tzinfo is not None:
        todo = Todo(
            todo.id,
            todo.title,
            todo.description,
            todo.completed,
            _utc(todo.created_at),
            _utc(todo.updated_at),
        )
    return orjson.dumps(todo, option=orjson.OPT_NAIVE_UTC)


def todo_answer(todo: Todo | None, todo_id: int, status: int = 200) -> Answer:
    """A keyed write's answer: the todo, or 404 (stored too: the todo does not come back)."""
    if todo is None:
        return Answer(404, orjson.dumps({"detail": not_found_detail(todo_id)}))
    return Answer(status, todo_body(todo))


def _user(row: Row[*tuple[Any, ...]]) -> User:
    return User(row.id, row.email, row.password_hash, row.created_at, row.token_version)


def _todo(row: Row[*tuple[Any, ...]]) -> Todo:
    return Todo(
        id=row.id,
        title=row.title,
        description=row.description,
        completed=row.completed,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def page_params(
    user_id: int, status: StatusFilter, limit: int, cursor: Cursor | None, offset: int
) -> dict[str, Any]:
    """The parameters of the page statements (see page_query)."""
    params: dict[str, Any] = {
        "owner_id": user_id,
        "page_limit": limit + 1,
        # A cursor page that reaches the newest todos is the first page, filled up.
        "page_offset": 0 if cursor is not None else offset,
    }
    if status != "all":
        params["completed"] = status == "done"
    if cursor is not None:
        params["after_id"] = cursor.todo_id
    return params


def cursor_page(
    todos: list[Todo], counts: TodoCounts, limit: int, cursor: Cursor
) -> TodoListing | None:
    """The page of the rows read from `cursor`, or None when it reached the newest todos: the
    first page is shown instead."""
    if cursor.direction == "older":
        older = Cursor("older", todos[limit - 1].id) if len(todos) > limit else None
        # Empty: everything past the cursor went; the newer page starts at it.
        newest_id = todos[0].id if todos else max(cursor.todo_id - 1, 0)
        return TodoListing(todos[:limit], counts, older, Cursor("newer", newest_id))
    if len(todos) > limit:  # newer todos remain above this page
        page = todos[limit - 1 :: -1]
        older = Cursor("older", page[-1].id) if cursor.todo_id > 0 else None
        return TodoListing(page, counts, older, Cursor("newer", page[0].id))
    return None


def first_page(todos: list[Todo], counts: TodoCounts, limit: int, offset: int) -> TodoListing:
    """The page of the rows read from the newest (past `offset` of them)."""
    older = Cursor("older", todos[limit - 1].id) if len(todos) > limit else None
    newer = Cursor("newer", todos[0].id) if todos and offset > 0 else None
    return TodoListing(todos[:limit], counts, older, newer)


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pages = _PAGES_POSTGRES if engine.dialect.name == "postgresql" else _PAGES_SQLITE
        self._keys = KeyedWrites(engine)

    async def stored_answer(self, key: IdempotencyKey) -> Answer | None:
        """The committed answer of a keyed write (KeyReusedError: of another request)."""
        return await self._keys.stored(key)

    async def create_user(self, email: str, password_hash: str) -> User:
        async with self._engine.connect() as connection:
            return await self._create_user(connection, email, password_hash)

    async def create_user_once(
        self, key: IdempotencyKey, email: str, password_hash: str
    ) -> tuple[Outcome, User | None]:
        """Sign-up with a key: the outcome, and the user when this request created it. The
        stored answer names the user, not a token (a replay issues a new token)."""
        created: list[User] = []

        async def write(connection: AsyncConnection) -> Answer:
            created.append(await self._create_user(connection, email, password_hash))
            return Answer(201, created_user_id=created[0].id)

        outcome = await self._keys.run(key, write)
        return outcome, (created[0] if created else None)

    async def _create_user(
        self, connection: AsyncConnection, email: str, password_hash: str
    ) -> User:
        created_at = _now()
        statement = (
            insert(users)
            .values(
                email=normalise_email(email),
                email_skeleton=email_skeleton(email),
                password_hash=password_hash,
                created_at=created_at,
            )
            .returning(
                users.c.id,
                users.c.email,
                users.c.password_hash,
                users.c.created_at,
                users.c.token_version,
            )
        )
        try:
            row = (await connection.execute(statement)).one()
        except IntegrityError:  # the address, or one that looks the same (its skeleton)
            raise EmailTakenError(email) from None
        return _user(row)

    async def user_by_email(self, email: str) -> User | None:
        statement = select(users).where(users.c.email == normalise_email(email))
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).one_or_none()
        return None if row is None else _user(row)

    async def user_by_id(self, user_id: int) -> User | None:
        statement = select(users).where(users.c.id == user_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).one_or_none()
        return None if row is None else _user(row)

    async def list_todos(
        self, user_id: int, status: StatusFilter, limit: int, cursor: Cursor | None, offset: int
    ) -> TodoListing:
        params = page_params(user_id, status, limit, cursor, offset)
        filtered = status != "all"
        async with self._engine.connect() as connection:
            counted = (await connection.execute(_COUNTS, params)).one_or_none()
            counts = TodoCounts(0, 0) if counted is None else TodoCounts(*counted)
            if cursor is not None:
                statement = self._pages[cursor.direction, filtered]
                rows = (await connection.execute(statement, params)).all()
                listing = cursor_page([_todo(row) for row in rows], counts, limit, cursor)
                if listing is not None:
                    return listing
            rows = (await connection.execute(self._pages["first", filtered], params)).all()
        return first_page([_todo(row) for row in rows], counts, limit, params["page_offset"])

    async def todos_view(
        self, user_id: int, status: StatusFilter, limit: int, cursor: Cursor | None, offset: int
    ) -> TodosView | None:
        """The user and a page of their list; None when the user no longer exists."""
        user = await self.user_by_id(user_id)
        if user is None:
            return None
        listing = await self.list_todos(user_id, status, limit, cursor, offset)
        return TodosView(user.id, user.email, user.created_at, listing)

    async def create_todo(self, user_id: int, title: str, description: str | None) -> Todo:
        async with self._engine.connect() as connection:
            return await self._create_todo(connection, user_id, title, description)

    async def create_todo_once(
        self, key: IdempotencyKey, user_id: int, title: str, description: str | None
    ) -> Outcome:
        async def write(connection: AsyncConnection) -> Answer:
            todo = await self._create_todo(connection, user_id, title, description)
            return todo_answer(todo, todo.id, 201)

        return await self._keys.run(key, write)

    async def _create_todo(
        self, connection: AsyncConnection, user_id: int, title: str, description: str | None
    ) -> Todo:
        now = _now()
        values = {
            "user_id": user_id,
            "title": title,
            "description": description,
            "completed": False,
            "created_at": now,
            "updated_at": now,
        }
        try:
            row = (await connection.execute(_INSERT_TODO, values)).one()
        except IntegrityError:
            raise UnknownOwnerError(user_id) from None
        return _todo(row)

    async def get_todo(self, user_id: int, todo_id: int) -> Todo | None:
        async with self._engine.connect() as connection:
            params = {"todo_id": todo_id, "owner_id": user_id}
            row = (await connection.execute(_GET_TODO, params)).one_or_none()
        return None if row is None else _todo(row)

    async def set_completed(self, user_id: int, todo_id: int, completed: bool) -> Todo | None:
        async with self._engine.connect() as connection:
            return await self._set_completed(connection, user_id, todo_id, completed)

    async def set_completed_once(
        self, key: IdempotencyKey, user_id: int, todo_id: int, completed: bool
    ) -> Outcome:
        async def write(connection: AsyncConnection) -> Answer:
            todo = await self._set_completed(connection, user_id, todo_id, completed)
            return todo_answer(todo, todo_id)

        return await self._keys.run(key, write)

    async def _set_completed(
        self, connection: AsyncConnection, user_id: int, todo_id: int, completed: bool
    ) -> Todo | None:
        params = {
            "todo_id": todo_id,
            "owner_id": user_id,
            "new_completed": completed,
            "now": _now(),
        }
        row = (await connection.execute(_SET_COMPLETED, params)).one_or_none()
        return None if row is None else _todo(row)

    async def update_todo(self, user_id: int, todo_id: int, changes: dict[str, Any]) -> Todo | None:
        """Apply `changes` (title, description, completed) to the owner's todo."""
        async with self._engine.connect() as connection:
            return await self._update_todo(connection, user_id, todo_id, changes)

    async def update_todo_once(
        self, key: IdempotencyKey, user_id: int, todo_id: int, changes: dict[str, Any]
    ) -> Outcome:
        async def write(connection: AsyncConnection) -> Answer:
            todo = await self._update_todo(connection, user_id, todo_id, changes)
            return todo_answer(todo, todo_id)

        return await self._keys.run(key, write)

    async def _update_todo(
        self, connection: AsyncConnection, user_id: int, todo_id: int, changes: dict[str, Any]
    ) -> Todo | None:
        if not changes:
            params = {"todo_id": todo_id, "owner_id": user_id}
            row = (await connection.execute(_GET_TODO, params)).one_or_none()
        else:
            statement = (
                update(todos)
                .where(todos.c.id == todo_id, todos.c.user_id == user_id)
                .values(**changes, updated_at=_now())
                .returning(*_TODO_COLUMNS)
            )
            row = (await connection.execute(statement)).one_or_none()
        return None if row is None else _todo(row)

    async def delete_todo(self, user_id: int, todo_id: int) -> bool:
        async with self._engine.connect() as connection:
            return await self._delete_todo(connection, user_id, todo_id)

    async def delete_todo_once(self, key: IdempotencyKey, user_id: int, todo_id: int) -> Outcome:
        async def write(connection: AsyncConnection) -> Answer:
            if await self._delete_todo(connection, user_id, todo_id):
                return Answer(204)
            return todo_answer(None, todo_id)

        return await self._keys.run(key, write)

    async def _delete_todo(self, connection: AsyncConnection, user_id: int, todo_id: int) -> bool:
        statement = delete(todos).where(todos.c.id == todo_id, todos.c.user_id == user_id)
        result = await connection.execute(statement)
        return result.rowcount == 1
