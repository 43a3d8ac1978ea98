"""Figures from the run's request log: percentiles, timelines, stress steps and gaps.

Pure functions over `RequestEvent`s (one per request, written by users.py), so that the
tests can pin every rule the report and the exit status depend on.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from loadplan.profiles import MAX_ERROR_RATE, MAX_P95_MS, Step

Channel = Literal["frontend", "api"]
CHANNELS: tuple[Channel, ...] = ("frontend", "api")
# The report's time resolution, as the sampler's.
BUCKET_SECONDS = 5.0


@dataclass(frozen=True)
class RequestEvent:
    at: float
    """When the answer (or the error) came, in seconds since the epoch."""
    channel: Channel
    name: str
    ms: float
    ok: bool


def write_event_row(writer: Callable[[Sequence[object]], object], event: RequestEvent) -> None:
    writer([f"{event.at:.3f}", event.channel, event.name, f"{event.ms:.1f}", int(event.ok)])


def read_events(path: Path) -> list[RequestEvent]:
    events: list[RequestEvent] = []
    with path.open(newline="") as file:
        for at, channel, name, ms, ok in csv.reader(file):
            if channel not in CHANNELS:
                raise ValueError(f"{path}: unknown channel {channel!r}")
            events.append(
                RequestEvent(
                    float(at), "api" if channel == "api" else "frontend", name, float(ms), ok == "1"
                )
            )
    events.sort(key=lambda event: event.at)
    return events


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (what Locust reports, without its rounding); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Figures:
    requests: int
    failures: int
    error_rate: float
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def figures_of(events: Sequence[RequestEvent], seconds: float) -> Figures:
    """Latency percentiles count every answered request, failed ones included (as Locust does)."""
    times = [event.ms for event in events]
    failures = sum(not event.ok for event in events)
    return Figures(
        requests=len(events),
        failures=failures,
        # No request at all is no evidence the app works: it counts as all failed.
        error_rate=failures / len(events) if events else 1.0,
        requests_per_second=len(events) / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(times, 0.50),
        p95_ms=percentile(times, 0.95),
        p99_ms=percentile(times, 0.99),
    )


def between(events: Iterable[RequestEvent], start: float, end: float) -> list[RequestEvent]:
    return [event for event in events if start <= event.at < end]


@dataclass(frozen=True)
class Bucket:
    start: float
    """Seconds since the run started."""
    users: int
    figures: Figures


def timeline(
    events: Sequence[RequestEvent],
    started_at: float,
    duration: float,
    users_at: Callable[[float], int],
    bucket_seconds: float = BUCKET_SECONDS,
) -> list[Bucket]:
    buckets: list[Bucket] = []
    count = math.ceil(duration / bucket_seconds)
    for index in range(count):
        start = index * bucket_seconds
        inside = between(events, started_at + start, started_at + start + bucket_seconds)
        buckets.append(Bucket(start, users_at(start), figures_of(inside, bucket_seconds)))
    return buckets


@dataclass(frozen=True)
class StepFigures:
    users: int
    start: float
    end: float
    figures: Figures
    broke: bool
    """p95 >= 1000 ms or errors >= 5 % in this step."""


def is_broken(figures: Figures) -> bool:
    return figures.p95_ms >= MAX_P95_MS or figures.error_rate >= MAX_ERROR_RATE


def step_figures(
    events: Sequence[RequestEvent], started_at: float, steps: Sequence[Step]
) -> list[StepFigures]:
    result: list[StepFigures] = []
    for step in steps:
        inside = between(events, started_at + step.start, started_at + step.end)
        figures = figures_of(inside, step.end - step.start)
        result.append(StepFigures(step.users, step.start, step.end, figures, is_broken(figures)))
    return result


def breaking_point(steps: Sequence[StepFigures]) -> StepFigures | None:
    """The first step where p95 >= 1000 ms or errors >= 5 %; None: it held up to the top."""
    return next((step for step in steps if step.broke), None)


def longest_gap(success_times: Sequence[float], start: float, end: float) -> float:
    """The longest stretch inside [start, end] with no successful answer.

    A stretch that began before `start` counts from the last success before it: a fault that
    hits an app which had already stopped answering does not hide the earlier silence.
    `success_times` must be sorted.
    """
    last = start
    for at in success_times:
        if at <= start:
            last = at
        else:
            break
    gap = 0.0
    for at in success_times:
        if at <= start:
            continue
        if at > end:
            break
        gap = max(gap, at - last)
        last = at
    return max(gap, end - last)


@dataclass(frozen=True)
class WindowFigures:
    start: float
    end: float
    """Seconds since the run started."""
    requests: int
    failures: int
    failure_share: float
    failures_by_channel: dict[str, int]
    """Per channel that had requests in the window (frontend, api)."""
    longest_gap_seconds: dict[str, float]
    """For every request ("all") and per channel (frontend, api)."""


def window_figures(
    events: Sequence[RequestEvent], started_at: float, start: float, end: float
) -> WindowFigures:
    inside = between(events, started_at + start, started_at + end)
    failures = sum(not event.ok for event in inside)
    gaps: dict[str, float] = {}
    for label, channel_events in (
        ("all", events),
        *(
            (channel, [event for event in events if event.channel == channel])
            for channel in CHANNELS
        ),
    ):
        if label != "all" and not channel_events:
            continue
        successes = [event.at for event in channel_events if event.ok]
        gaps[label] = round(longest_gap(successes, started_at + start, started_at + end), 2)
    by_channel: dict[str, int] = {}
    for event in inside:
        by_channel[event.channel] = by_channel.get(event.channel, 0) + (not event.ok)
    return WindowFigures(
        start=round(start, 2),
        end=round(end, 2),
        requests=len(inside),
        failures=failures,
        failure_share=failures / len(inside) if inside else 1.0,
        failures_by_channel=by_channel,
        longest_gap_seconds=gaps,
    )
