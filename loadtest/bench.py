"""Benchmark of the backend: Locust, headless, against uvicorn + PostgreSQL on 127.0.0.1.

Starts a throwaway PostgreSQL cluster and `python -m todo_api serve`, makes accounts, runs the
chosen scenario's Locust runs (each bounded in time), and writes the figures to
loadtest/results/<scenario>-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

LOADTEST_DIR = Path(__file__).resolve().parent
BACKEND_DIR = LOADTEST_DIR.parent / "apps" / "backend"
sys.path.insert(0, str(BACKEND_DIR / "tests"))

from pgcluster import PostgresCluster, free_port  # noqa: E402

JWT_SECRET = "benchmark-secret-" + "b" * 40
TODOS_PER_ACCOUNT = 20


@dataclass(frozen=True)
class Run:
    name: str
    user_class: str
    users: int
    think_seconds: float
    seconds: int
    max_p95_ms: float | None = None
    max_error_rate: float | None = None


@dataclass
class Figures:
    run: Run
    requests: int
    failures: int
    error_rate: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    per_endpoint: dict[str, dict[str, float]] = field(default_factory=dict)
    server_cpu_percent: float = 0.0
    server_cpu_ms_per_request: float = 0.0
    server_runqueue_wait_ms_per_request: float = 0.0
    postgres_cpu_percent: float = 0.0
    load_average_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    verdicts: dict[str, bool] = field(default_factory=dict)


SEED_CRITERIA = {"max_p95_ms": 1000.0, "max_error_rate": 0.05}
SCENARIOS: dict[str, list[Run]] = {
    "target": [
        Run(
            "load-50-users-1s-think",
            "TodoUser",
            50,
            1.0,
            60,
            max_p95_ms=50.0,
            max_error_rate=0.0,
        ),
        Run("peak-mix-no-think", "TodoUser", 32, 0.0, 30),
        Run("ceiling-health-no-think", "HealthUser", 32, 0.0, 30),
    ],
    "peak": [
        Run("peak-mix-no-think", "TodoUser", 32, 0.0, 30),
        Run("ceiling-health-no-think", "HealthUser", 32, 0.0, 30),
    ],
    "smoke": [Run("smoke-5-users", "TodoUser", 5, 1.0, 60, **SEED_CRITERIA)],
    "load": [Run("load-50-users", "TodoUser", 50, 1.0, 300, **SEED_CRITERIA)],
    "stress": [Run("stress-200-users", "TodoUser", 200, 1.0, 120, **SEED_CRITERIA)],
}
MIN_MIX_TO_CEILING = 0.30


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def start_server(database_url: str, results_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "info"),
        # Every benchmark account signs up from 127.0.0.1; the per-address limit is not measured.
        "SIGNUP_ADDRESS_ATTEMPTS": "0",
    }
    serve = ["-m", "todo_api", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command = [sys.executable, *serve]
    if os.environ.get("TODO_BENCH_PROFILE"):
        # pyinstrument wraps the single-worker server; render the session with
        # `python -m pyinstrument --load profile.pyisession -r text`.
        profile = str(results_dir / "profile.pyisession")
        command = [sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", profile, *serve]
    log = (results_dir / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 (fixed argv)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited at start; see server.log")
        try:
            if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("server not ready within 60 s")


def make_accounts(base_url: str, count: int) -> list[str]:
    def one(index: int) -> str:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            response = http.post(
                "/auth/signup",
                json={
                    "email": f"bench-{index}-{time.time_ns()}@example.com",
                    "password": "benchmark-pw",
                },
            )
            response.raise_for_status()
            token = str(response.json()["access_token"])
            headers = {"Authorization": f"Bearer {token}"}
            for n in range(TODOS_PER_ACCOUNT):
                http.post(
                    "/todos", json={"title": f"existing {n}"}, headers=headers
                ).raise_for_status()
            return token

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


def _scheduler_wait_ns(pid: int) -> int:
    """Time the server's event-loop thread spent runnable but waiting for a CPU."""
    fields = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(fields[1])


def _postgres_cpu_seconds(cluster: PostgresCluster) -> float:
    """CPU time of the cluster: postmaster, live backends, and backends that have exited."""
    postmaster_pid = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
    postmaster = psutil.Process(postmaster_pid)
    user, system, exited_user, exited_system = postmaster.cpu_times()[:4]
    total = float(user + system + exited_user + exited_system)
    for backend in postmaster.children(recursive=True):
        try:
            total += sum(backend.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue  # exited meanwhile: now counted in the postmaster's children times
    return total


def _ms(row: dict[str, str], column: str) -> float:
    value = row.get(column, "N/A")
    return float(value) if value not in ("", "N/A") else 0.0


def run_locust(
    run: Run,
    base_url: str,
    tokens_file: Path,
    results_dir: Path,
    server_pid: int,
    cluster: PostgresCluster,
) -> Figures:
    prefix = results_dir / run.name
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOADTEST_DIR / "locustfile.py"),
        run.user_class,
        "--headless",
        "--users",
        str(run.users),
        "--spawn-rate",
        str(run.users),
        "--run-time",
        f"{run.seconds}s",
        "--stop-timeout",
        "5",
        "--host",
        base_url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {
        **os.environ,
        "TODO_BENCH_TOKENS": str(tokens_file),
        "TODO_BENCH_THINK_SECONDS": str(run.think_seconds),
    }
    load_before = os.getloadavg()
    server = psutil.Process(server_pid)
    cpu_before = sum(server.cpu_times()[:2])
    wait_before = _scheduler_wait_ns(server_pid)
    postgres_before = _postgres_cpu_seconds(cluster)
    started = time.monotonic()
    print(
        f"-- {run.name}: {run.users} users, think {run.think_seconds:g}s, {run.seconds}s",
        flush=True,
    )
    # Locust exits 1 when any request failed; the figures below say how many.
    subprocess.run(  # noqa: S603 (fixed argv)
        command,
        env=env,
        check=False,
        timeout=run.seconds + 120,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    server_cpu = (sum(server.cpu_times()[:2]) - cpu_before) / elapsed * 100
    waited_ms = (_scheduler_wait_ns(server_pid) - wait_before) / 1e6
    postgres_cpu = (_postgres_cpu_seconds(cluster) - postgres_before) / elapsed * 100

    with (prefix.parent / f"{prefix.name}_stats.csv").open() as stats_file:
        rows = list(csv.DictReader(stats_file))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    figures_rps = float(total["Requests/s"])
    requests = int(total["Request Count"])
    failures = int(total["Failure Count"])
    figures = Figures(
        run=run,
        requests=requests,
        failures=failures,
        error_rate=failures / requests if requests else 1.0,
        rps=figures_rps,
        p50_ms=_ms(total, "50%"),
        p95_ms=_ms(total, "95%"),
        p99_ms=_ms(total, "99%"),
        per_endpoint={
            row["Name"]: {
                "requests": int(row["Request Count"]),
                "p50_ms": _ms(row, "50%"),
                "p95_ms": _ms(row, "95%"),
                "p99_ms": _ms(row, "99%"),
            }
            for row in rows
            if row["Name"] != "Aggregated"
        },
        server_cpu_percent=round(server_cpu, 1),
        server_cpu_ms_per_request=round(server_cpu * 10 / figures_rps, 3) if figures_rps else 0.0,
        server_runqueue_wait_ms_per_request=round(waited_ms / requests, 2) if requests else 0.0,
        postgres_cpu_percent=round(postgres_cpu, 1),
        load_average_before=(
            round(load_before[0], 2),
            round(load_before[1], 2),
            round(load_before[2], 2),
        ),
    )
    if run.max_p95_ms is not None:
        figures.verdicts[f"p95 <= {run.max_p95_ms:g} ms"] = figures.p95_ms <= run.max_p95_ms
    if run.max_error_rate is not None:
        figures.verdicts[f"error rate <= {run.max_error_rate:.0%}"] = (
            figures.error_rate <= run.max_error_rate
        )
    print(
        f"   {requests} requests, {figures.rps:.1f} rps, p50 {figures.p50_ms:g} ms, "
        f"p95 {figures.p95_ms:g} ms, p99 {figures.p99_ms:g} ms, errors {figures.error_rate:.2%}, "
        f"server CPU {figures.server_cpu_percent:g} % "
        f"({figures.server_cpu_ms_per_request:g} ms/request), run-queue wait "
        f"{figures.server_runqueue_wait_ms_per_request:g} ms/request, "
        f"PostgreSQL CPU {figures.postgres_cpu_percent:g} %, "
        f"load before {figures.load_average_before[0]}",
        flush=True,
    )
    for name, endpoint in figures.per_endpoint.items():
        print(
            f"   {name}: {endpoint['requests']:g} requests, p50 {endpoint['p50_ms']:g} ms, "
            f"p95 {endpoint['p95_ms']:g} ms",
            flush=True,
        )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", nargs="?", default="target", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    runs = SCENARIOS[args.scenario]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_dir = LOADTEST_DIR / "results" / f"{args.scenario}-{stamp}"
    results_dir.mkdir(parents=True)

    cluster = PostgresCluster(durable=True).init()
    cluster.start()
    server: subprocess.Popen[bytes] | None = None
    try:
        database_url = cluster.create_database("todo_bench")
        migrate_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "JWT_SECRET": JWT_SECRET,
        }
        subprocess.run(
            [sys.executable, "-m", "todo_api", "migrate"],
            env=migrate_env,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )
        server, base_url = start_server(database_url, results_dir)
        tokens_file = results_dir / "tokens.txt"
        tokens_file.write_text("\n".join(make_accounts(base_url, max(run.users for run in runs))))
        figures = [
            run_locust(run, base_url, tokens_file, results_dir, server.pid, cluster) for run in runs
        ]
    finally:
        if server is not None:
            server.send_signal(2 if os.environ.get("TODO_BENCH_PROFILE") else 15)
            server.wait(timeout=60)
        cluster.destroy()

    report: dict[str, Any] = {
        "scenario": args.scenario,
        "command": shlex.join(["bash", "loadtest/run.sh", args.scenario]),
        "started_utc": stamp,
        "machine": machine(),
        "server": {
            "workers": int(os.environ.get("WEB_CONCURRENCY", "1")),
            "log_level": os.environ.get("LOG_LEVEL", "info"),
            "database": "postgresql (local, durable)",
        },
        "runs": [asdict(figure) for figure in figures],
    }
    by_name = {figure.run.name: figure for figure in figures}
    if "peak-mix-no-think" in by_name and "ceiling-health-no-think" in by_name:
        mix, health = by_name["peak-mix-no-think"], by_name["ceiling-health-no-think"]
        ratio = mix.rps / max(health.rps, 1e-9)
        # The same ratio from the server's CPU per request: less swayed by other work on the
        # machine, which can take more of the CPU during one run than during the other.
        cpu_ratio = health.server_cpu_ms_per_request / max(mix.server_cpu_ms_per_request, 1e-9)
        report["mix_to_ceiling"] = {
            "ratio": round(ratio, 3),
            f"ratio >= {MIN_MIX_TO_CEILING:.0%}": ratio >= MIN_MIX_TO_CEILING,
            "server_cpu_per_request_ratio": round(cpu_ratio, 3),
        }
        print(
            f"-- peak mix / health ceiling: {ratio:.1%} (target >= {MIN_MIX_TO_CEILING:.0%}); "
            f"by server CPU per request: {cpu_ratio:.1%}"
        )
    (tokens_file).unlink()
    output = results_dir / "summary.json"
    output.write_text(json.dumps(report, indent=2))
    (LOADTEST_DIR / "results" / "latest.json").write_text(json.dumps(report, indent=2))
    print(f"-- figures written to {output.relative_to(LOADTEST_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
