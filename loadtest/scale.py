"""Scaling benchmark: list and write latency as one user's todos grow from 100 to 1,000,000.

Starts a throwaway PostgreSQL cluster (default, durable settings) and one
`python -m todo_api serve` worker on 127.0.0.1. A neighbour gets 10,000 todos; then one user
is grown to each size in turn (a third of the todos done), and at each size every cell is
timed over sequential requests, the neighbour's first page among them. Writes
loadtest/results/scale-<UTC time>/summary.json, table.md and plans.txt (the plans of the list
queries at the largest size).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import psycopg
from bench import JWT_SECRET, LOADTEST_DIR, machine, start_server
from sqlalchemy import create_engine

from pgcluster import PostgresCluster
from todo_api.store import page_query

SIZES = (100, 10_000, 100_000, 1_000_000)
NEIGHBOUR_TODOS = 10_000
PAGE_SIZE = 20
WARMUP_REQUESTS = 20
CELLS = (
    "first page, all",
    "first page, done",
    "last page",
    "offset 1000 (the cap)",
    "neighbour's first page",
    "create",
    "complete",
)

# The bulk path: one statement per size (the counts trigger runs once for it, per statement).
_GROW = """
INSERT INTO todos (user_id, title, completed, created_at, updated_at)
SELECT %(user_id)s::bigint, 'todo ' || n, n %% 3 = 0, now(), now()
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
"""


def _sign_up(http: httpx.Client, name: str) -> tuple[dict[str, str], int]:
    response = http.post(
        "/auth/signup",
        json={"email": f"{name}-{time.time_ns()}@example.com", "password": "benchmark-pw"},
    )
    response.raise_for_status()
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    user_id = int(http.get("/me", headers=headers).json()["id"])
    return headers, user_id


def _grow(database_url: str, user_id: int, have: int, want: int) -> float:
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(_GROW, {"user_id": user_id, "first": have + 1, "last": want})
        connection.execute("VACUUM ANALYZE todos")
    return time.monotonic() - started


def _timed(requests: int, send: Callable[[int], httpx.Response]) -> dict[str, float]:
    durations = []
    for index in range(WARMUP_REQUESTS + requests):
        started = time.perf_counter()
        response = send(index)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        if index >= WARMUP_REQUESTS:
            durations.append(elapsed * 1000)
    cuts = statistics.quantiles(durations, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 2), "p95_ms": round(cuts[94], 2)}


def _get(http: httpx.Client, url: str, headers: dict[str, str], _index: int) -> httpx.Response:
    return http.get(url, headers=headers)


def _open_ids(http: httpx.Client, headers: dict[str, str], count: int) -> list[int]:
    ids: list[int] = []
    url = "/todos?status=open&limit=100"
    while len(ids) < count:
        page = http.get(url, headers=headers).json()
        ids += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None and len(ids) < count:
            raise RuntimeError(f"{count} open todos needed, {len(ids)} found")
        url = f"/todos?status=open&limit=100&cursor={page['next_cursor']}"
    return ids


def _measure(
    http: httpx.Client, headers: dict[str, str], neighbour: dict[str, str], requests: int
) -> dict[str, Any]:
    last_cursor = http.get(f"/todos?limit={PAGE_SIZE}", headers=headers).json()["last_cursor"]
    queries = {
        "first page, all": f"/todos?limit={PAGE_SIZE}",
        "first page, done": f"/todos?status=done&limit={PAGE_SIZE}",
        "last page": f"/todos?limit={PAGE_SIZE}&cursor={last_cursor}",
        "offset 1000 (the cap)": f"/todos?limit={PAGE_SIZE}&offset=1000",
    }
    cells: dict[str, Any] = {
        name: _timed(requests, partial(_get, http, url, headers)) for name, url in queries.items()
    }
    # The grown user's rows must not slow down anyone else's list.
    first_page = f"/todos?limit={PAGE_SIZE}"
    cells["neighbour's first page"] = _timed(requests, partial(_get, http, first_page, neighbour))
    cells["create"] = _timed(
        requests,
        lambda index: http.post("/todos", json={"title": f"new {index}"}, headers=headers),
    )
    # After the creates, so that even the smallest list has enough open todos to complete.
    open_ids = _open_ids(http, headers, WARMUP_REQUESTS + requests)
    cells["complete"] = _timed(
        requests,
        lambda index: http.post(f"/todos/{open_ids[index]}/complete", headers=headers),
    )
    return cells


def _plans(database_url: str, user_id: int) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each list statement, as the store sends it."""
    statements = {
        "first page, all": page_query("first", filtered=False, postgres=True).params(
            owner_id=user_id, page_limit=PAGE_SIZE + 1, page_offset=0
        ),
        "first page, done": page_query("first", filtered=True, postgres=True).params(
            owner_id=user_id, completed=True, page_limit=PAGE_SIZE + 1, page_offset=0
        ),
        "last page": page_query("newer", filtered=False, postgres=True).params(
            owner_id=user_id, after_id=0, page_limit=PAGE_SIZE + 1
        ),
    }
    dialect = create_engine("postgresql+psycopg://").dialect  # compiles only, never connects
    plans = {}
    with psycopg.connect(database_url, autocommit=True) as connection:
        for name, statement in statements.items():
            compiled = statement.compile(dialect=dialect)
            rows = connection.execute(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", compiled.params)
            plans[name] = f"{compiled}\n{compiled.params}\n\n" + "\n".join(
                row[0] for row in rows.fetchall()
            )
        counts = connection.execute(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT open_count, done_count FROM todo_counts "
            "WHERE user_id = %(id)s",
            {"id": user_id},
        ).fetchall()
        plans["counts"] = "\n".join(row[0] for row in counts)
    return plans


def _table(figures: dict[int, dict[str, Any]]) -> str:
    lines = [
        "| rows of the user | " + " | ".join(CELLS) + " |",
        "| ---: |" + " ---: |" * len(CELLS),
    ]
    for size, cells in figures.items():
        values = [f"{cells[cell]['p50_ms']} / {cells[cell]['p95_ms']}" for cell in CELLS]
        lines.append(f"| {size:,} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per cell")
    args = parser.parse_args()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_dir = LOADTEST_DIR / "results" / f"scale-{stamp}"
    results_dir.mkdir(parents=True)

    cluster = PostgresCluster(durable=True).init()
    cluster.start()
    server: subprocess.Popen[bytes] | None = None
    figures: dict[int, dict[str, Any]] = {}
    seeding: dict[int, float] = {}
    try:
        database_url = cluster.create_database("todo_scale")
        subprocess.run(
            [sys.executable, "-m", "todo_api", "migrate"],
            env={**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET},
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )
        server, base_url = start_server(database_url, results_dir)
        with httpx.Client(base_url=base_url, timeout=60) as http:
            neighbour, neighbour_id = _sign_up(http, "neighbour")
            _grow(database_url, neighbour_id, 0, NEIGHBOUR_TODOS)
            headers, user_id = _sign_up(http, "grown")
            have = 0
            for size in SIZES:
                seeding[size] = round(_grow(database_url, user_id, have, size), 1)
                figures[size] = _measure(http, headers, neighbour, args.requests)
                have = size + WARMUP_REQUESTS + args.requests  # and the todos it created
                print(f"-- {size:,} rows: {json.dumps(figures[size])}", flush=True)
            plans = _plans(database_url, user_id)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        cluster.destroy()

    table = _table(figures)
    report = {
        "command": shlex.join(["npm", "run", "bench:scale"]),
        "started_utc": stamp,
        "machine": machine(),
        "database": "postgresql (local, default settings, durable), 1 server worker",
        "requests_per_cell": args.requests,
        "neighbour_todos": NEIGHBOUR_TODOS,
        "seeding_seconds": seeding,
        "figures_ms": figures,
        "plans_at_largest_size": plans,
    }
    (results_dir / "summary.json").write_text(json.dumps(report, indent=2))
    (results_dir / "table.md").write_text(table)
    (results_dir / "plans.txt").write_text(
        "\n\n".join(f"== {name}\n{plan}" for name, plan in plans.items())
    )
    print(table)
    print(f"-- figures written to {results_dir.relative_to(LOADTEST_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
