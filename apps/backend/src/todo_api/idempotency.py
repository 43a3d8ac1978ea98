"""Idempotent writes: a write sent with an Idempotency-Key takes effect once.

The first request with a key claims it (a row in `idempotency_keys`), makes its change and
stores its answer in that row, all in one transaction. A repeat of the request finds the row
and gets the stored answer, without writing again; a request that arrives while the first is
still in its transaction waits for it: on PostgreSQL its INSERT ... ON CONFLICT DO NOTHING of
the same key blocks on the uncommitted row until the first commits (the repeat then reads the
answer) or rolls back (the repeat then claims the key and proceeds as the first); on SQLite
BEGIN IMMEDIATE serialises the writers, so the second finds the first one's row committed.

Keys belong to a scope: a user (every authenticated write), or a client address (sign-up).
The row holds a fingerprint of the request, an HMAC keyed with the signing secret over the
method, path and body (the body of a sign-up holds a password, so a plain hash of it would
be a fast-to-crack copy of the password in the database). The same key with another
fingerprint is refused. Answers that the write took effect with (2xx) and a write's 404 are
stored; a request that fails otherwise (401, 409, 422, 429, 5xx) rolls its claim back, so a
retry is free to try again. Rows older than IDEMPOTENCY_KEY_HOURS are pruned by a background
task of every worker (`prune_forever`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from todo_api.tables import idempotency_keys

logger = logging.getLogger(__name__)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"
_KEY = re.compile(KEY_PATTERN)
INVALID_KEY = f"{KEY_HEADER} must be 16 to 128 characters of A-Z, a-z, 0-9, '_' and '-'"
REUSED_KEY = f"{KEY_HEADER} was already used for a different request"
# status_code of a claimed key whose answer is not written yet. Never seen by another
# transaction: the claim and its answer are committed together.
IN_PROGRESS = 0
# Pruning: every worker, every PRUNE_EVERY_SECONDS (give or take a fifth, so workers and
# replicas do not prune at the same moment), deletes expired rows PRUNE_BATCH at a time, at
# most PRUNE_MAX_BATCHES batches a run (the rest waits for the next run).
PRUNE_EVERY_SECONDS = 300.0
PRUNE_BATCH = 5000
PRUNE_MAX_BATCHES = 20
# A taken key whose row is gone when read (pruned in between: it expired) is claimed again.
CLAIM_ATTEMPTS = 3


class KeyReusedError(Exception):
    """The key was used before for a different request (another fingerprint): 422."""


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What a keyed write answered: status, JSON body (None: no body), and for a sign-up the
    id of the user it created (its token is not stored; a replay issues a new one)."""

    status_code: int
    body: bytes | None = None
    created_user_id: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    answer: Answer
    replayed: bool


def valid_key(value: str) -> bool:
    return _KEY.fullmatch(value) is not None


def user_scope(user_id: int) -> str:
    return f"user:{user_id}"


def address_scope(address_bucket: str) -> str:
    """Sign-up's scope: the client address (its throttling unit), as a digest like the
    throttle's keys, so addresses stay out of the table."""
    digest = hashlib.sha256(address_bucket.encode("utf-8", "surrogatepass")).hexdigest()
    return f"address:{digest[:40]}"


class Fingerprints:
    """HMAC-SHA256 of a request's parts, keyed with a key derived from the signing secret."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.digest(secret.encode(), b"todo-api idempotency fingerprint", "sha256")

    def of(self, *parts: bytes) -> str:
        mac = hmac.new(self._key, digestmod="sha256")
        for part in parts:  # length-prefixed: no two different lists of parts read the same
            mac.update(len(part).to_bytes(8, "big"))
            mac.update(part)
        return mac.hexdigest()


def checked(
    key: IdempotencyKey,
    fingerprint: str,
    status_code: int,
    body: str | None,
    created_user_id: int | None,
) -> Answer:
    """The stored answer of `key`, if the row is of the same request."""
    if not hmac.compare_digest(fingerprint, key.fingerprint):
        raise KeyReusedError(key.key)
    if status_code == IN_PROGRESS:  # cannot be committed so; refuse rather than answer 0
        raise RuntimeError("idempotency key committed without its answer")
    return Answer(status_code, None if body is None else body.encode(), created_user_id)


def _answer_of(key: IdempotencyKey, row: Row[*tuple[Any, ...]]) -> Answer:
    return checked(key, row.fingerprint, row.status_code, row.body, row.created_user_id)


def _params(key: IdempotencyKey) -> dict[str, Any]:
    return {"k_scope": key.scope, "k_key": key.key}


_THIS_KEY = (idempotency_keys.c.scope == bindparam("k_scope")) & (
    idempotency_keys.c.key == bindparam("k_key")
)
_READ = select(
    idempotency_keys.c.fingerprint,
    idempotency_keys.c.status_code,
    idempotency_keys.c.body,
    idempotency_keys.c.created_user_id,
).where(_THIS_KEY)
_STORE = (
    update(idempotency_keys)
    .where(_THIS_KEY)
    .values(
        status_code=bindparam("k_status"),
        body=bindparam("k_body"),
        created_user_id=bindparam("k_user"),
    )
)


@asynccontextmanager
async def transaction(connection: AsyncConnection) -> AsyncIterator[None]:
    """An explicit transaction on a connection of the autocommit engine (database.py).

    SQLite: BEGIN IMMEDIATE takes the database's write lock at once (waiting up to its
    busy_timeout), so two writers of one key run one after the other and the second sees the
    first one's row. PostgreSQL: READ COMMITTED; every statement sees what committed before it.
    Commits if the block ends normally, else rolls back and re-raises.
    """
    sqlite_mode = connection.dialect.name == "sqlite"
    await connection.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_mode else "BEGIN")
    try:
        yield
    except BaseException:
        # A lost connection cannot roll back: the database drops its transaction anyway.
        with suppress(Exception):
            await connection.exec_driver_sql("ROLLBACK")
        raise
    await connection.exec_driver_sql("COMMIT")


class KeyedWrites:
    """Runs writes once per key through SQLAlchemy (the engine's autocommit connections)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._claim = (
            insert(idempotency_keys)
            .values(
                scope=bindparam("k_scope"),
                key=bindparam("k_key"),
                fingerprint=bindparam("k_fingerprint"),
                status_code=IN_PROGRESS,
                created_at=bindparam("k_now"),
            )
            .on_conflict_do_nothing(
                index_elements=[idempotency_keys.c.scope, idempotency_keys.c.key]
            )
            .returning(idempotency_keys.c.scope)
        )

    async def run(
        self, key: IdempotencyKey, write: Callable[[AsyncConnection], Awaitable[Answer]]
    ) -> Outcome:
        """`write`'s answer, made and stored in one transaction with the key's claim; or, if
        the key is taken, the stored answer (after the transaction holding it ended).

        An exception of `write` rolls the claim back with the write: nothing is stored."""
        claim = {**_params(key), "k_fingerprint": key.fingerprint, "k_now": datetime.now(UTC)}
        async with self._engine.connect() as connection:
            for _ in range(CLAIM_ATTEMPTS):
                async with transaction(connection):
                    if (await connection.execute(self._claim, claim)).first() is None:
                        row = (await connection.execute(_READ, _params(key))).first()
                        if row is None:
                            continue
                        return Outcome(_answer_of(key, row), replayed=True)
                    answer = await write(connection)
                    await connection.execute(_STORE, store_params(key, answer))
                return Outcome(answer, replayed=False)
        raise RuntimeError("idempotency key taken but never found")

    async def stored(self, key: IdempotencyKey) -> Answer | None:
        """The committed answer of `key`, or None when the key is free (or still held by a
        transaction: the write that follows waits for it)."""
        async with self._engine.connect() as connection:
            row = (await connection.execute(_READ, _params(key))).first()
        return None if row is None else _answer_of(key, row)


def store_params(key: IdempotencyKey, answer: Answer) -> dict[str, Any]:
    return {
        **_params(key),
        "k_status": answer.status_code,
        "k_body": None if answer.body is None else answer.body.decode(),
        "k_user": answer.created_user_id,
    }


async def prune_expired(engine: AsyncEngine, older_than: datetime) -> int:
    """Delete the keys created before `older_than`, PRUNE_BATCH rows per statement (short
    transactions), at most PRUNE_MAX_BATCHES statements; the number of rows deleted."""
    table = idempotency_keys
    oldest = (
        select(table.c.scope, table.c.key).where(table.c.created_at < older_than).limit(PRUNE_BATCH)
    )
    statement = delete(table).where(tuple_(table.c.scope, table.c.key).in_(oldest))
    deleted = 0
    for _ in range(PRUNE_MAX_BATCHES):
        async with engine.connect() as connection:
            count = (await connection.execute(statement)).rowcount
        deleted += count
        if count < PRUNE_BATCH:
            break
    return deleted


async def prune_forever(engine: AsyncEngine, keep_hours: int) -> None:
    """The background task of every worker: prune expired keys now and then, for ever."""
    while True:
        await asyncio.sleep(PRUNE_EVERY_SECONDS * random.uniform(0.8, 1.2))  # noqa: S311 (jitter)
        try:
            deleted = await prune_expired(engine, datetime.now(UTC) - timedelta(hours=keep_hours))
        except Exception as error:  # the database may be away: try again next time
            logger.warning(
                "pruning idempotency keys failed",
                extra={"error": type(error).__name__, "error_detail": str(error)},
            )
            continue
        if deleted:
            logger.info("idempotency keys pruned", extra={"deleted": deleted})
