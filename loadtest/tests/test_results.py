"""The committed summaries' writer (loadtest/results.py): runs kept by key, the .md beside each
JSON, the tables and figures as the READMEs print them, and TODO_RESULTS_DIR."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import results
from results import Machine, ResultRun, figure, markdown_table, record_result

MACHINE: Machine = {
    "cpu": "Intel(R) Xeon(R) CPU @ 2.20GHz",
    "cores": 2,
    "memory_gib": 23.5,
    "os": "Debian GNU/Linux 12 (bookworm)",
    "load_average": [2.0, 1.25, 0.5],
}


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TODO_RESULTS_DIR", str(tmp_path))
    # A fixed revision: the figures' commit is not what these tests are about.
    monkeypatch.setattr(results, "code_revision", lambda: ("0123456789ab", True))
    return tmp_path


def _run(key: str, requests: int) -> dict[str, Any]:
    return {
        "key": key,
        "command": f"bash loadtest/run.sh {key}",
        "date": "2026-12-07T12:00:00Z",
        "machine": MACHINE,
        "figures": {"requests": requests},
    }


def _requests_table(runs: Sequence[ResultRun]) -> str:
    rows = [[run["key"], figure(run["figures"]["requests"], 0)] for run in runs]
    return markdown_table(["Run", "Requests"], rows, [False, True])


def _record(key: str, requests: int) -> dict[str, Any]:
    path = record_result("bench", "Title", "About.", _run(key, requests), _requests_table)
    summary: dict[str, Any] = json.loads(path.read_text())
    return summary


def test_a_run_recorded_again_replaces_its_key_in_place(results_dir: Path) -> None:
    _record("target", 100)
    _record("peak", 200)
    summary = _record("target", 300)

    assert [run["key"] for run in summary["runs"]] == ["target", "peak"]
    assert [run["figures"]["requests"] for run in summary["runs"]] == [300, 200]
    assert summary["table"] == (
        "| Run | Requests |\n| --- | ---: |\n| target | 300 |\n| peak | 200 |"
    )


def test_a_new_key_is_added_after_the_others(results_dir: Path) -> None:
    _record("target", 100)
    summary = _record("smoke", 5)

    assert [run["key"] for run in summary["runs"]] == ["target", "smoke"]


def test_the_json_holds_each_run_with_its_revision(results_dir: Path) -> None:
    summary = _record("target", 100)

    assert list(summary) == ["title", "about", "runs", "table"]
    assert summary["runs"][0] == {
        "key": "target",
        "command": "bash loadtest/run.sh target",
        "date": "2026-12-07T12:00:00Z",
        "revision": "0123456789ab",
        "modified": True,
        "machine": MACHINE,
        "figures": {"requests": 100},
    }
    assert (results_dir / "bench.json").read_text().endswith("}\n")


def test_the_markdown_shows_the_table_and_the_runs(results_dir: Path) -> None:
    _record("target", 14529)

    assert (results_dir / "bench.md").read_text() == (
        "# Title\n"
        "\n"
        "About.\n"
        "\n"
        "| Run | Requests |\n"
        "| --- | ---: |\n"
        "| target | 14,529 |\n"
        "\n"
        "## Runs\n"
        "\n"
        "| run | command | started (UTC) | revision | machine | "
        "load average before (1 / 5 / 15 min) |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| target | `bash loadtest/run.sh target` | 2026-12-07T12:00:00Z | "
        "0123456789ab (with uncommitted changes) | "
        "2 x Intel(R) Xeon(R) CPU @ 2.20GHz, 23.5 GiB, Debian GNU/Linux 12 (bookworm) | "
        "2 / 1.25 / 0.5 |\n"
    )


def test_markdown_table_aligns_the_numeric_columns_right() -> None:
    table = markdown_table(["Run", "rps", "Note"], [["peak", "653", "x"]], [False, True])

    assert table == "| Run | rps | Note |\n| --- | ---: | --- |\n| peak | 653 | x |"


@pytest.mark.parametrize(
    ("value", "places", "written"),
    [
        (14529, 0, "14,529"),
        (194.83, 1, "194.8"),
        (1475.7, 1, "1,475.7"),
        (2.0, 1, "2"),
        (0.48, 2, "0.48"),
        (33.40000000000001, 1, "33.4"),
        (1234567.891, 2, "1,234,567.89"),
        (0.1, 0, "0"),
    ],
)
def test_figure_separates_thousands_and_drops_trailing_zeros(
    value: float, places: int, written: str
) -> None:
    assert figure(value, places) == written


def test_todo_results_dir_names_where_summaries_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TODO_RESULTS_DIR", str(tmp_path / "elsewhere"))
    assert results.results_dir() == tmp_path / "elsewhere"

    monkeypatch.delenv("TODO_RESULTS_DIR")
    assert results.results_dir() == results.REPOSITORY_DIR / "docs" / "results"


def test_record_result_writes_into_todo_results_dir(results_dir: Path) -> None:
    path = record_result("bench", "Title", "About.", _run("target", 1), _requests_table)

    assert path == results_dir / "bench.json"
    assert sorted(item.name for item in results_dir.iterdir()) == ["bench.json", "bench.md"]


def test_the_machine_and_the_start_are_read_as_the_summaries_hold_them() -> None:
    machine = results.describe_machine()

    assert machine["cores"] >= 1
    assert machine["memory_gib"] > 0
    assert len(machine["load_average"]) == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", results.started_now())
