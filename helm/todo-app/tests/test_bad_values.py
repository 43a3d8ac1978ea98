"""Values the chart refuses, each with a message that names the key and what is accepted."""

from dataclasses import dataclass

import pytest

from chart import template


@dataclass(frozen=True)
class BadValues:
    sets: tuple[str, ...]
    message: str
    values_files: tuple[str, ...] = ()
    set_strings: tuple[str, ...] = ()


CASES = {
    "wrong type": BadValues(
        sets=(), set_strings=("backend.autoscaling.maxReplicas=five",),
        message="at '/backend/autoscaling/maxReplicas': got string, want integer",
    ),
    "negative replicas": BadValues(
        sets=("frontend.autoscaling.minReplicas=-1",),
        message="at '/frontend/autoscaling/minReplicas': minimum: got -1, want 1",
    ),
    "min replicas above max": BadValues(
        sets=("backend.autoscaling.minReplicas=6",),
        message="backend.autoscaling.minReplicas (6) must not be above backend.autoscaling.maxReplicas (5)",
    ),
    "unknown key": BadValues(
        sets=("backend.replicas=3",),
        message="at '/backend': additional properties 'replicas' not allowed",
    ),
    "prod without secret or existingSecret": BadValues(
        values_files=("values-prod.yaml",), sets=("secrets.existingSecret=",),
        message="an external database (database.inCluster.enabled=false) needs its credentials: set "
        "secrets.existingSecret to a Secret holding DATABASE_URL, JWT_SECRET and "
        "FORWARDED_ADDRESS_SECRET, or set both "
        "secrets.databaseUrl and secrets.jwtSecret",
    ),
    "latest image tag": BadValues(
        sets=("frontend.image.tag=latest",),
        message='frontend.image.tag must not be "latest": deploy a content tag or a digest',
    ),
    "short JWT secret": BadValues(
        sets=("secrets.jwtSecret=too-short",),
        message="secrets.jwtSecret must be at least 32 characters long",
    ),
    "CPU quantity that does not parse": BadValues(
        sets=("backend.resources.limits.cpu=lots",),
        message="at '/backend/resources/limits/cpu': 'lots' does not match pattern",
    ),
    "malformed digest": BadValues(
        sets=("backend.image.digest=sha256:abc",),
        message="at '/backend/image/digest': 'sha256:abc' does not match pattern",
    ),
    "database URL with the in-cluster database": BadValues(
        sets=("secrets.databaseUrl=postgresql://u:p@db:5432/todo",),
        message="secrets.databaseUrl must stay empty with database.inCluster.enabled=true",
    ),
    "existing Secret next to inline secrets": BadValues(
        values_files=("values-prod.yaml",), sets=("secrets.jwtSecret=" + "x" * 40,),
        message="secrets.existingSecret is set: leave secrets.jwtSecret and secrets.databaseUrl empty",
    ),
    "existing Secret with the in-cluster database but no password": BadValues(
        sets=("secrets.existingSecret=todo-secrets",),
        message="set database.inCluster.password to the password inside that Secret's DATABASE_URL",
    ),
    "scrape interval that is no duration": BadValues(
        sets=("monitoring.enabled=true", "monitoring.scrapeInterval=often"),
        message="at '/monitoring/scrapeInterval': 'often' does not match pattern",
    ),
    "Prometheus namespace that is no namespace name": BadValues(
        sets=("monitoring.prometheus.namespace=Monitoring",),
        message="at '/monitoring/prometheus/namespace': 'Monitoring' does not match pattern",
    ),
    "Prometheus pod label with a space": BadValues(
        sets=("monitoring.prometheus.podLabels.app=my prometheus",),
        message="at '/monitoring/prometheus/podLabels/app': 'my prometheus' does not match pattern",
    ),
    "unknown service type": BadValues(
        sets=("frontend.service.type=ExternalName",),
        message="at '/frontend/service/type': value must be one of 'ClusterIP', 'NodePort', 'LoadBalancer'",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_refused_with_a_clear_message(case: BadValues) -> None:
    result = template(case.values_files, case.sets, case.set_strings)
    assert result.returncode != 0, "helm accepted the values"
    assert case.message in result.stderr, result.stderr
