"""Password hashing (argon2) and access tokens (JWT, HS256)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id at OWASP's recommended baseline (19 MiB, 2 passes, 1 lane): a login costs tens of
# milliseconds of one core instead of the library default's hundreds across four.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_ALGORITHM = "HS256"
_ISSUER = "todo-api"
# Verifying against this hash when the email is unknown keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# Ids are signed 64-bit integers from 1 up: a token naming anything else names no one.
MAX_ID = 2**63 - 1
_MAX_ID_DIGITS = len(str(MAX_ID))
_TOKEN_ID_LENGTH = 32  # hex digits of 16 random bytes
# users.token_version is a 32-bit INTEGER column.
MAX_TOKEN_VERSION = 2**31 - 1

_T = TypeVar("_T")


class InvalidTokenError(Exception):
    """The bearer token is missing, malformed, expired or forged."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class HashingBusyError(Exception):
    """Every hashing slot stayed taken for the whole wait: the caller should answer 503."""


class HashingPool:
    """Runs argon2 on a fixed set of threads, at most `size` hashes at once.

    Each hash holds 19 MiB while it runs, so the pool's size bounds that memory whatever the
    load. A caller waits up to `wait_seconds` for a free slot, then gets HashingBusyError.
    Dedicated threads (not the shared pool of anyio's workers) also keep the allocator's
    per-thread arenas, which hold on to freed hash memory, to `size` of them.
    """

    def __init__(self, size: int, wait_seconds: float) -> None:
        self.size = size
        self.wait_seconds = wait_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(size)
        self._executor: ThreadPoolExecutor | None = None

    def _start(self) -> tuple[asyncio.Semaphore, ThreadPoolExecutor]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the app is served by a new event loop (tests do that)
            self._loop, self._slots = loop, asyncio.Semaphore(self.size)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="argon2")
        return self._slots, self._executor

    async def run(self, function: Callable[[], _T]) -> _T:
        slots, executor = self._start()
        try:
            async with asyncio.timeout(self.wait_seconds):
                await slots.acquire()
        except TimeoutError:
            raise HashingBusyError from None
        loop = asyncio.get_running_loop()
        try:
            future: Future[_T] = executor.submit(function)
        except BaseException:
            slots.release()
            raise

        # The slot is freed when the hash is done, not when its caller stops waiting (a client
        # that disconnects mid-hash must not let another hash start beside the running one).
        def free_slot(_: Future[_T]) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(slots.release)

        future.add_done_callback(free_slot)
        return await asyncio.wrap_future(future)

    async def hash_password(self, password: str) -> str:
        # argon2 is CPU-bound and releases the GIL: it runs off the event loop.
        return await self.run(lambda: _hasher.hash(password))

    async def verify_password(self, password_hash: str | None, password: str) -> bool:
        def verify() -> bool:
            try:
                valid = _hasher.verify(password_hash or _DUMMY_HASH, password)
            except (VerificationError, InvalidHashError):
                return False
            return valid and bool(password_hash)

        return await self.run(verify)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says: whose it is, its id, the user's token version, its end."""

    user_id: int
    token_id: str
    token_version: int
    expires_at: float


def issue_token(user_id: int, token_version: int, secret: str, expire_minutes: int) -> IssuedToken:
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=expire_minutes)
    claims = {
        "sub": str(user_id),
        "jti": secrets.token_hex(16),
        "ver": token_version,
        "iat": now,
        "exp": now + lifetime,
        "iss": _ISSUER,
    }
    token = jwt.encode(claims, secret, algorithm=_ALGORITHM)
    return IssuedToken(access_token=token, expires_in=int(lifetime.total_seconds()))


def verify_token(token: str, secret: str) -> TokenClaims:
    """The token's claims if it is signed with `secret` and not expired; whether it was
    revoked is the database's to say (see store.Store.session_is_current)."""
    claims = _verified_claims(token, secret)
    if claims.expires_at <= time.time():
        raise InvalidTokenError("token expired")
    return claims


# Checking a token's signature and claims costs more CPU than a todo query, and clients send
# the same token with every request: remember verified tokens (bounded), re-check expiry only.
@lru_cache(maxsize=8192)
def _verified_claims(token: str, secret: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=_ISSUER,
            options={"require": ["sub", "jti", "ver", "exp", "iat", "iss"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidTokenError(str(error)) from None
    subject, token_id, version = claims["sub"], claims["jti"], claims["ver"]
    if (
        not isinstance(subject, str)
        or not (subject.isascii() and subject.isdigit())
        or len(subject) > _MAX_ID_DIGITS
        or not 1 <= int(subject) <= MAX_ID
    ):
        raise InvalidTokenError("bad subject")
    if not isinstance(token_id, str) or len(token_id) != _TOKEN_ID_LENGTH:
        raise InvalidTokenError("bad token id")
    if type(version) is not int or not 0 <= version <= MAX_TOKEN_VERSION:
        raise InvalidTokenError("bad token version")
    return TokenClaims(int(subject), token_id, version, float(claims["exp"]))


def bearer_token(authorization: str | None) -> str:
    """Extract the token from an `Authorization: Bearer <token>` header value."""
    if not authorization:
        raise InvalidTokenError("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError("expected a Bearer token")
    return token.strip()
