"""The sampler's reading of the cluster, faults' readiness, and image-change's name and deploy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadplan.arguments import REPO_DIR
from loadplan.faults import Faults, WorkloadChange, not_ready, same_image_spelt_otherwise
from loadplan.kube import CommandError, Kubectl, Pulumi, build_arg_in_state, run_command
from loadplan.sampler import (
    Autoscaler,
    Replicas,
    Sample,
    cpu_millicores,
    memory_mib,
    parse_sample,
    scale_outs,
)


def test_quantities() -> None:
    assert cpu_millicores("250m") == 250
    assert cpu_millicores("2") == 2000
    assert cpu_millicores("123456789n") == pytest.approx(123.456789)
    assert cpu_millicores("1500u") == 1.5
    assert memory_mib("131072Ki") == 128
    assert memory_mib("1Gi") == 1024
    assert memory_mib("1048576") == 1
    assert memory_mib("1M") == pytest.approx(0.953674, rel=1e-5)


def deployment(
    name: str, wanted: int, ready: int, image: str = "todo-backend:a", **status: int
) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": name, "generation": 2},
        "spec": {"replicas": wanted, "template": {"spec": {"containers": [{"image": image}]}}},
        "status": {
            "observedGeneration": 2,
            "replicas": status.get("replicas", wanted),
            "readyReplicas": ready,
            "updatedReplicas": status.get("updated", wanted),
            "availableReplicas": ready,
        },
    }


def pod(
    name: str, uid: str, component: str = "backend", *, deleting: bool = False, restarts: int = 0
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "uid": uid,
        "labels": {"app.kubernetes.io/component": component},
    }
    if deleting:
        meta["deletionTimestamp"] = "2026-12-02T05:00:00Z"
    return {
        "kind": "Pod",
        "metadata": meta,
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"restartCount": restarts}],
        },
    }


def test_whole_when_every_replica_is_ready_and_updated() -> None:
    objects = {
        "items": [deployment("backend", 2, 2), deployment("frontend", 1, 1), pod("backend-1", "u1")]
    }
    assert not_ready(objects, WorkloadChange()) == []


def test_not_whole_while_a_replica_is_missing_or_old_or_a_pod_stops() -> None:
    objects = {
        "items": [
            deployment("backend", 2, 1),
            deployment("frontend", 2, 2, updated=1, replicas=3),
            pod("backend-1", "u1", deleting=True),
        ]
    }
    assert not_ready(objects, WorkloadChange()) == [
        "deployment/backend: wants 2, ready 1, available 1",
        "deployment/frontend: wants 2, updated 1, running 3",
        "pod/backend-1: shutting down",
    ]


def test_not_whole_until_the_deleted_pod_and_the_old_image_are_gone() -> None:
    objects = {
        "items": [
            deployment("backend", 1, 1, image="todo-backend:old"),
            pod("postgres-0", "u-old", "database"),
        ]
    }
    change = WorkloadChange(gone_pod_uid="u-old", backend_image_before="todo-backend:old")
    assert not_ready(objects, change) == [
        "deployment/backend: still on todo-backend:old",
        "pod/postgres-0: the deleted pod is still there",
    ]


DIGEST = "sha256:" + "ab" * 32


def no_digest(reference: str) -> str | None:
    raise AssertionError(f"a Docker Hub name needs no digest lookup ({reference})")


@pytest.mark.parametrize(
    ("reference", "other"),
    [
        ("python:3.12-alpine", "docker.io/library/python:3.12-alpine"),
        ("docker.io/library/python:3.12-alpine", "python:3.12-alpine"),
        ("acme/python:3.12", "docker.io/acme/python:3.12"),
        ("docker.io/acme/python:3.12", "acme/python:3.12"),
    ],
)
def test_a_docker_hub_base_has_a_second_name(reference: str, other: str) -> None:
    assert same_image_spelt_otherwise(reference, no_digest) == other


def test_another_registry_names_the_same_image_by_its_tag_and_digest() -> None:
    asked: list[str] = []

    def digest_of(reference: str) -> str | None:
        asked.append(reference)
        return DIGEST

    spelt = same_image_spelt_otherwise("127.0.0.1:5000/python:3.12-alpine", digest_of)
    assert spelt == f"127.0.0.1:5000/python:3.12-alpine@{DIGEST}"
    assert asked == ["127.0.0.1:5000/python:3.12-alpine"]
    # and back: the digest dropped, the tag kept
    assert same_image_spelt_otherwise(spelt, no_digest) == "127.0.0.1:5000/python:3.12-alpine"


@pytest.mark.parametrize(
    "reference",
    [
        "127.0.0.1:5000/todo-base/python:3.12",
        "ghcr.io/acme/python:3.12",
        "localhost/python",
    ],
)
def test_another_registry_without_a_known_digest_is_refused(reference: str) -> None:
    with pytest.raises(
        ValueError, match=r"another registry than Docker Hub that .* no digest for: pull it"
    ):
        same_image_spelt_otherwise(reference, lambda _: None)


def test_a_base_pinned_by_digest_alone_is_refused() -> None:
    with pytest.raises(ValueError, match="pinned by digest alone"):
        same_image_spelt_otherwise(f"ghcr.io/acme/python@{DIGEST}", no_digest)


def test_the_dev_stack_deploys_through_the_main_job_others_with_pulumi_up(
    tmp_path: Path,
) -> None:
    settings = {"todo:pythonImage": "docker.io/library/python:3.12-alpine"}
    (tmp_path / "package.json").write_text('{"scripts": {"up:dev": "tsx launcher/main-job.ts up"}}')
    dev = Pulumi("dev", tmp_path)
    assert dev.deploy_command(settings, "minikube") == [
        "npm", "run", "up:dev", "--", "--context", "minikube", "--yes", "--skip-preview",
        "--config", "todo:pythonImage=docker.io/library/python:3.12-alpine",
    ]  # fmt: skip
    assert dev.deploy_command({}, None) == [
        "npm",
        "run",
        "up:dev",
        "--",
        "--yes",
        "--skip-preview",
    ]
    assert Pulumi("prod", tmp_path).deploy_command(settings, "minikube") == [
        "pulumi", "up", "--yes", "--skip-preview", "--stack", "prod", "--non-interactive",
        "--color", "never", "--config", "todo:pythonImage=docker.io/library/python:3.12-alpine",
    ]  # fmt: skip
    # a project without the main job (another checkout layout) deploys dev with pulumi up too
    assert Pulumi("dev", tmp_path / "elsewhere").deploy_command({}, None)[:2] == [
        "pulumi",
        "up",
    ]


def test_a_sample_reads_replicas_autoscalers_pods_and_nodes() -> None:
    objects = {
        "items": [
            deployment("backend", 2, 1),
            {
                "kind": "StatefulSet",
                "metadata": {"name": "postgres"},
                "spec": {"replicas": 1},
                "status": {"readyReplicas": 1},
            },
            {
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "backend"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "backend"}},
                "status": {
                    "desiredReplicas": 3,
                    "currentReplicas": 2,
                    "currentMetrics": [
                        {
                            "type": "Resource",
                            "resource": {"name": "cpu", "current": {"averageUtilization": 85}},
                        }
                    ],
                },
            },
            pod("backend-1", "u1", restarts=2),
        ]
    }
    pod_metrics = {
        "items": [
            {
                "metadata": {"name": "backend-1"},
                "containers": [{"usage": {"cpu": "150000000n", "memory": "65536Ki"}}],
            }
        ]
    }
    node_metrics = {"items": [{"metadata": {"name": "node-a"}, "usage": {"cpu": "1500m"}}]}
    sample = parse_sample(5.0, objects, pod_metrics, node_metrics, {"node-a": 2000.0}, 40.0, [])
    assert sample.workloads["deployment/backend"].ready == 1
    assert sample.workloads["statefulset/postgres"].desired == 1
    assert sample.autoscalers["backend"] == Autoscaler(3, 2, 85, "deployment/backend")
    backend = sample.pods["backend-1"]
    assert (backend.component, backend.restarts, backend.cpu_millicores, backend.memory_mib) == (
        "backend",
        2,
        150.0,
        64.0,
    )
    assert sample.node_cpu_percent == {"node-a": 75.0}


def test_a_sample_without_the_metrics_api_still_has_replicas() -> None:
    sample = parse_sample(
        5.0, {"items": [pod("backend-1", "u1")]}, None, None, {}, None, ["pod metrics: 503"]
    )
    assert sample.pods["backend-1"].cpu_millicores is None
    assert sample.node_cpu_percent == {}


def scaling_sample(at: float, desired: int, ready: int, cpu: int) -> Sample:
    return Sample(
        at,
        {"deployment/backend": Replicas(desired, ready)},
        {"backend": Autoscaler(desired, ready, cpu, "deployment/backend")},
        {},
        {},
        None,
    )


def test_a_scale_out_is_timed_from_the_decision_to_all_its_replicas_ready() -> None:
    samples = [
        scaling_sample(1005.0, 1, 1, 40),
        scaling_sample(1010.0, 1, 1, 95),
        scaling_sample(1015.0, 3, 1, 120),  # decided: 1 -> 3
        scaling_sample(1020.0, 3, 2, 80),
        scaling_sample(1025.0, 4, 3, 75),  # decided: 3 -> 4, while the first is complete
        scaling_sample(1030.0, 4, 3, 70),
        scaling_sample(1035.0, 2, 2, 20),  # a scale-in is not a scale-out
        scaling_sample(1040.0, 5, 2, 90),  # never all ready within the run
    ]
    outs = scale_outs(samples, started_at=1000.0)
    assert [(o.from_replicas, o.to_replicas, o.decided_at, o.cpu_percent) for o in outs] == [
        (1, 3, 15.0, 120),
        (3, 4, 25.0, 75),
        (2, 5, 40.0, 90),
    ]
    assert [(o.ready_at, o.seconds_to_ready) for o in outs] == [
        (25.0, 10.0),
        (None, None),
        (None, None),
    ]


def test_no_rise_no_scale_out() -> None:
    assert scale_outs([scaling_sample(1005.0 + i, 2, 2, 50) for i in range(5)], 1000.0) == []
    assert scale_outs([], 1000.0) == []


def test_the_deployed_base_is_read_from_the_backend_image_in_the_state() -> None:
    urn = "urn:pulumi:dev::todo::todo:components:Images$docker-build:index:Image::"
    state = {
        "deployment": {
            "resources": [
                {"type": "docker-build:index:Image", "urn": urn + "frontend",
                 "inputs": {"buildArgs": {"NODE_IMAGE": "node:24-alpine"}}},
                {"type": "docker-build:index:Image", "urn": urn + "backend",
                 "inputs": {"buildArgs": {"PYTHON_IMAGE": "127.0.0.1:5000/python:3.12"}}},
            ]
        }
    }  # fmt: skip
    assert build_arg_in_state(state, "backend", "PYTHON_IMAGE") == "127.0.0.1:5000/python:3.12"
    assert build_arg_in_state(state, "frontend", "PYTHON_IMAGE") is None
    assert build_arg_in_state({}, "backend", "PYTHON_IMAGE") is None


class RecordingPulumi(Pulumi):
    """Deploys by writing what `pulumi up --config` would into the stack file."""

    deployed: list[dict[str, str]]

    def deployed_build_arg(self, image: str, name: str) -> str:
        return "python:3.12-alpine"

    def deploy(
        self,
        settings: dict[str, str],
        kube_context: str | None,
        log: Path,
        timeout: float,
    ) -> None:
        self.deployed.append(settings)
        for key, value in settings.items():
            with self.stack_file.open("a") as file:
                file.write(f"  {key}: {value}\n")


class FixedKubectl(Kubectl):
    def run(self, *args: str, timeout: float = 30.0) -> str:
        return "todo-backend:before"


@pytest.mark.parametrize("had_stack_file", [True, False])
def test_image_change_deploys_the_second_name_then_puts_the_stack_file_back(
    tmp_path: Path, had_stack_file: bool
) -> None:
    pulumi = RecordingPulumi("dev", tmp_path)
    object.__setattr__(pulumi, "deployed", [])
    original = b"config:\n  todo:namespace: todo-app\n"
    if had_stack_file:
        pulumi.stack_file.write_bytes(original)
    faults = Faults(FixedKubectl(), "todo-app", pulumi, tmp_path / "pulumi.log")

    injection = faults.inject("image-change")
    assert injection.problem is None
    assert injection.change == WorkloadChange(backend_image_before="todo-backend:before")
    assert "python:3.12-alpine -> docker.io/library/python:3.12-alpine" in injection.detail
    assert pulumi.deployed == [{"todo:pythonImage": "docker.io/library/python:3.12-alpine"}]

    assert faults.revert() == "Pulumi.dev.yaml put back as it was and deployed again"
    assert pulumi.deployed[-1] == {}
    assert pulumi.stack_file.exists() == had_stack_file
    if had_stack_file:
        assert pulumi.stack_file.read_bytes() == original
    assert faults.revert() is None  # once only


def test_this_checkout_deploys_dev_through_its_main_job() -> None:
    assert Pulumi("dev", REPO_DIR).deploy_command({}, None)[:3] == ["npm", "run", "up:dev"]


def test_a_cli_missing_from_path_is_a_command_error_naming_the_fix() -> None:
    with pytest.raises(CommandError, match=r"no-such-cli is not on PATH.*toolchain/bin"):
        run_command(["no-such-cli", "version"], timeout=5)
