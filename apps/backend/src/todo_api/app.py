"""Application factory: HTTP API, MCP endpoint, middleware and lifecycle."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.routing import Route

from todo_api import __version__
from todo_api.database import (
    DATABASE_ERRORS,
    DATABASE_RETRY_AFTER_SECONDS,
    DatabaseReach,
    create_engine,
)
from todo_api.dependencies import Services
from todo_api.draining import ConnectionCloseMiddleware
from todo_api.idempotency import (
    KEY_HEADER,
    REPLAYED_HEADER,
    REUSED_KEY,
    Fingerprints,
    KeyReusedError,
    prune_forever,
)
from todo_api.mcp_server import McpEndpoint, build_mcp_server
from todo_api.migrations import upgrade_to_head
from todo_api.observability import BodySizeLimitMiddleware, RequestContextMiddleware
from todo_api.pgstore import PostgresStore, create_pool
from todo_api.routes import auth_router, ops_router, todo_router
from todo_api.security import HashingPool
from todo_api.sessions import Sessions, SessionSettings
from todo_api.settings import STATE_DIR_ENV, Settings
from todo_api.store import Store
from todo_api.throttle import Throttle

logger = logging.getLogger(__name__)


def _reach_marker() -> Path | None:
    state_dir = os.environ.get(STATE_DIR_ENV)
    return Path(state_dir) / "database-reached" if state_dir else None


def create_app(settings: Settings) -> FastAPI:
    engine = create_engine(settings)
    pool = None if settings.is_sqlite else create_pool(settings)
    store = Store(engine) if pool is None else PostgresStore(engine, pool)
    sessions = Sessions(
        engine,
        SessionSettings(
            secret=settings.signing_secret,
            expire_minutes=settings.jwt_expire_minutes,
            check_seconds=settings.session_check_seconds,
        ),
    )
    fingerprints = Fingerprints(settings.signing_secret)
    mcp_server = build_mcp_server(store, fingerprints)
    mcp_server.streamable_http_app()  # creates the session manager the endpoint hands over to
    hashing = HashingPool(settings.password_hash_concurrency, settings.password_hash_wait_seconds)
    longest_window = max(settings.login_window_seconds, settings.signup_window_seconds)
    services = Services(
        settings=settings,
        engine=engine,
        store=store,
        hashing=hashing,
        throttle=Throttle(engine, longest_window),
        sessions=sessions,
        fingerprints=fingerprints,
        database_reach=DatabaseReach(_reach_marker()),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.is_sqlite:
            # The embedded database has no deploy step: bring its schema up to date here.
            upgrade_to_head(settings)
        if pool is not None:
            await pool.open()  # connects in the background: a database still away is no error
        pruning = asyncio.create_task(prune_forever(engine, settings.idempotency_key_hours))
        async with mcp_server.session_manager.run():
            logger.info(
                "started", extra={"database": "sqlite" if settings.is_sqlite else "postgresql"}
            )
            yield
        pruning.cancel()
        with suppress(asyncio.CancelledError):
            await pruning
        hashing.close()
        if pool is not None:
            await pool.close()
        await engine.dispose()
        logger.info("stopped")

    app = FastAPI(
        title="Todo API",
        version=__version__,
        description="Multi-user todo lists, with an MCP server at /mcp.",
        lifespan=lifespan,
        openapi_url="/openapi.json" if settings.api_docs else None,
    )
    app.state.services = services
    app.include_router(auth_router)
    app.include_router(todo_router)
    app.include_router(ops_router)
    # Every method reaches the endpoint, which answers 405 itself to those it does not serve.
    app.router.routes.append(
        Route(
            "/mcp",
            McpEndpoint(mcp_server.session_manager, sessions),
            include_in_schema=False,
        )
    )

    # Lost connections and an exhausted pool are outages, not bugs: answer 503 so clients retry.
    async def database_unavailable(_request: Request, error: Exception) -> JSONResponse:
        # The driver's message (host, port, SQL) is for the log only.
        logger.error(
            "database error", extra={"error": type(error).__name__, "error_detail": str(error)}
        )
        return JSONResponse(
            {"detail": "database unavailable"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    for error_class in DATABASE_ERRORS:
        app.add_exception_handler(error_class, database_unavailable)

    @app.exception_handler(KeyReusedError)
    async def key_reused(_request: Request, _error: Exception) -> JSONResponse:
        return JSONResponse({"detail": REUSED_KEY}, status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(RequestValidationError)
    async def validation_failed(_request: Request, error: RequestValidationError) -> Response:
        # Errors echo the input back, except a password's (kept out of answers and anything that
        # records them); ASCII escapes keep lone surrogates in the input encodable.
        errors = [
            {key: value for key, value in detail.items() if key != "input"}
            if tuple(detail.get("loc", ()))[-1:] == ("password",)
            else detail
            for detail in error.errors()
        ]
        body = json.dumps({"detail": jsonable_encoder(errors)}, ensure_ascii=True)
        return Response(
            body, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, media_type="application/json"
        )

    # Any other exception is answered 500 "internal server error" by RequestContextMiddleware,
    # which logs it with the request id.

    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-Request-ID",
                "Mcp-Session-Id",
                KEY_HEADER,
            ],
            expose_headers=["X-Request-ID", REPLAYED_HEADER],
        )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    # Outermost: every answer, the 500s of RequestContextMiddleware included.
    app.add_middleware(ConnectionCloseMiddleware)
    return app
