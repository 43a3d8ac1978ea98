"""The sampler's reading of the cluster, faults' readiness and the image-change's second name."""

from __future__ import annotations

from typing import Any

import pytest
from loadplan.faults import WorkloadChange, not_ready, same_image_spelt_otherwise
from loadplan.sampler import cpu_millicores, memory_mib, parse_sample


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
    assert same_image_spelt_otherwise(reference) == other


@pytest.mark.parametrize(
    "reference",
    ["127.0.0.1:5000/todo-base/python:3.12", "ghcr.io/acme/python:3.12", "localhost/python"],
)
def test_another_registry_has_none(reference: str) -> None:
    with pytest.raises(ValueError, match="another registry"):
        same_image_spelt_otherwise(reference)


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
                "spec": {},
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
    assert (sample.autoscalers["backend"].desired, sample.autoscalers["backend"].cpu_percent) == (
        3,
        85,
    )
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
