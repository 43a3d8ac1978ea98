from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from conftest import Account
from todo_api.observability import JsonFormatter, request_id_var


def test_health_needs_no_database(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
def test_head_works_wherever_get_does_on_the_probes(client: TestClient, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == client.get(path).headers["content-type"]


def test_ready_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_metrics_count_requests_by_route_template(client: TestClient, account: Account) -> None:
    client.get("/todos/12345", headers=account.headers)
    text = client.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/todos/{todo_id}",status="404"}' in text
    assert "http_request_duration_seconds_bucket" in text


def test_unknown_paths_are_json_404_and_share_one_metric_label(client: TestClient) -> None:
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert 'route="unmatched",status="404"' in client.get("/metrics").text


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
    paths = client.get("/openapi.json").json()["paths"]
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
