from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from conftest import DatabaseFactory, settings_from
from todo_api.migrations import current_revision, upgrade_to_head
from todo_api.tables import metadata


def test_migrations_from_empty_then_rerun(database_factory: DatabaseFactory) -> None:
    settings = settings_from(database_factory.make())
    assert current_revision(settings) is None
    upgrade_to_head(settings)
    assert current_revision(settings) == "0001"
    upgrade_to_head(settings)  # a second run finds nothing to do
    assert current_revision(settings) == "0001"


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
    assert current_revision(settings_from(env)) == "0001"
