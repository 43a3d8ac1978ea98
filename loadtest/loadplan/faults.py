"""The faults the plan injects under load, one at a time, and when the app is whole again.

- backend-pod / frontend-pod: one ready pod of that component is deleted.
- postgres-pod: the in-cluster database's pod (StatefulSet `postgres`) is deleted.
- postgres-crash: a server process of the in-cluster database, one serving a connection of the
  app, is killed with SIGKILL, as the kernel's OOM killer does. PostgreSQL takes it for a crash:
  the postmaster ends every other session and runs crash recovery (WAL replay) before it
  accepts connections again; the pod and its container stay. (The postmaster itself is the
  container's PID 1, which a signal from inside its PID namespace cannot kill.)
- rolling-restart: `kubectl rollout restart` of both Deployments.
- image-change: the stack's deploy (`npm run up:dev` for dev, else `pulumi up`) with
  `todo:pythonImage` spelt another way that names the same base image as the deployed backend's
  (`python:3.12-alpine` <-> `docker.io/library/python:3.12-alpine`; `registry/python:3.12` <->
  `registry/python:3.12@sha256:...`). The backend's content tag hashes its build args, so the
  image gets a new tag and the backend rolls out through the migration Job, as a code change
  would, with the very same base; `revert()` puts the stack's file back as it was and deploys
  again after the run.

Fully ready: every Deployment and StatefulSet of the namespace has all its replicas ready and
updated, no pod of the namespace is shutting down, and what the fault changed has changed
(the deleted pod is gone; the backend runs another image; the crashed database logged that it
accepts connections again).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from loadplan.kube import COMMAND_TIMEOUT_SECONDS, CommandError, Kubectl, Pulumi, run_command
from loadplan.sampler import COMPONENT_LABEL

FaultKind = Literal[
    "backend-pod",
    "frontend-pod",
    "postgres-pod",
    "postgres-crash",
    "rolling-restart",
    "image-change",
]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "backend-pod",
    "frontend-pod",
    "postgres-pod",
    "postgres-crash",
    "rolling-restart",
    "image-change",
)
BASE_IMAGE_KEY = "todo:pythonImage"
# The backend's build argument that BASE_IMAGE_KEY gives (components/images.ts).
BACKEND_BASE_BUILD_ARG = "PYTHON_IMAGE"
POSTGRES_STATEFULSET = "postgres"
READY_POLL_SECONDS = 1.0
# Run in the database's container: SIGKILL to the first server process of a client connection
# ("postgres: user db address(port) state"), by /proc alone (the image need not have procps).
KILL_A_SERVER_PROCESS = r"""
for dir in /proc/[0-9]*; do
  cmd=$(tr '\000' ' ' < "$dir/cmdline" 2>/dev/null) || continue
  case $cmd in
    "postgres: "*"("*")"*) kill -KILL "${dir#/proc/}" && echo "${dir#/proc/} $cmd" && exit 0 ;;
  esac
done
echo "no server process of a client connection found" >&2
exit 1
"""
# What PostgreSQL logs once crash recovery is over (after "reinitializing").
RECOVERED_LOG_LINES = (
    "all server processes terminated; reinitializing",
    "ready to accept connections",
)
DEPLOY_TIMEOUT_SECONDS = 1800.0


def _repository(reference: str) -> str:
    """REFERENCE without its tag: `host:5000/name:tag` -> `host:5000/name`."""
    colon = reference.rfind(":")
    return reference[:colon] if colon > reference.rfind("/") else reference


def docker_repo_digest(reference: str) -> str | None:
    """The digest this machine's Docker recorded for REFERENCE when it pushed or pulled it."""
    try:
        found = run_command(
            ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", reference],
            COMMAND_TIMEOUT_SECONDS,
        )
    except (CommandError, FileNotFoundError):
        return None
    repository = _repository(reference)
    for repo_digest in json.loads(found) or []:
        name, _, digest = str(repo_digest).partition("@")
        if name == repository and digest:
            return digest
    return None


def same_image_spelt_otherwise(
    reference: str, repo_digest: Callable[[str], str | None] = docker_repo_digest
) -> str:
    """Another name Docker resolves to the same image: a Docker Hub reference with or without
    its `docker.io/library/` (or `docker.io/`) prefix; another registry's `name:tag` with or
    without the digest the tag points to (REPO_DIGEST finds it)."""
    if "@" in reference:
        named = reference.split("@", 1)[0]
        if _repository(named) == named:
            raise ValueError(
                f"{BASE_IMAGE_KEY} is {reference!r}, pinned by digest alone: it has no second "
                "name (image-change needs a tag beside the digest, name:tag@sha256:...)"
            )
        return named
    for prefix in ("docker.io/library/", "docker.io/"):
        if reference.startswith(prefix):
            return reference[len(prefix) :]
    first = reference.split("/", 1)[0]
    if "/" not in reference or not ("." in first or ":" in first or first == "localhost"):
        return ("docker.io/" if "/" in reference else "docker.io/library/") + reference
    digest = repo_digest(reference)
    if digest is None:
        raise ValueError(
            f"{BASE_IMAGE_KEY} is {reference!r}, an image of another registry than Docker Hub "
            "that this machine's Docker has no digest for: pull it (docker pull), or pin it as "
            "name:tag@sha256:digest"
        )
    return f"{reference}@{digest}"


@dataclass(frozen=True)
class WorkloadChange:
    """What an injected fault must have changed before the app counts as whole again."""

    gone_pod_uid: str | None = None
    backend_image_before: str | None = None
    crashed_database_pod: str | None = None
    """The pod whose server crashed: its log must show the recovery."""


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
        # image-change's stack file as it was (None: there was none), to put back after the run.
        self._stack_file_before: bytes | None = None
        self._changed_image = False

    def objects(self) -> dict[str, Any]:
        result: dict[str, Any] = self.kubectl.json(
            "-n", self.namespace, "get", "deployments,statefulsets,pods"
        )
        return result

    def refusal(self, kind: FaultKind) -> str | None:
        """Why this fault cannot run against this stack (checked before the load starts)."""
        if kind in ("postgres-pod", "postgres-crash"):
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
                same_image_spelt_otherwise(self._deployed_base_image())
            except (ValueError, CommandError) as error:
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
        if kind == "postgres-crash":
            return self._crash_database()
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

    def _crash_database(self) -> Injection:
        name = self._pod_of("database")["metadata"]["name"]
        at = time.time()
        killed = self.kubectl.run(
            "-n", self.namespace, "exec", name, "--", "sh", "-c", KILL_A_SERVER_PROCESS
        ).strip()
        return Injection(
            "postgres-crash",
            at,
            f"SIGKILL to a server process of pod {name}: {killed}",
            WorkloadChange(crashed_database_pod=name),
        )

    def _database_recovered(self, injection: Injection) -> list[str]:
        """Empty once the crashed server logged its recovery since the injection."""
        pod = injection.change.crashed_database_pod
        if pod is None:
            return []
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(injection.injected_at - 1))
        log = self.kubectl.run("-n", self.namespace, "logs", pod, f"--since-time={since}")
        reinitialized = log.find(RECOVERED_LOG_LINES[0])
        if reinitialized < 0 or RECOVERED_LOG_LINES[1] not in log[reinitialized:]:
            return [f"pod/{pod}: PostgreSQL has not logged its crash recovery yet"]
        return []

    def _deployed_base_image(self) -> str:
        assert self.pulumi is not None
        return self.pulumi.deployed_build_arg("backend", BACKEND_BASE_BUILD_ARG)

    def _change_image(self) -> Injection:
        assert self.pulumi is not None  # refusal() stops image-change without a stack
        before = self._deployed_base_image()
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
        stack_file = self.pulumi.stack_file
        self._stack_file_before = stack_file.read_bytes() if stack_file.exists() else None
        self._changed_image = True
        injection = Injection(
            "image-change",
            time.time(),
            f"{' '.join(self.pulumi.deploy_command({}, self.kubectl.context)[:3])} with "
            f"{BASE_IMAGE_KEY} {before} -> {other} (same base image, new backend tag)",
            WorkloadChange(backend_image_before=image_before),
        )
        try:
            self.pulumi.deploy(
                {BASE_IMAGE_KEY: other}, self.kubectl.context, self.log, DEPLOY_TIMEOUT_SECONDS
            )
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
                reasons = not_ready(self.objects(), injection.change) or self._database_recovered(
                    injection
                )
            except CommandError as error:
                reasons = [str(error)]
            if not reasons:
                injection.ready_at = time.time()
                return
            time.sleep(READY_POLL_SECONDS)
        injection.problem = f"not fully ready within {within:g} s: " + "; ".join(reasons)

    def revert(self) -> str | None:
        """Undoes image-change: the stack's file as it was, deployed again; says what it did,
        or None when there was nothing to undo."""
        if not self._changed_image or self.pulumi is None:
            return None
        stack_file = self.pulumi.stack_file
        if self._stack_file_before is None:
            stack_file.unlink(missing_ok=True)
        else:
            stack_file.write_bytes(self._stack_file_before)
        self._changed_image = False
        self.pulumi.deploy({}, self.kubectl.context, self.log, DEPLOY_TIMEOUT_SECONDS)
        return f"{stack_file.name} put back as it was and deployed again"
