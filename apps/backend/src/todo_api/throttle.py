"""Attempt counters for logins and sign-ups, kept in the database.

Every worker of every replica counts in the same table, so a limit holds however many
processes serve the app. Each counter is a fixed window: the first attempt opens it. Once a
`Limit`'s attempts were made in it, further ones are refused until it ends; past a
`Slowdown`'s attempts, further ones are delayed instead, never refused. An attempt is counted
before the password is checked (so a burst of parallel requests cannot all slip in before the
first failure is recorded) and handed back when it turns out not to count: a correct
password, or a request the server could not serve.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import Insert

from todo_api.tables import auth_throttle

logger = logging.getLogger(__name__)

# Every CLEANUP_EVERY counted requests (per process), rows whose window is over are deleted.
CLEANUP_EVERY = 200
# At most this many full keys are remembered per process, each for at most REMEMBER_FULL_MS.
MAX_REMEMBERED = 10_000
REMEMBER_FULL_MS = 5_000
# The first slowed-down attempt waits this long; each further one twice as long as the last,
# up to the slowdown's longest delay.
FIRST_DELAY_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `attempts` attempts per `window_seconds` for one key; 0 attempts: no limit."""

    scope: str
    attempts: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Slowdown:
    """Past `attempts` attempts per `window_seconds` for one key, each further attempt waits,
    from FIRST_DELAY_SECONDS doubling up to `max_delay_seconds`; 0 attempts: never."""

    scope: str
    attempts: int
    window_seconds: int
    max_delay_seconds: float

    def delay_seconds(self, attempts: int) -> float:
        """The wait of the attempt counted as the `attempts`-th of its window."""
        past = attempts - self.attempts
        if past <= 0:
            return 0.0
        return min(self.max_delay_seconds, FIRST_DELAY_SECONDS * 2.0 ** min(past - 1, 16))


@dataclass(frozen=True, slots=True)
class Counted:
    """Keys counted for one request; how long to wait when one of them is over its limit (the
    request is refused), or else how long to slow the request down."""

    keys: tuple[str, ...]
    retry_after: int | None
    delay_seconds: float = 0.0

    @property
    def refused(self) -> bool:
        return self.retry_after is not None


def throttle_key(scope: str, value: str) -> str:
    # A digest keeps emails out of the table and every key the same short length.
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"{scope}:{digest}"


def address_bucket(address: str) -> str:
    """The unit an address is limited as: the address for IPv4, its /64 for IPv6.

    One IPv6 host commonly holds a whole /64, so counting single addresses would let it step
    around the limit. IPv4-mapped IPv6 addresses count as their IPv4 address.
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Throttle:
    def __init__(self, engine: AsyncEngine, longest_window_seconds: int) -> None:
        self._engine = engine
        self._longest_window_ms = longest_window_seconds * 1000
        self._calls = 0
        # Keys the database found full: until when to believe it, and when their window ends.
        # Under a flood nearly every request is for such a key: this process refuses them
        # without a database round trip, so they neither load the database nor queue ahead of
        # other people's requests for a pooled connection. Only refusals are remembered, for
        # at most REMEMBER_FULL_MS (another process may reset the key meanwhile); counting
        # stays in the database.
        self._full: dict[str, tuple[int, int]] = {}
        # One database check at a time per key in this process: requests for a key under
        # check wait here, not in the connection pool's queue ahead of everyone else, and
        # once the key is found full they are refused without a query.
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def _upsert(self, key: str, now_ms: int, window_ms: int) -> Insert:
        table = auth_throttle
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        expired = table.c.window_started_ms <= now_ms - window_ms
        return (
            insert(table)
            .values(key=key, window_started_ms=now_ms, attempts=1)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "attempts": case((expired, 1), else_=table.c.attempts + 1),
                    "window_started_ms": case((expired, now_ms), else_=table.c.window_started_ms),
                },
            )
            .returning(table.c.attempts, table.c.window_started_ms)
        )

    async def count(
        self,
        attempts: list[tuple[Limit, str]],
        *,
        address: str,
        slowdown: tuple[Slowdown, str] | None = None,
    ) -> Counted:
        """Count one attempt against each (limit, value): refused if any limit is exceeded;
        else counted against the (slowdown, value) too, which says how long to delay.
        `address` (the client's) only goes to the log."""
        now_ms = _now_ms()
        active = [(limit, value) for limit, value in attempts if limit.attempts > 0]
        slowed = slowdown if slowdown is not None and slowdown[0].attempts > 0 else None
        if not active and slowed is None:
            return Counted((), None)
        keys = [throttle_key(limit.scope, value) for limit, value in active]
        if (remembered := self._remembered(keys, now_ms)) is not None:
            return remembered
        # Only the keys that can refuse are checked one at a time: a request that is merely
        # slowed never waits here behind the requests of a flood.
        async with self._one_check_per_key(keys):
            now_ms = _now_ms()
            if (remembered := self._remembered(keys, now_ms)) is not None:
                return remembered
            return await self._count(active, keys, slowed, address, now_ms)

    def _remembered(self, keys: list[str], now_ms: int) -> Counted | None:
        believed = [self._full[key][1] for key in keys if self._full.get(key, (0, 0))[0] > now_ms]
        if not believed:
            return None
        return Counted((), max(1, math.ceil((max(believed) - now_ms) / 1000)))

    @asynccontextmanager
    async def _one_check_per_key(self, keys: list[str]) -> AsyncIterator[None]:
        registered: list[str] = []
        acquired: set[str] = set()
        try:
            for key in sorted(set(keys)):  # one order everywhere: no deadlock
                lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
                self._locks[key] = (lock, users + 1)
                registered.append(key)
                await lock.acquire()
                acquired.add(key)
            yield
        finally:
            for key in reversed(registered):
                lock, users = self._locks[key]
                if key in acquired:
                    lock.release()
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    async def _count(
        self,
        active: list[tuple[Limit, str]],
        keys: list[str],
        slowed: tuple[Slowdown, str] | None,
        address: str,
        now_ms: int,
    ) -> Counted:
        counted: list[str] = []
        retry_after: int | None = None
        async with self._engine.connect() as connection:
            # A key that is already full refuses the request with a read: under a flood most
            # requests end here, without queueing for the write lock.
            current = {
                row.key: row
                for row in await connection.execute(
                    select(auth_throttle).where(auth_throttle.c.key.in_(keys))
                )
            }
            for (limit, _), key in zip(active, keys, strict=True):
                row = current.get(key)
                window_ms = limit.window_seconds * 1000
                ends_ms = 0 if row is None else row.window_started_ms + window_ms
                if row is not None and row.attempts >= limit.attempts and ends_ms > now_ms:
                    wait = max(1, math.ceil((ends_ms - now_ms) / 1000))
                    retry_after = max(retry_after or 0, wait)
                    self._remember_full(key, ends_ms, now_ms)
            if retry_after is not None:
                return Counted((), retry_after)
            for (limit, _), key in zip(active, keys, strict=True):
                window_ms = limit.window_seconds * 1000
                row = (await connection.execute(self._upsert(key, now_ms, window_ms))).one()
                counted.append(key)
                if row.attempts >= limit.attempts:  # the next attempt is refused
                    self._remember_full(key, row.window_started_ms + window_ms, now_ms)
                if row.attempts == limit.attempts:
                    self._log_reached("attempt limit reached", limit.scope, limit.attempts, address)
                if row.attempts > limit.attempts:
                    wait = (row.window_started_ms + window_ms - now_ms) / 1000
                    retry_after = max(retry_after or 0, max(1, math.ceil(wait)))
            delay_seconds = 0.0
            # A refused attempt checks no password: it does not slow anyone else down.
            if slowed is not None and retry_after is None:
                slowdown, value = slowed
                key = throttle_key(slowdown.scope, value)
                window_ms = slowdown.window_seconds * 1000
                row = (await connection.execute(self._upsert(key, now_ms, window_ms))).one()
                counted.append(key)
                delay_seconds = slowdown.delay_seconds(row.attempts)
                if row.attempts == slowdown.attempts + 1:
                    scope, attempts = slowdown.scope, slowdown.attempts
                    self._log_reached("attempts slowed down", scope, attempts, address)
            self._calls += 1
            if self._calls % CLEANUP_EVERY == 0:
                await connection.execute(
                    delete(auth_throttle).where(
                        auth_throttle.c.window_started_ms < now_ms - self._longest_window_ms
                    )
                )
        return Counted(tuple(counted), retry_after, delay_seconds)

    @staticmethod
    def _log_reached(message: str, scope: str, attempts: int, address: str) -> None:
        # Addresses help an operator; emails stay out of the log.
        extra = {"limit": scope, "attempts": attempts, "client_address": address}
        logger.warning(message, extra=extra)

    def _remember_full(self, key: str, ends_ms: int, now_ms: int) -> None:
        if len(self._full) >= MAX_REMEMBERED:
            self._full = {k: v for k, v in self._full.items() if v[0] > now_ms}
            if len(self._full) >= MAX_REMEMBERED:
                self._full.clear()
        self._full[key] = (min(ends_ms, now_ms + REMEMBER_FULL_MS), ends_ms)

    async def give_back(self, keys: tuple[str, ...] | list[str]) -> None:
        """Un-count one attempt of each key (one that turned out not to count)."""
        if keys:
            await self.succeeded(None, list(keys))

    async def succeeded(self, reset: str | None, give_back: list[str]) -> None:
        """After a success: delete the `reset` key's count, un-count one of each other key."""
        for key in (reset, *give_back):
            if key is not None:
                self._full.pop(key, None)
        async with self._engine.connect() as connection:
            if reset is not None:
                await connection.execute(delete(auth_throttle).where(auth_throttle.c.key == reset))
            if give_back:
                await connection.execute(
                    update(auth_throttle)
                    .where(auth_throttle.c.key.in_(give_back), auth_throttle.c.attempts > 0)
                    .values(attempts=auth_throttle.c.attempts - 1)
                )
