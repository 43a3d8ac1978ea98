"""monitoring.enabled: off, the chart renders nothing for Prometheus and its NetworkPolicies stay
as closed as ever; on, the monitors find the backend's Service and the frontend's pods on their
metrics ports, the PrometheusRule carries the five alerts of monitoring/alert-rules.yaml for the
release's namespace, the dashboard ConfigMap holds monitoring/dashboard.json with the Grafana
sidecar's label, and the NetworkPolicies let the configured Prometheus pods reach the metrics
ports, and nobody else."""

import json
from collections.abc import Sequence

import pytest
import yaml

from chart import CHART_DIR, NAMESPACE, VALUES_FILES, Manifest, find, render

MONITORING_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
ALERTS = ["TodoHighErrorRatio", "TodoSlowResponses", "TodoPodRestarting", "TodoHpaAtMaximum", "TodoPodNotReady"]
ON = ("monitoring.enabled=true",)
KUBE_PROMETHEUS_STACK = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}


def _monitoring_objects(objects: Sequence[Manifest]) -> list[Manifest]:
    return [o for o in objects if o["kind"] in MONITORING_KINDS
            or "grafana_dashboard" in (o["metadata"].get("labels") or {})]


def _selects(match_labels: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(match_labels) and match_labels.items() <= labels.items()


@pytest.fixture(scope="module")
def on() -> list[Manifest]:
    return render(("values-dev.yaml",), ON)


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_off_by_default_nothing_for_prometheus(values_file: str) -> None:
    objects = render((values_file,))
    assert _monitoring_objects(objects) == []
    for policy in ("backend", "frontend"):
        ingress = find(objects, "NetworkPolicy", policy)["spec"]["ingress"]
        assert all("namespaceSelector" not in peer for rule in ingress for peer in rule.get("from", []))
    assert find(objects, "NetworkPolicy", "frontend")["spec"]["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": 3000}]}
    ]


@pytest.mark.parametrize(("workload", "other"), [("backend", "frontend"), ("frontend", "backend")])
def test_pod_monitors_scrape_the_metrics_port_on_no_service(on: list[Manifest], workload: str, other: str) -> None:
    monitor = find(on, "PodMonitor", workload)
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == NAMESPACE
    pods = find(on, "Deployment", workload)["spec"]["template"]
    assert _selects(monitor["spec"]["selector"]["matchLabels"], pods["metadata"]["labels"])
    other_pods = find(on, "Deployment", other)["spec"]["template"]
    assert not _selects(monitor["spec"]["selector"]["matchLabels"], other_pods["metadata"]["labels"])
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/component"
    container = pods["spec"]["containers"][0]
    port = next(p for p in container["ports"] if p["name"] == "metrics")
    assert {"name": "METRICS_PORT", "value": str(port["containerPort"])} in container["env"]
    # The Service carries the app's port only: whoever reaches it reaches no metrics.
    assert [p["name"] for p in find(on, "Service", workload)["spec"]["ports"]] == ["http"]


def test_no_service_monitor(on: list[Manifest]) -> None:
    assert [o for o in on if o["kind"] == "ServiceMonitor"] == []


def test_rules_are_the_file_for_the_release_namespace() -> None:
    objects = render(("values-dev.yaml",), ON, namespace="shop")
    rule = find(objects, "PrometheusRule", "todo-app")
    expected = yaml.safe_load((CHART_DIR / "monitoring" / "alert-rules.yaml").read_text().replace("__NAMESPACE__", "shop"))
    assert rule["spec"] == expected
    alerts = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    assert [a["alert"] for a in alerts] == ALERTS
    for alert in alerts:
        assert alert["labels"]["severity"] in ("warning", "critical")
        assert sorted(alert["annotations"]) == ["description", "runbook", "summary"]
        assert 'namespace="shop"' in alert["expr"] and "__NAMESPACE__" not in alert["expr"]


def test_dashboard_config_map_for_grafana_sidecar(on: list[Manifest]) -> None:
    dashboard = find(on, "ConfigMap", "todo-app-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["data"] == {"todo-app.json": (CHART_DIR / "monitoring" / "dashboard.json").read_text()}
    assert json.loads(dashboard["data"]["todo-app.json"])["uid"] == "todo-app-overview"


def test_network_policies_let_prometheus_reach_the_metrics_ports(on: list[Manifest]) -> None:
    for policy, port in (("backend", 9464), ("frontend", 9464)):
        ingress = find(on, "NetworkPolicy", policy)["spec"]["ingress"]
        assert ingress[-1] == {"from": [KUBE_PROMETHEUS_STACK], "ports": [{"protocol": "TCP", "port": port}]}
        assert sum(1 for rule in ingress for peer in rule.get("from", []) if "namespaceSelector" in peer) == 1


def test_another_prometheus() -> None:
    objects = render(("values-prod.yaml",), (
        *ON, "monitoring.prometheus.namespace=observability",
        "monitoring.prometheus.podLabels.app\\.kubernetes\\.io/name=null", "monitoring.prometheus.podLabels.app=prom",
        "monitoring.scrapeInterval=15s",
    ))
    assert find(objects, "NetworkPolicy", "backend")["spec"]["ingress"][-1]["from"] == [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}},
        "podSelector": {"matchLabels": {"app": "prom"}},
    }]
    assert find(objects, "PodMonitor", "backend")["spec"]["podMetricsEndpoints"][0]["interval"] == "15s"
