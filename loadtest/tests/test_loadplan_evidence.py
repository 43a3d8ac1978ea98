"""The load plan's committed summary: what it keeps of summary.json, its key and its tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loadplan.evidence import compact_figures, record_run, run_key
from results import describe_machine

# Any machine will do: these tests read no figure of it.
MACHINE = describe_machine()


def _figures(requests: int, p95: float, error_rate: float) -> dict[str, Any]:
    return {
        "requests": requests,
        "failures": round(requests * error_rate),
        "error_rate": error_rate,
        "requests_per_second": requests / 300,
        "p50_ms": 21.2,
        "p95_ms": p95,
        "p99_ms": 736.1,
    }


def _summary(faults: list[dict[str, Any]], passed: bool = True) -> dict[str, Any]:
    return {
        "profile": "load",
        "stack": "dev",
        "duration_seconds": 300.0,
        "steps": [{"start": 0.0, "end": 300.0, "users": 50}],
        "overall": _figures(14529, 194.8, 0.0048),
        "per_channel": {"frontend": _figures(11000, 150.0, 0.0), "api": _figures(3529, 300.0, 0.0)},
        "stress": None,
        "faults": faults,
        "data_loss": {
            "at_seconds": 301.0,
            "checked": 2451,
            "lost": 0,
            "lost_examples": [],
            "duplicated": 1,
            "duplicated_examples": [],
        },
        "sampling": {
            "max_ready_replicas": {"frontend": 5, "backend": 2},
            "scale_outs": [],
            "node_is_this_machine": True,
        },
        "gates": [{"name": "p95 < 1000 ms", "passed": passed, "value": "194.8 ms"}],
        "passed": passed,
        "per_endpoint": {"ignored": {}},
        "timeline": [{"ignored": True}],
    }


FAULT_ROW = {
    "kind": "postgres-pod",
    "skipped": None,
    "detail": "deleted pod postgres-0",
    "window": {"requests": 796, "failures": 90},
    "failed_requests": 90,
    "failed_by_channel": {"frontend": 62, "api": 28},
    "failed_share": 0.1131,
    "longest_gap_without_success_seconds": {"all": 3.33, "frontend": 3.33, "api": 6.78},
    "time_to_full_readiness_seconds": 5.8,
    "read_back": {"checked": 482, "lost": 0},
    "acknowledged_writes_lost": 0,
    "writes_applied_twice": 0,
}


def test_the_key_keeps_what_decides_the_figures_and_drops_where_the_cluster_is() -> None:
    argv = ["--stack", "dev", "--kubeconfig", "/root/k", "--profile", "load", "--context=x"]
    assert (
        run_key([*argv, "--fault", "backend-pod"])
        == "--stack dev --profile load --fault backend-pod"
    )


def test_the_compact_figures_leave_the_per_request_data_out() -> None:
    figures = compact_figures(_summary([FAULT_ROW]))
    assert "timeline" not in figures
    assert "per_endpoint" not in figures
    assert figures["overall"]["p95_ms"] == 194.8
    assert figures["read_back"] == {"checked": 2451, "lost": 0, "applied_twice": 1}
    assert figures["faults"][0]["longest_gap_seconds"]["api"] == 6.78
    assert figures["faults"][0]["window_requests"] == 796


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TODO_RESULTS_DIR", str(tmp_path))
    return tmp_path


def test_a_run_without_faults_is_a_row_of_the_profiles(results_dir: Path) -> None:
    path = record_run(
        _summary([]), ["--stack", "dev", "--profile", "load"], MACHINE, "2026-12-07T12:00:00Z"
    )
    assert path == results_dir / "loadplan-profiles.json"
    table = json.loads(path.read_text())["table"]
    row = "| `--stack dev --profile load` | 50 | 14,529 | 48.4 | 21.2 | 194.8 | 736.1 | 0.48 % |"
    assert f"{row} 2,451 / 0 / 1 | pass |" in table


def test_a_run_with_faults_is_a_row_per_fault(results_dir: Path) -> None:
    argv = ["--stack", "dev", "--profile", "load", "--fault", "postgres-pod"]
    path = record_run(_summary([FAULT_ROW], passed=False), argv, MACHINE, "2026-12-07T12:00:00Z")
    assert path == results_dir / "loadplan-faults.json"
    summary = json.loads(path.read_text())
    assert summary["runs"][0]["command"] == "npm run loadtest -- " + " ".join(argv)
    assert (
        "| postgres-pod | 90 of 796 (11.31 %) | 62 | 3.33 / 3.33 / 6.78 | 5.8 | 482 / 0 / 0 |"
        in summary["table"]
    )


def test_runs_recorded_before_a_figure_existed_show_a_dash(results_dir: Path) -> None:
    older = {**FAULT_ROW}
    del older["failed_by_channel"], older["writes_applied_twice"]
    argv = ["--stack", "dev", "--profile", "load", "--fault", "postgres-pod"]
    path = record_run(_summary([older]), argv, MACHINE, "2026-12-07T12:00:00Z")
    table = json.loads(path.read_text())["table"]
    assert (
        "| postgres-pod | 90 of 796 (11.31 %) | - | 3.33 / 3.33 / 6.78 | 5.8 | 482 / 0 / - |"
        in table
    )
