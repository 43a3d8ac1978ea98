"""The chart page opens offline: plotly's code is inside it, no script comes from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

from loadplan.analysis import RequestEvent, timeline
from loadplan.profiles import build_profile
from loadplan.report import FaultSpan, write_page
from loadplan.sampler import Autoscaler, PodState, Replicas, Sample

T0 = 1_000_000.0


def test_the_page_holds_its_charts_tables_and_faults(tmp_path: Path) -> None:
    profile = build_profile("smoke", duration=20)
    events = [
        RequestEvent(T0 + s, "frontend", "GET /todos (page)", 40.0 + s, s != 7) for s in range(20)
    ]
    samples = [
        Sample(
            T0 + s,
            {"deployment/backend": Replicas(1, 1)},
            {"backend": Autoscaler(1, 1, 30)},
            {"backend-1": PodState("backend", True, 0, 120.0 + s, 80.0)},
            {"node-a": 50.0},
            61.5,
        )
        for s in (0, 5, 10, 15)
    ]
    page = tmp_path / "report.html"
    write_page(
        page,
        "dev: smoke <test>",
        [("Gates", [["gate", "passed"], ["p95 < 1000 ms", "yes"]])],
        ["a note & more"],
        timeline(events, T0, profile.duration, profile.users_at),
        samples,
        T0,
        [FaultSpan("1. backend-pod", 8.0, 14.0)],
    )
    text = page.read_text()
    assert "dev: smoke &lt;test&gt;" in text
    assert "<td>p95 &lt; 1000 ms</td>" in text
    assert "a note &amp; more" in text
    assert "1. backend-pod" in text
    for title in (
        "Latency (ms)",
        "Pod CPU (millicores)",
        "Replicas (ready, desired) and HPA",
        "Node and machine CPU (%)",
    ):
        assert title in text
    # plotly.js itself is inlined: every script tag is inline, none loads from a CDN.
    assert re.search(r"<script[^>]*\ssrc=", text) is None
    assert "plotly.js v" in text


def test_without_samples_the_page_has_only_the_load_charts(tmp_path: Path) -> None:
    profile = build_profile("smoke", duration=10)
    page = tmp_path / "report.html"
    write_page(page, "url: smoke", [], [], timeline([], T0, 10, profile.users_at), [], T0, [])
    text = page.read_text()
    assert "Throughput and errors" in text
    assert "Pod CPU" not in text
