"""The gates the exit status depends on: the design's criteria, each fault window's own and
the autoscaling gate, with the thresholds of profiles.py."""

from __future__ import annotations

from collections.abc import Sequence

from loadplan.analysis import RequestEvent, WindowFigures, figures_of
from loadplan.gates import FaultWindow, Gate, Scaling, gates_of
from loadplan.profiles import build_profile
from loadplan.sampler import ScaleOut

GOOD = figures_of([RequestEvent(0.0, "frontend", "GET /todos (page)", 50.0, True)], 1)


def window(requests: int, failures: int, frontend_gap: float) -> WindowFigures:
    return WindowFigures(
        start=20.0,
        end=50.0,
        requests=requests,
        failures=failures,
        failure_share=failures / requests if requests else 1.0,
        failures_by_channel={"frontend": failures},
        longest_gap_seconds={"all": frontend_gap, "frontend": frontend_gap},
    )


def failed(gates: Sequence[Gate]) -> dict[str, str]:
    return {g.name: g.value for g in gates if not g.passed}


def test_the_designs_criteria_gate_smoke_and_load() -> None:
    profile = build_profile("smoke")
    assert failed(gates_of(profile, GOOD, 0, 0, [], None)) == {}
    slow = figures_of([RequestEvent(0.0, "frontend", "x", 1000.0, True)], 1)
    assert list(failed(gates_of(profile, slow, 0, 0, [], None))) == ["p95 < 1000 ms"]
    failing = figures_of(
        [RequestEvent(0.0, "frontend", "x", 5.0, index != 0) for index in range(20)], 1
    )  # exactly 5 %
    assert list(failed(gates_of(profile, failing, 0, 0, [], None))) == ["errors < 5%"]


def test_stress_gates_writes_but_not_latency_or_errors() -> None:
    slow_and_failing = figures_of([RequestEvent(0.0, "frontend", "x", 5000.0, False)], 1)
    scaled = Scaling([ScaleOut("backend", 1, 2, 10.0, 90, 20.0)], 100.0)
    names = [g.name for g in gates_of(build_profile("stress"), slow_and_failing, 0, 0, [], scaled)]
    assert names == [
        "acknowledged writes lost = 0",
        "writes applied twice = 0",
        "autoscaling: an autoscaler raised its desired replicas under load",
        "autoscaling: every replica added was ready within 60 s",
    ]


def test_a_lost_a_duplicated_or_an_unread_write_fails() -> None:
    profile = build_profile("smoke")
    assert failed(gates_of(profile, GOOD, 1, 2, [], None)) == {
        "acknowledged writes lost = 0": "1",
        "writes applied twice = 0": "2",
    }
    assert failed(gates_of(profile, GOOD, None, None, [], None)) == {
        "acknowledged writes lost = 0": "not read back",
        "writes applied twice = 0": "not read back",
    }


def test_a_fault_window_passes_within_its_thresholds() -> None:
    ok = FaultWindow("1. postgres-pod", "postgres-pod", window(1000, 10, 15.0), 60.0)
    assert failed(gates_of(build_profile("smoke"), GOOD, 0, 0, [ok], None)) == {}


def test_a_fault_window_fails_on_its_share_its_gap_or_its_readiness() -> None:
    profile = build_profile("smoke")
    # 11 % failed while the run-wide error rate stays low: the window's own gate catches it.
    burst = FaultWindow("2. postgres-pod", "postgres-pod", window(743, 83, 3.0), 5.2)
    assert failed(gates_of(profile, GOOD, 0, 0, [burst], None)) == {
        "2. postgres-pod: failed in its window <= 1%": "11.17% (83 of 743)"
    }
    silent = FaultWindow("1. backend-pod", "backend-pod", window(100, 0, 15.5), 15.0)
    assert failed(gates_of(profile, GOOD, 0, 0, [silent], None)) == {
        "1. backend-pod: longest gap through the frontend <= 15 s": "15.5 s"
    }
    slow = FaultWindow("3. rolling-restart", "rolling-restart", window(100, 0, 1.0), 180.5)
    never = FaultWindow("4. postgres-crash", "postgres-crash", window(100, 0, 1.0), None)
    assert failed(gates_of(profile, GOOD, 0, 0, [slow, never], None)) == {
        "3. rolling-restart: fully ready again within 180 s": "180.5 s",
        "4. postgres-crash: fully ready again within 60 s": "never",
    }


def test_a_fault_never_injected_or_with_no_request_in_its_window_fails() -> None:
    profile = build_profile("smoke")
    skipped = FaultWindow("1. image-change", "image-change", None, None)
    assert failed(gates_of(profile, GOOD, 0, 0, [skipped], None)) == {
        "1. image-change: injected": "no",
        "1. image-change: fully ready again within 600 s": "never",
    }
    empty = WindowFigures(20.0, 50.0, 0, 0, 1.0, {}, {"all": 30.0})
    quiet = FaultWindow("1. frontend-pod", "frontend-pod", empty, 9.0)
    assert failed(gates_of(profile, GOOD, 0, 0, [quiet], None)) == {
        "1. frontend-pod: failed in its window <= 1%": "100.00% (0 of 0)",
        "1. frontend-pod: longest gap through the frontend <= 15 s": (
            "no request through the frontend"
        ),
    }


def test_the_load_profile_gates_autoscaling() -> None:
    profile = build_profile("load")
    prompt = ScaleOut("backend", 1, 2, 29.4, 113, 39.4)
    assert failed(gates_of(profile, GOOD, 0, 0, [], Scaling([prompt], 300.0))) == {}
    assert failed(gates_of(profile, GOOD, 0, 0, [], Scaling([], 300.0))) == {
        "autoscaling: an autoscaler raised its desired replicas under load": "none",
        "autoscaling: every replica added was ready within 60 s": "none to judge",
    }
    slow = ScaleOut("frontend", 4, 5, 44.4, 422, 110.0)
    stuck = ScaleOut("frontend", 5, 6, 100.0, 300, None)
    assert failed(gates_of(profile, GOOD, 0, 0, [], Scaling([prompt, slow, stuck], 300.0))) == {
        "autoscaling: every replica added was ready within 60 s": (
            "frontend 4->5 65.6 s, frontend 5->6 never"
        )
    }
    unseen = "not observed (no cluster access: give --stack or a kube context)"
    assert failed(gates_of(profile, GOOD, 0, 0, [], None)) == {
        "autoscaling: an autoscaler raised its desired replicas under load": unseen,
        "autoscaling: every replica added was ready within 60 s": unseen,
    }


def test_a_scale_out_too_close_to_the_end_is_not_judged() -> None:
    late = ScaleOut("backend", 2, 3, 280.0, 95, None)
    prompt = ScaleOut("backend", 1, 2, 29.4, 113, 39.4)
    scaling = Scaling([prompt, late], 300.0)
    assert failed(gates_of(build_profile("load"), GOOD, 0, 0, [], scaling)) == {}
    # The smoke profile's five users are not meant to scale anything.
    assert failed(gates_of(build_profile("smoke"), GOOD, 0, 0, [], Scaling([], 60.0))) == {}
