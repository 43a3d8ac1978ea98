"""The hot paths on PostgreSQL: list (with its counts), create, get and complete, each one
prepared statement in one round trip, run by psycopg directly from its own pool. Create and
complete with an Idempotency-Key are one statement too: it writes, then stores the key with its
answer (the todo as JSON, written by PostgreSQL); a key that is taken fails the statement,
write included, and the stored answer is read instead.

Through SQLAlchemy's async layer (greenlet bridging, pool events, result processing) each of
these requests cost more CPU in the server than PostgreSQL spends answering it. The page
statements are still the ones `page_query` builds from the tables, compiled once at import.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from psycopg import AsyncConnection, InterfaceError, OperationalError
from psycopg.errors import ForeignKeyViolation, UniqueViolation
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_api.idempotency import (
    CLAIM_ATTEMPTS,
    Answer,
    IdempotencyKey,
    Outcome,
    checked,
)
from todo_api.paging import Cursor
from todo_api.schemas import StatusFilter
from todo_api.settings import Settings
from todo_api.store import (
    PageStart,
    Store,
    Todo,
    TodoCounts,
    TodoListing,
    TodosView,
    UnknownOwnerError,
    cursor_page,
    first_page,
    not_found_detail,
    page_params,
    page_query,
)

CONNECT_TIMEOUT_SECONDS = 5
# How long a request waits for a connection of the pool before it is answered 503.
POOL_TIMEOUT_SECONDS = 10.0
# ... and while the database cannot be reached (the last request's connection failed), so that
# requests get their 503 quickly in an outage; the first one that gets through resets it.
UNREACHABLE_POOL_TIMEOUT_SECONDS = 0.5
# A connection attempt of the pool that keeps failing gives up after this long, and the next
# request that finds no connection starts a new attempt at once. psycopg_pool's default (5 min)
# lets its exponential backoff put off reconnecting by minutes after the database is back.
RECONNECT_TIMEOUT_SECONDS = 10.0

# Timestamps in UTC whatever the server's TimeZone (naive: the serialisers mark them UTC).
_INSERT_TODO = """
INSERT INTO todos (user_id, title, description, completed, created_at, updated_at)
VALUES (%(owner_id)s, %(title)s, %(description)s, false, %(now)s, %(now)s)
RETURNING id, title, description, completed,
  created_at AT TIME ZONE 'UTC', updated_at AT TIME ZONE 'UTC'
"""
_GET_TODO = """
SELECT id, title, description, completed,
  created_at AT TIME ZONE 'UTC', updated_at AT TIME ZONE 'UTC'
FROM todos WHERE id = %(todo_id)s AND user_id = %(owner_id)s
"""
_SET_COMPLETED = """
UPDATE todos SET completed = %(completed)s, updated_at = %(now)s
WHERE id = %(todo_id)s AND user_id = %(owner_id)s
RETURNING id, title, description, completed,
  created_at AT TIME ZONE 'UTC', updated_at AT TIME ZONE 'UTC'
"""


def _utc_text(column: str) -> str:
    """SQL: a timestamp (UTC, without zone) as orjson writes it (no fraction when it is 0)."""
    return (
        f"to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN {column} = "
        f"date_trunc('second', {column}) THEN '' ELSE to_char({column}, '.US') END || '+00:00'"
    )


def todo_json_sql(row: str) -> str:
    """SQL: the JSON of the todo in `row` (its columns as in _INSERT_TODO's RETURNING), byte
    for byte what store.todo_body writes: the same fields in the same order, PostgreSQL's
    to_json escaping strings as orjson does (tests/test_idempotency.py holds them together)."""
    return (
        f"""'{{"id":' || {row}.id || ',"title":' || to_json({row}.title)::text"""
        f""" || ',"description":' || coalesce(to_json({row}.description)::text, 'null')"""
        f""" || ',"completed":' || {row}.completed::text"""
        f""" || ',"created_at":"' || {_utc_text(f"{row}.created_at")}"""
        f""" || '","updated_at":"' || {_utc_text(f"{row}.updated_at")} || '"}}'"""
    )


# Keyed writes: one statement writes, then inserts the key's row with the answer. A key that
# is taken makes that insert wait for the transaction holding it and then fail (a unique
# violation: the statement is undone, its write included), unless that transaction rolled
# back: then this one proceeds as the first.
_KEY_ROW = "INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, body, created_at)"
_WRITTEN = """RETURNING id, title, description, completed,
    created_at AT TIME ZONE 'UTC' AS created_at, updated_at AT TIME ZONE 'UTC' AS updated_at"""
# Composed of constant SQL only; every value is a bound parameter.
_KEYED_INSERT_TODO = f"""
WITH written AS (
  INSERT INTO todos (user_id, title, description, completed, created_at, updated_at)
  VALUES (%(owner_id)s, %(title)s, %(description)s, false, %(now)s, %(now)s)
  {_WRITTEN}
)
{_KEY_ROW}
SELECT %(k_scope)s, %(k_key)s, %(k_fingerprint)s, 201, {todo_json_sql("written")}, %(now)s
FROM written
RETURNING status_code, body
"""  # noqa: S608
_KEYED_SET_COMPLETED = f"""
WITH written AS (
  UPDATE todos SET completed = %(completed)s, updated_at = %(now)s
  WHERE id = %(todo_id)s AND user_id = %(owner_id)s
  {_WRITTEN}
)
{_KEY_ROW}
SELECT %(k_scope)s, %(k_key)s, %(k_fingerprint)s,
  CASE WHEN written.id IS NULL THEN 404 ELSE 200 END,
  CASE WHEN written.id IS NULL THEN %(not_found)s ELSE {todo_json_sql("written")} END,
  %(now)s
FROM (VALUES (1)) AS one LEFT JOIN written ON true
RETURNING status_code, body
"""  # noqa: S608
_READ_ANSWER = """
SELECT fingerprint, status_code, body, created_user_id FROM idempotency_keys
WHERE scope = %(k_scope)s AND key = %(k_key)s
"""
_KEY_CONSTRAINT = "pk_idempotency_keys"


_DIALECT = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]


def _compiled(start: PageStart, filtered: bool) -> str:
    return str(page_query(start, filtered, postgres=True).compile(dialect=_DIALECT))


def listing_sql(start: PageStart, filtered: bool) -> str:
    """One statement for a list page: the user, their counts (NULL before their first todo) and
    the page's rows, one row per todo (one row with no todo when the page is empty; none when
    the user no longer exists). From a `newer` cursor it also reads the first page (rows tagged
    `false`), shown when the newer todos do not fill a page."""
    # Composed of compiled statements only; every value is a bound parameter.
    page = f"SELECT true AS from_cursor, p.* FROM ({_compiled(start, filtered)}) AS p"  # noqa: S608
    if start == "newer":
        page += f" UNION ALL SELECT false, f.* FROM ({_compiled('first', filtered)}) AS f"  # noqa: S608
    # A nested loop over the single user row: the page's rows keep their order.
    return f"""
SELECT u.email, u.created_at AT TIME ZONE 'UTC', c.open_count, c.done_count, p.from_cursor,
  p.id, p.title, p.description, p.completed,
  p.created_at AT TIME ZONE 'UTC', p.updated_at AT TIME ZONE 'UTC'
FROM users AS u
LEFT JOIN todo_counts AS c ON c.user_id = u.id
LEFT JOIN LATERAL ({page}) AS p ON true
WHERE u.id = %(owner_id)s
"""  # noqa: S608


_LISTINGS = {
    (start, filtered): listing_sql(start, filtered)
    for start in ("first", "older", "newer")
    for filtered in (False, True)
}


def create_pool(settings: Settings) -> AsyncConnectionPool[AsyncConnection[TupleRow]]:
    """The hot paths' pool (opened by the app's lifespan): autocommit, so a statement is its
    own transaction with no BEGIN/COMMIT round trips, and every statement prepared on its
    first run on a connection."""
    assert settings.database_url is not None
    return AsyncConnectionPool(
        settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1),
        min_size=1,
        max_size=settings.db_pool_size,
        timeout=POOL_TIMEOUT_SECONDS,
        reconnect_timeout=RECONNECT_TIMEOUT_SECONDS,
        kwargs={
            "autocommit": True,
            "prepare_threshold": 0,
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        },
        open=False,
    )


def _now() -> datetime:
    return datetime.now(UTC)


class PostgresStore(Store):
    """Store whose hot paths go through `pool`; everything else stays with SQLAlchemy."""

    def __init__(
        self, engine: AsyncEngine, pool: AsyncConnectionPool[AsyncConnection[TupleRow]]
    ) -> None:
        super().__init__(engine)
        self._pool = pool
        # How long the next request waits for a connection (see POOL_TIMEOUT_SECONDS).
        self._wait = POOL_TIMEOUT_SECONDS

    async def _one(self, statement: str, params: dict[str, Any]) -> TupleRow | None:
        try:
            async with self._pool.connection(self._wait) as connection:
                cursor = await connection.execute(statement, params)
                row = await cursor.fetchone()
        except (OperationalError, InterfaceError):  # PoolTimeout included
            self._wait = UNREACHABLE_POOL_TIMEOUT_SECONDS
            raise
        self._wait = POOL_TIMEOUT_SECONDS
        return row

    async def _listing(
        self, user_id: int, status: StatusFilter, limit: int, cursor: Cursor | None, offset: int
    ) -> tuple[list[TupleRow], TodoListing]:
        params = page_params(user_id, status, limit, cursor, offset)
        statement = _LISTINGS["first" if cursor is None else cursor.direction, status != "all"]
        try:
            async with self._pool.connection(self._wait) as connection:
                rows = await (await connection.execute(statement, params)).fetchall()
        except (OperationalError, InterfaceError):
            self._wait = UNREACHABLE_POOL_TIMEOUT_SECONDS
            raise
        self._wait = POOL_TIMEOUT_SECONDS
        counts = TodoCounts(rows[0][2] or 0, rows[0][3] or 0) if rows else TodoCounts(0, 0)
        page = [Todo(*row[5:]) for row in rows if row[4]]
        if cursor is not None:
            listing = cursor_page(page, counts, limit, cursor)
            if listing is not None:
                return rows, listing
            page = [Todo(*row[5:]) for row in rows if row[4] is False]
        return rows, first_page(page, counts, limit, params["page_offset"])

    async def list_todos(
        self, user_id: int, status: StatusFilter, limit: int, cursor: Cursor | None, offset: int
    ) -> TodoListing:
        return (await self._listing(user_id, status, limit, cursor, offset))[1]

    async def todos_view(
        self, user_id: int, status: StatusFilter, limit: int, cursor: Cursor | None, offset: int
    ) -> TodosView | None:
        rows, listing = await self._listing(user_id, status, limit, cursor, offset)
        return TodosView(user_id, rows[0][0], rows[0][1], listing) if rows else None

    async def create_todo(self, user_id: int, title: str, description: str | None) -> Todo:
        params = {"owner_id": user_id, "title": title, "description": description, "now": _now()}
        try:
            row = await self._one(_INSERT_TODO, params)
        except ForeignKeyViolation:
            raise UnknownOwnerError(user_id) from None
        assert row is not None  # INSERT ... RETURNING answers its row
        return Todo(*row)

    async def get_todo(self, user_id: int, todo_id: int) -> Todo | None:
        row = await self._one(_GET_TODO, {"todo_id": todo_id, "owner_id": user_id})
        return None if row is None else Todo(*row)

    async def set_completed(self, user_id: int, todo_id: int, completed: bool) -> Todo | None:
        params = {"todo_id": todo_id, "owner_id": user_id, "completed": completed, "now": _now()}
        row = await self._one(_SET_COMPLETED, params)
        return None if row is None else Todo(*row)

    async def create_todo_once(
        self, key: IdempotencyKey, user_id: int, title: str, description: str | None
    ) -> Outcome:
        params = {"owner_id": user_id, "title": title, "description": description, "now": _now()}
        try:
            return await self._once(key, _KEYED_INSERT_TODO, params)
        except ForeignKeyViolation:
            raise UnknownOwnerError(user_id) from None

    async def set_completed_once(
        self, key: IdempotencyKey, user_id: int, todo_id: int, completed: bool
    ) -> Outcome:
        params = {
            "todo_id": todo_id,
            "owner_id": user_id,
            "completed": completed,
            "now": _now(),
            "not_found": orjson.dumps({"detail": not_found_detail(todo_id)}).decode(),
        }
        return await self._once(key, _KEYED_SET_COMPLETED, params)

    async def _once(self, key: IdempotencyKey, statement: str, params: dict[str, Any]) -> Outcome:
        """Run a keyed write's statement: its answer; or, if the key is taken, the stored one."""
        params = {
            **params,
            "k_scope": key.scope,
            "k_key": key.key,
            "k_fingerprint": key.fingerprint,
        }
        for _ in range(CLAIM_ATTEMPTS):
            try:
                written = await self._one(statement, params)
            except UniqueViolation as error:
                if error.diag.constraint_name != _KEY_CONSTRAINT:
                    raise
            else:
                assert written is not None  # the key's row, RETURNING its answer
                return Outcome(Answer(written[0], written[1].encode()), replayed=False)
            stored = await self._one(_READ_ANSWER, params)
            if stored is not None:  # else it expired and was pruned meanwhile: write again
                return Outcome(checked(key, *stored), replayed=True)
        raise RuntimeError("idempotency key taken but never found")
