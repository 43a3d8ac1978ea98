"""helm lint --strict and helm template of every values file, every rendered object
validated offline by kubeconform in strict mode against the Kubernetes JSON schemas."""

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from chart import CHART_DIR, KUBERNETES_VERSION, VALUES_FILES, helm, parse, template

KUBECONFORM = os.environ["KUBECONFORM_BIN"]
SCHEMA_LOCATION = (
    os.environ["KUBERNETES_SCHEMA_DIR"]
    + "/{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json"
)
JWT_SECRET = "an-external-jwt-secret-of-at-least-32-characters"
DIGEST = "sha256:" + "ab" * 32

# Values that switch on every optional object and form of the chart at once.
EVERY_OPTION = (
    "ingress.enabled=true",
    "ingress.className=nginx",
    "ingress.host=todo.example.com",
    "ingress.tlsSecretName=todo-tls",
    "imagePullSecrets={registry-credentials}",
    "secrets.existingSecret=",
    "secrets.databaseUrl=postgresql://todo:pw@db.example.com:5432/todo?sslmode=require",
    f"secrets.jwtSecret={JWT_SECRET}",
    f"backend.image.digest={DIGEST}",
    "frontend.image.tag=3f2a9c1",
    f"frontend.image.digest={DIGEST}",
    "tests.image.repository=python",
    "tests.image.tag=3.12-alpine",
    "frontend.service.type=LoadBalancer",
    "config.corsOrigins={https://todo.example.com,https://www.todo.example.com}",
)

SCENARIOS: dict[str, tuple[Sequence[str], Sequence[str]]] = {
    "values.yaml": ((), ()),
    "values-dev.yaml": (("values-dev.yaml",), ()),
    "values-prod.yaml": (("values-prod.yaml",), ()),
    "every-option": (("values-prod.yaml",), EVERY_OPTION),
    "in-cluster-existing-secret": (
        ("values-dev.yaml",),
        ("secrets.existingSecret=todo-secrets", "database.inCluster.password=a-password-of-16-chars"),
    ),
    "monitoring": (("values-dev.yaml",), ("monitoring.enabled=true",)),
}
# The Prometheus operator's kinds have no schema among Kubernetes': kubeconform skips them, and
# test/monitoring.test.ts validates them against the operator's CRD schemas.
OPERATOR_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_lint_strict(values_file: str) -> None:
    result = helm(
        "lint", "--strict", str(CHART_DIR), "--values", str(CHART_DIR / values_file),
        "--kube-version", KUBERNETES_VERSION,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout


@pytest.fixture(scope="module")
def kubeconform_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, str]]]:
    """Renders every scenario and validates all of them in one kubeconform run (the schemas are
    compiled once); returns the per-object results by scenario."""
    folder: Path = tmp_path_factory.mktemp("rendered")
    expected: dict[str, int] = {}
    for scenario, (values_files, sets) in SCENARIOS.items():
        result = template(values_files, sets)
        assert result.returncode == 0, f"{scenario}: {result.stderr}"
        expected[scenario] = len(parse(result.stdout))
        (folder / f"{scenario}.yaml").write_text(result.stdout, encoding="utf-8")
    completed = subprocess.run(
        [
            KUBECONFORM, "-strict", "-verbose", "-output", "json", "-kubernetes-version", KUBERNETES_VERSION,
            "-schema-location", SCHEMA_LOCATION, "-skip", ",".join(OPERATOR_KINDS),
            *sorted(str(p) for p in folder.iterdir()),
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )
    report = json.loads(completed.stdout)
    by_scenario: dict[str, list[dict[str, str]]] = {scenario: [] for scenario in SCENARIOS}
    for resource in report["resources"]:
        by_scenario[Path(resource["filename"]).stem].append(resource)
    for scenario, count in expected.items():
        assert len(by_scenario[scenario]) == count, f"{scenario}: kubeconform saw another number of objects"
    return by_scenario


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_rendered_object_is_valid_kubernetes(
    scenario: str, kubeconform_report: dict[str, list[dict[str, str]]]
) -> None:
    resources = kubeconform_report[scenario]
    assert resources, "nothing rendered"
    problems = [f"{r['kind']}/{r['name']}: {r['status']} {r.get('msg', '')}" for r in resources
                if r["status"] != "statusValid" and not (r["kind"] in OPERATOR_KINDS and r["status"] == "statusSkipped")]
    assert not problems, "\n".join(problems)


def test_kubeconform_refuses_an_unknown_field(tmp_path: Path) -> None:
    """The validation itself: a field the schema does not know makes the object invalid."""
    result = template(("values-dev.yaml",))
    assert result.returncode == 0, result.stderr
    broken = result.stdout.replace(
        "\nautomountServiceAccountToken: false", "\nautomountServiceAccountToken: false\ntokenPolicy: none", 1
    )
    manifest = tmp_path / "broken.yaml"
    manifest.write_text(broken, encoding="utf-8")
    completed = subprocess.run(
        [KUBECONFORM, "-strict", "-summary", "-kubernetes-version", KUBERNETES_VERSION,
         "-schema-location", SCHEMA_LOCATION, str(manifest)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 1
    assert "ServiceAccount todo-app is invalid" in completed.stdout
    assert "additional properties 'tokenPolicy' not allowed" in completed.stdout
