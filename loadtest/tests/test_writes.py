"""The write-cost benchmark's table (loadtest/writes.py): this code beside its baseline."""

from __future__ import annotations

from typing import Any

from writes import SCENARIO_LABELS, summary_table

from results import ResultRun, describe_machine


def _run(key: str, baseline: str | None) -> ResultRun:
    cells: dict[str, dict[str, float]] = {
        scenario: {"this": 1.0 + index / 10} | ({"baseline": 0.9} if baseline else {})
        for index, scenario in enumerate(SCENARIO_LABELS)
    }
    figures: dict[str, Any] = {"baseline": baseline, "cpu_ms_per_request": cells}
    return {
        "key": key,
        "command": f"npm run bench:writes -- {key}",
        "date": "2026-12-07T12:00:00Z",
        "revision": "0123456789ab",
        "modified": False,
        "machine": describe_machine(),
        "figures": figures,
    }


def test_each_write_is_a_row_with_the_baselines_figure_beside_this_codes() -> None:
    table = summary_table([_run("--baseline 1909c1c", "1909c1c"), _run("no baseline", None)])
    lines = table.splitlines()
    assert (
        lines[0] == "| Run (`npm run bench:writes --` ...) | Request | Baseline ms | This code ms |"
    )
    assert lines[2] == "| `--baseline 1909c1c` | `POST /todos` without a key | 0.9 | 1 |"
    assert lines[4] == "|  | `POST /todos` repeated with its key | 0.9 | 1.2 |"
    # A run without a baseline has nothing to put beside its figures.
    assert lines[7] == "| `no baseline` | `POST /todos` without a key | - | 1 |"
    assert len(lines) == 2 + 2 * len(SCENARIO_LABELS)
