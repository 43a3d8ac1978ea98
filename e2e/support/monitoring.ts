// todo:monitoring proven on a cluster: the Prometheus operator's CRDs (from its Go module's
// sources), the app's monitors, rules and dashboard from `pulumi up`, and a real Prometheus (the
// project's build, test/tools/prometheus.sh) configured from those very objects the way the
// operator configures one: a scrape job per monitor endpoint with the operator's relabelling,
// the PrometheusRule's groups as its rule file. Beside it, what kube-prometheus-stack also
// scrapes and the dashboard reads: kube-state-metrics (the project's build,
// test/tools/kube-state-metrics.sh, limited to the app's namespace) and the kubelet's cAdvisor.
// The checks then ask Prometheus, through a port-forward, whether the targets are up, whether
// the five alerts are loaded, whether the request rate shows the traffic the check sends, and
// whether every query of every panel of the dashboard answers.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import * as path from "node:path";

import { expect } from "@jest/globals";

import { MONITORING } from "../../components/contract";
import { alertRules, dashboardJson } from "../../components/monitoring";
import { namespacesFree } from "./checks";
import type { E2ePath } from "./path";
import { kubectl, kubectlJson } from "./kube";
import { PortForward } from "./port-forward";
import { eventually, output, run, sleep } from "../../local-cluster/shell";

const CACHE_DIR = process.env.TODO_CACHE_DIR ?? path.join(homedir(), ".cache", "todo-k8s");
/** The newest release whose root module (it holds example/prometheus-operator-crd) the Go module proxy serves here. */
const OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator";
const OPERATOR_VERSION = "v0.94.0";
const CRD_NAMES = ["servicemonitors", "podmonitors", "prometheusrules"] as const;
/**
 * A namespace of the suite's own, never a cluster's `monitoring` (a user's kube-prometheus-stack
 * may live there), named to the program by todo:prometheusNamespace; the pods carry the label of
 * todo:prometheusPodSelector's default. The app's policies let exactly these pods in.
 */
const PROMETHEUS_NAMESPACE = "todo-e2e-monitoring";
const PROMETHEUS_LABELS = { "app.kubernetes.io/name": "prometheus" };
const PROMETHEUS_IMAGE = "todo-e2e.local/prometheus:v3.16.0";
const PROMETHEUS_PORT = 9090;
/**
 * kube-state-metrics, in the same namespace, with labels of its own: the app's policies let
 * Prometheus's pods in, never these (kube-state-metrics talks to the API server only). Its image
 * is tagged with the version test/tools/kube-state-metrics.sh builds (its folder's name).
 */
const KSM_LABELS = { "app.kubernetes.io/name": "kube-state-metrics" };
const KSM_NAME = "kube-state-metrics";
const KSM_PORT = 8080;
const KSM_TELEMETRY_PORT = 8081;
/**
 * What the dashboard's and the rules' kube_* series come from, and no more: deployments
 * (kube_deployment_status_replicas_ready), HPAs (kube_horizontalpodautoscaler_*), pods
 * (kube_pod_container_resource_limits, kube_pod_status_*, kube_pod_container_status_restarts_total).
 */
const KSM_RESOURCES = [
    { resource: "deployments", apiGroup: "apps" },
    { resource: "horizontalpodautoscalers", apiGroup: "autoscaling" },
    { resource: "pods", apiGroup: "" },
] as const;
/** Its rights in the app's namespace: a Role there, bound to its ServiceAccount in the suite's namespace. */
const KSM_ROLE = "todo-e2e-kube-state-metrics";
const LOCAL_PORT = 19090;
const TRAFFIC_REQUESTS = 20;

interface MonitorEndpoint {
    port: string;
    path?: string;
    interval?: string;
}

interface Monitor {
    metadata: { name: string; namespace: string };
    spec: { jobLabel?: string; selector: { matchLabels?: Record<string, string> }; endpoints?: MonitorEndpoint[]; podMetricsEndpoints?: MonitorEndpoint[] };
}

interface RuleGroups {
    groups: { name: string; rules: Record<string, unknown>[] }[];
}

/** A label name as Prometheus's Kubernetes discovery writes it into its meta labels. */
const metaName = (label: string): string => label.replace(/[^a-zA-Z0-9_]/g, "_");

/**
 * The scrape jobs the operator makes of a ServiceMonitor (endpoint slices of the selected
 * Services, kept by port name) or a PodMonitor (the selected pods' container ports): the job
 * label from `jobLabel`, the namespace and pod as target labels.
 */
export function scrapeJobs(kind: "ServiceMonitor" | "PodMonitor", monitor: Monitor): Record<string, unknown>[] {
    const { name, namespace } = monitor.metadata;
    const service = kind === "ServiceMonitor";
    const owner = service ? "service" : "pod";
    const endpoints = (service ? monitor.spec.endpoints : monitor.spec.podMetricsEndpoints) ?? [];
    const portLabel = service ? "__meta_kubernetes_endpointslice_port_name" : "__meta_kubernetes_pod_container_port_name";
    return endpoints.map((endpoint, index) => ({
        job_name: `${kind.toLowerCase()}/${namespace}/${name}/${index}`,
        metrics_path: endpoint.path ?? "/metrics",
        scrape_interval: endpoint.interval ?? "30s",
        kubernetes_sd_configs: [{ role: service ? "endpointslice" : "pod", namespaces: { names: [namespace] } }],
        relabel_configs: [
            ...Object.entries(monitor.spec.selector.matchLabels ?? {}).map(([label, value]) => ({
                action: "keep",
                source_labels: [`__meta_kubernetes_${owner}_label_${metaName(label)}`],
                regex: value,
            })),
            { action: "keep", source_labels: [portLabel], regex: endpoint.port },
            { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
            { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
            monitor.spec.jobLabel
                ? { source_labels: [`__meta_kubernetes_${owner}_label_${metaName(monitor.spec.jobLabel)}`], target_label: "job" }
                : { target_label: "job", replacement: name },
        ],
    }));
}

/** The CRDs' manifests from the operator's module, downloaded through the Go module proxy into the toolchain's module cache. */
async function operatorCrdFiles(): Promise<string[]> {
    const env = { GOMODCACHE: path.join(CACHE_DIR, "toolchain", "go", "mod"), GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" };
    const download = JSON.parse(await output("go", ["mod", "download", "-json", `${OPERATOR_MODULE}@${OPERATOR_VERSION}`], { env, timeoutSeconds: 600 })) as { Dir?: string; Error?: string };
    if (!download.Dir) throw new Error(`go mod download ${OPERATOR_MODULE}@${OPERATOR_VERSION}: ${download.Error ?? "no folder"}`);
    return CRD_NAMES.map((name) => path.join(download.Dir ?? "", "example", "prometheus-operator-crd", `monitoring.coreos.com_${name}.yaml`));
}

async function crdsServed(): Promise<boolean> {
    const result = await run("kubectl", ["get", "--raw", "/apis/monitoring.coreos.com/v1"], { timeoutSeconds: 60 });
    return result.status === 0 && CRD_NAMES.every((name) => result.stdout.includes(`"name":"${name}"`));
}

/** The folder a build script of test/tools prints last (it builds on first use, then reuses its cache). */
async function toolFolder(script: string): Promise<string> {
    return (await output("bash", [path.join(__dirname, "..", "..", "test", "tools", script)], { timeoutSeconds: 1800 })).trim().split("\n").pop() ?? "";
}

/** A one-file image (FROM scratch, uid 65534) of a static binary built for the tests, put where the cluster's node finds it. */
async function provideBinaryImage(path_: E2ePath, binaries: string, binary: string, image: string): Promise<void> {
    const context = mkdtempSync(path.join(tmpdir(), `todo-${binary}-image-`));
    try {
        copyFileSync(path.join(binaries, binary), path.join(context, binary));
        writeFileSync(path.join(context, "Dockerfile"), `FROM scratch\nCOPY ${binary} /bin/${binary}\nUSER 65534:65534\nENTRYPOINT ["/bin/${binary}"]\n`);
        await output(process.env.DOCKER ?? "docker", ["build", "-q", "-t", image, context], { env: { DOCKER_BUILDKIT: "0" }, timeoutSeconds: 300 });
    } finally {
        rmSync(context, { recursive: true, force: true });
    }
    const [command, ...args] = path_.run.target.loadImagesCommand;
    if (command) await output(command, [...args, image], { timeoutSeconds: 600 });
}

/** The wall seconds a test/tools build took (its `.build-seconds`); undefined for a folder built before that file. */
function buildSeconds(binaries: string): string | undefined {
    const file = path.join(binaries, ".build-seconds");
    return existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
}

/** Prometheus in its namespace, with in-cluster discovery rights, configured from the app's monitors and rules. */
function prometheusObjects(config: string, rules: string): Record<string, unknown>[] {
    const metadata = (name: string) => ({ name, namespace: PROMETHEUS_NAMESPACE, labels: PROMETHEUS_LABELS });
    return [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: PROMETHEUS_NAMESPACE } },
        { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata("prometheus") },
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRole",
            metadata: { name: "todo-e2e-prometheus", labels: PROMETHEUS_LABELS },
            rules: [
                { apiGroups: [""], resources: ["pods", "services", "endpoints", "nodes"], verbs: ["get", "list", "watch"] },
                // The kubelet's /metrics/cadvisor: its webhook authorizer asks for get on nodes/metrics.
                { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
                { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
            ],
        },
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: "todo-e2e-prometheus", labels: PROMETHEUS_LABELS },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "todo-e2e-prometheus" },
            subjects: [{ kind: "ServiceAccount", name: "prometheus", namespace: PROMETHEUS_NAMESPACE }],
        },
        { apiVersion: "v1", kind: "ConfigMap", metadata: metadata("prometheus-config"), data: { "prometheus.yml": config, "todo-app.rules.yml": rules } },
        {
            apiVersion: "v1",
            kind: "Pod",
            metadata: metadata("prometheus"),
            spec: {
                serviceAccountName: "prometheus",
                securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                    {
                        name: "prometheus",
                        image: PROMETHEUS_IMAGE,
                        imagePullPolicy: "IfNotPresent",
                        args: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", `--web.listen-address=:${PROMETHEUS_PORT}`],
                        ports: [{ name: "web", containerPort: PROMETHEUS_PORT }],
                        readinessProbe: { httpGet: { path: "/-/ready", port: "web" }, periodSeconds: 2 },
                        resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
                        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                        volumeMounts: [
                            { name: "config", mountPath: "/etc/prometheus" },
                            { name: "data", mountPath: "/prometheus" },
                        ],
                    },
                ],
                volumes: [
                    { name: "config", configMap: { name: "prometheus-config" } },
                    { name: "data", emptyDir: { sizeLimit: "256Mi" } },
                ],
            },
        },
    ];
}

/**
 * kube-state-metrics for the app's namespace only (`--namespaces`), and only the resources the
 * dashboard and the rules read (`--resources`): a Role in the app's namespace to list and watch
 * them, bound to its ServiceAccount here. Its series carry the names and labels of
 * kube-prometheus-stack's (namespace, deployment, horizontalpodautoscaler, pod, container, resource).
 */
function kubeStateMetricsObjects(appNamespace: string, image: string): Record<string, unknown>[] {
    const metadata = (name: string) => ({ name, namespace: PROMETHEUS_NAMESPACE, labels: KSM_LABELS });
    const groups = [...new Set(KSM_RESOURCES.map(({ apiGroup }) => apiGroup))];
    return [
        { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata(KSM_NAME) },
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: { name: KSM_ROLE, namespace: appNamespace, labels: KSM_LABELS },
            rules: groups.map((apiGroup) => ({
                apiGroups: [apiGroup],
                resources: KSM_RESOURCES.filter((entry) => entry.apiGroup === apiGroup).map(({ resource }) => resource),
                verbs: ["list", "watch"],
            })),
        },
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name: KSM_ROLE, namespace: appNamespace, labels: KSM_LABELS },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: KSM_ROLE },
            subjects: [{ kind: "ServiceAccount", name: KSM_NAME, namespace: PROMETHEUS_NAMESPACE }],
        },
        {
            apiVersion: "v1",
            kind: "Pod",
            metadata: metadata(KSM_NAME),
            spec: {
                serviceAccountName: KSM_NAME,
                securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                    {
                        name: KSM_NAME,
                        image,
                        imagePullPolicy: "IfNotPresent",
                        args: [
                            `--port=${KSM_PORT}`,
                            `--telemetry-port=${KSM_TELEMETRY_PORT}`,
                            `--namespaces=${appNamespace}`,
                            `--resources=${KSM_RESOURCES.map(({ resource }) => resource).join(",")}`,
                        ],
                        ports: [
                            { name: "http-metrics", containerPort: KSM_PORT },
                            { name: "telemetry", containerPort: KSM_TELEMETRY_PORT },
                        ],
                        // Ready once its stores hold something to serve; alive while it reaches the API server.
                        readinessProbe: { httpGet: { path: "/readyz", port: "telemetry" }, periodSeconds: 2 },
                        livenessProbe: { httpGet: { path: "/livez", port: "http-metrics" }, periodSeconds: 10, failureThreshold: 6 },
                        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
                        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                    },
                ],
            },
        },
    ];
}

/**
 * A scrape of the backend pods' API port (named http), which the app's NetworkPolicies open to
 * the frontend only: Prometheus's pods are let in to the metrics port alone, so this target must
 * fail to connect. An HTTP answer (say, the API port's 404 for /metrics) means Prometheus got in.
 */
const API_PORT_JOB = "e2e-backend-api-port";

function apiPortJob(backendMonitor: Monitor): Record<string, unknown>[] {
    const { namespace } = backendMonitor.metadata;
    const control: Monitor = { metadata: { name: API_PORT_JOB, namespace }, spec: { selector: backendMonitor.spec.selector, podMetricsEndpoints: [{ port: "http", path: "/metrics", interval: "15s" }] } };
    return scrapeJobs("PodMonitor", control);
}

/**
 * kube-state-metrics' pod, found by its labels and port name (as kube-prometheus-stack's
 * ServiceMonitor finds its Service), with `honor_labels`: a series' namespace and pod are those
 * of the app's object it describes, not those of kube-state-metrics' own pod.
 */
const KSM_JOB = {
    job_name: KSM_NAME,
    scrape_interval: MONITORING.scrapeInterval,
    honor_labels: true,
    kubernetes_sd_configs: [{ role: "pod", namespaces: { names: [PROMETHEUS_NAMESPACE] } }],
    relabel_configs: [
        ...Object.entries(KSM_LABELS).map(([label, value]) => ({ action: "keep", source_labels: [`__meta_kubernetes_pod_label_${metaName(label)}`], regex: value })),
        { action: "keep", source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: "http-metrics" },
        { target_label: "job", replacement: KSM_NAME },
    ],
};

/**
 * The containers' CPU and memory from each kubelet's cAdvisor (the dashboard's CPU and memory
 * panels), scraped on the kubelet's own port as kube-prometheus-stack scrapes it: the node's
 * address and kubelet port from node discovery, /metrics/cadvisor over HTTPS with the
 * ServiceAccount's token (the kubelet asks the API server: a TokenReview, then get on
 * nodes/metrics). The offline cluster's kubelet serves a certificate of the cluster's CA for the
 * node's address (local-cluster/lib/pki.sh), verified with the CA every pod gets; elsewhere
 * kubelets commonly serve a self-signed one, which kube-prometheus-stack does not verify either
 * (`insecureSkipVerify`). `honor_labels`: the series' own namespace, pod and container.
 */
function kubeletCadvisorJob(verifyWithClusterCa: boolean): Record<string, unknown> {
    return {
        job_name: "kubelet-cadvisor",
        scrape_interval: MONITORING.scrapeInterval,
        scheme: "https",
        metrics_path: "/metrics/cadvisor",
        honor_labels: true,
        authorization: { credentials_file: "/var/run/secrets/kubernetes.io/serviceaccount/token" },
        tls_config: verifyWithClusterCa ? { ca_file: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" } : { insecure_skip_verify: true },
        kubernetes_sd_configs: [{ role: "node" }],
        relabel_configs: [
            { target_label: "job", replacement: "kubelet" },
            { target_label: "metrics_path", replacement: "/metrics/cadvisor" },
            { source_labels: ["__meta_kubernetes_node_name"], target_label: "node" },
        ],
    };
}

interface QueryResult {
    metric: Record<string, string>;
    value: [number, string];
}

/** The minutes of data the dashboard's picture shows. */
const DASHBOARD_WINDOW_SECONDS = 600;

/** What the dashboard's panels showed, saved with the run's results (docs/dashboard.png is drawn from such a file). */
export interface DashboardData {
    namespace: string;
    panels: { title: string; series: { legend: string; points: [number, number][] }[] }[];
}

/** A Grafana legend format (`{{job}} p95`) filled from a series' labels; its labels when there is none. */
function legendOf(format: string | undefined, labels: Record<string, string>): string {
    if (format) return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? "");
    return Object.entries(labels).map(([key, value]) => `${key}=${value}`).join(", ");
}

async function queryRange(promql: string, start: number, end: number): Promise<{ metric: Record<string, string>; values: [number, string][] }[]> {
    const url = `http://127.0.0.1:${LOCAL_PORT}/api/v1/query_range?query=${encodeURIComponent(promql)}&start=${start}&end=${end}&step=15`;
    const body = (await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
    if (body.status !== "success") throw new Error(`${promql}: ${body.error ?? "failed"}`);
    return body.data?.result ?? [];
}

async function query(promql: string): Promise<QueryResult[]> {
    const response = await fetch(`http://127.0.0.1:${LOCAL_PORT}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { status: string; error?: string; data?: { result: QueryResult[] } };
    if (body.status !== "success") throw new Error(`${promql}: ${body.error ?? response.status}`);
    return body.data?.result ?? [];
}

export interface MonitoringCheckArgs {
    namespace: string;
    /** Where the frontend answers (its NodePort), for the traffic the request-rate check sends. */
    frontendUrl: () => string;
}

/**
 * The checks, in order: the CRDs (installed unless the cluster serves them already), `pulumi up`
 * with todo:monitoring on, Prometheus from the monitors, targets up, rules loaded, traffic seen.
 * A teardown check removes Prometheus and the CRDs it installed, after the stack is gone.
 */
export function registerMonitoringChecks(path_: E2ePath, args: MonitoringCheckArgs): { dashboardCheck: () => void; teardown: () => void } {
    let installedCrds = false;
    let forward: PortForward | undefined;
    const { namespace } = args;

    path_.require("the Prometheus operator's CRDs are served (installed from its Go module's sources)", async () => {
        await namespacesFree([PROMETHEUS_NAMESPACE]);
        if (await crdsServed()) {
            path_.say("the cluster serves them already (kube-prometheus-stack?): left as they are");
            return;
        }
        const files = await path_.time("operator CRDs from the Go module proxy", operatorCrdFiles);
        await kubectl(["apply", "--server-side", ...files.flatMap((file) => ["-f", file])]);
        installedCrds = true;
        await kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...CRD_NAMES.map((name) => `crd/${name}.monitoring.coreos.com`)]);
        expect(await crdsServed()).toBe(true);
    });

    path_.require("pulumi up with todo:monitoring true adds the monitors, the alert rules and the dashboard", async () => {
        await path_.stack().stack.setAllConfig({ "todo:monitoring": { value: "true" }, "todo:prometheusNamespace": { value: PROMETHEUS_NAMESPACE } });
        await path_.time("up with monitoring", () => path_.stack().up());
        const names = async (kind: string): Promise<string[]> => (await kubectl(["-n", namespace, "get", kind, "-o", "name"])).trim().split("\n").filter(Boolean);
        expect(await names("servicemonitors.monitoring.coreos.com")).toEqual([]);
        expect(await names("podmonitors.monitoring.coreos.com")).toEqual(["podmonitor.monitoring.coreos.com/backend", "podmonitor.monitoring.coreos.com/frontend"]);
        expect(await names("prometheusrules.monitoring.coreos.com")).toEqual(["prometheusrule.monitoring.coreos.com/todo-app"]);
        const dashboard = await kubectlJson<{ metadata: { labels?: Record<string, string> } }>(["-n", namespace, "get", "configmap", "todo-app-dashboard"]);
        expect(dashboard.metadata.labels?.grafana_dashboard).toBe("1");
    }, { timeoutSeconds: 900 });

    path_.require("a Prometheus configured from the PodMonitors and the PrometheusRule runs, with kube-state-metrics and the kubelet's cAdvisor", async () => {
        const serviceMonitors = (await kubectlJson<{ items: Monitor[] }>(["-n", namespace, "get", "servicemonitors.monitoring.coreos.com"])).items;
        const podMonitors = (await kubectlJson<{ items: Monitor[] }>(["-n", namespace, "get", "podmonitors.monitoring.coreos.com"])).items;
        const rules = (await kubectlJson<{ items: { spec: RuleGroups }[] }>(["-n", namespace, "get", "prometheusrules.monitoring.coreos.com"])).items;
        const backendMonitor = podMonitors.find((monitor) => monitor.metadata.name === "backend");
        if (!backendMonitor) throw new Error(`no PodMonitor backend in ${namespace}`);
        const config = {
            global: { evaluation_interval: "30s" },
            rule_files: ["/etc/prometheus/todo-app.rules.yml"],
            scrape_configs: [
                ...serviceMonitors.flatMap((m) => scrapeJobs("ServiceMonitor", m)),
                ...podMonitors.flatMap((m) => scrapeJobs("PodMonitor", m)),
                ...apiPortJob(backendMonitor),
                KSM_JOB,
                kubeletCadvisorJob(path_.run.target.kind === "offline"),
            ],
        };
        const ruleFile: RuleGroups = { groups: rules.flatMap((rule) => rule.spec.groups) };
        await path_.time("Prometheus image", async () => provideBinaryImage(path_, await toolFolder("prometheus.sh"), "prometheus", PROMETHEUS_IMAGE));
        const ksmImage = await path_.time("kube-state-metrics image", async () => {
            const binaries = await toolFolder("kube-state-metrics.sh");
            path_.say(`kube-state-metrics from ${binaries} (its build took ${buildSeconds(binaries) ?? "?"} s)`);
            const image = `todo-e2e.local/kube-state-metrics:${path.basename(binaries).replace(/^kube-state-metrics-/, "")}`;
            await provideBinaryImage(path_, binaries, "kube-state-metrics", image);
            return image;
        });
        const items = [...prometheusObjects(JSON.stringify(config), JSON.stringify(ruleFile)), ...kubeStateMetricsObjects(namespace, ksmImage)];
        await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items }));
        await kubectl(["-n", PROMETHEUS_NAMESPACE, "wait", "--for=condition=Ready", "--timeout=120s", "pod/prometheus", `pod/${KSM_NAME}`]);
        forward = await PortForward.open(PROMETHEUS_NAMESPACE, "pod/prometheus", LOCAL_PORT, String(PROMETHEUS_PORT), "/-/ready");
    }, { timeoutSeconds: 3900 });

    path_.check("Prometheus scrapes the backend and the frontend through the monitors, kube-state-metrics and the kubelet's cAdvisor: their targets are up", async () => {
        const selector = `up{namespace="${namespace}"} or up{job=~"${KSM_NAME}|kubelet"}`;
        const wanted = ["backend", "frontend", KSM_NAME, "kubelet"];
        const up = await eventually(120, `the jobs ${wanted.join(", ")} up`, async () => {
            const results = await query(selector);
            const jobs = new Set(results.filter((result) => result.value[1] === "1").map((result) => result.metric.job));
            return wanted.every((job) => jobs.has(job)) ? results : undefined;
        }).catch(async (error: unknown) => {
            for (const result of await query(selector)) path_.say(`target ${result.metric.job} ${result.metric.instance}: up=${result.value[1]}`);
            throw error;
        });
        for (const result of up) path_.say(`target ${result.metric.job} ${result.metric.instance}${result.metric.pod ? ` (${result.metric.pod})` : ""}: up=${result.value[1]}`);
    });

    path_.check("the NetworkPolicies keep Prometheus off the backend's API port: a scrape of it cannot connect, where the metrics port's is up", async () => {
        const targets = await eventually(120, `every ${API_PORT_JOB} target scraped once`, async () => {
            const response = await fetch(`http://127.0.0.1:${LOCAL_PORT}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(10_000) });
            const body = (await response.json()) as { data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }[] } };
            const control = body.data.activeTargets.filter((target) => target.labels.job === API_PORT_JOB);
            return control.length > 0 && control.every((target) => target.health !== "unknown") ? control : undefined;
        });
        for (const target of targets) path_.say(`${target.scrapeUrl} (${target.labels.pod}): ${target.health}, ${target.lastError || "no error"}`);
        const reached = targets.filter((target) => target.health !== "down" || target.lastError === "" || /HTTP status/i.test(target.lastError));
        expect(reached.map((target) => `${target.scrapeUrl}: ${target.health} ${target.lastError}`)).toEqual([]);
    });

    path_.check("Prometheus loaded the PrometheusRule's five alerts, every rule healthy", async () => {
        const response = await fetch(`http://127.0.0.1:${LOCAL_PORT}/api/v1/rules?type=alert`, { signal: AbortSignal.timeout(10_000) });
        const body = (await response.json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
        const loaded = body.data.groups.flatMap((group) => group.rules);
        path_.say(`alerts: ${loaded.map((rule) => `${rule.name} (${rule.health})`).join(", ")}`);
        // The alerts the rule file holds (helm/todo-app/monitoring/alert-rules.yaml): five of them.
        const alerts = alertRules(namespace).groups.flatMap((group) => group.rules).flatMap((rule) => ("alert" in rule ? [String(rule.alert)] : []));
        expect(alerts).toHaveLength(5);
        expect(loaded.map((rule) => rule.name).sort()).toEqual(alerts.sort());
        expect(loaded.filter((rule) => rule.health === "err")).toEqual([]);
    });

    path_.check(`after ${TRAFFIC_REQUESTS} page requests, the request rate of both jobs returns data and counts them`, async () => {
        for (let request = 0; request < TRAFFIC_REQUESTS; request++) {
            const response = await fetch(`${args.frontendUrl()}/login`, { signal: AbortSignal.timeout(10_000) });
            expect(response.status).toBe(200);
            await response.arrayBuffer();
        }
        // Two scrapes at the monitors' interval make a rate.
        const seconds = 2 * Number.parseInt(MONITORING.scrapeInterval, 10) + 60;
        await eventually(seconds, "the /login requests in Prometheus", async () => {
            const logins = await query(`sum(http_requests_total{namespace="${namespace}", job="frontend", route="/login", method="GET"})`);
            return Number(logins[0]?.value[1] ?? 0) >= TRAFFIC_REQUESTS ? true : undefined;
        });
        const rates = await eventually(seconds, "a request rate for both jobs", async () => {
            const results = await query(`sum by (job) (rate(http_requests_total{namespace="${namespace}"}[2m]))`);
            const jobs = new Set(results.filter((result) => Number(result.value[1]) > 0).map((result) => result.metric.job));
            return jobs.has("backend") && jobs.has("frontend") ? results : undefined;
        });
        for (const rate of rates) path_.say(`request rate of ${rate.metric.job}: ${Number(rate.value[1]).toFixed(3)}/s`);
    }, { timeoutSeconds: 420 });

    return {
        // Registered where the caller wants it: after a load, the panels have something to show.
        dashboardCheck: () => {
        path_.check("the dashboard's panels read real data: every query of every panel answers at least one series", async () => {
            // A few pages that do not exist, so that the errors-by-status panel has 404s to show.
            for (let request = 0; request < 5; request++) {
                const response = await fetch(`${args.frontendUrl()}/no-such-page`, { signal: AbortSignal.timeout(10_000) });
                expect(response.status).toBe(404);
                await response.arrayBuffer();
            }
            const dashboard = JSON.parse(dashboardJson()) as { panels: { title: string; targets?: { expr: string; legendFormat?: string }[] }[] };
            const end = Math.floor(Date.now() / 1000);
            const panels: DashboardData["panels"] = [];
            const empty: string[] = [];
            // Two scrapes after the 404s, so that a rate over them exists.
            await sleep(2 * Number.parseInt(MONITORING.scrapeInterval, 10) * 1000 + 5000);
            for (const panel of dashboard.panels) {
                const series: DashboardData["panels"][number]["series"] = [];
                // A panel without a query shows nothing: it counts as empty.
                if ((panel.targets ?? []).length === 0) empty.push(`"${panel.title}": no query`);
                for (const target of panel.targets ?? []) {
                    const expr = target.expr.replaceAll("$namespace", namespace).replaceAll("$__rate_interval", "1m");
                    const results = await queryRange(expr, end - DASHBOARD_WINDOW_SECONDS, Math.floor(Date.now() / 1000));
                    if (results.length === 0) empty.push(`"${panel.title}": ${expr}`);
                    for (const result of results) {
                        series.push({ legend: legendOf(target.legendFormat, result.metric), points: result.values.map(([time, value]) => [time, Number(value)]) });
                    }
                }
                path_.say(`panel "${panel.title}": ${series.length} series`);
                panels.push({ title: panel.title, series });
            }
            // Saved whatever the verdict, for the picture (docs/dashboard.png) and for the diagnosis.
            writeFileSync(path.join(path_.run.resultsDir, "dashboard-data.json"), `${JSON.stringify({ namespace, panels } satisfies DashboardData, null, 2)}\n`);
            if (empty.some((entry) => /\bcontainer_(cpu|memory)_/.test(entry))) {
                // The kubelet names a pod's own cgroup itself, but a container's only from what
                // cAdvisor reads from the runtime: without containerd, no series has a container.
                const pods = await query(`count(container_cpu_usage_seconds_total{namespace="${namespace}"})`);
                const containers = await query(`count(container_cpu_usage_seconds_total{namespace="${namespace}", container!=""})`);
                path_.say(
                    `cAdvisor: ${pods[0]?.value[1] ?? 0} CPU series of the namespace, ${containers[0]?.value[1] ?? 0} of them a container's` +
                        " (none: the kubelet's cAdvisor does not reach the node's containerd, which gives the container label; the kubelet's --containerd must name the runtime's socket)",
                );
            }
            // Every query of every panel, strictly: the app's requests and latencies, the 5xx ratio
            // (0 without a 5xx), kube-state-metrics' replicas and limits, cAdvisor's CPU and memory.
            expect(empty).toEqual([]);
        }, { timeoutSeconds: 300 });
        },
        teardown: () => {
            path_.teardown("Prometheus, kube-state-metrics and the operator CRDs the suite installed are removed", async () => {
                forward?.close();
                await kubectl(["delete", "--ignore-not-found", "--wait=true", "namespace", PROMETHEUS_NAMESPACE]);
                await kubectl(["delete", "--ignore-not-found", "clusterrolebinding/todo-e2e-prometheus", "clusterrole/todo-e2e-prometheus"]);
                // Gone with the app's namespace as a rule (the stack is destroyed before this); left behind if the destroy did not run.
                await run("kubectl", ["-n", namespace, "delete", "--ignore-not-found", `rolebinding/${KSM_ROLE}`, `role/${KSM_ROLE}`], { timeoutSeconds: 60 });
                if (installedCrds) await kubectl(["delete", "--ignore-not-found", ...CRD_NAMES.map((name) => `crd/${name}.monitoring.coreos.com`)]);
            });
        },
    };
}
