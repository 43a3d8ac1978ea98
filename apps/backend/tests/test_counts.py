"""The open and done counts kept per user: exact under concurrent writers, backfilled."""

from __future__ import annotations

import asyncio
import random
import threading
import time

from alembic import command
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from conftest import DatabaseFactory, settings_from, unique_email
from todo_api.database import create_engine as create_app_engine
from todo_api.migrations import _alembic_config, upgrade_to_head
from todo_api.settings import Settings
from todo_api.store import Store, TodoCounts

WRITERS = 8
CHANGES_PER_WRITER = 60


def _counted_rows(settings: Settings, user_id: int) -> TodoCounts:
    """The counts by a full count of the user's rows."""
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            by_status: dict[bool, int] = dict(
                connection.execute(
                    text(
                        "SELECT completed, count(*) FROM todos "
                        "WHERE user_id = :id GROUP BY completed"
                    ),
                    {"id": user_id},
                ).all()
            )
    finally:
        engine.dispose()
    return TodoCounts(open=by_status.get(False, 0), done=by_status.get(True, 0))


async def _race_writers(store: Store, user_id: int, seed: int) -> None:
    """Adds, completes, reopens, edits and deletes the user's todos, many at once."""
    ids = [(await store.create_todo(user_id, f"seed {n}", None)).id for n in range(30)]

    async def writer(rng: random.Random) -> None:
        for _ in range(CHANGES_PER_WRITER):
            todo_id = rng.choice(ids)  # several writers often pick the same todo
            change = rng.randrange(5)
            if change == 0:
                ids.append((await store.create_todo(user_id, "added", None)).id)
            elif change == 1:
                await store.set_completed(user_id, todo_id, True)
            elif change == 2:
                await store.set_completed(user_id, todo_id, False)
            elif change == 3:
                await store.update_todo(user_id, todo_id, {"completed": rng.random() < 0.5})
            else:
                await store.delete_todo(user_id, todo_id)

    await asyncio.gather(*(writer(random.Random(seed * 100 + n)) for n in range(WRITERS)))


def test_counts_stay_exact_under_concurrent_writers(database_factory: DatabaseFactory) -> None:
    settings = settings_from(database_factory.make())
    upgrade_to_head(settings)

    async def scenario() -> tuple[int, int, TodoCounts, TodoCounts]:
        engine = create_app_engine(settings)
        store = Store(engine)
        try:
            user = await store.create_user(unique_email(), "not a real hash")
            neighbour = await store.create_user(unique_email(), "not a real hash")
            await asyncio.gather(
                _race_writers(store, user.id, seed=1), _race_writers(store, neighbour.id, seed=2)
            )
            kept = (await store.list_todos(user.id, "all", 1, None, 0)).counts
            kept_neighbour = (await store.list_todos(neighbour.id, "all", 1, None, 0)).counts
        finally:
            await engine.dispose()
        return user.id, neighbour.id, kept, kept_neighbour

    user_id, neighbour_id, kept, kept_neighbour = asyncio.run(scenario())
    assert kept == _counted_rows(settings, user_id)
    assert kept_neighbour == _counted_rows(settings, neighbour_id)
    # The race left todos of both kinds to count.
    assert kept.open > 0
    assert kept.done > 0


def _upgrade_to_before_counts(engine: Engine) -> None:
    """The schema of the release before the kept counts (migration 0004)."""
    with engine.connect() as connection:
        command.upgrade(_alembic_config(connection), "0004")
        connection.commit()


def test_migration_counts_the_todos_that_exist(database_factory: DatabaseFactory) -> None:
    settings = settings_from(database_factory.make())
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        _upgrade_to_before_counts(engine)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, created_at) VALUES "
                    "(1, 'a@example.com', 'h', '2026-01-01'), "
                    "(2, 'b@example.com', 'h', '2026-01-01'), "
                    "(3, 'c@example.com', 'h', '2026-01-01')"
                )
            )
            for user_id, completed in [(1, False)] * 3 + [(1, True)] * 2 + [(2, True)]:
                connection.execute(
                    text(
                        "INSERT INTO todos (user_id, title, completed, created_at, updated_at) "
                        "VALUES (:user_id, 'before', :completed, '2026-01-01', '2026-01-01')"
                    ),
                    {"user_id": user_id, "completed": completed},
                )
        upgrade_to_head(settings)
        with engine.connect() as connection:
            counts = connection.execute(
                text("SELECT user_id, open_count, done_count FROM todo_counts ORDER BY user_id")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in counts] == [(1, 3, 2), (2, 0, 1)]


def test_migration_counts_exactly_while_the_previous_release_writes(
    database_factory: DatabaseFactory,
) -> None:
    settings = settings_from(database_factory.make())
    # The writers wait for the migration's lock however busy the machine is (sqlite3: 5 s).
    connect_args = {"timeout": 60} if settings.is_sqlite else {}
    engine = create_engine(
        settings.sync_sqlalchemy_url, poolclass=NullPool, connect_args=connect_args
    )
    insert_todo = text(
        "INSERT INTO todos (user_id, title, completed, created_at, updated_at) "
        "VALUES (1, 'old release', :completed, '2026-01-01', '2026-01-01')"
    )
    try:
        _upgrade_to_before_counts(engine)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, created_at) "
                    "VALUES (1, 'a@example.com', 'h', '2026-01-01')"
                )
            )
            connection.execute(insert_todo, [{"completed": n % 3 == 0} for n in range(3000)])
        stop = threading.Event()
        written: list[int] = []

        def previous_release(seed: int) -> None:
            """Writes todos without knowing about counts, as the releases before 0005 do."""
            while not stop.is_set():
                with engine.begin() as connection:
                    connection.execute(insert_todo, {"completed": (seed + len(written)) % 2 == 0})
                written.append(seed)

        writers = [threading.Thread(target=previous_release, args=(n,)) for n in range(3)]
        for writer in writers:
            writer.start()
        try:
            time.sleep(0.3)
            upgrade_to_head(settings)
            time.sleep(0.3)
        finally:
            stop.set()
            for writer in writers:
                writer.join()
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT open_count, done_count FROM todo_counts WHERE user_id = 1")
            ).one()
    finally:
        engine.dispose()
    assert set(written) == {0, 1, 2}
    assert TodoCounts(*kept) == _counted_rows(settings, 1)


def test_a_deleted_account_takes_its_counts_along(database_factory: DatabaseFactory) -> None:
    settings = settings_from(database_factory.make())
    upgrade_to_head(settings)

    async def make_user_with_todos() -> int:
        engine = create_app_engine(settings)
        store = Store(engine)
        try:
            user = await store.create_user(unique_email(), "not a real hash")
            for title in ("one", "two"):
                await store.create_todo(user.id, title, None)
        finally:
            await engine.dispose()
        return user.id

    user_id = asyncio.run(make_user_with_todos())
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if settings.is_sqlite:
                connection.execute(text("PRAGMA foreign_keys=ON"))
            connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})
        with engine.connect() as connection:
            left = connection.execute(text("SELECT count(*) FROM todo_counts")).scalar_one()
    finally:
        engine.dispose()
    assert left == 0
