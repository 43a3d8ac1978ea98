"""Sessions: issuing tokens, checking that a token's session has not ended, ending sessions.

A token's session ends when the token is revoked (logging out lists its id in revoked_tokens
until it would have expired) or when its user's token version is raised (logging out
everywhere). Every authenticated request and MCP call asks the database, unless this process
confirmed the same token less than SESSION_CHECK_SECONDS ago; a revocation made by this process
is seen at once, one made by another replica within that many seconds.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from todo_api.idempotency import Answer, IdempotencyKey, KeyedWrites, Outcome
from todo_api.security import IssuedToken, TokenClaims, issue_token, verify_token
from todo_api.tables import revoked_tokens, users

# One round trip: the user still exists, still has the token's version, and the token's id
# is not revoked.
_SESSION_IS_CURRENT = select(users.c.id).where(
    users.c.id == bindparam("user_id"),
    users.c.token_version == bindparam("token_version"),
    ~exists().where(revoked_tokens.c.token_id == bindparam("token_id")),
)
_REVOKE = insert(revoked_tokens)
_PRUNE = delete(revoked_tokens).where(revoked_tokens.c.expires_at < bindparam("now"))
_END_ALL = (
    update(users)
    .where(users.c.id == bindparam("user_id"))
    .values(token_version=users.c.token_version + 1)
)
# Confirmations remembered at most; beyond that the memory starts again from empty.
_MAX_REMEMBERED = 8192


class SessionEndedError(Exception):
    """The token is valid but its session ended: revoked, logged out everywhere, or the user
    no longer exists. `claims` are the token's (a logout repeated with its key answers 204)."""

    def __init__(self, claims: TokenClaims) -> None:
        super().__init__("session ended")
        self.claims = claims


@dataclass(frozen=True, slots=True)
class SessionSettings:
    secret: str
    expire_minutes: int
    check_seconds: float


class Sessions:
    def __init__(self, engine: AsyncEngine, settings: SessionSettings) -> None:
        self._engine = engine
        self._settings = settings
        # token id -> monotonic time the database last confirmed its session
        self._confirmed: dict[str, float] = {}
        self._keys = KeyedWrites(engine)
        # In a transaction a failed statement ends it: a concurrent revocation is no error.
        dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._revoke_once = dialect_insert(revoked_tokens).on_conflict_do_nothing(
            index_elements=[revoked_tokens.c.token_id]
        )

    def issue(self, user_id: int, token_version: int) -> IssuedToken:
        return issue_token(
            user_id, token_version, self._settings.secret, self._settings.expire_minutes
        )

    async def authenticate(self, token: str) -> TokenClaims:
        """The token's claims if its session is current; InvalidTokenError or
        SessionEndedError if not."""
        claims = verify_token(token, self._settings.secret)
        now = time.monotonic()
        confirmed_at = self._confirmed.get(claims.token_id)
        if confirmed_at is not None and now - confirmed_at < self._settings.check_seconds:
            return claims
        params = {
            "user_id": claims.user_id,
            "token_version": claims.token_version,
            "token_id": claims.token_id,
        }
        async with self._engine.connect() as connection:
            current = (await connection.execute(_SESSION_IS_CURRENT, params)).first()
        if current is None:
            self._confirmed.pop(claims.token_id, None)
            raise SessionEndedError(claims)
        if self._settings.check_seconds > 0:
            if len(self._confirmed) >= _MAX_REMEMBERED:
                self._confirmed.clear()
            self._confirmed[claims.token_id] = now
        return claims

    async def end(self, claims: TokenClaims) -> None:
        """End this token's session; drop revocations of tokens that have expired since."""
        async with self._engine.connect() as connection:
            await connection.execute(_PRUNE, {"now": int(time.time())})
            # A concurrent logout with the same token may have listed it first.
            with suppress(IntegrityError):
                await connection.execute(
                    _REVOKE, {"token_id": claims.token_id, "expires_at": int(claims.expires_at)}
                )
        # Forgotten after the write: a request confirmed meanwhile cannot outlive it here.
        self._confirmed.pop(claims.token_id, None)

    async def end_once(self, claims: TokenClaims, key: IdempotencyKey) -> Outcome:
        """`end` with an idempotency key: the revocation and the key's answer (204) commit
        together."""

        async def write(connection: AsyncConnection) -> Answer:
            await connection.execute(_PRUNE, {"now": int(time.time())})
            params = {"token_id": claims.token_id, "expires_at": int(claims.expires_at)}
            await connection.execute(self._revoke_once, params)
            return Answer(204)

        outcome = await self._keys.run(key, write)
        self._confirmed.pop(claims.token_id, None)
        return outcome

    async def end_all(self, user_id: int) -> None:
        """End every session of the user, this one included."""
        async with self._engine.connect() as connection:
            await connection.execute(_END_ALL, {"user_id": user_id})
        # Rare enough to forget every confirmation rather than look for the user's.
        self._confirmed.clear()

    async def end_all_once(self, user_id: int, key: IdempotencyKey) -> Outcome:
        """`end_all` with an idempotency key, committed together with the key's answer."""

        async def write(connection: AsyncConnection) -> Answer:
            await connection.execute(_END_ALL, {"user_id": user_id})
            return Answer(204)

        outcome = await self._keys.run(key, write)
        self._confirmed.clear()
        return outcome

    async def stored_answer(self, key: IdempotencyKey) -> Answer | None:
        """The committed answer of a keyed logout (KeyReusedError: of another request)."""
        return await self._keys.stored(key)
