"""What the cluster does while the load runs, every 5 s: replicas per Deployment, StatefulSet
and HPA, each pod's CPU, memory and restarts (metrics API), the node's CPU (metrics API), and
this machine's CPU (/proc/stat: where Locust runs, and the node too when the cluster runs here).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loadplan.kube import CommandError, Kubectl

SAMPLE_SECONDS = 5.0
# The label components/contract.ts gives every pod of the app: frontend, backend, database.
COMPONENT_LABEL = "app.kubernetes.io/component"

_CPU_UNITS = {"n": 1e-6, "u": 1e-3, "m": 1.0}
_MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}


def cpu_millicores(quantity: str) -> float:
    """A Kubernetes CPU quantity ("250m", "1", "123456789n") in millicores."""
    unit = quantity[-1]
    if unit in _CPU_UNITS:
        return float(quantity[:-1]) * _CPU_UNITS[unit]
    return float(quantity) * 1000


def memory_mib(quantity: str) -> float:
    """A Kubernetes memory quantity ("131072Ki", "512Mi", "1G", bytes) in MiB."""
    for suffix in sorted(_MEMORY_UNITS, key=len, reverse=True):
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * _MEMORY_UNITS[suffix] / 2**20
    return float(quantity) / 2**20


@dataclass(frozen=True)
class Replicas:
    desired: int
    ready: int


@dataclass(frozen=True)
class Autoscaler:
    desired: int
    current: int
    cpu_percent: int | None
    target: str = ""
    """What it scales, as in `workloads`: "deployment/backend"."""


@dataclass(frozen=True)
class PodState:
    component: str
    ready: bool
    restarts: int
    cpu_millicores: float | None
    memory_mib: float | None


@dataclass(frozen=True)
class Sample:
    at: float
    workloads: dict[str, Replicas]
    """"deployment/backend", "statefulset/postgres", ..."""
    autoscalers: dict[str, Autoscaler]
    pods: dict[str, PodState]
    node_cpu_percent: dict[str, float]
    host_cpu_percent: float | None
    problems: list[str] = field(default_factory=list)


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def parse_sample(
    at: float,
    objects: dict[str, Any],
    pod_metrics: dict[str, Any] | None,
    node_metrics: dict[str, Any] | None,
    node_cpu_capacity: dict[str, float],
    host_cpu_percent: float | None,
    problems: list[str],
) -> Sample:
    """One sample, from `kubectl get deployments,statefulsets,hpa,pods -o json` and the
    metrics API's pods and nodes."""
    workloads: dict[str, Replicas] = {}
    autoscalers: dict[str, Autoscaler] = {}
    pods: dict[str, PodState] = {}
    usage: dict[str, tuple[float, float]] = {}
    for item in (pod_metrics or {}).get("items", []):
        containers = item.get("containers", [])
        usage[item["metadata"]["name"]] = (
            sum(cpu_millicores(c["usage"]["cpu"]) for c in containers),
            sum(memory_mib(c["usage"]["memory"]) for c in containers),
        )
    for item in objects.get("items", []):
        kind, name = item["kind"], item["metadata"]["name"]
        spec, status = item.get("spec", {}), item.get("status", {})
        if kind in ("Deployment", "StatefulSet"):
            workloads[f"{kind.lower()}/{name}"] = Replicas(
                int(spec.get("replicas", 0)), int(status.get("readyReplicas", 0))
            )
        elif kind == "HorizontalPodAutoscaler":
            cpu = next(
                (
                    m["resource"]["current"].get("averageUtilization")
                    for m in status.get("currentMetrics") or []
                    if m.get("type") == "Resource" and m["resource"]["name"] == "cpu"
                ),
                None,
            )
            ref = spec.get("scaleTargetRef", {})
            autoscalers[name] = Autoscaler(
                int(status.get("desiredReplicas", 0)),
                int(status.get("currentReplicas", 0)),
                cpu,
                f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}",
            )
        elif kind == "Pod":
            cpu, memory = usage.get(name, (None, None))
            pods[name] = PodState(
                component=item["metadata"].get("labels", {}).get(COMPONENT_LABEL, "other"),
                ready=_ready(item),
                restarts=sum(
                    int(c.get("restartCount", 0)) for c in status.get("containerStatuses", [])
                ),
                cpu_millicores=cpu,
                memory_mib=memory,
            )
    node_cpu: dict[str, float] = {}
    for item in (node_metrics or {}).get("items", []):
        name = item["metadata"]["name"]
        if name in node_cpu_capacity:
            node_cpu[name] = round(
                cpu_millicores(item["usage"]["cpu"]) / node_cpu_capacity[name] * 100, 1
            )
    return Sample(at, workloads, autoscalers, pods, node_cpu, host_cpu_percent, problems)


def _cpu_times() -> tuple[float, float]:
    """Busy and total jiffies of this machine, from /proc/stat's first line."""
    fields = [
        float(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class Sampler(threading.Thread):
    def __init__(
        self, kubectl: Kubectl, namespace: str, node_cpu_capacity: dict[str, float], log: Path
    ) -> None:
        super().__init__(name="sampler", daemon=True)
        self.kubectl = kubectl
        self.namespace = namespace
        self.node_cpu_capacity = node_cpu_capacity
        self.log = log
        self.samples: list[Sample] = []
        self._stop_requested = threading.Event()

    def run(self) -> None:
        previous = _cpu_times()
        with self.log.open("a") as out:
            while not self._stop_requested.is_set():
                began = time.monotonic()
                current = _cpu_times()
                busy, total = current[0] - previous[0], current[1] - previous[1]
                previous = current
                sample = self.take(round(busy / total * 100, 1) if total > 0 else None)
                self.samples.append(sample)
                out.write(json.dumps(asdict(sample)) + "\n")
                out.flush()
                self._stop_requested.wait(max(0.0, SAMPLE_SECONDS - (time.monotonic() - began)))

    def take(self, host_cpu_percent: float | None) -> Sample:
        at = time.time()
        problems: list[str] = []

        def fetch(what: str, call: Any) -> Any:
            try:
                return call()
            except (CommandError, json.JSONDecodeError) as error:
                problems.append(f"{what}: {error}")
                return None

        ns = self.namespace
        objects = fetch(
            "objects",
            lambda: self.kubectl.json(
                "-n", ns, "get", "deployments,statefulsets,horizontalpodautoscalers,pods"
            ),
        )
        pod_metrics = fetch(
            "pod metrics",
            lambda: self.kubectl.raw(f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
        )
        node_metrics = fetch(
            "node metrics", lambda: self.kubectl.raw("/apis/metrics.k8s.io/v1beta1/nodes")
        )
        return parse_sample(
            at,
            objects or {},
            pod_metrics,
            node_metrics,
            self.node_cpu_capacity,
            host_cpu_percent,
            problems,
        )

    def stop(self) -> None:
        self._stop_requested.set()
        self.join(timeout=60)


@dataclass(frozen=True)
class ScaleOut:
    """One decision of an autoscaler to add replicas, seen by the sampler."""

    autoscaler: str
    from_replicas: int
    to_replicas: int
    decided_at: float
    """Seconds from the run's start: the first sample with the higher desired count."""
    cpu_percent: int | None
    """The autoscaler's CPU reading in that sample."""
    ready_at: float | None
    """The first sample where the target had that many replicas ready; None: never."""

    @property
    def seconds_to_ready(self) -> float | None:
        return None if self.ready_at is None else round(self.ready_at - self.decided_at, 2)


def scale_outs(samples: Sequence[Sample], started_at: float) -> list[ScaleOut]:
    """Every rise of an autoscaler's desired replicas between two samples, and when its target
    first had them all ready (a later decision does not wait for the earlier one's readiness:
    each is timed on its own). Resolution: the sampling interval."""
    found: list[ScaleOut] = []
    previous: dict[str, int] = {}
    for index, sample in enumerate(samples):
        for name, autoscaler in sample.autoscalers.items():
            before = previous.get(name)
            previous[name] = autoscaler.desired
            if before is None or autoscaler.desired <= before:
                continue
            ready_at = next(
                (
                    later.at
                    for later in samples[index:]
                    if (replicas := later.workloads.get(autoscaler.target)) is not None
                    and replicas.ready >= autoscaler.desired
                ),
                None,
            )
            found.append(
                ScaleOut(
                    name,
                    before,
                    autoscaler.desired,
                    round(sample.at - started_at, 2),
                    autoscaler.cpu_percent,
                    None if ready_at is None else round(ready_at - started_at, 2),
                )
            )
    return found
