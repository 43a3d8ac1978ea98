"""The faults injected one at a time while the load runs (faults.py injects one), and what
each cost: its failures and gaps over its window, its time to full readiness, its writes lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loadplan.accounts import Account
from loadplan.analysis import RequestEvent, WindowFigures, window_figures
from loadplan.api import Api, ApiError
from loadplan.faults import FaultKind, Faults, Injection
from loadplan.gates import FaultWindow
from loadplan.kube import CommandError
from loadplan.load_clock import LoadClock
from loadplan.profiles import Profile
from loadplan.read_back import ReadBack, read_back
from loadplan.report import FaultSpan

# The first after the load has settled, each after the one before is whole again.
FIRST_FAULT_FRACTION = 0.2
FIRST_FAULT_MIN_SECONDS = 15.0
SETTLE_SECONDS = 15.0
READY_WITHIN_SECONDS = 300.0


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


def _injected_fault(
    label: str,
    fault_run: FaultRun,
    injection: Injection,
    events: Sequence[RequestEvent],
    started_at: float,
    duration: float,
    notes: list[str],
) -> tuple[dict[str, Any], FaultSpan, WindowFigures]:
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
        "failed_by_channel": window.failures_by_channel,
        "failed_share": round(window.failure_share, 4),
        "longest_gap_without_success_seconds": window.longest_gap_seconds,
        "read_back": None if read is None else read.figures(started_at),
        "read_back_problem": fault_run.read_back_problem,
        "acknowledged_writes_lost": None if read is None else len(read.lost),
        "writes_applied_twice": None if read is None else len(read.duplicated),
    }
    return figures, FaultSpan(label, start, window.end if ready is None else ready), window


@dataclass
class FaultOutcomes:
    """The faults' part of the report, in the order they were asked for."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    spans: list[FaultSpan] = field(default_factory=list)
    windows: list[FaultWindow] = field(default_factory=list)
    read_backs: list[ReadBack] = field(default_factory=list)
    read_back_missing: bool = False


def fault_outcomes(
    kinds: Sequence[FaultKind],
    runs: Sequence[FaultRun],
    events: Sequence[RequestEvent],
    started_at: float,
    duration: float,
    notes: list[str],
) -> FaultOutcomes:
    """Each fault asked for, from what the schedule made of it (`runs`, in the same order)."""
    outcomes = FaultOutcomes()
    for index, kind in enumerate(kinds):
        label = f"{index + 1}. {kind}"
        # A fault the schedule never reached (it was still waiting on the one before) fails too.
        fault_run = runs[index] if index < len(runs) else FaultRun(skipped="never reached")
        injection = fault_run.injection
        row: dict[str, Any] = {"kind": kind, "skipped": fault_run.skipped}
        window: WindowFigures | None = None
        if injection is not None:
            figures, span, window = _injected_fault(
                label, fault_run, injection, events, started_at, duration, notes
            )
            row |= figures
            outcomes.spans.append(span)
            if fault_run.read_back is None:
                outcomes.read_back_missing = True
            else:
                outcomes.read_backs.append(fault_run.read_back)
        outcomes.windows.append(
            FaultWindow(label, kind, window, row.get("time_to_full_readiness_seconds"))
        )
        outcomes.rows.append(row)
    return outcomes
