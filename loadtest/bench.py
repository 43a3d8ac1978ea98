"""Benchmark of the backend: Locust, headless, against uvicorn + PostgreSQL on 127.0.0.1.

Starts a throwaway PostgreSQL cluster and `python -m todo_api serve`, makes accounts, runs the
chosen scenario's Locust runs (each bounded in time) and, for `target`, a login flood. Keeps
the raw figures in loadtest/results/<scenario>-<UTC time>/ (git-ignored) and records the run,
under its scenario's name, in the committed summary docs/results/bench-backend.json (the
login flood in docs/results/bench-login-flood.json).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import shlex
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from results import (
    Machine,
    ResultRun,
    describe_machine,
    figure,
    markdown_table,
    record_result,
    started_now,
)
from todo_api.settings import Settings

LOADTEST_DIR = Path(__file__).resolve().parent
BACKEND_DIR = LOADTEST_DIR.parent / "apps" / "backend"
sys.path.insert(0, str(BACKEND_DIR / "tests"))

from pgcluster import PostgresCluster, free_port  # noqa: E402

JWT_SECRET = "benchmark-secret-" + "b" * 40
PASSWORD = "benchmark-pw"  # noqa: S105 (throwaway accounts of a throwaway database)
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
    postgres_cpu_ms_per_request: float = 0.0
    load_average_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    verdicts: dict[str, bool] = field(default_factory=dict)


@dataclass
class LoginFlood:
    logins: int
    hash_slots: int
    seconds: float
    statuses: dict[str, int]
    rss_idle_mib: float
    rss_before_mib: float
    rss_peak_mib: float
    server_cpu_ms_per_login: float


PEAK_MIX = "peak-mix-no-think"
HEALTH_CEILING = "ceiling-health-no-think"
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
        Run(PEAK_MIX, "TodoUser", 32, 0.0, 30),
        Run(HEALTH_CEILING, "HealthUser", 32, 0.0, 30),
    ],
    "peak": [
        Run(PEAK_MIX, "TodoUser", 32, 0.0, 30),
        Run(HEALTH_CEILING, "HealthUser", 32, 0.0, 30),
    ],
    "smoke": [Run("smoke-5-users", "TodoUser", 5, 1.0, 60, **SEED_CRITERIA)],
    "load": [Run("load-50-users", "TodoUser", 50, 1.0, 300, **SEED_CRITERIA)],
    "stress": [Run("stress-200-users", "TodoUser", 200, 1.0, 120, **SEED_CRITERIA)],
}
MIN_MIX_TO_CEILING = 0.30
# The default run also floods the login, to size a worker's memory (backend README, "Sizing").
LOGIN_FLOOD_SCENARIOS = frozenset({"target"})
FLOOD_LOGINS = 400
# Logins one after another, before the flood: what one costs the worker.
SEQUENTIAL_LOGINS = 20

SUMMARY = "bench-backend"
SUMMARY_TITLE = "Backend benchmark: the API alone on 127.0.0.1"
SUMMARY_ABOUT = (
    "`npm run bench:backend` (`bash loadtest/run.sh [target|peak|smoke|load|stress]`, see "
    "loadtest/README.md): Locust and one uvicorn worker with PostgreSQL (fsync on) on the same "
    "machine, a row per scenario. The peak mix (list, create, complete) and `/health` each run "
    "32 users without think time; the mix/health ratio is given by throughput and by the "
    "server's CPU per request (target: 30 %). Paced users think 1 s between tasks. CPU is CPU "
    "time per request, in ms; latencies in ms. A scenario run again replaces its row."
)
FLOOD_SUMMARY = "bench-login-flood"
FLOOD_TITLE = "Backend worker memory under a login flood"
FLOOD_ABOUT = (
    "Part of `npm run bench:backend`: one uvicorn worker's resident memory when it has just "
    f"started, after the benchmark's Locust runs, and at its peak while {FLOOD_LOGINS} logins "
    "with the right passwords arrive at once (sampled every 2 ms); each checked password is an "
    "argon2 hash on one of the worker's hashing slots, and a login that waits too long for a "
    "slot gets 503. Memory in MiB; the worker's CPU time per login, in ms, from "
    f"{SEQUENTIAL_LOGINS} logins one after another before the flood."
)


def typed_command(arguments: Sequence[str], subcommand: Sequence[str] = ()) -> str:
    """The command as its user typed it: an npm script (npm names it in npm_lifecycle_event;
    the script holds run.sh's `subcommand`) or run.sh itself."""
    script = os.environ.get("npm_lifecycle_event")  # noqa: SIM112 (npm spells it so)
    if script:
        return shlex.join(["npm", "run", script, *(["--", *arguments] if arguments else [])])
    return shlex.join(["bash", "loadtest/run.sh", *subcommand, *arguments])


def server_versions(database_url: str) -> dict[str, str]:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return {"python": platform.python_version(), "postgresql": str(row[0]) if row else "?"}


def start_server(
    database_url: str, results_dir: Path, src: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """One worker on 127.0.0.1, ready; `src` runs another checkout's backend sources."""
    port = free_port()
    env = {
        **os.environ,
        **({"PYTHONPATH": src} if src else {}),
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "info"),
        # Every benchmark account signs up and logs in from 127.0.0.1; the per-address limits
        # are not measured.
        "SIGNUP_ADDRESS_ATTEMPTS": "0",
        "LOGIN_ADDRESS_ATTEMPTS": "0",
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


@dataclass(frozen=True)
class Account:
    email: str
    token: str


def make_accounts(base_url: str, count: int) -> list[Account]:
    def one(index: int) -> Account:
        email = f"bench-{index}-{time.time_ns()}@example.com"
        with httpx.Client(base_url=base_url, timeout=30) as http:
            response = http.post("/auth/signup", json={"email": email, "password": PASSWORD})
            response.raise_for_status()
            token = str(response.json()["access_token"])
            headers = {"Authorization": f"Bearer {token}"}
            for n in range(TODOS_PER_ACCOUNT):
                http.post(
                    "/todos", json={"title": f"existing {n}"}, headers=headers
                ).raise_for_status()
            return Account(email, token)

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


def _cpu_seconds(process: psutil.Process) -> float:
    return float(sum(process.cpu_times()[:2]))


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
    cpu_before = _cpu_seconds(server)
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
    server_cpu = _cpu_seconds(server) - cpu_before
    waited_ms = (_scheduler_wait_ns(server_pid) - wait_before) / 1e6
    postgres_cpu = _postgres_cpu_seconds(cluster) - postgres_before

    with (prefix.parent / f"{prefix.name}_stats.csv").open() as stats_file:
        rows = list(csv.DictReader(stats_file))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    requests = int(total["Request Count"])
    failures = int(total["Failure Count"])
    # Rounded to the places the summary's table shows, so that its figures read as stored.
    figures = Figures(
        run=run,
        requests=requests,
        failures=failures,
        error_rate=round(failures / requests, 4) if requests else 1.0,
        rps=round(float(total["Requests/s"]), 1),
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
        server_cpu_percent=round(server_cpu / elapsed * 100, 1),
        # Per request counted, not per second of the run: Locust's start and stop add seconds
        # without requests.
        server_cpu_ms_per_request=round(server_cpu * 1000 / requests, 2) if requests else 0.0,
        server_runqueue_wait_ms_per_request=round(waited_ms / requests, 2) if requests else 0.0,
        postgres_cpu_percent=round(postgres_cpu / elapsed * 100, 1),
        postgres_cpu_ms_per_request=round(postgres_cpu * 1000 / requests, 2) if requests else 0.0,
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
        f"PostgreSQL CPU {figures.postgres_cpu_percent:g} % "
        f"({figures.postgres_cpu_ms_per_request:g} ms/request), "
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


def mix_to_health(figures: Sequence[Figures]) -> dict[str, Any] | None:
    by_name = {figure.run.name: figure for figure in figures}
    if PEAK_MIX not in by_name or HEALTH_CEILING not in by_name:
        return None
    mix, health = by_name[PEAK_MIX], by_name[HEALTH_CEILING]
    ratio = mix.rps / max(health.rps, 1e-9)
    # The same ratio from the server's CPU per request: less swayed by other work on the
    # machine, which can take more of the CPU during one run than during the other.
    cpu_ratio = health.server_cpu_ms_per_request / max(mix.server_cpu_ms_per_request, 1e-9)
    print(
        f"-- peak mix / health ceiling: {ratio:.1%} (target >= {MIN_MIX_TO_CEILING:.0%}); "
        f"by server CPU per request: {cpu_ratio:.1%}"
    )
    return {
        "by_throughput": round(ratio, 3),
        "by_server_cpu": round(cpu_ratio, 3),
        "target": MIN_MIX_TO_CEILING,
        "target_met": ratio >= MIN_MIX_TO_CEILING,
    }


class PeakRss:
    """A process's largest resident set size, sampled every 2 ms in a thread while open."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak: int = process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, int(self.process.memory_info().rss))
            time.sleep(0.002)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def _send_logins(base_url: str, accounts: Sequence[Account], count: int) -> Counter[int]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:

        async def login(account: Account) -> int:
            body = {"email": account.email, "password": PASSWORD}
            return (await http.post("/auth/login", json=body)).status_code

        statuses = await asyncio.gather(
            *(login(accounts[index % len(accounts)]) for index in range(count))
        )
    return Counter(statuses)


def _mib(size: int) -> float:
    return round(size / 2**20, 1)


def _server_cpu_ms_per_login(base_url: str, account: Account, server: psutil.Process) -> float:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        cpu_before = _cpu_seconds(server)
        for _ in range(SEQUENTIAL_LOGINS):
            body = {"email": account.email, "password": PASSWORD}
            http.post("/auth/login", json=body).raise_for_status()
        return (_cpu_seconds(server) - cpu_before) * 1000 / SEQUENTIAL_LOGINS


def login_flood(
    base_url: str, accounts: Sequence[Account], server_pid: int, rss_idle: int
) -> LoginFlood:
    """FLOOD_LOGINS logins at once, spread over the accounts (fewer than the per-account
    limit each); the slots hold the worker's memory, whatever the flood."""
    server = psutil.Process(server_pid)
    cpu_per_login = _server_cpu_ms_per_login(base_url, accounts[0], server)
    rss_before = int(server.memory_info().rss)
    started = time.monotonic()
    with PeakRss(server) as peak:
        statuses = asyncio.run(_send_logins(base_url, accounts, FLOOD_LOGINS))
    seconds = time.monotonic() - started
    slots = os.environ.get(
        "PASSWORD_HASH_CONCURRENCY", Settings.model_fields["password_hash_concurrency"].default
    )
    flood = LoginFlood(
        logins=FLOOD_LOGINS,
        hash_slots=int(slots),
        seconds=round(seconds, 1),
        statuses={str(status): count for status, count in sorted(statuses.items())},
        rss_idle_mib=_mib(rss_idle),
        rss_before_mib=_mib(rss_before),
        rss_peak_mib=_mib(peak.peak),
        server_cpu_ms_per_login=round(cpu_per_login, 1),
    )
    print(
        f"-- login flood: {FLOOD_LOGINS} logins in {flood.seconds:g} s, statuses "
        f"{flood.statuses}; worker RSS idle {flood.rss_idle_mib:g} MiB, before "
        f"{flood.rss_before_mib:g} MiB, peak {flood.rss_peak_mib:g} MiB; server CPU "
        f"{flood.server_cpu_ms_per_login:g} ms per login, one at a time",
        flush=True,
    )
    return flood


def _paced(locust: dict[str, Any]) -> str:
    return (
        f"{locust['users']} users: {figure(locust['p50_ms'])} / {figure(locust['p95_ms'])} / "
        f"{figure(locust['p99_ms'])} ms, {figure(locust['error_rate'] * 100, 2)} % errors"
    )


def summary_table(runs: Sequence[ResultRun]) -> str:
    """A row per scenario: its peak mix against `/health`, and its paced users."""
    rows = []
    for run in runs:
        locust = {entry["name"]: entry for entry in run["figures"]["runs"]}
        mix, health = locust.get(PEAK_MIX), locust.get(HEALTH_CEILING)
        ratio = run["figures"]["mix_to_health"]
        paced = next((entry for entry in locust.values() if entry["think_seconds"] > 0), None)
        rows.append(
            [
                f"`{run['key']}`",
                figure(run["machine"]["load_average"][0], 2),
                "-"
                if mix is None
                else f"{figure(mix['rps'])} rps, {figure(mix['server_cpu_ms_per_request'], 2)}"
                f" + {figure(mix['postgres_cpu_ms_per_request'], 2)} ms",
                "-"
                if health is None
                else f"{figure(health['rps'])} rps, "
                f"{figure(health['server_cpu_ms_per_request'], 2)} ms",
                "-" if ratio is None else f"{figure(ratio['by_throughput'] * 100)} %",
                "-" if ratio is None else f"{figure(ratio['by_server_cpu'] * 100)} %",
                "-" if paced is None else _paced(paced),
            ]
        )
    header = ["Scenario", "Load average before"]
    header += ["Peak mix: rps, CPU ms/request (server + PostgreSQL)"]
    header += ["`/health`: rps, server CPU ms/request", "Mix/health by rps"]
    header += ["By server CPU per request", "Paced users: p50 / p95 / p99, errors"]
    return markdown_table(header, rows, [False, True, True, True, True, True, False])


def flood_table(runs: Sequence[ResultRun]) -> str:
    rows = []
    for run in runs:
        flood = run["figures"]
        statuses = ", ".join(
            f"{figure(count, 0)} x `{status}`" for status, count in flood["statuses"].items()
        )
        rows.append(
            [
                f"`{run['key']}`",
                figure(flood["rss_idle_mib"]),
                figure(flood["rss_before_mib"]),
                figure(flood["rss_peak_mib"]),
                f"{figure(flood['logins'], 0)} in {figure(flood['seconds'])} s: {statuses}",
                str(flood["hash_slots"]),
                figure(flood["server_cpu_ms_per_login"]),
            ]
        )
    header = ["Scenario", "Worker RSS just started, MiB", "After the Locust runs, MiB"]
    header += ["Peak in the flood, MiB"]
    header += ["Logins at once: answers", "Hashing slots", "Server CPU ms per login"]
    return markdown_table(header, rows, [False, True, True, True, False, True, True])


def record(
    scenario: str,
    command: str,
    machine: Machine,
    started: str,
    server: dict[str, Any],
    figures: Sequence[Figures],
    ratio: dict[str, Any] | None,
    flood: LoginFlood | None,
) -> list[Path]:
    """Records the run in bench-backend (and the flood in bench-login-flood), keyed by its
    scenario: running a scenario again replaces its row."""
    run = {"key": scenario, "command": command, "date": started}
    locust_runs = [
        {**asdict(entry.run), **{k: v for k, v in asdict(entry).items() if k != "run"}}
        for entry in figures
    ]
    summary_figures = {"server": server, "runs": locust_runs, "mix_to_health": ratio}
    written = [
        record_result(
            SUMMARY,
            SUMMARY_TITLE,
            SUMMARY_ABOUT,
            {**run, "machine": machine, "figures": summary_figures},
            summary_table,
        )
    ]
    if flood is not None:
        flood_run = {**run, "machine": machine, "figures": {"server": server, **asdict(flood)}}
        written.append(
            record_result(FLOOD_SUMMARY, FLOOD_TITLE, FLOOD_ABOUT, flood_run, flood_table)
        )
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", nargs="?", default="target", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    # Before anything of the benchmark runs: the load average is other work on the machine.
    machine = describe_machine()
    started = started_now()
    runs = SCENARIOS[args.scenario]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_dir = LOADTEST_DIR / "results" / f"{args.scenario}-{stamp}"
    results_dir.mkdir(parents=True)

    cluster = PostgresCluster(durable=True).init()
    cluster.start()
    server_process: subprocess.Popen[bytes] | None = None
    flood: LoginFlood | None = None
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
        server_process, base_url = start_server(database_url, results_dir)
        rss_idle = int(psutil.Process(server_process.pid).memory_info().rss)
        server = {
            "workers": int(os.environ.get("WEB_CONCURRENCY", "1")),
            "log_level": os.environ.get("LOG_LEVEL", "info"),
            "database": "postgresql (local, durable)",
            **server_versions(database_url),
        }
        accounts = make_accounts(base_url, max(run.users for run in runs))
        tokens_file = results_dir / "tokens.txt"
        tokens_file.write_text("\n".join(account.token for account in accounts))
        figures = [
            run_locust(run, base_url, tokens_file, results_dir, server_process.pid, cluster)
            for run in runs
        ]
        tokens_file.unlink()
        if args.scenario in LOGIN_FLOOD_SCENARIOS:
            flood = login_flood(base_url, accounts, server_process.pid, rss_idle)
    finally:
        if server_process is not None:
            server_process.send_signal(2 if os.environ.get("TODO_BENCH_PROFILE") else 15)
            server_process.wait(timeout=60)
        cluster.destroy()

    ratio = mix_to_health(figures)
    command = typed_command(sys.argv[1:])
    report: dict[str, Any] = {
        "scenario": args.scenario,
        "command": command,
        "started_utc": started,
        "machine": machine,
        "server": server,
        "runs": [asdict(entry) for entry in figures],
        "mix_to_health": ratio,
        "login_flood": None if flood is None else asdict(flood),
    }
    output = results_dir / "summary.json"
    output.write_text(json.dumps(report, indent=2))
    (LOADTEST_DIR / "results" / "latest.json").write_text(json.dumps(report, indent=2))
    print(f"-- raw figures written to {output.relative_to(LOADTEST_DIR.parent)}")
    if os.environ.get("TODO_BENCH_PROFILE"):
        print("-- profiled: the summaries in docs/results/ are left as they were")
        return 0
    for path in record(args.scenario, command, machine, started, server, figures, ratio, flood):
        print(f"-- recorded in {path} and its .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
