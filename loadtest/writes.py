"""Server CPU per write request, without and with an Idempotency-Key, on PostgreSQL
(`npm run bench:writes -- [--baseline REVISION]`).

Starts a throwaway PostgreSQL cluster (durable, as the backend benchmark's) and one
`python -m todo_api serve` worker on 127.0.0.1, then sends each kind of write one at a time
over a kept-alive connection and reads the server process's CPU time (user + system) before
and after: the median of several rounds, in milliseconds per request. With `--baseline`, a
second server runs the backend of that git revision (its `apps/backend/src`, taken with
`git archive`) on its own database of the same cluster, and the two are measured in
alternation, so that other work on the machine weighs on both alike. The figures go to the
committed summary docs/results/bench-writes.json (and .md), keyed by the baseline.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import psutil
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

SUMMARY = "bench-writes"
SUMMARY_TITLE = "The backend's CPU per write, with and without an idempotency key"
SUMMARY_ABOUT = (
    "`npm run bench:writes -- --baseline REVISION`: one worker on PostgreSQL (local, durable), "
    "each kind of write sent one at a time over a kept-alive connection; the server process's "
    "CPU time (user + system) per request, median of the rounds. The baseline's backend runs "
    "beside this one on the same cluster, measured in alternation. A baseline older than the "
    "idempotency keys ignores the header, so its keyed rows are plain writes."
)
# Row labels, in the table's order.
SCENARIO_LABELS = {
    "POST /todos unkeyed": "`POST /todos` without a key",
    "POST /todos keyed": "`POST /todos` with a new key",
    "POST /todos keyed replay": "`POST /todos` repeated with its key",
    "POST /todos/{id}/complete unkeyed": "`POST /todos/{id}/complete` without a key",
    "POST /todos/{id}/complete keyed": "`POST /todos/{id}/complete` with a new key",
}


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _key() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]


Send = Callable[[int], httpx.Response]


def _scenarios(http: httpx.Client) -> dict[str, Send]:
    """The writes measured, for one server: an account, its todos, and each kind of request."""
    email = f"measure-{uuid.uuid4().hex[:8]}@example.com"
    signup = http.post("/auth/signup", json={"email": email, "password": "measure-pw"})
    signup.raise_for_status()
    auth = {"Authorization": f"Bearer {signup.json()['access_token']}"}
    todo_ids = [
        http.post("/todos", json={"title": f"seed {n}"}, headers=auth).json()["id"]
        for n in range(50)
    ]
    replayed_key = _key()

    def create(keyed: bool) -> Send:
        def send(n: int) -> httpx.Response:
            headers = {**auth, "Idempotency-Key": _key()} if keyed else auth
            return http.post("/todos", json={"title": f"todo {n}"}, headers=headers)

        return send

    def complete(keyed: bool) -> Send:
        def send(n: int) -> httpx.Response:
            headers = {**auth, "Idempotency-Key": _key()} if keyed else auth
            action = "complete" if n % 2 == 0 else "uncomplete"
            return http.post(f"/todos/{todo_ids[n % len(todo_ids)]}/{action}", headers=headers)

        return send

    def replay(n: int) -> httpx.Response:
        headers = {**auth, "Idempotency-Key": replayed_key}
        return http.post("/todos", json={"title": "replayed"}, headers=headers)

    return {
        "POST /todos unkeyed": create(False),
        "POST /todos keyed": create(True),
        "POST /todos keyed replay": replay,
        "POST /todos/{id}/complete unkeyed": complete(False),
        "POST /todos/{id}/complete keyed": complete(True),
    }


def _baseline_src(revision: str, into: Path) -> str:
    """The backend sources of `revision`, unpacked into `into`; returns their `src` folder."""
    archive = subprocess.run(  # noqa: S603 (argument list, no shell)
        ["git", "archive", revision, "apps/backend/src"],  # noqa: S607
        cwd=LOADTEST_DIR.parent,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return str(into / "apps" / "backend" / "src")


def summary_table(runs: Sequence[ResultRun]) -> str:
    """One row per kind of write and run: this code's CPU per request beside the baseline's."""
    rows = []
    for run in runs:
        figures = run["figures"]
        for index, (scenario, label) in enumerate(SCENARIO_LABELS.items()):
            cells = figures["cpu_ms_per_request"][scenario]
            rows.append(
                [
                    f"`{run['key']}`" if index == 0 else "",
                    label,
                    "-" if cells.get("baseline") is None else figure(cells["baseline"], 3),
                    figure(cells["this"], 3),
                ]
            )
    header = ["Run (`npm run bench:writes --` ...)", "Request", "Baseline ms", "This code ms"]
    return markdown_table(header, rows, [False, False, True, True])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1500, help="timed requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", help="git revision whose backend runs beside this one")
    args = parser.parse_args()
    from todo_api.migrations import upgrade_to_head
    from todo_api.settings import Settings

    # Before anything of the benchmark runs: the load average is other work on the machine.
    machine = describe_machine()
    started = started_now()
    baseline_dir = Path(tempfile.mkdtemp(prefix="bench-writes-"))
    cluster = PostgresCluster(durable=True).init()
    cluster.start()
    processes: list[subprocess.Popen[bytes]] = []
    clients: list[httpx.Client] = []
    try:
        codes: dict[str, str | None] = {"this": None}
        if args.baseline:
            codes["baseline"] = _baseline_src(args.baseline, baseline_dir)
        servers: dict[str, tuple[psutil.Process, dict[str, Send]]] = {}
        versions: dict[str, str] = {}
        for name, src in codes.items():
            url = cluster.create_database(f"measure_{name}")
            versions = server_versions(url)
            upgrade_to_head(Settings(database_url=url, jwt_secret=JWT_SECRET))
            process, base_url = start_server(url, Path(tempfile.mkdtemp(prefix="measure-")), src)
            processes.append(process)
            http = httpx.Client(base_url=base_url, timeout=30)
            clients.append(http)
            servers[name] = (psutil.Process(process.pid), _scenarios(http))
        for _, scenarios in servers.values():  # warm-up: prepared statements, caches
            for send in scenarios.values():
                for n in range(200):
                    send(n).raise_for_status()
        rounds: dict[str, dict[str, list[float]]] = {}
        for _ in range(args.rounds):
            for scenario in SCENARIO_LABELS:
                for name, (server, scenarios) in servers.items():
                    send = scenarios[scenario]
                    before = _cpu_seconds(server)
                    for n in range(args.requests):
                        response = send(n)
                        if response.status_code >= 300:
                            raise RuntimeError(
                                f"{scenario}: {response.status_code} {response.text}"
                            )
                    elapsed = _cpu_seconds(server) - before
                    per_request = elapsed * 1000 / args.requests
                    rounds.setdefault(scenario, {}).setdefault(name, []).append(per_request)
    finally:
        for http in clients:
            http.close()
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        cluster.destroy()
    figures: dict[str, Any] = {
        "server": {"workers": 1, "database": "postgresql (local, default settings, durable)"}
        | versions,
        "baseline": args.baseline,
        "requests_per_round": args.requests,
        "rounds": args.rounds,
        "cpu_ms_per_request": {
            scenario: {name: round(statistics.median(values), 3) for name, values in by.items()}
            for scenario, by in rounds.items()
        },
        "rounds_ms": {
            scenario: {name: [round(value, 3) for value in values] for name, values in by.items()}
            for scenario, by in rounds.items()
        },
    }
    key = f"--baseline {args.baseline}" if args.baseline else "no baseline"
    run = {
        "key": key,
        "command": typed_command(sys.argv[1:], subcommand=["writes"]),
        "date": started,
        "machine": machine,
        "figures": figures,
    }
    path = record_result(SUMMARY, SUMMARY_TITLE, SUMMARY_ABOUT, run, summary_table)
    print(json.loads(path.read_text())["table"])
    print(f"-- recorded in {path} and its .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
