"""Every gate the run's exit status depends on, with the thresholds of profiles.py.

Pure functions over what the run measured, so that the tests can pin each rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loadplan.analysis import Figures, WindowFigures
from loadplan.profiles import (
    FAULT_MAX_FAILED_SHARE,
    FAULT_MAX_FRONTEND_GAP_SECONDS,
    FAULT_READY_WITHIN_SECONDS,
    MAX_ERROR_RATE,
    MAX_P95_MS,
    SCALE_OUT_READY_WITHIN_SECONDS,
    Profile,
)
from loadplan.sampler import ScaleOut


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    value: str


@dataclass(frozen=True)
class FaultWindow:
    """A fault asked for, as its gates see it."""

    label: str
    """"2. postgres-pod": its place in the run and its kind."""
    kind: str
    window: WindowFigures | None
    """None: the fault was never injected."""
    seconds_to_ready: float | None
    """From injection to full readiness; None: not within the run."""


@dataclass(frozen=True)
class Scaling:
    """What the sampler saw the autoscalers do; None for a run without cluster access."""

    scale_outs: Sequence[ScaleOut]
    sampled_until: float
    """Seconds from the run's start to the last sample."""


def gates_of(
    profile: Profile,
    overall: Figures,
    lost_writes: int | None,
    duplicated_writes: int | None,
    faults: Sequence[FaultWindow],
    scaling: Scaling | None,
) -> list[Gate]:
    """Stress reports its breaking point instead of gating latency and errors. No profile may
    lose an acknowledged write or apply one twice; writes that could not be read back (None)
    fail those gates too."""
    result: list[Gate] = []
    if profile.gates_latency_and_errors:
        result.append(
            Gate(f"p95 < {MAX_P95_MS:g} ms", overall.p95_ms < MAX_P95_MS, f"{overall.p95_ms:g} ms")
        )
        result.append(
            Gate(
                f"errors < {MAX_ERROR_RATE:.0%}",
                overall.error_rate < MAX_ERROR_RATE,
                f"{overall.error_rate:.2%}",
            )
        )
    for name, count in (
        ("acknowledged writes lost = 0", lost_writes),
        ("writes applied twice = 0", duplicated_writes),
    ):
        result.append(Gate(name, count == 0, "not read back" if count is None else str(count)))
    for fault in faults:
        result.extend(_fault_gates(fault))
    if profile.expects_scaling:
        result.extend(_scaling_gates(scaling))
    return result


def _fault_gates(fault: FaultWindow) -> list[Gate]:
    ready_within = FAULT_READY_WITHIN_SECONDS[fault.kind]
    ready = fault.seconds_to_ready
    readiness = Gate(
        f"{fault.label}: fully ready again within {ready_within:g} s",
        ready is not None and ready <= ready_within,
        "never" if ready is None else f"{ready:g} s",
    )
    if fault.window is None:
        return [Gate(f"{fault.label}: injected", False, "no"), readiness]
    window = fault.window
    gap = window.longest_gap_seconds.get("frontend")
    return [
        Gate(
            f"{fault.label}: failed in its window <= {FAULT_MAX_FAILED_SHARE:.0%}",
            window.failure_share <= FAULT_MAX_FAILED_SHARE,
            f"{window.failure_share:.2%} ({window.failures} of {window.requests})",
        ),
        Gate(
            f"{fault.label}: longest gap through the frontend <= "
            f"{FAULT_MAX_FRONTEND_GAP_SECONDS:g} s",
            gap is not None and gap <= FAULT_MAX_FRONTEND_GAP_SECONDS,
            "no request through the frontend" if gap is None else f"{gap:g} s",
        ),
        readiness,
    ]


def _scaling_gates(scaling: Scaling | None) -> list[Gate]:
    rose = "autoscaling: an autoscaler raised its desired replicas under load"
    ready = (
        f"autoscaling: every replica added was ready within {SCALE_OUT_READY_WITHIN_SECONDS:g} s"
    )
    if scaling is None:
        unseen = "not observed (no cluster access: give --stack or a kube context)"
        return [Gate(rose, False, unseen), Gate(ready, False, unseen)]
    outs = scaling.scale_outs
    # A decision too close to the last sample to have had its time is not judged.
    judged = [
        out
        for out in outs
        if out.ready_at is not None
        or out.decided_at + SCALE_OUT_READY_WITHIN_SECONDS <= scaling.sampled_until
    ]
    slow = [
        out
        for out in judged
        if out.seconds_to_ready is None or out.seconds_to_ready > SCALE_OUT_READY_WITHIN_SECONDS
    ]
    described = ", ".join(
        f"{out.autoscaler} {out.from_replicas}->{out.to_replicas} "
        f"{'never' if out.seconds_to_ready is None else f'{out.seconds_to_ready:g} s'}"
        for out in (slow or judged)
    )
    return [
        Gate(rose, bool(outs), f"{len(outs)} scale-out(s)" if outs else "none"),
        Gate(ready, bool(judged) and not slow, described or "none to judge"),
    ]
