"""Fixtures: the database under test (TODO_TEST_DB=postgres|sqlite), the app, real servers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from pgcluster import PostgresCluster, PostgresUnavailableError, free_port
from todo_api.app import create_app
from todo_api.migrations import upgrade_to_head
from todo_api.observability import metrics_registry
from todo_api.settings import Settings

TEST_SECRET = "test-secret-" + "x" * 40
# Every test signs up and logs in from 127.0.0.1: the shared app and server count attempts as
# usual but allow far more of them; the throttling tests set their own, small limits.
ROOMY_LIMITS = {
    "LOGIN_ACCOUNT_ADDRESS_ATTEMPTS": "1000",
    "LOGIN_ACCOUNT_ATTEMPTS": "1000",
    "LOGIN_ADDRESS_ATTEMPTS": "1000000",
    "SIGNUP_ADDRESS_ATTEMPTS": "1000000",
}
# The first JSON-RPC message of an MCP session, and the Accept header streamable HTTP asks for:
# for tests that talk to /mcp without the MCP client.
MCP_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
MCP_ACCEPT = {"Accept": "application/json, text/event-stream"}
BACKEND = os.environ.get("TODO_TEST_DB", "sqlite")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_report_header() -> str:
    return f"database under test: {BACKEND}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres_only: needs a PostgreSQL server it can stop")
    if BACKEND not in {"postgres", "sqlite"}:
        raise pytest.UsageError("TODO_TEST_DB must be postgres or sqlite")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster().init()
    except PostgresUnavailableError as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"PostgreSQL not available: {error}")
    cluster.start()
    yield cluster
    cluster.destroy()


@dataclass
class DatabaseFactory:
    """Makes empty databases of the kind under test."""

    make: Callable[[], dict[str, str]]


@pytest.fixture(scope="session")
def database_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> DatabaseFactory:
    if BACKEND == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")

        def make_postgres() -> dict[str, str]:
            url = cluster.create_database(f"todo_{uuid.uuid4().hex[:12]}")
            return {"DATABASE_URL": url, "JWT_SECRET": TEST_SECRET, **ROOMY_LIMITS}

        return DatabaseFactory(make_postgres)

    def make_sqlite() -> dict[str, str]:
        path = tmp_path_factory.mktemp("sqlite") / "todo.db"
        return {"SQLITE_PATH": str(path), "JWT_SECRET": TEST_SECRET, **ROOMY_LIMITS}

    return DatabaseFactory(make_sqlite)


def settings_from(env: dict[str, str]) -> Settings:
    """Settings from `env` alone (the environment variables of this process do not count)."""
    fields: dict[str, object] = {key.lower(): value for key, value in env.items()}
    fields.setdefault("database_url", None)
    fields.setdefault("sqlite_path", Path("todo.db"))
    return Settings.model_validate(fields)


@pytest.fixture(scope="session")
def database_env(database_factory: DatabaseFactory) -> dict[str, str]:
    return database_factory.make()


@pytest.fixture(scope="session")
def settings(database_env: dict[str, str]) -> Settings:
    settings = settings_from(database_env)
    upgrade_to_head(settings)
    return settings


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def openapi_document(client: TestClient) -> dict[str, Any]:
    """The app's OpenAPI document, as /openapi.json serves it where API_DOCS is on."""
    app = client.app
    assert isinstance(app, FastAPI)
    return app.openapi()


def metrics_text() -> str:
    """What GET /metrics on METRICS_PORT answers for this process's app."""
    return generate_latest(metrics_registry()).decode()


def unique_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class Account:
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def sign_up(client: TestClient | httpx.Client) -> Account:
    email, password = unique_email(), "correct horse battery"
    response = client.post("/auth/signup", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return Account(email, password, response.json()["access_token"])


@pytest.fixture
def account(client: TestClient) -> Account:
    return sign_up(client)


@pytest.fixture
def other_account(client: TestClient) -> Account:
    return sign_up(client)


class Server:
    """`python -m todo_api serve` on 127.0.0.1, as the image runs it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "todo_api",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env={**os.environ, "LOG_LEVEL": "info", **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_for_health()

    def _wait_for_health(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become healthy within 60 s")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout=30)
        self._log.close()
        return code


@pytest.fixture(scope="session")
def server(
    settings: Settings, database_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    running = Server(database_env, tmp_path_factory.mktemp("server") / "server.log")
    yield running
    running.stop()
