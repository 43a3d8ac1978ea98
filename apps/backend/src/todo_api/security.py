"""Password hashing (argon2) and access tokens (JWT, HS256)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id at OWASP's recommended baseline (19 MiB, 2 passes, 1 lane): a login costs tens of
# milliseconds of one core instead of the library default's hundreds across four.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_ALGORITHM = "HS256"
_ISSUER = "todo-api"
# Verifying against this hash when the email is unknown keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class InvalidTokenError(Exception):
    """The bearer token is missing, malformed, expired or forged."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


async def hash_password(password: str) -> str:
    # argon2 is CPU-bound and releases the GIL: keep it off the event loop.
    return await to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await to_thread.run_sync(verify)


def issue_token(user_id: int, secret: str, expire_minutes: int) -> IssuedToken:
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=expire_minutes)
    claims = {"sub": str(user_id), "iat": now, "exp": now + lifetime, "iss": _ISSUER}
    token = jwt.encode(claims, secret, algorithm=_ALGORITHM)
    return IssuedToken(access_token=token, expires_in=int(lifetime.total_seconds()))


def user_id_from_token(token: str, secret: str) -> int:
    user_id, expires_at = _verified_claims(token, secret)
    if expires_at <= time.time():
        raise InvalidTokenError("token expired")
    return user_id


# Checking a token's signature and claims costs more CPU than a todo query, and clients send
# the same token with every request: remember verified tokens (bounded), re-check expiry only.
@lru_cache(maxsize=8192)
def _verified_claims(token: str, secret: str) -> tuple[int, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=_ISSUER,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidTokenError(str(error)) from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not (subject.isascii() and subject.isdigit()):
        raise InvalidTokenError("bad subject")
    return int(subject), float(claims["exp"])


def bearer_token(authorization: str | None) -> str:
    """Extract the token from an `Authorization: Bearer <token>` header value."""
    if not authorization:
        raise InvalidTokenError("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError("expected a Bearer token")
    return token.strip()
