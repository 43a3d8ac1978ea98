"""The load's clock, set by the run from Locust's start and read by the fault schedule."""

from __future__ import annotations

import threading


class LoadClock:
    """When the load started (Locust's test_start), and whether it has ended."""

    def __init__(self, launched_at: float) -> None:
        self.at = launched_at
        self.started = threading.Event()
        self.ended = threading.Event()

    def start(self, at: float) -> None:
        self.at = at
        self.started.set()

    def end(self) -> None:
        self.ended.set()
        self.started.set()
