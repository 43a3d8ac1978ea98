"""A finished run's report: every figure and gate in summary.json, the page (report.py), and
the gates printed, the report folder's path last.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadplan.analysis import (
    Figures,
    RequestEvent,
    breaking_point,
    figures_of,
    read_events,
    step_figures,
    timeline,
)
from loadplan.discovery import Target
from loadplan.fault_runs import FaultOutcomes, fault_outcomes
from loadplan.gates import Gate, Scaling, gates_of
from loadplan.profiles import Profile
from loadplan.read_back import ReadBack
from loadplan.report import summary_tables, write_page
from loadplan.running import LoadRun
from loadplan.sampler import Sample, Sampler, scale_outs


def write_report(
    args: argparse.Namespace,
    profile: Profile,
    target: Target,
    report_dir: Path,
    load: LoadRun,
    record: Callable[[dict[str, Any]], Path],
) -> int:
    """Writes the report folder, then `record`s the run's committed summary (evidence.py)."""
    started_at, notes = load.started_at, load.notes
    events_file = report_dir / "requests.csv"
    events = read_events(events_file) if events_file.exists() else []
    # Every request the users made, those finishing during Locust's stop included.
    measured = [event for event in events if event.at >= started_at]
    overall = figures_of(measured, profile.duration)
    buckets = timeline(measured, started_at, profile.duration, profile.users_at)
    faults = fault_outcomes(
        args.fault, load.fault_runs, events, started_at, profile.duration, notes
    )
    samples = load.sampler.samples if load.sampler is not None else []
    scaling = (
        None
        if load.sampler is None
        else Scaling(
            scale_outs(samples, started_at),
            samples[-1].at - started_at if samples else 0.0,
        )
    )
    gates = gates_of(
        profile,
        overall,
        _writes_lost(load.final, faults),
        _writes_applied_twice(load.final, faults),
        faults.windows,
        scaling,
    )
    passed = all(gate.passed for gate in gates)
    stress = _stress(profile, measured, started_at)
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
        "per_endpoint": _per_endpoint(measured, profile.duration),
        "per_channel": {
            channel: _figures(
                figures_of([e for e in measured if e.channel == channel], profile.duration)
            )
            for channel in ("frontend", "api")
        },
        "timeline": [{"start": b.start, "users": b.users, **_figures(b.figures)} for b in buckets],
        "stress": stress,
        "faults": faults.rows,
        "data_loss": _data_loss(load.final, load.final_problem, started_at),
        "sampling": _sampling(load.sampler, samples, target, started_at),
        "gates": [asdict(gate) for gate in gates],
        "passed": passed,
        "notes": notes,
        "files": {
            "locust_report": "locust.html",
            "charts": "report.html",
            "requests": "requests.csv",
            "journal": "journal.jsonl",
            "samples": "samples.jsonl" if load.sampler else None,
        },
    }
    (report_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    write_page(
        report_dir / "report.html",
        f"{args.stack or target.frontend_url}: {profile.name}, "
        f"{datetime.fromtimestamp(started_at, UTC):%Y-%m-%d %H:%M:%S} UTC",
        summary_tables(summary),
        notes,
        buckets,
        samples,
        started_at,
        faults.spans,
    )
    print(f"committed summary: {record(summary)}")
    _print_verdict(gates, stress, report_dir)
    return 0 if passed else 1


def _figures(figures: Figures) -> dict[str, Any]:
    return {
        key: round(value, 4) if isinstance(value, float) else value
        for key, value in asdict(figures).items()
    }


def _writes_lost(final: ReadBack | None, faults: FaultOutcomes) -> int | None:
    """The acknowledged writes lost in any read-back; None when one of them is missing."""
    if final is None or faults.read_back_missing:
        return None
    # A write lost after a fault and lost at the end is one write.
    lost = {
        (item.expected.account, item.expected.todo_id, item.expected.title)
        for read in (final, *faults.read_backs)
        for item in read.lost
    }
    return len(lost)


def _writes_applied_twice(final: ReadBack | None, faults: FaultOutcomes) -> int | None:
    """The todos found twice in any read-back; None when one of them is missing."""
    if final is None or faults.read_back_missing:
        return None
    return len(
        {
            (item.account, item.title)
            for read in (final, *faults.read_backs)
            for item in read.duplicated
        }
    )


def _per_endpoint(measured: Sequence[RequestEvent], duration: float) -> dict[str, Any]:
    by_name: dict[str, list[RequestEvent]] = defaultdict(list)
    for event in measured:
        by_name[event.name].append(event)
    return {name: _figures(figures_of(items, duration)) for name, items in sorted(by_name.items())}


def _stress(
    profile: Profile, measured: Sequence[RequestEvent], started_at: float
) -> dict[str, Any] | None:
    if profile.name != "stress":
        return None
    steps = step_figures(measured, started_at, profile.steps)
    broke = breaking_point(steps)
    return {
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


def _data_loss(final: ReadBack | None, problem: str | None, started_at: float) -> dict[str, Any]:
    figures = (
        {
            "at_seconds": None,
            "checked": None,
            "lost": None,
            "lost_examples": [],
            "duplicated": None,
            "duplicated_examples": [],
        }
        if final is None
        else final.figures(started_at)
    )
    return {**figures, "problem": problem}


def _sampling(
    sampler: Sampler | None, samples: Sequence[Sample], target: Target, started_at: float
) -> dict[str, Any]:
    return {
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
    }


def _max_ready(samples: Sequence[Sample]) -> dict[str, int]:
    peak: dict[str, int] = {}
    for sample in samples:
        for name, replicas in sample.workloads.items():
            peak[name] = max(peak.get(name, 0), replicas.ready)
    return peak


def _print_verdict(gates: Sequence[Gate], stress: dict[str, Any] | None, report_dir: Path) -> None:
    for gate in gates:
        print(f"{'PASS' if gate.passed else 'FAIL'}  {gate.name}: {gate.value}")
    if stress is not None:
        print(f"breaking point: {stress['verdict']}")
    print(report_dir)
