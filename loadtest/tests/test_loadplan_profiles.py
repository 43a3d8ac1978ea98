"""The design's profiles (seed section 10) and their shortened forms."""

from __future__ import annotations

import pytest

from loadplan.profiles import Step, build_profile


def test_smoke_and_load_are_the_designs() -> None:
    assert build_profile("smoke").steps == (Step(0.0, 60.0, 5),)
    assert build_profile("load").steps == (Step(0.0, 300.0, 50),)
    assert build_profile("smoke").gates_latency_and_errors


def test_stress_adds_20_users_every_30_seconds_up_to_200() -> None:
    stress = build_profile("stress")
    assert [step.users for step in stress.steps] == list(range(20, 201, 20))
    assert [step.start for step in stress.steps] == [30.0 * index for index in range(10)]
    assert stress.duration == 300.0
    assert not stress.gates_latency_and_errors


def test_a_shortened_stress_run_keeps_its_steps_and_ends_at_its_top() -> None:
    stress = build_profile("stress", duration=50, users=50)
    assert [(step.users, step.start, step.end) for step in stress.steps] == [
        (20, 0.0, 50 / 3),
        (40, 50 / 3, 100 / 3),
        (50, 100 / 3, 50.0),
    ]


def test_overrides_shorten_smoke() -> None:
    smoke = build_profile("smoke", duration=20, users=2)
    assert smoke.steps == (Step(0.0, 20.0, 2),)
    assert smoke.users_at(19.9) == 2
    assert smoke.users_at(20.0) == 0


@pytest.mark.parametrize(("duration", "users"), [(0, None), (-5, None), (None, 0)])
def test_refuses_empty_runs(duration: float | None, users: int | None) -> None:
    with pytest.raises(ValueError, match="--"):
        build_profile("load", duration=duration, users=users)
