"""Shared per-app services and the FastAPI dependencies that reach them."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_api.database import DatabaseReach
from todo_api.idempotency import INVALID_KEY, KEY_HEADER, Fingerprints, IdempotencyKey, valid_key
from todo_api.security import HashingPool, InvalidTokenError, TokenClaims
from todo_api.sessions import SessionEndedError, Sessions
from todo_api.settings import Settings
from todo_api.store import Store
from todo_api.throttle import Throttle

logger = logging.getLogger(__name__)

# The frontend names the person's address in CLIENT_ADDRESS_HEADER, and proves that it is the
# frontend with the shared secret in CLIENT_ADDRESS_SECRET_HEADER (FORWARDED_ADDRESS_SECRET).
CLIENT_ADDRESS_HEADER = "x-client-address"
CLIENT_ADDRESS_SECRET_HEADER = "x-client-address-secret"  # noqa: S105 (a header name)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    store: Store
    hashing: HashingPool
    throttle: Throttle
    sessions: Sessions
    fingerprints: Fingerprints
    database_reach: DatabaseReach


_bearer = HTTPBearer(auto_error=False, description="Access token from /auth/signup or /auth/login")


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _claims(
    services: Services, credentials: HTTPAuthorizationCredentials | None
) -> TokenClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("not authenticated")
    try:
        return await services.sessions.authenticate(credentials.credentials)
    except (InvalidTokenError, SessionEndedError):
        raise unauthorized("invalid or expired token") from None


@dataclass(frozen=True, slots=True)
class LoggingOut:
    """The token of a logout request, and whether its session has ended already."""

    claims: TokenClaims
    ended: bool
    services: Services


async def logging_out(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> LoggingOut:
    """A logout's session. A valid token whose session ended still gets to the endpoint, which
    answers 204 if the request repeats a logout it made with the same Idempotency-Key, and 401
    otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("not authenticated")
    try:
        claims = await services.sessions.authenticate(credentials.credentials)
    except InvalidTokenError:
        raise unauthorized("invalid or expired token") from None
    except SessionEndedError as ended:
        return LoggingOut(ended.claims, True, services)
    return LoggingOut(claims, False, services)


LoggingOutDep = Annotated[LoggingOut, Depends(logging_out)]


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in user a request acts for, and the app's services."""

    user_id: int
    services: Services


# One dependency (beside the bearer scheme) for what every todo endpoint needs: FastAPI
# resolves each dependency on every request, a cost the hot paths feel.
async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    services: Services = request.app.state.services
    return Caller((await _claims(services, credentials)).user_id, services)


CallerDep = Annotated[Caller, Depends(current_caller)]


def client_address(request: Request, secret: str | None) -> str:
    """The address of the person behind the request.

    The connection's peer, unless the request carries the shared secret and names an address
    in X-Client-Address: behind the frontend every connection comes from a frontend pod, and
    the frontend passes on the address it was reached from. Without the secret the header is
    ignored, so a client cannot pick its own address.
    """
    peer = request.client.host if request.client is not None else "unknown"
    named = request.headers.get(CLIENT_ADDRESS_HEADER)
    proof = request.headers.get(CLIENT_ADDRESS_SECRET_HEADER)
    if secret is None or named is None or proof is None:
        return peer
    if not hmac.compare_digest(proof.encode("latin-1"), secret.encode("utf-8")):
        logger.warning("client address header with a wrong secret ignored", extra={"peer": peer})
        return peer
    try:
        return str(ipaddress.ip_address(named.strip()))
    except ValueError:
        logger.warning("client address header is not an IP address", extra={"peer": peer})
        return peer


async def get_client_address(request: Request, services: ServicesDep) -> str:
    return client_address(request, services.settings.forwarded_address_secret)


ClientAddressDep = Annotated[str, Depends(get_client_address)]


def idempotency_key_header(request: Request) -> str | None:
    """The request's Idempotency-Key, or None without one; 422 when it is malformed."""
    value = request.headers.get(KEY_HEADER)
    if value is not None and not valid_key(value):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, INVALID_KEY)
    return value


async def idempotency_key(
    request: Request, services: Services, scope: str, *extra: bytes
) -> IdempotencyKey | None:
    """The key of a write in `scope`, with the fingerprint of the request (method, path,
    body and `extra`); None when the request carries no Idempotency-Key."""
    key = idempotency_key_header(request)
    if key is None:
        return None
    parts = (request.method.encode(), request.scope["path"].encode(), await request.body())
    return IdempotencyKey(scope, key, services.fingerprints.of(*parts, *extra))
