from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, cast

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from conftest import DatabaseFactory, settings_from
from todo_api.migrations import (
    _alembic_config,
    connect_when_reachable,
    current_revision,
    upgrade_to_head,
)
from todo_api.tables import metadata

if TYPE_CHECKING:
    from sqlalchemy import Engine as SqlEngine

HEAD = "0007"


def test_migrations_from_empty_then_rerun(database_factory: DatabaseFactory) -> None:
    settings = settings_from(database_factory.make())
    assert current_revision(settings) is None
    upgrade_to_head(settings)
    assert current_revision(settings) == HEAD
    upgrade_to_head(settings)  # a second run finds nothing to do
    assert current_revision(settings) == HEAD


def test_a_database_migrated_by_a_newer_release_is_left_as_it_is(
    database_factory: DatabaseFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # After a rollback, the older release's migrate command meets a revision it does not know.
    settings = settings_from(database_factory.make())
    upgrade_to_head(settings)
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'from_a_newer_one'"))
    finally:
        engine.dispose()
    upgrade_to_head(settings)
    assert current_revision(settings) == "from_a_newer_one"
    assert "newer than this release knows" in caplog.text


def test_migrated_schema_matches_the_tables_the_code_uses(
    database_factory: DatabaseFactory,
) -> None:
    settings = settings_from(database_factory.make())
    upgrade_to_head(settings)
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
            assert differences == []
            assert set(inspect(connection).get_table_names()) >= {
                "users",
                "todos",
                "alembic_version",
            }
    finally:
        engine.dispose()


def test_one_head_whose_newest_revision_goes_down_and_up_again(
    database_factory: DatabaseFactory,
) -> None:
    settings = settings_from(database_factory.make())
    upgrade_to_head(settings)
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            config = _alembic_config(connection)
            assert ScriptDirectory.from_config(config).get_heads() == [HEAD]
            previous = ScriptDirectory.from_config(config).get_revision(HEAD).down_revision
            command.downgrade(config, str(previous))
            connection.commit()
            columns = {column["name"] for column in inspect(connection).get_columns("users")}
            assert "email_skeleton" not in columns
        assert current_revision(settings) == previous
        upgrade_to_head(settings)
        assert current_revision(settings) == HEAD
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        engine.dispose()


def test_skeletons_are_backfilled_and_the_older_of_two_look_alikes_keeps_its_own(
    database_factory: DatabaseFactory, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_from(database_factory.make())
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            command.upgrade(_alembic_config(connection), "0006")
            # Made before the rules: a Latin address and its Cyrillic look-alike (\u0430).
            connection.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, created_at) VALUES "
                    "(1, 'alice@example.com', 'h', '2026-01-01'), "
                    "(2, '\u0430lice@example.com', 'h', '2026-01-02'), "
                    "(3, 'bob@example.com', 'h', '2026-01-03')"
                )
            )
            connection.commit()
        with caplog.at_level(logging.WARNING, logger="todo_api.migrations"):
            upgrade_to_head(settings)
        with engine.connect() as connection:
            skeletons = connection.execute(
                text("SELECT id, email_skeleton FROM users ORDER BY id")
            ).all()
        assert [tuple(row) for row in skeletons] == [
            (1, "alice@exarnple.corn"),
            (2, None),
            (3, "bob@exarnple.corn"),
        ]
        assert "accounts 1 and 2 have addresses that look the same" in caplog.text
    finally:
        engine.dispose()


def test_concurrent_migrate_commands_all_succeed(database_factory: DatabaseFactory) -> None:
    env = database_factory.make()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "todo_api", "migrate"],
            env={**os.environ, "LOG_LEVEL": "warning", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [
        (process.wait(timeout=120), process.stderr.read() if process.stderr else "")
        for process in processes
    ]
    for process in processes:
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()
    assert [code for code, _ in results] == [0, 0, 0, 0], results
    assert current_revision(settings_from(env)) == HEAD


def test_sqlite_tables_get_autoincrement_and_keep_their_rows(
    database_factory: DatabaseFactory,
) -> None:
    settings = settings_from(database_factory.make())
    if not settings.is_sqlite:
        pytest.skip("PostgreSQL identity sequences never reuse ids; 0002 is SQLite's")
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            config = _alembic_config(connection)
            command.upgrade(config, "0001")
            connection.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, created_at) "
                    "VALUES (1, 'a@example.com', 'h', '2026-01-01'), "
                    "(2, 'b@example.com', 'h', '2026-01-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO todos (user_id, title, completed, created_at, updated_at) "
                    "VALUES (2, 'kept', 0, '2026-01-01', '2026-01-01')"
                )
            )
            connection.commit()
        upgrade_to_head(settings)
        with engine.connect() as connection:
            schema = {
                name: sql
                for name, sql in connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
                )
            }
            assert "AUTOINCREMENT" in schema["users"]
            assert "AUTOINCREMENT" in schema["todos"]
            assert "ON DELETE CASCADE" in schema["todos"]
            assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 2
            assert connection.execute(text("SELECT title FROM todos")).scalar_one() == "kept"
            indexes = inspect(connection).get_indexes("todos")
            assert {index["name"] for index in indexes} == {
                "ix_todos_user_id_completed_id",
                "ix_todos_user_id_id",
            }
            # The highest id, once deleted, is not handed out again.
            connection.execute(text("DELETE FROM users WHERE id = 2"))
            connection.execute(
                text(
                    "INSERT INTO users (email, password_hash, created_at) "
                    "VALUES ('c@example.com', 'h', '2026-01-02')"
                )
            )
            new_id = connection.execute(
                text("SELECT id FROM users WHERE email = 'c@example.com'")
            ).scalar_one()
            assert new_id == 3
    finally:
        engine.dispose()


def _refused() -> OperationalError:
    return OperationalError("connect", {}, ConnectionRefusedError("connection refused"))


def test_the_connection_is_retried_until_the_database_answers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reached = object()
    answers: list[object] = [_refused(), _refused(), reached]

    class Engine:
        def connect(self) -> object:
            answer = answers.pop(0)
            if isinstance(answer, OperationalError):
                raise answer
            return answer

    monkeypatch.setattr(time, "sleep", lambda _seconds: None)
    with caplog.at_level(logging.WARNING, logger="todo_api.migrations"):
        connection = connect_when_reachable(cast("SqlEngine", Engine()), wait_seconds=30)
    assert connection is reached
    assert answers == []
    assert [record.getMessage() for record in caplog.records] == [
        "database not reachable yet, retrying: connection refused"
    ] * 2


def test_a_database_that_never_answers_fails_the_migration_after_the_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A port nothing listens on: every attempt is refused at once.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = settings_from(
        {
            "DATABASE_URL": f"postgresql://todo:secret@127.0.0.1:{port}/todo",
            "JWT_SECRET": "x" * 48,
        }
    )
    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="todo_api.migrations"),
        pytest.raises(OperationalError),
    ):
        upgrade_to_head(settings, connect_wait_seconds=2.5)
    assert 1.5 <= time.monotonic() - started < 10
    retries = [r for r in caplog.records if r.getMessage().startswith("database not reachable yet")]
    assert len(retries) >= 2
