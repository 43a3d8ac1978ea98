"""Alembic migrations, run programmatically under a lock so concurrent runs are safe."""

from __future__ import annotations

import fcntl
import logging
import time
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from todo_api.settings import Settings

logger = logging.getLogger(__name__)

# Arbitrary but fixed: every migrator of this app contends for the same advisory lock.
ADVISORY_LOCK_KEY = 7_215_430_101
# A new pod may reach nothing for its first moments: the database may still be starting, or the
# cluster's NetworkPolicy agent may not have admitted the pod's address yet (kube-router, for one,
# programs a pod's rules only once it runs). The migration retries its connection this long.
CONNECT_WAIT_SECONDS = 30.0
CONNECT_RETRY_SECONDS = 1.0


def connect_when_reachable(engine: Engine, wait_seconds: float) -> Connection:
    """A connection of ENGINE, retried for WAIT_SECONDS while the database cannot be reached."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return engine.connect()
        except OperationalError as error:
            if time.monotonic() + CONNECT_RETRY_SECONDS > deadline:
                raise
            logger.warning("database not reachable yet, retrying: %s", error.orig)
            time.sleep(CONNECT_RETRY_SECONDS)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("todo_api") / "migrations"))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    config = _alembic_config(connection)
    current = MigrationContext.configure(connection).get_current_revision()
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if current is not None and current not in known:
        # A newer release migrated this database and this one was rolled back to: its schema
        # only ever expands (see migrations/README.md), so this release runs on it as it is.
        logger.warning(
            "database schema is at revision %s, newer than this release knows; left as it is",
            current,
        )
        return
    command.upgrade(config, "head")
    connection.commit()


def upgrade_to_head(settings: Settings, connect_wait_seconds: float = CONNECT_WAIT_SECONDS) -> None:
    """Bring the schema to the newest revision; waits for any other migrator to finish first."""
    # SQLite: a migration waits for a writer's lock as long as a server waits for the database,
    # instead of sqlite3's 5 s, which a busy machine can outlast.
    connect_args = {"timeout": connect_wait_seconds} if settings.is_sqlite else {}
    engine = create_engine(
        settings.sync_sqlalchemy_url, poolclass=NullPool, connect_args=connect_args
    )
    try:
        if settings.is_sqlite:
            lock_path = Path(f"{settings.sqlite_path.expanduser().resolve()}.migrate.lock")
            with lock_path.open("a") as lock_file, engine.connect() as connection:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                _upgrade(connection)
        else:
            with connect_when_reachable(engine, connect_wait_seconds) as connection:
                connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                connection.commit()
                try:
                    _upgrade(connection)
                finally:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                    )
                    connection.commit()
    finally:
        engine.dispose()
    logger.info("database schema is up to date")


def current_revision(settings: Settings) -> str | None:
    """The revision the database is at, or None for an empty database."""
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
