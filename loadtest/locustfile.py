"""Load mix for the todo API: signed-in users list, create and complete todos.

Accounts are made before the run (see bench.py) and handed over in TODO_BENCH_TOKENS, a file
with one bearer token per line, so the measured traffic is the steady-state mix only.
Think time between tasks comes from TODO_BENCH_THINK_SECONDS (0 finds peak throughput).
"""

from __future__ import annotations

import itertools
import os
import random
from pathlib import Path
from typing import Any

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

THINK_SECONDS = float(os.environ.get("TODO_BENCH_THINK_SECONDS", "1"))
_tokens_file = os.environ.get("TODO_BENCH_TOKENS")
_tokens = itertools.cycle(Path(_tokens_file).read_text().split() if _tokens_file else [""])


class TodoUser(FastHttpUser):
    """A signed-in user working through their list."""

    wait_time = constant(THINK_SECONDS)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {next(_tokens)}"}
        self.open_ids: list[int] = []
        self.created = 0

    @task(6)
    def list_open_todos(self) -> None:
        status = random.choice(["all", "open", "open", "done"])  # noqa: S311 (not security)
        self.client.get(
            f"/todos?status={status}&limit=20",
            headers=self.headers,
            name="/todos [list]",
        )

    @task(3)
    def create_todo(self) -> None:
        self.created += 1
        body: dict[str, Any] = {
            "title": f"task {self.created}",
            "description": "from the load test",
        }
        with self.client.post(
            "/todos",
            json=body,
            headers=self.headers,
            name="/todos [create]",
            catch_response=True,
        ) as response:
            if response.status_code == 201 and response.json() is not None:
                self.open_ids.append(int(response.json()["id"]))
                response.success()
            else:
                response.failure(f"create answered {response.status_code}")

    @task(2)
    def complete_todo(self) -> None:
        if not self.open_ids:
            self.create_todo()
            return
        todo_id = self.open_ids.pop(random.randrange(len(self.open_ids)))  # noqa: S311
        self.client.post(
            f"/todos/{todo_id}/complete",
            headers=self.headers,
            name="/todos/{id}/complete",
        )


class HealthUser(FastHttpUser):
    """The cheapest request the server answers: the ceiling the mix is compared with."""

    wait_time = constant(0)

    @task
    def health(self) -> None:
        self.client.get("/health")
