"""The design's profiles (seed section 10) as Locust user steps, and their gates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProfileName = Literal["smoke", "load", "stress"]
PROFILE_NAMES: tuple[ProfileName, ...] = ("smoke", "load", "stress")

# The design's success criteria.
MAX_P95_MS = 1000.0
MAX_ERROR_RATE = 0.05
# Stress: +20 users every 30 s up to 200.
STRESS_STEP_USERS = 20
STRESS_STEP_SECONDS = 30.0
STRESS_MAX_USERS = 200
# A fault's window runs from its injection to full readiness plus 15 s (fault_runs.py).
# At most this share of its requests may fail: a fault the app is built to ride out must not
# concentrate failures where the run-wide 5 % would hide them.
FAULT_MAX_FAILED_SHARE = 0.01
# The longest stretch of the window without a successful answer through the frontend: at most
# the frontend's retry budget for a backend call (BACKEND_RETRY_BUDGET_MS, 15 s), which is how
# long the app promises to hold a person's action through an outage rather than show an error.
FAULT_MAX_FRONTEND_GAP_SECONDS = 15.0
# From injection to every workload fully ready again, by fault. Measured on one 2-core node:
# a replaced pod 4-15 s, a rolling restart of both Deployments 76 s at 50 users, a deploy
# with a new backend image (build, push, migration Job, rollout) a few minutes.
FAULT_READY_WITHIN_SECONDS: dict[str, float] = {
    "backend-pod": 60.0,
    "frontend-pod": 60.0,
    "postgres-pod": 60.0,
    "postgres-crash": 60.0,
    "rolling-restart": 180.0,
    "image-change": 600.0,
}
# The design's "auto-scaling triggers correctly", where a profile loads the app past its
# autoscalers' CPU target (load, stress): some autoscaler raised its desired replicas, and
# each replica it added was ready within this (the sampler sees every 5 s; a pod of the app
# starts in about 10 s here).
SCALE_OUT_READY_WITHIN_SECONDS = 60.0
# New users per second: logins hash passwords (argon2), so a step's users join over a few
# seconds, as people do, instead of all in one instant.
SPAWN_RATE = 5.0


@dataclass(frozen=True)
class Step:
    """From `start` to `end` seconds into the run, `users` simulated people are active."""

    start: float
    end: float
    users: int


@dataclass(frozen=True)
class Profile:
    name: ProfileName
    steps: tuple[Step, ...]
    # A stress run reports where it broke; the p95 and error gates apply to the other profiles.
    gates_latency_and_errors: bool
    # Its load is meant to trigger the autoscalers (smoke's 5 users are not).
    expects_scaling: bool

    @property
    def duration(self) -> float:
        return self.steps[-1].end

    @property
    def peak_users(self) -> int:
        return max(step.users for step in self.steps)

    def users_at(self, second: float) -> int:
        """The users the profile asks for at `second` into the run (0 outside it)."""
        for step in self.steps:
            if step.start <= second < step.end:
                return step.users
        return 0


def build_profile(
    name: ProfileName, *, duration: float | None = None, users: int | None = None
) -> Profile:
    """The named profile; `duration` and `users` shorten it (for a quick run or a test).

    For stress, `users` is the top of the ramp and `duration` the whole ramp, split evenly
    over its steps.
    """
    if duration is not None and duration <= 0:
        raise ValueError(f"--duration must be positive, got {duration:g}")
    if users is not None and users < 1:
        raise ValueError(f"--users must be at least 1, got {users}")
    if name == "smoke":
        return Profile(name, (Step(0.0, duration or 60.0, users or 5),), True, False)
    if name == "load":
        return Profile(name, (Step(0.0, duration or 300.0, users or 50),), True, True)
    top = users or STRESS_MAX_USERS
    counts = list(range(STRESS_STEP_USERS, top + 1, STRESS_STEP_USERS))
    if not counts or counts[-1] != top:
        counts.append(top)
    step_seconds = duration / len(counts) if duration is not None else STRESS_STEP_SECONDS
    steps = tuple(
        Step(index * step_seconds, (index + 1) * step_seconds, count)
        for index, count in enumerate(counts)
    )
    return Profile(name, steps, False, True)
