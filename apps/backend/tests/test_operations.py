from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from conftest import TEST_SECRET, Account, metrics_text, openapi_document, settings_from
from pgcluster import free_port
from todo_api import routes
from todo_api.app import create_app
from todo_api.database import database_answers
from todo_api.observability import JsonFormatter, request_id_var
from todo_api.settings import STATE_DIR_ENV, Settings


def test_health_needs_no_database(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_head_works_wherever_get_does_on_the_probes(client: TestClient, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == client.get(path).headers["content-type"]


def test_ready_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_ready_fails_while_the_database_was_never_reached() -> None:
    # Nothing listens on the port: a wrong URL, or a database that is not up yet.
    unreachable = settings_from(
        {
            "DATABASE_URL": f"postgresql://todo:secret@127.0.0.1:{free_port()}/todo",
            "JWT_SECRET": TEST_SECRET,
            "READY_TIMEOUT_SECONDS": "2",
        }
    )
    with TestClient(create_app(unreachable)) as never:
        for _ in range(2):
            response = never.get("/ready")
            assert response.status_code == 503
            assert response.json() == {"detail": "database unavailable"}
        assert never.head("/ready").status_code == 503
        assert never.get("/health").status_code == 200


@pytest.fixture
def database_down(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], list[int]]:
    """Switches the readiness check's database away and back; counts the checks made."""
    checks: list[int] = []

    def switch(down: bool) -> list[int]:
        async def answers(engine: AsyncEngine, timeout_seconds: float) -> str | None:
            checks.append(1)
            if down:
                return "database unavailable"
            return await database_answers(engine, timeout_seconds)

        monkeypatch.setattr(routes, "database_answers", answers)
        return checks

    return switch


def test_ready_stays_up_through_an_outage_once_the_database_was_reached(
    settings: Settings, database_down: Callable[[bool], list[int]]
) -> None:
    with TestClient(create_app(settings)) as app:
        checks = database_down(True)
        assert app.get("/ready").status_code == 503  # not reached yet
        database_down(False)
        assert app.get("/ready").status_code == 200
        made = len(checks)
        database_down(True)
        for _ in range(3):
            response = app.get("/ready")
            assert response.status_code == 200
            assert response.json() == {"status": "ready"}
        assert len(checks) == made, "readiness asked the database again"


def test_the_workers_of_one_start_share_that_the_database_was_reached(
    settings: Settings,
    database_down: Callable[[bool], list[int]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # `serve` gives its workers one state directory per start (TODO_API_STATE_DIR).
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "start-1"))
    (tmp_path / "start-1").mkdir()
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        database_down(True)
        assert (one.get("/ready").status_code, two.get("/ready").status_code) == (503, 503)
        database_down(False)
        assert one.get("/ready").status_code == 200
        database_down(True)
        # The other worker was never probed before the outage: it is ready all the same.
        assert two.get("/ready").status_code == 200
    # The next start of the server begins unready again.
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "start-2"))
    (tmp_path / "start-2").mkdir()
    with TestClient(create_app(settings)) as restarted:
        assert restarted.get("/ready").status_code == 503


def test_metrics_count_requests_by_route_template(client: TestClient, account: Account) -> None:
    client.get("/todos/12345", headers=account.headers)
    text = metrics_text()
    assert 'http_requests_total{method="GET",route="/todos/{todo_id}",status="404"}' in text
    assert "http_request_duration_seconds_bucket" in text


def test_metrics_are_not_served_on_the_api_port(client: TestClient) -> None:
    # Every client of the API reaches its port; the metrics have one of their own (METRICS_PORT).
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_api_docs_are_served_only_when_asked_for(settings: Settings, path: str) -> None:
    with TestClient(create_app(settings)) as default:
        assert default.get(path).status_code == 404
    documented = settings.model_copy(update={"api_docs": True})
    with TestClient(create_app(documented)) as asked:
        assert asked.get(path).status_code == 200


def test_unknown_paths_are_json_404_and_share_one_metric_label(client: TestClient) -> None:
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert 'route="unmatched",status="404"' in metrics_text()


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    echoed = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["x-request-id"]) == 32


def test_log_lines_are_json_with_the_request_id() -> None:
    record = logging.LogRecord("todo_api.access", logging.INFO, __file__, 1, "request", None, None)
    record.status = 201
    token = request_id_var.set("req-42")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["request_id"] == "req-42"
    assert entry["status"] == 201
    assert entry["level"] == "info"
    assert entry["message"] == "request"


def test_openapi_describes_every_endpoint(client: TestClient) -> None:
    paths = openapi_document(client)["paths"]
    assert set(paths) == {
        "/auth/signup",
        "/auth/login",
        "/auth/logout",
        "/auth/logout-everywhere",
        "/me",
        "/me/todos",
        "/todos",
        "/todos/{todo_id}",
        "/todos/{todo_id}/complete",
        "/todos/{todo_id}/uncomplete",
        "/health",
        "/ready",
    }
