"""Runs helm on the chart and reads what it renders, for the chart tests."""

import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

CHART_DIR = Path(os.environ["CHART_DIR"])
HELM = os.environ["HELM_BIN"]
KUBERNETES_VERSION = os.environ["KUBERNETES_VERSION"]
RELEASE = "todo"
NAMESPACE = "todo-app"
VALUES_FILES = ("values.yaml", "values-dev.yaml", "values-prod.yaml")


@dataclass(frozen=True)
class HelmResult:
    returncode: int
    stdout: str
    stderr: str


def helm(*args: str) -> HelmResult:
    """Runs helm with no cluster at all: KUBECONFIG points nowhere."""
    completed = subprocess.run(
        [HELM, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "KUBECONFIG": "/dev/null"},
    )
    return HelmResult(completed.returncode, completed.stdout, completed.stderr)


def template(
    values_files: Sequence[str] = (), sets: Sequence[str] = (), set_strings: Sequence[str] = (),
    namespace: str = NAMESPACE,
) -> HelmResult:
    """`helm template` of the chart, as `helm install` would render it (schema checked)."""
    args = ["template", RELEASE, str(CHART_DIR), "--namespace", namespace, "--kube-version", KUBERNETES_VERSION]
    for values_file in values_files:
        args += ["--values", str(CHART_DIR / values_file)]
    for assignment in sets:
        args += ["--set", assignment]
    for assignment in set_strings:
        args += ["--set-string", assignment]
    return helm(*args)


def render(values_files: Sequence[str] = (), sets: Sequence[str] = (), namespace: str = NAMESPACE) -> list[Manifest]:
    """Rendered objects (hooks and test pods included); fails the test when helm refuses."""
    result = template(values_files, sets, namespace=namespace)
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


def parse(stream: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(stream) if doc]


def find(objects: Sequence[Manifest], kind: str, name: str) -> Manifest:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def names(objects: Sequence[Manifest]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objects}


@dataclass(frozen=True)
class PodOwner:
    """An object that runs pods, with its pod spec and pod labels."""

    kind: str
    name: str
    spec: Manifest
    labels: dict[str, str]


def pod_owners(objects: Sequence[Manifest]) -> Iterator[PodOwner]:
    for obj in objects:
        name = obj["metadata"]["name"]
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            template_ = obj["spec"]["template"]
            yield PodOwner(obj["kind"], name, template_["spec"], template_["metadata"]["labels"])
        elif obj["kind"] == "Pod":
            yield PodOwner("Pod", name, obj["spec"], obj["metadata"]["labels"])


def hook_events(obj: Manifest) -> set[str]:
    annotations = obj["metadata"].get("annotations") or {}
    hooks: str = annotations.get("helm.sh/hook", "")
    return {event for event in hooks.split(",") if event}
