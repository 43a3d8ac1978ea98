"""The rendered objects follow the Kubernetes object contract shared with the native deploy
path: names, labels, probes, resources, security, autoscaling, disruption budgets, network
policies, the migration hook and the helm test pods."""

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
import yaml

from chart import (
    CHART_DIR,
    NAMESPACE,
    RELEASE,
    Manifest,
    PodOwner,
    find,
    hook_events,
    names,
    pod_owners,
    render,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4
COMMON_LABELS = {
    "app.kubernetes.io/name": "todo-app",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/part-of": "todo-app",
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/version": "0.1.0",
}
COMPONENTS = {"frontend", "backend", "database", "migration", "test"}

APP_OBJECTS = {
    ("ServiceAccount", "todo-app"),
    ("ConfigMap", "todo-config"),
    ("Deployment", "backend"),
    ("Deployment", "frontend"),
    ("Service", "backend"),
    ("Service", "frontend"),
    ("HorizontalPodAutoscaler", "backend"),
    ("HorizontalPodAutoscaler", "frontend"),
    ("PodDisruptionBudget", "backend"),
    ("PodDisruptionBudget", "frontend"),
    ("NetworkPolicy", "default-deny"),
    ("NetworkPolicy", "allow-dns"),
    ("NetworkPolicy", "frontend"),
    ("NetworkPolicy", "backend"),
    ("NetworkPolicy", "test-ingress"),
    ("NetworkPolicy", "test-egress"),
    ("Pod", "test-frontend-health"),
    ("Pod", "test-backend-health"),
}
IN_CLUSTER_DATABASE = {
    ("Secret", "postgres-credentials"),
    ("StatefulSet", "postgres"),
    ("Service", "postgres"),
    ("NetworkPolicy", "postgres"),
}
CHART_MANAGED_SECRETS = {("Secret", "todo-secrets"), ("Secret", "todo-migrate-secrets")}

# Volume types the Pod Security Standard "restricted" allows.
RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                           "persistentVolumeClaim", "projected", "secret"}


@pytest.fixture(scope="module")
def dev() -> list[Manifest]:
    return render(("values-dev.yaml",))


@pytest.fixture(scope="module")
def prod() -> list[Manifest]:
    return render(("values-prod.yaml",), (f"backend.image.digest={DIGEST}", f"frontend.image.digest={DIGEST}"))


def migration_job_name(objects: Sequence[Manifest]) -> str:
    image = container(find(objects, "Deployment", "backend"), "backend")["image"]
    return "migrate-" + hashlib.sha256(image.encode()).hexdigest()[:10]


def container(obj: Manifest, name: str) -> Manifest:
    spec = obj["spec"]["template"]["spec"] if "template" in obj["spec"] else obj["spec"]
    matches: list[Manifest] = [c for c in spec["containers"] if c["name"] == name]
    assert len(matches) == 1
    return matches[0]


def test_dev_inventory(dev: list[Manifest]) -> None:
    expected = APP_OBJECTS | IN_CLUSTER_DATABASE | CHART_MANAGED_SECRETS | {("Job", migration_job_name(dev))}
    assert names(dev) == expected


def test_prod_inventory(prod: list[Manifest]) -> None:
    # The Secret is created beforehand (existingSecret) and the database is external.
    assert names(prod) == APP_OBJECTS | {("Job", migration_job_name(prod))}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_common_and_selector_labels(stack: str, request: pytest.FixtureRequest) -> None:
    objects: list[Manifest] = request.getfixturevalue(stack)
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert COMMON_LABELS.items() <= labels.items(), obj["metadata"]["name"]
        assert labels["app.kubernetes.io/component"] in COMPONENTS
    for owner in pod_owners(objects):
        assert COMMON_LABELS.items() <= owner.labels.items(), owner.name
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet"):
            selector = obj["spec"]["selector"]["matchLabels"]
            assert set(selector) == {"app.kubernetes.io/name", "app.kubernetes.io/instance",
                                     "app.kubernetes.io/component"}
            assert selector.items() <= obj["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_services_select_pods_of_the_release(stack: str, request: pytest.FixtureRequest) -> None:
    objects: list[Manifest] = request.getfixturevalue(stack)
    owners = list(pod_owners(objects))
    for service in (o for o in objects if o["kind"] == "Service"):
        selector = service["spec"]["selector"]
        selected = [owner.name for owner in owners if selector.items() <= owner.labels.items()]
        assert selected == [service["metadata"]["name"]]
        for port in service["spec"]["ports"]:
            target = find(objects, *_owner_key(owners, service["metadata"]["name"]))
            container_ports = {p["name"] for c in _pod_spec(target)["containers"] for p in c["ports"]}
            assert port["targetPort"] in container_ports


def _owner_key(owners: Sequence[PodOwner], name: str) -> tuple[str, str]:
    return next((o.kind, o.name) for o in owners if o.name == name)


def _pod_spec(obj: Manifest) -> Manifest:
    spec: Manifest = obj["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_pod_meets_pod_security_restricted(stack: str, request: pytest.FixtureRequest) -> None:
    objects: list[Manifest] = request.getfixturevalue(stack)
    owners = list(pod_owners(objects))
    assert len(owners) >= 5
    for owner in owners:
        problems = restricted_violations(owner.spec)
        assert not problems, f"{owner.kind}/{owner.name}: {problems}"
        assert owner.spec["automountServiceAccountToken"] is False


def restricted_violations(spec: Manifest) -> list[str]:
    """The checks of the Pod Security Standard "restricted" (Kubernetes 1.34) on one pod spec."""
    problems = []
    pod_context = spec.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            problems.append(flag)
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} of type {kinds}")
    if pod_context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append("pod seccompProfile is not RuntimeDefault")
    for ctr in spec.get("initContainers", []) + spec["containers"]:
        context = ctr.get("securityContext", {})
        if context.get("privileged"):
            problems.append(f"{ctr['name']} privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{ctr['name']} may escalate privileges")
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{ctr['name']} does not drop ALL capabilities")
        if set(context.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{ctr['name']} adds capabilities")
        if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
            problems.append(f"{ctr['name']} may run as root")
        if context.get("runAsUser", pod_context.get("runAsUser")) in (None, 0):
            problems.append(f"{ctr['name']} has no non-zero runAsUser")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{ctr['name']} has a writable root filesystem")
        for port in ctr.get("ports", []):
            if "hostPort" in port:
                problems.append(f"{ctr['name']} uses a host port")
    return problems


def test_restricted_check_finds_violations() -> None:
    """The checker above is not a formality: a root, privileged pod with a hostPath fails it."""
    spec: Manifest = {
        "hostNetwork": True,
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
        "containers": [{"name": "app", "securityContext": {"privileged": True, "runAsUser": 0,
                                                           "capabilities": {"add": ["SYS_ADMIN"]}},
                        "ports": [{"containerPort": 80, "hostPort": 80}]}],
    }
    problems = restricted_violations(spec)
    for expected in ("hostNetwork", "volume host", "seccompProfile", "privileged", "escalate",
                     "drop ALL", "adds capabilities", "may run as root", "runAsUser", "writable root", "host port"):
        assert any(expected in problem for problem in problems), expected


BACKEND_PROBES = {
    "startupProbe": {"httpGet": {"path": "/health", "port": "http"},
                     "periodSeconds": 1, "timeoutSeconds": 1, "failureThreshold": 150},
    "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}, "initialDelaySeconds": 10,
                      "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "initialDelaySeconds": 5,
                       "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 2},
}
FRONTEND_PROBES = {
    "startupProbe": {"httpGet": {"path": "/api/health", "port": "http"},
                     "periodSeconds": 1, "timeoutSeconds": 1, "failureThreshold": 150},
    "livenessProbe": {"httpGet": {"path": "/api/health", "port": "http"}, "initialDelaySeconds": 10,
                      "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
    "readinessProbe": {"httpGet": {"path": "/api/ready", "port": "http"}, "initialDelaySeconds": 5,
                       "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 2},
}
DEPLOYMENTS = {
    "backend": {"port": 8000, "metricsPort": 9464, "probes": BACKEND_PROBES,
                "resources": {"requests": {"cpu": "200m", "memory": "256Mi", "ephemeral-storage": "64Mi"},
                              "limits": {"cpu": "1000m", "memory": "1Gi", "ephemeral-storage": "256Mi"}},
                "mounts": {"tmp": "/tmp"},
                # The pause drains: answers say `Connection: close` until SIGTERM.
                "preStop": {"exec": {"command": ["python", "-m", "todo_api", "drain", "--seconds", "5"]}}},
    "frontend": {"port": 3000, "metricsPort": 9464, "probes": FRONTEND_PROBES,
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
                               "limits": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "256Mi"}},
                 "mounts": {"tmp": "/tmp", "next-cache": "/app/.next/cache"},
                 "preStop": {"sleep": {"seconds": 5}}},
}


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_deployment_contract(name: str, dev: list[Manifest]) -> None:
    expected: dict[str, Any] = DEPLOYMENTS[name]
    deployment = find(dev, "Deployment", name)
    spec = deployment["spec"]
    assert "replicas" not in spec, "the HorizontalPodAutoscaler owns the replica count"
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "todo-app"
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                      "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}}
    app = container(deployment, name)
    # Both serve their metrics on a port of their own, apart from the http port.
    metrics = {"name": "metrics", "containerPort": expected["metricsPort"], "protocol": "TCP"}
    assert app["ports"] == [{"name": "http", "containerPort": expected["port"], "protocol": "TCP"}, metrics]
    for probe, settings in expected["probes"].items():
        assert app[probe] == settings, probe
    assert app["resources"] == expected["resources"]
    assert app["lifecycle"] == {"preStop": expected["preStop"]}
    assert app["imagePullPolicy"] == "IfNotPresent"
    assert app["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                      "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
    assert {m["name"]: m["mountPath"] for m in app["volumeMounts"]} == expected["mounts"]
    assert {v["name"]: v for v in pod["volumes"]} == {
        n: {"name": n, "emptyDir": {"sizeLimit": "64Mi"}} for n in expected["mounts"]}


def test_backend_and_frontend_environment(dev: list[Manifest]) -> None:
    backend = container(find(dev, "Deployment", "backend"), "backend")
    assert backend["envFrom"] == [{"configMapRef": {"name": "todo-config"}}]
    assert {"name": "PASSWORD_HASH_CONCURRENCY", "value": "2"} in backend["env"]
    assert {"name": "METRICS_PORT", "value": "9464"} in backend["env"]
    assert {e["name"]: e["valueFrom"]["secretKeyRef"] for e in backend["env"] if "valueFrom" in e} == {
        "DATABASE_URL": {"name": "todo-secrets", "key": "DATABASE_URL"},
        "JWT_SECRET": {"name": "todo-secrets", "key": "JWT_SECRET"},
        "FORWARDED_ADDRESS_SECRET": {"name": "todo-secrets", "key": "FORWARDED_ADDRESS_SECRET"},
    }
    frontend = container(find(dev, "Deployment", "frontend"), "frontend")
    assert frontend["env"] == [
        {"name": "BACKEND_URL", "valueFrom": {"configMapKeyRef": {"name": "todo-config", "key": "BACKEND_URL"}}},
        {"name": "PORT", "value": "3000"},
        {"name": "HOSTNAME", "value": "0.0.0.0"},
        {"name": "METRICS_PORT", "value": "9464"},
        # The frontend passes each person's address on to the backend with this shared secret.
        {"name": "FORWARDED_ADDRESS_SECRET",
         "valueFrom": {"secretKeyRef": {"name": "todo-secrets", "key": "FORWARDED_ADDRESS_SECRET"}}},
    ]
    config = find(dev, "ConfigMap", "todo-config")["data"]
    assert config == {
        "BACKEND_URL": f"http://backend.{NAMESPACE}.svc.cluster.local:8000",
        "LOG_LEVEL": "info",
        "API_DOCS": "false",
        "CORS_ORIGINS": "",
        "WEB_CONCURRENCY": "1",
        "JWT_EXPIRE_MINUTES": "60",
        "DB_POOL_SIZE": "5",
    }


def test_existing_secret_is_referenced_not_created(prod: list[Manifest]) -> None:
    for name in ("backend", "frontend"):
        env = container(find(prod, "Deployment", name), name)["env"]
        refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in env if "secretKeyRef" in e.get("valueFrom", {})}
        assert refs == {"todo-secrets"}
    job = find(prod, "Job", migration_job_name(prod))
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in container(job, "migrate")["env"] if "valueFrom" in e}
    assert refs == {"todo-secrets"}
    assert not [o for o in prod if o["kind"] == "Secret"]


def test_no_secret_value_outside_secrets() -> None:
    objects = render(("values-dev.yaml",), ("secrets.jwtSecret=" + "j" * 40, "database.inCluster.password=" + "p" * 24))
    secret_values = {value for o in objects if o["kind"] == "Secret" for value in o["stringData"].values()
                     if len(value) >= 16}
    assert "j" * 40 in secret_values
    for obj in objects:
        if obj["kind"] == "Secret":
            continue
        text = json.dumps(obj)
        leaked = [value for value in secret_values if value in text]
        assert not leaked, f"{obj['kind']}/{obj['metadata']['name']} holds a secret value"


def test_generated_credentials_agree(dev: list[Manifest]) -> None:
    password = find(dev, "Secret", "postgres-credentials")["stringData"]["POSTGRES_PASSWORD"]
    assert len(password) == 32
    app = find(dev, "Secret", "todo-secrets")["stringData"]
    assert app["DATABASE_URL"] == f"postgresql://todo:{password}@postgres.{NAMESPACE}.svc.cluster.local:5432/todo"
    assert len(app["JWT_SECRET"]) >= 32
    assert len(app["FORWARDED_ADDRESS_SECRET"]) >= 32  # the backend refuses shorter ones
    # The migration Job's copy holds what migrating needs, not the frontend's secret.
    migrate = find(dev, "Secret", "todo-migrate-secrets")["stringData"]
    assert migrate == {key: value for key, value in app.items() if key != "FORWARDED_ADDRESS_SECRET"}


def test_password_hash_concurrency_reaches_the_backend() -> None:
    objects = render(("values-dev.yaml",), ("config.passwordHashConcurrency=4",))
    backend = container(find(objects, "Deployment", "backend"), "backend")["env"]
    assert {"name": "PASSWORD_HASH_CONCURRENCY", "value": "4"} in backend


def test_images() -> None:
    objects = render(("values-prod.yaml",), (
        f"backend.image.digest={DIGEST}", "frontend.image.tag=3f2a9c1", f"frontend.image.digest={DIGEST}",
    ))
    assert container(find(objects, "Deployment", "backend"), "backend")["image"] == \
        f"docker.io/todoapp/todo-backend@{DIGEST}"
    assert container(find(objects, "Deployment", "frontend"), "frontend")["image"] == \
        f"docker.io/todoapp/todo-frontend:3f2a9c1@{DIGEST}"
    default = render()
    assert container(find(default, "Deployment", "backend"), "backend")["image"] == "todo-backend:0.1.0"
    assert container(find(default, "StatefulSet", "postgres"), "postgres")["image"] == "postgres:16-alpine"


def test_pull_policy_per_stack(dev: list[Manifest], prod: list[Manifest]) -> None:
    # Dev images exist only in the node's Docker; prod's are pinned by digest, so Always is cheap.
    for objects, policy in ((dev, "IfNotPresent"), (prod, "Always")):
        owners = list(pod_owners(objects))
        assert owners
        for owner in owners:
            for each in owner.spec.get("initContainers", []) + owner.spec["containers"]:
                assert each["imagePullPolicy"] == policy, (owner.name, each["name"])


def test_image_pull_secrets_on_app_pods(prod: list[Manifest]) -> None:
    for owner in pod_owners(prod):
        assert "imagePullSecrets" not in owner.spec, owner.name
    private = render(("values-prod.yaml",), ("imagePullSecrets={registry-credentials}",))
    for owner in pod_owners(private):
        assert owner.spec["imagePullSecrets"] == [{"name": "registry-credentials"}], owner.name


@pytest.mark.parametrize(("stack", "minimum"), [("dev", 1), ("prod", 2)])
def test_autoscalers_and_disruption_budgets(stack: str, minimum: int, request: pytest.FixtureRequest) -> None:
    objects: list[Manifest] = request.getfixturevalue(stack)
    for name in ("backend", "frontend"):
        hpa = find(objects, "HorizontalPodAutoscaler", name)["spec"]
        assert hpa == {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": minimum,
            "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
        }
        pdb = find(objects, "PodDisruptionBudget", name)["spec"]
        deployment = find(objects, "Deployment", name)
        assert pdb == {"maxUnavailable": 1, "selector": deployment["spec"]["selector"]}


def test_frontend_service_per_stack(dev: list[Manifest], prod: list[Manifest]) -> None:
    dev_service = find(dev, "Service", "frontend")["spec"]
    assert dev_service["type"] == "NodePort"
    assert dev_service["ports"] == [{"name": "http", "port": 3000, "targetPort": "http", "protocol": "TCP",
                                     "nodePort": 30000}]
    prod_service = find(prod, "Service", "frontend")["spec"]
    assert prod_service["type"] == "ClusterIP"
    assert "nodePort" not in prod_service["ports"][0]
    backend = find(prod, "Service", "backend")["spec"]
    assert backend["type"] == "ClusterIP"
    assert backend["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]


def test_postgres(dev: list[Manifest]) -> None:
    statefulset = find(dev, "StatefulSet", "postgres")["spec"]
    assert statefulset["replicas"] == 1
    assert statefulset["serviceName"] == "postgres"
    claim = statefulset["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    pod = statefulset["template"]["spec"]
    # A UID and GID of its own above 10000; the image's entrypoint gives initdb a passwd entry.
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10002, "runAsGroup": 10002,
                                      "fsGroup": 10002, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["volumes"] == [{"name": "run", "emptyDir": {"sizeLimit": "64Mi"}},
                              {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    postgres = pod["containers"][0]
    ready = ["pg_isready", "-h", "127.0.0.1", "-U", "todo", "-d", "todo"]
    assert postgres["readinessProbe"]["exec"]["command"] == ready
    assert postgres["livenessProbe"]["tcpSocket"] == {"port": 5432}
    assert postgres["lifecycle"] == {"preStop": {"exec": {"command": [
        "pg_ctl", "stop", "-D", "/var/lib/postgresql/data/pgdata", "-m", "fast", "--no-wait"]}}}
    assert postgres["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "64Mi"},
                                     "limits": {"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "256Mi"}}
    assert {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"} in postgres["env"]
    service = find(dev, "Service", "postgres")["spec"]
    assert service["clusterIP"] == "None"
    assert [p["port"] for p in service["ports"]] == [5432]


def _selects(selector: Manifest, labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _allowed(objects: Sequence[Manifest], source: PodOwner, target: PodOwner, port: int) -> bool:
    """Whether the app's NetworkPolicies (tests' ones included) let source reach target:port."""
    policies = [o["spec"] for o in objects if o["kind"] == "NetworkPolicy"]

    def rule_matches(rules: list[Manifest], peer: PodOwner) -> bool:
        for rule in rules:
            ports = {p["port"] for p in rule.get("ports", [])}
            peers = rule.get("to", rule.get("from"))
            if ports and port not in ports:
                continue
            if peers is None or any("podSelector" in p and "namespaceSelector" not in p
                                    and _selects(p["podSelector"], peer.labels) for p in peers):
                return True
        return False

    egress = any(rule_matches(p.get("egress", []), target) for p in policies
                 if "Egress" in p["policyTypes"] and _selects(p["podSelector"], source.labels))
    ingress = any(rule_matches(p.get("ingress", []), source) for p in policies
                  if "Ingress" in p["policyTypes"] and _selects(p["podSelector"], target.labels))
    return egress and ingress


@pytest.mark.parametrize(("source", "target", "port", "allowed"), [
    ("frontend", "backend", 8000, True),
    ("backend", "postgres", 5432, True),
    ("migrate", "postgres", 5432, True),
    ("frontend", "postgres", 5432, False),
    ("test-backend-health", "backend", 8000, True),
    ("test-frontend-health", "frontend", 3000, True),
    ("test-backend-health", "postgres", 5432, False),
    ("backend", "frontend", 3000, False),
    ("postgres", "backend", 8000, False),
])
def test_network_paths(source: str, target: str, port: int, allowed: bool, dev: list[Manifest]) -> None:
    owners = {o.name if not o.name.startswith("migrate-") else "migrate": o for o in pod_owners(dev)}
    assert _allowed(dev, owners[source], owners[target], port) is allowed


def test_network_policies(dev: list[Manifest], prod: list[Manifest]) -> None:
    deny = find(dev, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = find(dev, "NetworkPolicy", "allow-dns")["spec"]
    assert dns["egress"] == [{
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }]
    for owner in pod_owners(dev):
        assert _selects(dns["podSelector"], owner.labels), f"{owner.name} cannot resolve names"
    frontend = find(dev, "NetworkPolicy", "frontend")["spec"]
    assert frontend["ingress"] == [{"ports": [{"protocol": "TCP", "port": 3000}]}]
    external = find(prod, "NetworkPolicy", "backend")["spec"]["egress"]
    assert external == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 5432}]}]


@pytest.mark.parametrize(("stack", "events"), [
    ("dev", {"post-install", "pre-upgrade"}),
    ("prod", {"pre-install", "pre-upgrade"}),
])
def test_migration_job_hook(stack: str, events: set[str], request: pytest.FixtureRequest) -> None:
    objects: list[Manifest] = request.getfixturevalue(stack)
    job = find(objects, "Job", migration_job_name(objects))
    assert hook_events(job) == events
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
    assert job["spec"]["backoffLimit"] == 3
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    migrate = container(job, "migrate")
    assert migrate["command"] == ["python", "-m", "todo_api", "migrate"]
    assert migrate["image"] == container(find(objects, "Deployment", "backend"), "backend")["image"]
    config = find(objects, "ConfigMap", "todo-config")["data"]
    # The backend's settings: todo-config's keys, and its own variables.
    assert {e["name"]: e["value"] for e in migrate["env"] if "value" in e} == config | {"PASSWORD_HASH_CONCURRENCY": "2"}
    wait = pod["initContainers"][0]
    assert wait["name"] == "wait-for-database"
    assert wait["image"] == migrate["image"]
    assert wait["command"][:2] == ["python", "-c"]
    compile(wait["command"][2], "wait-for-database", "exec")
    secret_refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in migrate["env"] + wait["env"] if "valueFrom" in e}
    assert len(secret_refs) == 1
    # Every other hook of the same events (the Secret copy) is created before the Job.
    for other in objects:
        if other is not job and hook_events(other) == events:
            assert int(other["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])


def test_migration_job_name_follows_the_backend_image() -> None:
    first = render((), ("backend.image.tag=one",))
    second = render((), ("backend.image.tag=two",))
    first_job = migration_job_name(first)
    assert ("Job", first_job) in names(first)
    assert first_job != migration_job_name(second)


def test_helm_test_pods(dev: list[Manifest]) -> None:
    backend_image = container(find(dev, "Deployment", "backend"), "backend")["image"]
    urls = {
        "test-frontend-health": f"http://frontend.{NAMESPACE}.svc.cluster.local:3000/api/health",
        "test-backend-health": f"http://backend.{NAMESPACE}.svc.cluster.local:8000/health",
    }
    for name, url in urls.items():
        pod = find(dev, "Pod", name)
        assert hook_events(pod) == {"test"}
        check = pod["spec"]["containers"][0]
        assert check["image"] == backend_image
        assert check["command"][:2] == ["python", "-c"]
        assert check["command"][-1] == url
        compile(check["command"][2], name, "exec")
    for policy in ("test-ingress", "test-egress"):
        assert hook_events(find(dev, "NetworkPolicy", policy)) == {"test"}
    custom = render(("values-dev.yaml",), ("tests.image.repository=python", "tests.image.tag=3.12-alpine"))
    assert find(custom, "Pod", "test-backend-health")["spec"]["containers"][0]["image"] == "python:3.12-alpine"


def test_ingress_only_when_enabled(dev: list[Manifest]) -> None:
    assert not [o for o in dev if o["kind"] == "Ingress"]
    objects = render(("values-dev.yaml",), ("ingress.enabled=true", "ingress.className=nginx"))
    ingress = find(objects, "Ingress", "todo")["spec"]
    assert ingress["ingressClassName"] == "nginx"
    rule = ingress["rules"][0]
    assert rule["host"] == "todo.local"
    assert rule["http"]["paths"] == [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "frontend", "port": {"name": "http"}}}}]
    assert "tls" not in ingress
    secured = render(("values-dev.yaml",), ("ingress.enabled=true", "ingress.tlsSecretName=todo-tls"))
    assert find(secured, "Ingress", "todo")["spec"]["tls"] == [{"hosts": ["todo.local"], "secretName": "todo-tls"}]


def _leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every leaf of the values, with its path as keys (a label key may hold a "/")."""
    if isinstance(value, dict) and value:
        return [leaf for key, child in value.items() for leaf in _leaves(child, (*path, key))]
    return [(path, value)]


def _schema_at(schema: Manifest, root: Manifest, path: tuple[str, ...]) -> Manifest:
    node = schema
    where = "/" + "/".join(path)
    for key in path:
        while "$ref" in node:
            node = root["definitions"][node["$ref"].rsplit("/", 1)[-1]]
        additional = node.get("additionalProperties")
        if isinstance(additional, dict):
            # A map (labels): any key its propertyNames pattern accepts, every value of one schema.
            assert re.search(node["propertyNames"]["pattern"], key), f"{where}: {key!r} is not an accepted key"
            node = additional
            continue
        assert additional is False, f"{where}: unknown keys would be accepted"
        node = node["properties"][key]
    while "$ref" in node:
        node = root["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


@pytest.mark.parametrize("values_file", ["values.yaml", "values-dev.yaml", "values-prod.yaml"])
def test_every_value_is_typed(values_file: str) -> None:
    schema: Manifest = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
    values = yaml.safe_load((CHART_DIR / values_file).read_text(encoding="utf-8"))
    for keys, value in _leaves(values):
        path = "/" + "/".join(keys)
        node = _schema_at(schema, schema, keys)
        assert "type" in node, f"{path} has no type"
        json_type = {bool: "boolean", int: "integer", str: "string", list: "array", dict: "object"}[type(value)]
        assert json_type == node["type"], f"{path}: {json_type} is not {node['type']}"
        if json_type == "string" and "pattern" in node:
            assert re.search(node["pattern"], value), f"{path}: {value!r} does not match its own pattern"


def _pod_annotation(objects: list[Manifest], name: str, key: str) -> str:
    annotation: str = find(objects, "Deployment", name)["spec"]["template"]["metadata"]["annotations"][key]
    return annotation


@pytest.mark.parametrize(("values_file", "first", "second"), [
    # The chart's own Secret: a new credential among the values.
    ("values-dev.yaml", "secrets.jwtSecret=" + "a" * 40, "secrets.jwtSecret=" + "b" * 40),
    # An existing Secret: the hash of its values the installer passes.
    ("values-prod.yaml", "secrets.checksum=" + "1" * 64, "secrets.checksum=" + "2" * 64),
])
def test_a_changed_secret_rolls_the_pods(values_file: str, first: str, second: str) -> None:
    before, after = render((values_file,), (first,)), render((values_file,), (second,))
    for name in ("backend", "frontend"):
        assert _pod_annotation(before, name, "checksum/secrets") != _pod_annotation(after, name, "checksum/secrets")
        assert _pod_annotation(before, name, "checksum/config") == _pod_annotation(after, name, "checksum/config")


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_replicas_spread_softly_over_nodes_and_zones(name: str, dev: list[Manifest]) -> None:
    deployment = find(dev, "Deployment", name)
    constraints = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in constraints] == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    for constraint in constraints:
        # ScheduleAnyway: a single-node cluster still schedules every replica.
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        assert constraint["labelSelector"] == deployment["spec"]["selector"]
    assert deployment["spec"]["revisionHistoryLimit"] == 10


def test_api_docs_follow_config_api_docs() -> None:
    on = render(("values-dev.yaml",), ("config.apiDocs=true",))
    assert find(on, "ConfigMap", "todo-config")["data"]["API_DOCS"] == "true"
