"""The faults the plan injects under load, one at a time, and when the app is whole again.

- backend-pod / frontend-pod: one ready pod of that component is deleted.
- postgres-pod: the in-cluster database's pod (StatefulSet `postgres`) is deleted.
- rolling-restart: `kubectl rollout restart` of both Deployments.
- image-change: `pulumi up` with `todo:pythonImage` spelt another way that names the same base
  image (`python:3.12-alpine` <-> `docker.io/library/python:3.12-alpine`). The backend's
  content tag hashes its build args, so the image gets a new tag and the backend rolls out
  through the migration Job, as a code change would, with the very same base; `revert()`
  restores the setting (and runs `pulumi up` again) after the run.

Fully ready: every Deployment and StatefulSet of the namespace has all its replicas ready and
updated, no pod of the namespace is shutting down, and what the fault changed has changed
(the deleted pod is gone; the backend runs another image).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from loadplan.kube import CommandError, Kubectl, Pulumi
from loadplan.sampler import COMPONENT_LABEL

FaultKind = Literal[
    "backend-pod", "frontend-pod", "postgres-pod", "rolling-restart", "image-change"
]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "backend-pod",
    "frontend-pod",
    "postgres-pod",
    "rolling-restart",
    "image-change",
)
BASE_IMAGE_KEY = "todo:pythonImage"
POSTGRES_STATEFULSET = "postgres"
READY_POLL_SECONDS = 1.0
PULUMI_UP_TIMEOUT_SECONDS = 1800.0


def same_image_spelt_otherwise(reference: str) -> str:
    """Another name Docker resolves to the same image: a Docker Hub reference with or without
    its `docker.io/library/` (or `docker.io/`) prefix. Other registries have no second name."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if reference.startswith(prefix):
            return reference[len(prefix) :]
    first = reference.split("/", 1)[0]
    if "/" in reference and ("." in first or ":" in first or first == "localhost"):
        raise ValueError(
            f"{BASE_IMAGE_KEY} is {reference!r}, an image of another registry than Docker Hub: "
            "it has no second name that keeps the same base (image-change needs a Docker Hub base)"
        )
    return ("docker.io/" if "/" in reference else "docker.io/library/") + reference


@dataclass(frozen=True)
class WorkloadChange:
    """What an injected fault must have changed before the app counts as whole again."""

    gone_pod_uid: str | None = None
    backend_image_before: str | None = None


def not_ready(objects: dict[str, Any], change: WorkloadChange) -> list[str]:
    """Why the namespace is not fully ready (empty: it is), from
    `kubectl get deployments,statefulsets,pods -o json`."""
    reasons: list[str] = []
    for item in objects.get("items", []):
        kind, meta = item["kind"], item["metadata"]
        spec, status = item.get("spec", {}), item.get("status", {})
        name = f"{kind.lower()}/{meta['name']}"
        if kind in ("Deployment", "StatefulSet"):
            wanted = int(spec.get("replicas", 1))
            counts = {
                "ready": int(status.get("readyReplicas", 0)),
                "updated": int(status.get("updatedReplicas", 0)),
                "running": int(status.get("replicas", 0)),
            }
            if kind == "Deployment":
                counts["available"] = int(status.get("availableReplicas", 0))
            behind = [f"{key} {value}" for key, value in counts.items() if value != wanted]
            if int(status.get("observedGeneration", 0)) < int(meta.get("generation", 0)):
                behind.append("spec not observed yet")
            if behind:
                reasons.append(f"{name}: wants {wanted}, " + ", ".join(behind))
            if (
                kind == "Deployment"
                and meta["name"] == "backend"
                and change.backend_image_before is not None
                and spec["template"]["spec"]["containers"][0]["image"]
                == change.backend_image_before
            ):
                reasons.append(f"{name}: still on {change.backend_image_before}")
        elif kind == "Pod":
            if meta.get("deletionTimestamp"):
                reasons.append(f"{name}: shutting down")
            elif change.gone_pod_uid is not None and meta.get("uid") == change.gone_pod_uid:
                reasons.append(f"{name}: the deleted pod is still there")
    return reasons


@dataclass
class Injection:
    kind: FaultKind
    injected_at: float
    detail: str
    change: WorkloadChange
    ready_at: float | None = None
    problem: str | None = None


class Faults:
    def __init__(self, kubectl: Kubectl, namespace: str, pulumi: Pulumi | None, log: Path) -> None:
        self.kubectl = kubectl
        self.namespace = namespace
        self.pulumi = pulumi
        self.log = log
        self._restore_base_image: str | None = None
        self._base_image_was_set = False

    def objects(self) -> dict[str, Any]:
        result: dict[str, Any] = self.kubectl.json(
            "-n", self.namespace, "get", "deployments,statefulsets,pods"
        )
        return result

    def refusal(self, kind: FaultKind) -> str | None:
        """Why this fault cannot run against this stack (checked before the load starts)."""
        if kind == "postgres-pod":
            names = [
                item["metadata"]["name"]
                for item in self.objects()["items"]
                if item["kind"] == "StatefulSet"
            ]
            if POSTGRES_STATEFULSET not in names:
                return (
                    f"no StatefulSet {POSTGRES_STATEFULSET} in {self.namespace}: "
                    "the stack's database is external"
                )
        if kind == "image-change":
            if self.pulumi is None:
                return "image-change runs `pulumi up`: give --stack"
            try:
                same_image_spelt_otherwise(self.pulumi.config_get(BASE_IMAGE_KEY))
            except ValueError as error:
                return str(error)
        return None

    def _pod_of(self, component: str) -> dict[str, Any]:
        pods = self.kubectl.json(
            "-n", self.namespace, "get", "pods", "-l", f"{COMPONENT_LABEL}={component}"
        )["items"]
        ready = [
            pod
            for pod in pods
            if not pod["metadata"].get("deletionTimestamp")
            and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in pod.get("status", {}).get("conditions", [])
            )
        ]
        if not ready:
            raise CommandError(f"no ready {component} pod in {self.namespace}")
        chosen: dict[str, Any] = sorted(ready, key=lambda pod: str(pod["metadata"]["name"]))[0]
        return chosen

    def _delete_pod(self, kind: FaultKind, pod: dict[str, Any]) -> Injection:
        name = pod["metadata"]["name"]
        at = time.time()
        self.kubectl.run("-n", self.namespace, "delete", "pod", name, "--wait=false")
        return Injection(
            kind, at, f"deleted pod {name}", WorkloadChange(gone_pod_uid=pod["metadata"]["uid"])
        )

    def inject(self, kind: FaultKind) -> Injection:
        if kind == "backend-pod":
            return self._delete_pod(kind, self._pod_of("backend"))
        if kind == "frontend-pod":
            return self._delete_pod(kind, self._pod_of("frontend"))
        if kind == "postgres-pod":
            return self._delete_pod(kind, self._pod_of("database"))
        if kind == "rolling-restart":
            at = time.time()
            self.kubectl.run(
                "-n",
                self.namespace,
                "rollout",
                "restart",
                "deployment/backend",
                "deployment/frontend",
            )
            return Injection(
                kind,
                at,
                "kubectl rollout restart deployment/backend deployment/frontend",
                WorkloadChange(),
            )
        return self._change_image()

    def _change_image(self) -> Injection:
        assert self.pulumi is not None  # refusal() stops image-change without a stack
        before = self.pulumi.config_get(BASE_IMAGE_KEY)
        self._base_image_was_set = self.pulumi.setting_in_stack_file(BASE_IMAGE_KEY)
        image_before = self.kubectl.run(
            "-n",
            self.namespace,
            "get",
            "deployment",
            "backend",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ).strip()
        other = same_image_spelt_otherwise(before)
        self.pulumi.config_set(BASE_IMAGE_KEY, other)
        self._restore_base_image = before
        injection = Injection(
            "image-change",
            time.time(),
            f"pulumi up with {BASE_IMAGE_KEY} {before} -> {other} "
            "(same base image, new backend tag)",
            WorkloadChange(backend_image_before=image_before),
        )
        try:
            self.pulumi.up(self.log, PULUMI_UP_TIMEOUT_SECONDS)
        except CommandError as error:
            injection.problem = str(error)
        return injection

    def wait_ready(self, injection: Injection, within: float) -> None:
        """Sets `ready_at` once the namespace is fully ready, or `problem` after `within` s."""
        if injection.problem is not None:
            return
        deadline = time.monotonic() + within
        reasons = ["not asked yet"]
        while time.monotonic() < deadline:
            try:
                reasons = not_ready(self.objects(), injection.change)
            except CommandError as error:
                reasons = [str(error)]
            if not reasons:
                injection.ready_at = time.time()
                return
            time.sleep(READY_POLL_SECONDS)
        injection.problem = f"not fully ready within {within:g} s: " + "; ".join(reasons)

    def revert(self) -> str | None:
        """Undoes image-change's setting with `pulumi up`; says what it did, or None."""
        if self._restore_base_image is None or self.pulumi is None:
            return None
        if self._base_image_was_set:
            self.pulumi.config_set(BASE_IMAGE_KEY, self._restore_base_image)
        else:
            self.pulumi.config_remove(BASE_IMAGE_KEY)
        self._restore_base_image = None
        self.pulumi.up(self.log, PULUMI_UP_TIMEOUT_SECONDS)
        return f"{BASE_IMAGE_KEY} restored and pulumi up run again"
