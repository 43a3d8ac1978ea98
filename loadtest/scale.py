"""Scaling benchmark: list and write latency as one user's todos grow from 100 to 1,000,000.

Starts a throwaway PostgreSQL cluster (default, durable settings) and one
`python -m todo_api serve` worker on 127.0.0.1. A neighbour gets 10,000 todos; then one user
is grown to each size in turn (a third of the todos done), and at each size every cell is
timed over sequential requests, the neighbour's first page among them. Keeps the raw figures
in loadtest/results/scale-<UTC time>/ (summary.json, and plans.txt: the plans of the list
statements at the largest size) and records the run in the committed summary
docs/results/bench-scale.json, replacing the one before.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import psycopg
from bench import JWT_SECRET, LOADTEST_DIR, server_versions, start_server, typed_command

from pgcluster import PostgresCluster
from results import (
    ResultRun,
    describe_machine,
    figure,
    markdown_table,
    record_result,
    started_now,
)
from todo_api.paging import OLDEST_PAGE, Cursor
from todo_api.pgstore import listing_sql
from todo_api.schemas import StatusFilter
from todo_api.store import page_params

SIZES = (100, 10_000, 100_000, 1_000_000)
NEIGHBOUR_TODOS = 10_000
PAGE_SIZE = 20
# The largest offset the API takes: the deepest page an older client can ask for.
OFFSET = 1000
WARMUP_REQUESTS = 20
CELLS = (
    "first page, all",
    "first page, done",
    "last page",
    f"offset {OFFSET} (the cap)",
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
        f"offset {OFFSET} (the cap)": f"/todos?limit={PAGE_SIZE}&offset={OFFSET}",
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


# The list cells' statements as the server sends them: (status, cursor, offset).
LISTINGS: dict[str, tuple[StatusFilter, Cursor | None, int]] = {
    "first page, all": ("all", None, 0),
    "first page, done": ("done", None, 0),
    "last page": ("all", OLDEST_PAGE, 0),
    f"offset {OFFSET} (the cap)": ("all", None, OFFSET),
}
_SCAN = re.compile(r"((?:Index Only|Index|Seq|Bitmap Heap) Scan[^(]*?)\s+\(")


def _plans(database_url: str, user_id: int) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each list statement (pgstore's, with the user, the counts
    and the page in one), with the parameters the server gives it."""
    plans = {}
    with psycopg.connect(database_url, autocommit=True) as connection:
        for name, (status, cursor, offset) in LISTINGS.items():
            statement = listing_sql(
                "first" if cursor is None else cursor.direction, status != "all"
            )
            params = page_params(user_id, status, PAGE_SIZE, cursor, offset)
            rows = connection.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params)
            plans[name] = f"{statement}\n{params}\n\n" + "\n".join(
                str(row[0]) for row in rows.fetchall()
            )
    return plans


def plan_figures(plan: str) -> dict[str, Any]:
    """What a plan says of a statement's cost: the scans it runs, the pages (buffers) of
    PostgreSQL's cache it reads, and its time in the database."""
    # The first Buffers line is the top node's: the whole statement's.
    buffers = re.search(r"Buffers: shared hit=(\d+)(?: read=(\d+))?", plan)
    execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
    if buffers is None or execution is None:
        raise ValueError(f"a plan without its buffers or execution time:\n{plan}")
    return {
        "scans": [scan.strip() for scan in _SCAN.findall(plan)],
        "buffers_hit": int(buffers.group(1)),
        "buffers_read": int(buffers.group(2) or 0),
        "execution_ms": float(execution.group(1)),
    }


def summary_table(runs: Sequence[ResultRun]) -> str:
    """p50 / p95 (ms) of every cell by rows of the user, and the time to grow the user to them:
    the summary holds one run, each run replacing the last."""
    (run,) = runs
    cells, seeding = run["figures"]["cells_ms"], run["figures"]["seeding_seconds"]
    rows = [
        [
            figure(int(size), 0),
            *(f"{by_cell[cell]['p50_ms']:.2f} / {by_cell[cell]['p95_ms']:.2f}" for cell in CELLS),
            figure(seeding[size], 2),
        ]
        for size, by_cell in cells.items()
    ]
    header = ["rows of the user", *CELLS, "grown in s"]
    return markdown_table(header, rows, [True] * len(header))


SUMMARY_TITLE = "List cost as a user's todos grow"
SUMMARY_ABOUT = (
    "`npm run bench:scale` (`loadtest/scale.py`, see loadtest/README.md): one server worker and "
    "PostgreSQL (default, durable settings) on 127.0.0.1; a neighbour holds "
    f"{NEIGHBOUR_TODOS:,} todos, then one user grows to each size (a third done) and every cell "
    "is timed over sequential requests after unmeasured ones. p50 / p95 in ms; `grown in s`: "
    "the bulk insert up to that size and its VACUUM ANALYZE. The plans are of the list "
    "statements at the largest size."
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per cell")
    args = parser.parse_args()
    # Before anything of the benchmark runs: the load average is other work on the machine.
    machine = describe_machine()
    started = started_now()
    began = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_dir = LOADTEST_DIR / "results" / f"scale-{stamp}"
    results_dir.mkdir(parents=True)

    cluster = PostgresCluster(durable=True).init()
    cluster.start()
    server: subprocess.Popen[bytes] | None = None
    # Keyed by the size as text, as JSON keys are: the table reads them so from either.
    cells: dict[str, dict[str, Any]] = {}
    seeding: dict[str, float] = {}
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
        versions = server_versions(database_url)
        with httpx.Client(base_url=base_url, timeout=60) as http:
            neighbour, neighbour_id = _sign_up(http, "neighbour")
            _grow(database_url, neighbour_id, 0, NEIGHBOUR_TODOS)
            headers, user_id = _sign_up(http, "grown")
            have = 0
            for size in SIZES:
                seeding[str(size)] = round(_grow(database_url, user_id, have, size), 2)
                cells[str(size)] = _measure(http, headers, neighbour, args.requests)
                have = size + WARMUP_REQUESTS + args.requests  # and the todos it created
                print(f"-- {size:,} rows: {json.dumps(cells[str(size)])}", flush=True)
            plans = _plans(database_url, user_id)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        cluster.destroy()

    figures = {
        "server": {"workers": 1, "database": "postgresql (local, default settings, durable)"}
        | versions,
        "sizes": list(SIZES),
        "page_size": PAGE_SIZE,
        "offset": OFFSET,
        "neighbour_todos": NEIGHBOUR_TODOS,
        "warmup_requests": WARMUP_REQUESTS,
        "requests_per_cell": args.requests,
        "seconds": round(time.monotonic() - began, 1),
        "seeding_seconds": seeding,
        "cells_ms": cells,
        "plans_at_largest_size": {name: plan_figures(plan) for name, plan in plans.items()},
    }
    command = typed_command(sys.argv[1:], subcommand=["scale"])
    run = {"key": "scale", "command": command, "date": started, "machine": machine}
    (results_dir / "summary.json").write_text(
        json.dumps({**run, "figures": figures, "plans": plans}, indent=2)
    )
    (results_dir / "plans.txt").write_text(
        "\n\n".join(f"== {name}\n{plan}" for name, plan in plans.items())
    )
    path = record_result(
        "bench-scale", SUMMARY_TITLE, SUMMARY_ABOUT, {**run, "figures": figures}, summary_table
    )
    print(json.loads(path.read_text())["table"])
    print(f"-- raw figures in {results_dir.relative_to(LOADTEST_DIR.parent)}")
    print(f"-- recorded in {path} and its .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
