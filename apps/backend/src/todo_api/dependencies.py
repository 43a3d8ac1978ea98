"""Shared per-app services and the FastAPI dependencies that reach them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_api.security import InvalidTokenError, user_id_from_token
from todo_api.settings import Settings
from todo_api.store import Store


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    store: Store


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


async def current_user_id(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> int:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("not authenticated")
    try:
        return user_id_from_token(credentials.credentials, services.settings.signing_secret)
    except InvalidTokenError:
        raise unauthorized("invalid or expired token") from None


UserIdDep = Annotated[int, Depends(current_user_id)]
