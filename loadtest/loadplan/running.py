"""Running a profile: Locust (users.py) in a subprocess, the sampler watching the cluster and
the fault schedule beside it, then the last read-back and image-change's revert.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from loadplan.accounts import Account
from loadplan.api import Api, ApiError
from loadplan.arguments import LOADTEST_DIR
from loadplan.discovery import Cluster, Target
from loadplan.fault_runs import READY_WITHIN_SECONDS, FaultRun, FaultSchedule
from loadplan.faults import Faults
from loadplan.kube import CommandError
from loadplan.load_clock import LoadClock
from loadplan.profiles import Profile
from loadplan.read_back import ReadBack, read_back
from loadplan.sampler import Sampler

# Locust's own stop, and its start, on top of the profile's duration.
LOCUST_GRACE_SECONDS = 120.0


@dataclass
class LoadRun:
    """What a finished run leaves for its report."""

    started_at: float
    sampler: Sampler | None
    fault_runs: list[FaultRun]
    final: ReadBack | None
    final_problem: str | None
    notes: list[str]


def run(
    args: argparse.Namespace,
    profile: Profile,
    target: Target,
    faults: Faults | None,
    api: Api,
    accounts: list[Account],
    report_dir: Path,
    stamp: str,
) -> LoadRun:
    notes: list[str] = []
    journal_file = report_dir / "journal.jsonl"
    with tempfile.TemporaryDirectory(prefix="loadplan-") as private:
        accounts_file = Path(private) / "accounts.json"
        accounts_file.write_text(json.dumps([asdict(account) for account in accounts]))
        started_file = Path(private) / "started"
        journal_file.touch()
        sampler = _start_sampler(target.cluster, report_dir / "samples.jsonl", notes)
        launched_at = time.time()
        locust = _locust(target, profile, report_dir, accounts_file, started_file, stamp.lower())
        clock = LoadClock(launched_at)
        schedule = None
        if faults is not None and args.fault:
            schedule = FaultSchedule(
                args.fault, faults, profile, clock, api, accounts, journal_file
            )
            schedule.start()
        deadline = launched_at + profile.duration + LOCUST_GRACE_SECONDS
        _wait_for_locust(locust, clock, started_file, deadline, notes)
        clock.end()
        if schedule is not None:
            schedule.join(timeout=READY_WITHIN_SECONDS + 2 * 1800)
        if sampler is not None:
            sampler.stop()
        final: ReadBack | None = None
        final_problem = None
        try:
            final = read_back(api, accounts, journal_file)
        except ApiError as error:
            final_problem = str(error)
        if faults is not None:
            try:
                if (reverted := faults.revert()) is not None:
                    notes.append(f"image-change reverted: {reverted}.")
            except CommandError as error:
                notes.append(f"image-change NOT reverted: {error}")
    fault_runs = schedule.runs if schedule is not None else []
    return LoadRun(clock.at, sampler, fault_runs, final, final_problem, notes)


def _start_sampler(cluster: Cluster | None, log: Path, notes: list[str]) -> Sampler | None:
    if cluster is None:
        notes.append(
            "Sampling off: no cluster was given (--url only), so no replicas, pod or node figures."
        )
        return None
    sampler = Sampler(cluster.kubectl, cluster.namespace, cluster.node_cpu_capacity, log)
    sampler.start()
    return sampler


def _wait_for_locust(
    locust: subprocess.Popen[bytes],
    clock: LoadClock,
    started_file: Path,
    deadline: float,
    notes: list[str],
) -> None:
    """Until Locust stops (killed at the deadline), starting the clock when the load starts."""
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
