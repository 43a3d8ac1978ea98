"""A finished run's committed summary (docs/results/, see loadtest/results.py): the figures the
READMEs quote, without the per-request data, which stays in the report folder. Runs without a
fault go to `loadplan-profiles` (a row per run), runs with faults to `loadplan-faults` (a row per
fault); a run recorded again with the same command line replaces the earlier one.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from results import Machine, ResultRun, figure, markdown_table, record_result

PROFILES_TITLE = "The load plan's profiles against a deployed stack"
PROFILES_ABOUT = (
    "`npm run loadtest` (loadtest/README.md): simulated people through the frontend's server "
    "actions and API clients, for the design's smoke, load and stress profiles; every "
    "acknowledged write read back at the end. Latencies in ms, over every request of the run."
)
FAULTS_TITLE = "The load plan's faults under load"
FAULTS_ABOUT = (
    "`npm run loadtest -- ... --fault KIND`: each fault injected while the profile runs, one "
    "at a time. A fault's window runs from its injection to full readiness plus 15 s; its gaps "
    "are the longest stretches without a successful answer in that window (all requests / "
    "through the frontend / through the API), in seconds."
)


def run_key(argv: Sequence[str]) -> str:
    """The options that decide what a run measures, as typed (paths and contexts left out)."""
    kept: list[str] = []
    skip_value = False
    for word in argv:
        if skip_value:
            skip_value = False
            continue
        if word in ("--kubeconfig", "--context", "--project-dir", "--out"):
            skip_value = True
            continue
        if word.startswith(("--kubeconfig=", "--context=", "--project-dir=", "--out=")):
            continue
        kept.append(word)
    return " ".join(kept)


def compact_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """What a README may quote of summary.json: the whole run, per channel, the stress steps,
    the scale-outs, the faults and the read-back."""
    overall_keys: tuple[str, ...] = ("requests", "failures", "error_rate")
    overall_keys += ("requests_per_second", "p50_ms", "p95_ms", "p99_ms")
    stress = summary["stress"]
    sampling = summary["sampling"]
    return {
        "profile": summary["profile"],
        "stack": summary["stack"],
        "duration_seconds": summary["duration_seconds"],
        "users": max(step["users"] for step in summary["steps"]),
        "first_users": summary["steps"][0]["users"],
        "overall": {key: summary["overall"][key] for key in overall_keys},
        "per_channel": {
            channel: {key: figures[key] for key in overall_keys}
            for channel, figures in summary["per_channel"].items()
        },
        "read_back": {
            "checked": summary["data_loss"]["checked"],
            "lost": summary["data_loss"]["lost"],
            "applied_twice": summary["data_loss"]["duplicated"],
        },
        "stress": None
        if stress is None
        else {
            "steps": [
                {
                    key: step[key]
                    for key in ("users", "requests_per_second", "p95_ms", "error_rate", "broke")
                }
                for step in stress["steps"]
            ],
            "breaking_point": stress["breaking_point"],
            "verdict": stress["verdict"],
        },
        "max_ready_replicas": sampling["max_ready_replicas"],
        "scale_outs": sampling["scale_outs"],
        "node_is_this_machine": sampling["node_is_this_machine"],
        "faults": [
            {
                "kind": row["kind"],
                "skipped": row["skipped"],
                "detail": row.get("detail"),
                "failed_requests": row.get("failed_requests"),
                "window_requests": (row.get("window") or {}).get("requests"),
                "failed_share": row.get("failed_share"),
                "longest_gap_seconds": row.get("longest_gap_without_success_seconds"),
                "time_to_full_readiness_seconds": row.get("time_to_full_readiness_seconds"),
                "writes_checked": (row.get("read_back") or {}).get("checked"),
                "writes_lost": row.get("acknowledged_writes_lost"),
                "writes_applied_twice": row.get("writes_applied_twice"),
                "failed_by_channel": row.get("failed_by_channel"),
            }
            for row in summary["faults"]
        ],
        "gates": summary["gates"],
        "passed": summary["passed"],
    }


def _users(figures: dict[str, Any]) -> str:
    first, peak = figures["first_users"], figures["users"]
    return str(peak) if first == peak else f"{first} to {peak}"


def _passed(figures: dict[str, Any]) -> str:
    return "pass" if figures["passed"] else "FAIL"


def profiles_table(runs: Sequence[ResultRun]) -> str:
    rows = []
    for run in runs:
        figures = run["figures"]
        overall, read = figures["overall"], figures["read_back"]
        rows.append(
            [
                f"`{run['key']}`",
                _users(figures),
                figure(overall["requests"], 0),
                figure(overall["requests_per_second"]),
                figure(overall["p50_ms"]),
                figure(overall["p95_ms"]),
                figure(overall["p99_ms"]),
                f"{overall['error_rate'] * 100:.2f} %",
                _writes(read["checked"], read["lost"], read.get("applied_twice")),
                _passed(figures),
            ]
        )
    header = ["Run (`npm run loadtest --` ...)", "Users", "Requests", "req/s", "p50 ms"]
    header += ["p95 ms", "p99 ms", "Errors", "Writes read back / lost / applied twice", "Gates"]
    return markdown_table(header, rows, [False, True, True, True, True, True, True, True, True])


def _writes(checked: int | None, lost: int | None, twice: int | None) -> str:
    """Read back / lost / applied twice; "-" for a figure a run did not measure (runs before
    the read-back looked for todos applied twice)."""
    return " / ".join(
        [
            figure(checked or 0, 0),
            "-" if lost is None else str(lost),
            "-" if twice is None else str(twice),
        ]
    )


def _gaps(gaps: dict[str, float] | None) -> str:
    if not gaps:
        return "-"
    return " / ".join(
        figure(gaps[channel], 2) if channel in gaps else "-"
        for channel in ("all", "frontend", "api")
    )


def _frontend_failures(by_channel: dict[str, int] | None) -> str:
    if by_channel is None:
        return "-"  # runs before the window counted failures per channel
    return str(by_channel.get("frontend", 0))


def faults_table(runs: Sequence[ResultRun]) -> str:
    rows = []
    for run in runs:
        for index, fault in enumerate(run["figures"]["faults"]):
            # The run's options once, on its first fault's row.
            key = f"`{run['key']}`" if index == 0 else ""
            if fault["skipped"] is not None:
                rows.append([key, fault["kind"], "not injected", "-", "-", "-", "-"])
                continue
            share = fault["failed_share"] or 0.0
            readiness = fault["time_to_full_readiness_seconds"]
            rows.append(
                [
                    key,
                    fault["kind"],
                    f"{fault['failed_requests']} of {figure(fault['window_requests'], 0)} "
                    f"({share * 100:.2f} %)",
                    _frontend_failures(fault.get("failed_by_channel")),
                    _gaps(fault["longest_gap_seconds"]),
                    "never" if readiness is None else figure(readiness),
                    _writes(
                        fault["writes_checked"],
                        fault["writes_lost"],
                        fault.get("writes_applied_twice"),
                    ),
                ]
            )
    header = ["Run (`npm run loadtest --` ...)", "Fault", "Failed in its window"]
    header += ["Of them through the frontend", "Longest gap s (all / frontend / api)"]
    header += ["Full readiness s", "Writes checked / lost / applied twice"]
    return markdown_table(header, rows, [False, False, True, True, True, True, True])


def record_run(
    summary: dict[str, Any], argv: Sequence[str], machine: Machine, started_utc: str
) -> Path:
    """Records the run in loadplan-faults when it injected faults, else in loadplan-profiles."""
    with_faults = bool(summary["faults"])
    run = {
        "key": run_key(argv),
        "command": "npm run loadtest -- " + shlex.join(argv),
        "date": started_utc,
        "machine": machine,
        "figures": compact_figures(summary),
    }
    if with_faults:
        return record_result("loadplan-faults", FAULTS_TITLE, FAULTS_ABOUT, run, faults_table)
    return record_result("loadplan-profiles", PROFILES_TITLE, PROFILES_ABOUT, run, profiles_table)
