"""Schema-driven fuzzing of the OpenAPI description against a running server: never a 5xx."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from conftest import Server, sign_up

MIN_REQUESTS = 1000
EXAMPLES_PER_OPERATION_AND_MODE = 60


@pytest.fixture
def server(database_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    """The server with its OpenAPI description served (API_DOCS), which the fuzzer reads."""
    running = Server({**database_env, "API_DOCS": "true"}, tmp_path / "server.log")
    yield running
    running.stop()


def test_generated_requests_never_get_a_server_error(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        account = sign_up(http)
        for n in range(3):  # a few real todos, so some generated ids hit existing rows
            http.post("/todos", json={"title": f"seed {n}"}, headers=account.headers)

    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    session = requests.Session()
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    # Logging out ends the account's session: those operations go last, so every other one
    # is exercised with a token that still works.
    operations.sort(key=lambda operation: operation.path.startswith("/auth/logout"))
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(
                max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            # Nine in ten requests carry the token, so generated input reaches the todo handlers.
            @given(case=strategy, authenticated=st.integers(0, 9).map(lambda n: n > 0))
            def exercise(case: Any, authenticated: bool) -> None:
                headers = account.headers if authenticated else {}
                response = case.call(
                    base_url=server.base_url, session=session, headers=headers, timeout=30
                )
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    request = f"{case.method} {case.formatted_path} {case.body!r:.200}"
                    failures.append(f"{response.status_code} {request}")

            started = time.monotonic()
            try:
                exercise()
            except Unsatisfiable:
                # Operations without parameters or body have nothing to make invalid.
                assert mode is GenerationMode.NEGATIVE, operation.label
            print(f"{operation.label} {mode.value}: {time.monotonic() - started:.1f}s")

    total = sum(statuses.values())
    print(f"fuzzing: {total} requests, statuses {dict(sorted(statuses.items()))}")
    assert not failures, "\n".join(failures[:20])
    assert total >= MIN_REQUESTS, f"only {total} requests were generated"
    # Generated requests must reach the handlers, not just bounce off auth or validation.
    assert statuses[200] + statuses[201] + statuses[204] > 100
