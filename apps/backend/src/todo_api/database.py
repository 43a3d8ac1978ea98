"""Async engine built from the settings, and the readiness check."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from todo_api.settings import Settings

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5
# What a 503 for an unreachable database asks clients to wait: a restarted database answers
# again within seconds, and refusing a request meanwhile costs next to nothing, so a client
# that waited longer would only see the app come back later than it did.
DATABASE_RETRY_AFTER_SECONDS = 1
# A lost connection, an exhausted pool or a database that does not answer, through SQLAlchemy
# or through psycopg directly (pgstore.py; its pool's PoolTimeout is an OperationalError).
DATABASE_ERRORS = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def create_engine(settings: Settings) -> AsyncEngine:
    """Engine in autocommit mode: every query of the app is one self-contained statement.

    That spares the BEGIN/COMMIT/ROLLBACK round trips around each request. There is no
    pre-ping either: a connection found dead raises, the pool discards every connection of
    that generation, and the request gets a 503 (see app.py) that the client may retry.
    """
    if settings.is_sqlite:
        engine = create_async_engine(settings.sqlalchemy_url, isolation_level="AUTOCOMMIT")
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return create_async_engine(
        settings.sqlalchemy_url,
        isolation_level="AUTOCOMMIT",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=1800,
        pool_timeout=10,
        connect_args=connect_args,
    )


def _configure_sqlite(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers run beside a writer.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def database_answers(engine: AsyncEngine, timeout_seconds: float) -> str | None:
    """Return None when the database answers in time, else the reason it does not."""
    try:
        async with asyncio.timeout(timeout_seconds):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except TimeoutError:
        return f"database did not answer within {timeout_seconds:g}s"
    except Exception as error:  # any driver failure means "not ready"
        logger.warning(
            "database check failed",
            extra={"error": type(error).__name__, "error_detail": str(error)},
        )
        return "database unavailable"
    return None


class DatabaseReach:
    """Whether this server has reached its database once (see the /ready endpoint).

    Each worker remembers it; with `marker` (a file in a directory that `serve` makes afresh
    for each start and shares with its workers) a worker also knows when another worker of
    the same server did, so a probe that lands on a worker that was never probed before does
    not call the pod unready during a database outage."""

    def __init__(self, marker: Path | None) -> None:
        self._marker = marker
        self._reached = False

    @property
    def reached(self) -> bool:
        if not self._reached and self._marker is not None and self._marker.exists():
            self._reached = True
        return self._reached

    def record(self) -> None:
        self._reached = True
        if self._marker is not None:
            try:
                self._marker.touch()
            except OSError as error:  # the worker's own memory still holds it
                logger.warning("cannot record that the database was reached: %s", error)
