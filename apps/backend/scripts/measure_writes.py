"""Server CPU per write request, without and with an Idempotency-Key, on PostgreSQL.

Starts a throwaway PostgreSQL cluster (durable, as the benchmark's) and one
`python -m todo_api serve` worker on 127.0.0.1, then sends each kind of write one at a time
over a kept-alive connection and reads the server process's CPU time (user + system) before
and after: the median of several rounds, in milliseconds per request. With `--baseline-src`
(the `src` folder of another checkout, e.g. of the previous commit), a second server runs that
code on its own database of the same cluster, and the two are measured in alternation, so that
other work on the machine weighs on both alike. Writes nothing to the repository. E.g.:

    mkdir /tmp/old && git archive <commit> apps/backend/src | tar -x -C /tmp/old
    flock /tmp/bench.lock python scripts/measure_writes.py \
        --baseline-src /tmp/old/apps/backend/src
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

BACKEND_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BACKEND_DIR / "tests"))

from pgcluster import PostgresCluster, free_port  # noqa: E402

SECRET = "measure-secret-" + "m" * 40


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _start_server(
    url: str, log: Path, src: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        **({"PYTHONPATH": src} if src else {}),
        "DATABASE_URL": url,
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "info",
        "SIGNUP_ADDRESS_ATTEMPTS": "0",
        "WEB_CONCURRENCY": "1",
    }
    command = [
        sys.executable,
        "-m",
        "todo_api",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)  # noqa: S603
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("server not ready")


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-src", help="src folder of the code to compare with")
    args = parser.parse_args()
    from todo_api.migrations import upgrade_to_head
    from todo_api.settings import Settings

    cluster = PostgresCluster(durable=True).init()
    cluster.start()
    processes: list[subprocess.Popen[bytes]] = []
    clients: list[httpx.Client] = []
    try:
        codes = {"this": None} | ({"baseline": args.baseline_src} if args.baseline_src else {})
        servers: dict[str, tuple[psutil.Process, dict[str, Send]]] = {}
        for name, src in codes.items():
            url = cluster.create_database(f"measure_{name}")
            upgrade_to_head(Settings(database_url=url, jwt_secret=SECRET))
            log = Path(tempfile.mkdtemp(prefix="measure-")) / "server.log"
            process, base_url = _start_server(url, log, src)
            processes.append(process)
            http = httpx.Client(base_url=base_url, timeout=30)
            clients.append(http)
            servers[name] = (psutil.Process(process.pid), _scenarios(http))
        for _, scenarios in servers.values():  # warm-up: prepared statements, caches
            for send in scenarios.values():
                for n in range(200):
                    send(n).raise_for_status()
        figures: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for scenario in next(iter(servers.values()))[1]:
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
                    figures.setdefault((scenario, name), []).append(elapsed * 1000 / args.requests)
        for (scenario, name), values in figures.items():
            rounded = ", ".join(f"{value:.3f}" for value in values)
            median = statistics.median(values)
            print(f"{name:8} {scenario:36} median {median:.3f} ms  ({rounded})")
    finally:
        for http in clients:
            http.close()
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        cluster.destroy()


if __name__ == "__main__":
    main()
