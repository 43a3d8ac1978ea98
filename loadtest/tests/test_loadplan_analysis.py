"""Percentiles, stress steps, the breaking point, gaps and fault windows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from loadplan.analysis import (
    RequestEvent,
    breaking_point,
    figures_of,
    longest_gap,
    read_events,
    step_figures,
    timeline,
    window_figures,
    write_event_row,
)
from loadplan.profiles import build_profile

T0 = 1_000_000.0


def event(
    second: float, ms: float = 50.0, ok: bool = True, channel: str = "frontend"
) -> RequestEvent:
    return RequestEvent(
        T0 + second, "api" if channel == "api" else "frontend", "GET /todos (page)", ms, ok
    )


def test_percentiles_are_nearest_rank() -> None:
    figures = figures_of([event(0, ms) for ms in range(1, 101)], 10)
    assert (figures.p50_ms, figures.p95_ms, figures.p99_ms) == (50, 95, 99)
    assert figures.requests_per_second == 10


def test_error_rate_counts_failures_and_no_requests_as_all_failed() -> None:
    assert figures_of([event(0), event(1, ok=False)], 2).error_rate == 0.5
    assert figures_of([], 10).error_rate == 1.0


def test_stress_breaks_at_the_first_step_over_a_limit() -> None:
    stress = build_profile("stress", duration=90, users=60)  # steps of 30 s: 20, 40, 60 users
    events = [
        *(event(second) for second in range(30)),
        *(event(30 + second, ms=1200 if second < 1 else 100) for second in range(30)),  # p95 100
        *(event(60 + second, ok=second % 10 != 0) for second in range(30)),  # 10 % errors
    ]
    steps = step_figures(events, T0, stress.steps)
    assert [step.broke for step in steps] == [False, False, True]
    point = breaking_point(steps)
    assert point is not None
    assert point.users == 60


def test_stress_breaks_at_p95_of_exactly_1000_ms_and_errors_of_exactly_5_percent() -> None:
    stress = build_profile("stress", duration=40, users=40)
    slow = [event(s / 2, ms=1000) for s in range(40)]
    failing = [event(20 + s / 5, ok=s >= 5) for s in range(100)]
    steps = step_figures([*slow, *failing], T0, stress.steps)
    assert [step.broke for step in steps] == [True, True]


def test_no_breaking_point_when_every_step_held() -> None:
    stress = build_profile("stress", duration=40, users=40)
    steps = step_figures([event(second) for second in range(40)], T0, stress.steps)
    assert breaking_point(steps) is None


def test_longest_gap_counts_from_the_last_success_before_the_window() -> None:
    successes = [T0 + s for s in (0, 1, 2, 10, 11, 30)]
    assert longest_gap(successes, T0 + 5, T0 + 18) == 8  # 2 -> 10
    assert longest_gap(successes, T0 + 12, T0 + 20) == 9  # 11 -> window end
    assert longest_gap([], T0, T0 + 20) == 20


def test_a_fault_window_counts_its_failures_and_the_gap_per_channel() -> None:
    events = [
        *(event(s) for s in range(10)),
        *(event(s, channel="api") for s in range(25)),
        *(event(10 + s, ok=False) for s in range(5)),  # the frontend fails from 10 to 14
        *(event(s) for s in range(15, 25)),
    ]
    window = window_figures(sorted(events, key=lambda e: e.at), T0, 8, 20)
    assert window.requests == 2 + 12 + 5 + 5
    assert window.failures == 5
    assert window.failures_by_channel == {"frontend": 5, "api": 0}
    assert window.longest_gap_seconds == {"all": 1.0, "frontend": 6.0, "api": 1.0}


def test_timeline_buckets_carry_the_profiles_users() -> None:
    profile = build_profile("stress", duration=20, users=40)
    buckets = timeline(
        [event(1), event(12), event(13, ok=False)], T0, profile.duration, profile.users_at
    )
    assert [(b.start, b.users, b.figures.requests, b.figures.failures) for b in buckets] == [
        (0.0, 20, 1, 0),
        (5.0, 20, 0, 0),
        (10.0, 40, 2, 1),
        (15.0, 40, 0, 0),
    ]


def test_the_request_log_reads_back_what_was_written(tmp_path: Path) -> None:
    log = tmp_path / "requests.csv"
    with log.open("w", newline="") as file:
        writer = csv.writer(file)
        write_event_row(writer.writerow, event(2, ms=12.34, ok=False, channel="api"))
        write_event_row(writer.writerow, event(1))
    assert read_events(log) == [event(1), event(2, ms=12.3, ok=False, channel="api")]


def test_the_request_log_refuses_an_unknown_channel(tmp_path: Path) -> None:
    log = tmp_path / "requests.csv"
    log.write_text("1.0,mobile,GET /,5.0,1\n")
    with pytest.raises(ValueError, match="unknown channel"):
        read_events(log)
