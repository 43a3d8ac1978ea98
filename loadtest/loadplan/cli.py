"""`npm run loadtest -- --stack dev --profile smoke|load|stress [--fault KIND]...`

Finds the deployed app from the stack's outputs, makes sure its accounts exist, runs Locust
(users.py) with the profile's steps while a sampler watches the cluster and faults are
injected one at a time, reads every acknowledged write back, and writes
loadtest/reports/<stack>-<profile>-<UTC time>/ (summary.json, report.html, locust.html).
Exit status: 0 when every gate passed, 1 when one failed, 2 when the run could not start.
The report folder's path is the last line printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from loadplan import journal
from loadplan.accounts import Account, ensure_accounts, pool_file
from loadplan.analysis import (
    Figures,
    RequestEvent,
    WindowFigures,
    breaking_point,
    figures_of,
    gates_of,
    read_events,
    step_figures,
    timeline,
    window_figures,
)
from loadplan.api import Api, ApiError
from loadplan.faults import FAULT_KINDS, FaultKind, Faults, Injection
from loadplan.kube import CommandError, Kubectl, PortForward, Pulumi
from loadplan.profiles import PROFILE_NAMES, Profile, build_profile
from loadplan.report import FaultSpan, write_page
from loadplan.sampler import Sample, Sampler, cpu_millicores, scale_outs
from loadplan.target import (
    OutputsError,
    StackOutputs,
    cluster_hosts,
    frontend_candidates,
    refusal,
)

LOADTEST_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = LOADTEST_DIR.parent
FRONTEND_PORT = 3000
BACKEND_PORT = 8000
# Faults: the first after the load has settled, each after the one before is whole again.
FIRST_FAULT_FRACTION = 0.2
FIRST_FAULT_MIN_SECONDS = 15.0
SETTLE_SECONDS = 15.0
READY_WITHIN_SECONDS = 300.0
# Locust's own stop, and its start, on top of the profile's duration.
LOCUST_GRACE_SECONDS = 120.0


class SetupError(RuntimeError):
    """The run cannot start; the message says why and what to do."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="npm run loadtest --",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", required=True, choices=PROFILE_NAMES)
    parser.add_argument(
        "--stack", help="the Pulumi stack whose deployed app is loaded (reads its outputs)"
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=REPO_DIR,
        help="where the stack's Pulumi.yaml is (default: this checkout)",
    )
    parser.add_argument(
        "--context", help="kube context of the stack's cluster (default: kubectl's current)"
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: kubectl's)")
    parser.add_argument(
        "--url", help="the frontend's base URL: loopback, or an address the stack's outputs give"
    )
    parser.add_argument(
        "--api-url",
        help="the backend API's base URL on loopback (needed with --url alone; "
        "default with --stack: a port-forward)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=FAULT_KINDS,
        help="inject during the load (repeat for more, one at a time)",
    )
    parser.add_argument(
        "--duration", type=float, help="seconds: shortens the profile (stress: the whole ramp)"
    )
    parser.add_argument(
        "--users", type=int, help="users: changes the profile's (stress: the top of the ramp)"
    )
    parser.add_argument(
        "--out", type=Path, default=LOADTEST_DIR / "reports", help="where report folders go"
    )
    args = parser.parse_args(argv)
    if args.stack is None and args.url is None:
        parser.error("give --stack (the deployed stack) or --url (an app on loopback)")
    if args.stack is None and args.fault:
        parser.error("faults act on the cluster: give --stack")
    if args.stack is None and args.api_url is None:
        parser.error(
            "with --url alone, give --api-url too: the writes are read back through the API"
        )
    return args


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except socket.gaierror:
        return []


def _local_addresses() -> set[str]:
    return {
        address.address for addresses in psutil.net_if_addrs().values() for address in addresses
    }


@dataclass
class Cluster:
    """The stack's cluster, when there is one (--stack)."""

    kubectl: Kubectl
    pulumi: Pulumi
    namespace: str
    node_cpu_capacity: dict[str, float]
    node_is_this_machine: bool


@dataclass
class Target:
    frontend_url: str
    api_url: str
    how: str
    cluster: Cluster | None = None
    forwards: list[PortForward] = field(default_factory=list)


def find_target(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> Target:
    if args.api_url is not None and (reason := refusal(args.api_url, ())) is not None:
        raise SetupError(f"--api-url refused: {reason}")
    if args.stack is None:
        if (reason := refusal(args.url, ())) is not None:
            raise SetupError(f"--url refused: {reason}")
        return Target(args.url.rstrip("/"), args.api_url.rstrip("/"), "given (--url)")
    pulumi = Pulumi(args.stack, args.project_dir.resolve())
    kubectl = Kubectl(args.context, args.kubeconfig)
    try:
        outputs = StackOutputs.parse(pulumi.outputs_json())
        nodes = kubectl.json("get", "nodes")["items"]
    except (CommandError, OutputsError) as error:
        raise SetupError(str(error)) from None
    node_addresses = {
        address["address"]
        for node in nodes
        for address in node.get("status", {}).get("addresses", [])
        if address["type"] == "InternalIP"
    }
    cluster = Cluster(
        kubectl,
        pulumi,
        outputs.namespace,
        {
            node["metadata"]["name"]: cpu_millicores(node["status"]["allocatable"]["cpu"])
            for node in nodes
        },
        bool(node_addresses & _local_addresses()),
    )
    target = Target("", "", "", cluster)
    allowed = cluster_hosts(outputs, node_addresses, _resolve)
    if args.url is not None:
        if (reason := refusal(args.url, allowed)) is not None:
            raise SetupError(f"--url refused: {reason}")
        target.frontend_url, target.how = args.url.rstrip("/"), "given (--url)"
    else:
        for candidate in frontend_candidates(outputs, allowed):
            if _answers(f"{candidate}/api/health"):
                target.frontend_url = candidate
                target.how = "ingress" if outputs.ingress_host else "NodePort"
                break
        else:
            forward = cleanup.enter_context(
                _forward(kubectl, outputs.namespace, "frontend", FRONTEND_PORT, "/api/health")
            )
            target.forwards.append(forward)
            target.frontend_url, target.how = forward.url, "kubectl port-forward service/frontend"
    if args.api_url is not None:
        target.api_url = args.api_url.rstrip("/")
    else:
        forward = cleanup.enter_context(
            _forward(kubectl, outputs.namespace, "backend", BACKEND_PORT, "/health")
        )
        target.forwards.append(forward)
        target.api_url = forward.url
    return target


@contextlib.contextmanager
def _forward(kubectl: Kubectl, namespace: str, service: str, port: int, health: str) -> Any:
    try:
        forward = PortForward(kubectl, namespace, service, port, health).open()
    except CommandError as error:
        raise SetupError(str(error)) from None
    try:
        yield forward
    finally:
        forward.close()


@dataclass(frozen=True)
class ReadBack:
    at: float
    checked: int
    lost: list[journal.Lost]


def read_back(api: Api, accounts: Sequence[Account], journal_file: Path) -> ReadBack:
    """Every acknowledged write, read back through the API (see journal.py for the races)."""
    before = journal.parse(journal_file.read_text().splitlines(keepends=True))
    observed: dict[str, Sequence[journal.Observed]] = {}
    for account in accounts:
        token = api.log_in(account.email, account.password)
        if token is None:
            raise ApiError(f"{account.email} no longer logs in")
        observed[account.email] = api.all_todos(token)
    after = journal.parse(journal_file.read_text().splitlines(keepends=True))
    expected = journal.expected_todos(before, after)
    return ReadBack(time.time(), len(expected), journal.find_lost(expected, observed))


class LoadClock:
    """When the load started (Locust's test_start), and whether it has ended."""

    def __init__(self, launched_at: float) -> None:
        self.at = launched_at
        self.started = threading.Event()
        self.ended = threading.Event()

    def start(self, at: float) -> None:
        self.at = at
        self.started.set()

    def end(self) -> None:
        self.ended.set()
        self.started.set()


@dataclass
class FaultRun:
    injection: Injection | None = None
    skipped: str | None = None
    read_back: ReadBack | None = None
    read_back_problem: str | None = None


class FaultSchedule(threading.Thread):
    """Injects the faults one after another while the load runs."""

    def __init__(
        self,
        kinds: Sequence[FaultKind],
        faults: Faults,
        profile: Profile,
        clock: LoadClock,
        api: Api,
        accounts: Sequence[Account],
        journal_file: Path,
    ) -> None:
        super().__init__(name="faults", daemon=True)
        self.kinds, self.faults, self.profile = list(kinds), faults, profile
        self.clock = clock
        self.api, self.accounts, self.journal_file = api, accounts, journal_file
        self.runs: list[FaultRun] = []

    def run(self) -> None:
        self.clock.started.wait()
        begin = self.clock.at
        duration = self.profile.duration
        next_at = begin + min(
            max(FIRST_FAULT_MIN_SECONDS, duration * FIRST_FAULT_FRACTION), duration / 2
        )
        for kind in self.kinds:
            record = FaultRun()
            self.runs.append(record)
            # Waits for its turn; a load that ended first (or never started) takes no fault.
            late = next_at > begin + duration - SETTLE_SECONDS
            if late or self.clock.ended.wait(max(0.0, next_at - time.time())):
                record.skipped = "the load ended before its turn: lengthen --duration"
                continue
            try:
                record.injection = self.faults.inject(kind)
            except CommandError as error:
                record.skipped = f"could not inject: {error}"
                continue
            self.faults.wait_ready(record.injection, READY_WITHIN_SECONDS)
            try:
                record.read_back = read_back(self.api, self.accounts, self.journal_file)
            except ApiError as error:
                record.read_back_problem = str(error)
            next_at = time.time() + SETTLE_SECONDS


def _locust(
    target: Target,
    profile: Profile,
    report_dir: Path,
    accounts_file: Path,
    started_file: Path,
    run_id: str,
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(LOADTEST_DIR), os.environ.get("PYTHONPATH")])
        ),
        "LOADPLAN_RUN_ID": run_id,
        "LOADPLAN_API_URL": target.api_url,
        "LOADPLAN_ACCOUNTS": str(accounts_file),
        "LOADPLAN_JOURNAL": str(report_dir / "journal.jsonl"),
        "LOADPLAN_EVENTS": str(report_dir / "requests.csv"),
        "LOADPLAN_STARTED": str(started_file),
        "LOADPLAN_STEPS": json.dumps(
            [[step.start, step.end, step.users] for step in profile.steps]
        ),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOADTEST_DIR / "loadplan" / "users.py"),
        "--headless",
        "--host",
        target.frontend_url,
        "--html",
        str(report_dir / "locust.html"),
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
        "--only-summary",
    ]
    with (report_dir / "locust.log").open("wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 (argument list)


def _figures(figures: Figures) -> dict[str, Any]:
    return {
        key: round(value, 4) if isinstance(value, float) else value
        for key, value in asdict(figures).items()
    }


def _lost_rows(lost: Sequence[journal.Lost]) -> list[dict[str, Any]]:
    return [
        {
            "account": item.expected.account,
            "id": item.expected.todo_id,
            "title": item.expected.title,
            "via": item.expected.channel,
            "reason": item.reason,
        }
        for item in lost[:50]
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        profile = build_profile(args.profile, duration=args.duration, users=args.users)
    except ValueError as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = (args.out / f"{args.stack or 'url'}-{profile.name}-{stamp}").resolve()
    with contextlib.ExitStack() as cleanup:
        try:
            target = find_target(args, cleanup)
            api = Api(target.api_url)
            cleanup.callback(api.close)
            faults = None
            if (cluster := target.cluster) is not None:
                faults = Faults(
                    cluster.kubectl, cluster.namespace, cluster.pulumi, report_dir / "pulumi.log"
                )
                for kind in args.fault:
                    if (reason := faults.refusal(kind)) is not None:
                        raise SetupError(f"--fault {kind}: {reason}")
            key = f"{args.stack}-{cluster.namespace}" if cluster else target.frontend_url
            accounts = ensure_accounts(api, pool_file(key), profile.peak_users)
        except (SetupError, ApiError, CommandError) as error:
            print(f"loadtest: {error}", file=sys.stderr)
            return 2
        report_dir.mkdir(parents=True)
        print(
            f"loadtest: {profile.name}, up to {profile.peak_users} users for "
            f"{profile.duration:g} s against {target.frontend_url} ({target.how}), "
            f"API {target.api_url}",
            flush=True,
        )
        return run(args, profile, target, faults, api, accounts, report_dir, stamp)
    return 2  # for the type checker: an ExitStack may swallow an exception


def run(
    args: argparse.Namespace,
    profile: Profile,
    target: Target,
    faults: Faults | None,
    api: Api,
    accounts: list[Account],
    report_dir: Path,
    stamp: str,
) -> int:
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="loadplan-") as private:
        accounts_file = Path(private) / "accounts.json"
        accounts_file.write_text(json.dumps([asdict(account) for account in accounts]))
        started_file = Path(private) / "started"
        (report_dir / "journal.jsonl").touch()
        sampler = None
        if (cluster := target.cluster) is not None:
            sampler = Sampler(
                cluster.kubectl,
                cluster.namespace,
                cluster.node_cpu_capacity,
                report_dir / "samples.jsonl",
            )
            sampler.start()
        else:
            notes.append(
                "Sampling off: no cluster was given (--url only), so no replicas, pod or "
                "node figures."
            )
        launched_at = time.time()
        locust = _locust(target, profile, report_dir, accounts_file, started_file, stamp.lower())
        clock = LoadClock(launched_at)
        schedule = None
        if faults is not None and args.fault:
            schedule = FaultSchedule(
                args.fault,
                faults,
                profile,
                clock,
                api,
                accounts,
                report_dir / "journal.jsonl",
            )
            schedule.start()
        deadline = launched_at + profile.duration + LOCUST_GRACE_SECONDS
        while locust.poll() is None and time.time() < deadline:
            if not clock.started.is_set() and started_file.exists():
                clock.start(float(started_file.read_text()))
            time.sleep(0.5)
        if locust.poll() is None:
            locust.kill()
            notes.append(
                f"Locust did not stop within {LOCUST_GRACE_SECONDS:g} s after the profile's "
                "end: killed."
            )
        clock.end()
        if schedule is not None:
            schedule.join(timeout=READY_WITHIN_SECONDS + 2 * 1800)
        if sampler is not None:
            sampler.stop()
        final: ReadBack | None = None
        final_problem = None
        try:
            final = read_back(api, accounts, report_dir / "journal.jsonl")
        except ApiError as error:
            final_problem = str(error)
        if faults is not None:
            try:
                if (reverted := faults.revert()) is not None:
                    notes.append(f"image-change reverted: {reverted}.")
            except CommandError as error:
                notes.append(f"image-change NOT reverted: {error}")
    return write_report(
        args,
        profile,
        target,
        report_dir,
        clock.at,
        sampler,
        schedule,
        final,
        final_problem,
        notes,
    )


def _injected_fault(
    label: str,
    fault_run: FaultRun,
    injection: Injection,
    events: Sequence[RequestEvent],
    started_at: float,
    duration: float,
    notes: list[str],
) -> tuple[dict[str, Any], FaultSpan]:
    """An injected fault's figures, over its window: injection to full readiness plus the
    settling time, cut at the load's end."""
    start = injection.injected_at - started_at
    ready = None if injection.ready_at is None else injection.ready_at - started_at
    end = min((ready if ready is not None else duration) + SETTLE_SECONDS, duration)
    window: WindowFigures = window_figures(events, started_at, start, end)
    read = fault_run.read_back
    if ready is not None and ready > duration:
        notes.append(
            f"{label}: the load ended before the app was whole again; its window "
            "stops with the load."
        )
    figures = {
        "detail": injection.detail,
        "injected_at_seconds": round(start, 2),
        "fully_ready_at_seconds": None if ready is None else round(ready, 2),
        "time_to_full_readiness_seconds": None if ready is None else round(ready - start, 2),
        "problem": injection.problem,
        "window": asdict(window),
        "failed_requests": window.failures,
        "failed_share": round(window.failure_share, 4),
        "longest_gap_without_success_seconds": window.longest_gap_seconds,
        "read_back": None
        if read is None
        else {
            "at_seconds": round(read.at - started_at, 2),
            "checked": read.checked,
            "lost": len(read.lost),
            "lost_examples": _lost_rows(read.lost),
        },
        "read_back_problem": fault_run.read_back_problem,
        "acknowledged_writes_lost": None if read is None else len(read.lost),
    }
    return figures, FaultSpan(label, start, window.end if ready is None else ready)


def write_report(
    args: argparse.Namespace,
    profile: Profile,
    target: Target,
    report_dir: Path,
    started_at: float,
    sampler: Sampler | None,
    schedule: FaultSchedule | None,
    final: ReadBack | None,
    final_problem: str | None,
    notes: list[str],
) -> int:
    events_file = report_dir / "requests.csv"
    events = read_events(events_file) if events_file.exists() else []
    # Every request the users made, those finishing during Locust's stop included.
    measured = [event for event in events if event.at >= started_at]
    overall = figures_of(measured, profile.duration)
    by_name: dict[str, list[RequestEvent]] = defaultdict(list)
    for event in measured:
        by_name[event.name].append(event)
    buckets = timeline(measured, started_at, profile.duration, profile.users_at)

    fault_rows: list[dict[str, Any]] = []
    spans: list[FaultSpan] = []
    recovered: dict[str, bool] = {}
    read_backs = [] if final is None else [final]
    read_back_missing = final is None
    runs = schedule.runs if schedule is not None else []
    for index, kind in enumerate(args.fault):
        label = f"{index + 1}. {kind}"
        # A fault the schedule never reached (it was still waiting on the one before) fails too.
        fault_run = runs[index] if index < len(runs) else FaultRun(skipped="never reached")
        injection = fault_run.injection
        row: dict[str, Any] = {"kind": kind, "skipped": fault_run.skipped}
        if injection is not None:
            figures, span = _injected_fault(
                label, fault_run, injection, events, started_at, profile.duration, notes
            )
            row |= figures
            spans.append(span)
            if fault_run.read_back is None:
                read_back_missing = True
            else:
                read_backs.append(fault_run.read_back)
        recovered[label] = injection is not None and injection.ready_at is not None
        fault_rows.append(row)

    # A write lost after a fault and lost at the end is one write.
    lost = {
        (item.expected.account, item.expected.todo_id, item.expected.title)
        for read in read_backs
        for item in read.lost
    }
    gates = gates_of(profile, overall, None if read_back_missing else len(lost), recovered)
    passed = all(gate.passed for gate in gates)
    steps = step_figures(measured, started_at, profile.steps)
    broke = breaking_point(steps) if profile.name == "stress" else None
    stress: dict[str, Any] | None = None
    if profile.name == "stress":
        stress = {
            "steps": [
                {
                    "users": s.users,
                    "start": s.start,
                    "end": s.end,
                    "broke": s.broke,
                    **_figures(s.figures),
                }
                for s in steps
            ],
            "breaking_point": None
            if broke is None
            else {
                "users": broke.users,
                "p95_ms": broke.figures.p95_ms,
                "error_rate": round(broke.figures.error_rate, 4),
            },
            "verdict": f"none up to {profile.peak_users} users"
            if broke is None
            else f"at {broke.users} users: p95 {broke.figures.p95_ms:g} ms, "
            f"errors {broke.figures.error_rate:.1%}",
        }
    samples = sampler.samples if sampler is not None else []
    for forward in target.forwards:
        if forward.reopened:
            notes.append(
                f"The port-forward to service/{forward.service} was reopened "
                f"{forward.reopened} time(s) (its pod went); the gaps of traffic through it "
                "include that."
            )
    summary: dict[str, Any] = {
        "profile": profile.name,
        "stack": args.stack,
        "started_utc": datetime.fromtimestamp(started_at, UTC).isoformat(timespec="seconds"),
        "duration_seconds": profile.duration,
        "steps": [asdict(step) for step in profile.steps],
        "target": {
            "frontend_url": target.frontend_url,
            "api_url": target.api_url,
            "how": target.how,
            "namespace": target.cluster.namespace if target.cluster else None,
            "context": args.context,
        },
        "overall": _figures(overall),
        "per_endpoint": {
            name: _figures(figures_of(items, profile.duration))
            for name, items in sorted(by_name.items())
        },
        "per_channel": {
            channel: _figures(
                figures_of([e for e in measured if e.channel == channel], profile.duration)
            )
            for channel in ("frontend", "api")
        },
        "timeline": [{"start": b.start, "users": b.users, **_figures(b.figures)} for b in buckets],
        "stress": stress,
        "faults": fault_rows,
        "data_loss": {
            "at_seconds": None if final is None else round(final.at - started_at, 2),
            "checked": None if final is None else final.checked,
            "lost": None if final is None else len(final.lost),
            "lost_examples": [] if final is None else _lost_rows(final.lost),
            "problem": final_problem,
        },
        "sampling": {
            "enabled": sampler is not None,
            "interval_seconds": 5.0,
            "samples": len(samples),
            "node_is_this_machine": bool(target.cluster and target.cluster.node_is_this_machine),
            "max_ready_replicas": _max_ready(samples),
            "scale_outs": [
                {**asdict(out), "seconds_to_ready": out.seconds_to_ready}
                for out in scale_outs(samples, started_at)
            ],
            "restarts_at_end": {name: pod.restarts for name, pod in samples[-1].pods.items()}
            if samples
            else {},
            "problems": sorted(
                {problem.split(":", 1)[0] for sample in samples for problem in sample.problems}
            ),
        },
        "gates": [asdict(gate) for gate in gates],
        "passed": passed,
        "notes": notes,
        "files": {
            "locust_report": "locust.html",
            "charts": "report.html",
            "requests": "requests.csv",
            "journal": "journal.jsonl",
            "samples": "samples.jsonl" if sampler else None,
        },
    }
    (report_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    write_page(
        report_dir / "report.html",
        f"{args.stack or target.frontend_url}: {profile.name}, "
        f"{datetime.fromtimestamp(started_at, UTC):%Y-%m-%d %H:%M:%S} UTC",
        _tables(summary),
        notes,
        buckets,
        samples,
        started_at,
        spans,
    )
    for gate in gates:
        print(f"{'PASS' if gate.passed else 'FAIL'}  {gate.name}: {gate.value}")
    if stress is not None:
        print(f"breaking point: {stress['verdict']}")
    print(report_dir)
    return 0 if passed else 1


def _max_ready(samples: Sequence[Sample]) -> dict[str, int]:
    peak: dict[str, int] = {}
    for sample in samples:
        for name, replicas in sample.workloads.items():
            peak[name] = max(peak.get(name, 0), replicas.ready)
    return peak


def _tables(summary: dict[str, Any]) -> list[tuple[str, list[list[str]]]]:
    overall = summary["overall"]
    tables: list[tuple[str, list[list[str]]]] = [
        (
            "Gates",
            [
                ["gate", "value", "passed"],
                *(
                    [g["name"], g["value"], "yes" if g["passed"] else "NO"]
                    for g in summary["gates"]
                ),
            ],
        ),
        (
            "Overall",
            [
                ["requests", "failures", "error rate", "requests/s", "p50 ms", "p95 ms", "p99 ms"],
                [
                    str(overall["requests"]),
                    str(overall["failures"]),
                    f"{overall['error_rate']:.2%}",
                    f"{overall['requests_per_second']:.1f}",
                    f"{overall['p50_ms']:g}",
                    f"{overall['p95_ms']:g}",
                    f"{overall['p99_ms']:g}",
                ],
            ],
        ),
    ]
    if summary["stress"] is not None:
        tables.append(
            (
                "Stress steps (breaking point: " + summary["stress"]["verdict"] + ")",
                [
                    ["users", "requests", "error rate", "p95 ms", "broke"],
                    *(
                        [
                            str(s["users"]),
                            str(s["requests"]),
                            f"{s['error_rate']:.2%}",
                            f"{s['p95_ms']:g}",
                            "yes" if s["broke"] else "",
                        ]
                        for s in summary["stress"]["steps"]
                    ),
                ],
            )
        )
    if summary["faults"]:
        rows = [
            [
                "fault",
                "what",
                "failed (share)",
                "longest gap s (all / frontend / api)",
                "time to full readiness s",
                "writes lost",
            ]
        ]
        for fault in summary["faults"]:
            if fault.get("skipped"):
                rows.append([fault["kind"], f"not injected: {fault['skipped']}", "", "", "", ""])
                continue
            gaps = fault["longest_gap_without_success_seconds"]
            rows.append(
                [
                    fault["kind"],
                    fault["detail"],
                    f"{fault['failed_requests']} ({fault['failed_share']:.2%})",
                    " / ".join(str(gaps.get(key, "-")) for key in ("all", "frontend", "api")),
                    str(
                        fault["time_to_full_readiness_seconds"]
                        if fault["time_to_full_readiness_seconds"] is not None
                        else fault["problem"]
                    ),
                    str(
                        fault["acknowledged_writes_lost"]
                        if fault["acknowledged_writes_lost"] is not None
                        else fault["read_back_problem"]
                    ),
                ]
            )
        tables.append(("Faults", rows))
    if outs := summary["sampling"]["scale_outs"]:
        tables.append(
            (
                "Scale-outs (seen every 5 s)",
                [
                    ["autoscaler", "replicas", "decided at s", "CPU %", "all ready at s", "took s"],
                    *(
                        [
                            out["autoscaler"],
                            f"{out['from_replicas']} -> {out['to_replicas']}",
                            f"{out['decided_at']:g}",
                            "-" if out["cpu_percent"] is None else str(out["cpu_percent"]),
                            "never" if out["ready_at"] is None else f"{out['ready_at']:g}",
                            "-"
                            if out["seconds_to_ready"] is None
                            else f"{out['seconds_to_ready']:g}",
                        ]
                        for out in outs
                    ),
                ],
            )
        )
    loss = summary["data_loss"]
    tables.append(
        (
            "Acknowledged writes read back",
            [["checked", "lost"], [str(loss["checked"]), str(loss["lost"])]],
        )
    )
    return tables
