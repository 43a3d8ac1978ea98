"""The committed result summaries (docs/results/<name>.json and .md, format in
docs/results/README.md), written by the Python benchmarks: the backend benchmark, the list-cost
benchmark and the load plan. loadtest/results.ts is the same for the TypeScript ones; both write
the same bytes, which the README figures test (test/results.test.ts) checks.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

REPOSITORY_DIR = Path(__file__).resolve().parent.parent


class Machine(TypedDict):
    cpu: str
    cores: int
    memory_gib: float
    os: str
    load_average: list[float]


class ResultRun(TypedDict):
    key: str
    command: str
    date: str
    revision: str
    modified: bool
    machine: Machine
    figures: dict[str, Any]


def results_dir() -> Path:
    """TODO_RESULTS_DIR, else the checkout's docs/results/ (committed)."""
    configured = os.environ.get("TODO_RESULTS_DIR")
    return Path(configured) if configured else REPOSITORY_DIR / "docs" / "results"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def describe_machine() -> Machine:
    """Read when a run starts: the load average is other work on the machine then."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 1,
        "memory_gib": round(memory / 2**30, 1),
        "os": _os_name(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def started_now() -> str:
    """A run's `date`: UTC, to the second, as results.ts writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(*args: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise OSError("git is not on PATH")
    return subprocess.run(  # noqa: S603 (argument list, no shell)
        [git, *args], cwd=REPOSITORY_DIR, check=True, capture_output=True, text=True
    ).stdout.strip()


def code_revision() -> tuple[str, bool]:
    """The commit the figures belong to, and whether tracked code differed from it; outside a
    git checkout "unknown" (test/results.test.ts refuses such a summary in docs/results/)."""
    try:
        revision = _git("rev-parse", "--short=12", "HEAD")
        changes = _git(
            "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs/results"
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown", True
    return revision, changes != ""


def record_result(
    name: str,
    title: str,
    about: str,
    run: dict[str, Any],
    table: Callable[[Sequence[ResultRun]], str],
) -> Path:
    """Adds (or replaces, by key) one run ({key, command, date, machine, figures}) in a
    summary and writes its JSON and Markdown; returns the JSON's path."""
    directory = results_dir()
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{name}.json"
    previous: list[ResultRun] = (
        json.loads(json_path.read_text())["runs"] if json_path.exists() else []
    )
    revision, modified = code_revision()
    # Keys in results.ts's order, so that either writes the same file.
    ordered: ResultRun = {
        "key": run["key"],
        "command": run["command"],
        "date": run["date"],
        "revision": revision,
        "modified": modified,
        "machine": run["machine"],
        "figures": run["figures"],
    }
    keys = [existing["key"] for existing in previous]
    runs = (
        [ordered if existing["key"] == ordered["key"] else existing for existing in previous]
        if ordered["key"] in keys
        else [*previous, ordered]
    )
    summary = {"title": title, "about": about, "runs": runs, "table": table(runs)}
    json_path.write_text(json.dumps(_as_javascript(summary), indent=2, ensure_ascii=False) + "\n")
    (directory / f"{name}.md").write_text(summary_markdown(summary))
    return json_path


def _as_javascript(value: Any) -> Any:
    """Whole floats as integers (16.0 as 16), as JSON.stringify writes them in results.ts."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _as_javascript(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_javascript(item) for item in value]
    return value


def summary_markdown(summary: dict[str, Any]) -> str:
    """The .md beside each summary, byte for byte as results.ts writes it."""
    run_lines = []
    for run in summary["runs"]:
        machine = run["machine"]
        revision = (
            f"{run['revision']} (with uncommitted changes)" if run["modified"] else run["revision"]
        )
        load = " / ".join(_number(value) for value in machine["load_average"])
        run_lines.append(
            f"| {run['key']} | `{run['command']}` | {run['date']} | {revision} | "
            f"{machine['cores']} x {machine['cpu']}, {_number(machine['memory_gib'])} GiB, "
            f"{machine['os']} | {load} |"
        )
    return "\n".join(
        [
            f"# {summary['title']}",
            "",
            summary["about"],
            "",
            summary["table"],
            "",
            "## Runs",
            "",
            "| run | command | started (UTC) | revision | machine | "
            "load average before (1 / 5 / 15 min) |",
            "| --- | --- | --- | --- | --- | --- |",
            *run_lines,
            "",
        ]
    )


def _number(value: float) -> str:
    """As JavaScript prints a number: 23.0 is 23."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] = ()
) -> str:
    """A Markdown table; `right` marks the numeric columns."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    rule = [
        "---:" if column < len(right) and right[column] else "---" for column in range(len(header))
    ]
    return "\n".join([line(header), line(rule), *(line(row) for row in rows)])


def figure(value: float, places: int = 1) -> str:
    """A figure as the READMEs print it: thousands separated, at most `places` decimals."""
    text = f"{value:,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
