// Monitoring on the native path (todo:monitoring), under mocks: off, nothing of it exists and the
// NetworkPolicies are as closed as without it; on, the monitors find the backend's and the
// frontend's pods on their metrics ports, the rules carry the five alerts for the app's
// namespace, the dashboard has the Grafana sidecar's label, and only Prometheus's pods are let
// in to the metrics ports. Without the Prometheus operator's API on the cluster, the program
// stops with one line saying so. The monitoring objects of both paths are valid under the
// operator's CRD schemas.
import { spawnSync } from "node:child_process";

import * as pulumi from "@pulumi/pulumi";

import { MONITORING, WORKLOAD_FACTS } from "../components/contract";
import { dashboardJson, NAMESPACE_PLACEHOLDER } from "../components/monitoring";
import { MONITORING_API, monitoringApiMissing } from "../components/cluster";
import { ensureHelm, renderChart } from "./chart/render";
import { findManifest, type Inputs, manifests, type ProgramRun, PROJECT_ROOT, runProgram } from "./harness";

const MONITORING_KINDS = ["ServiceMonitor", "PodMonitor", "PrometheusRule"];
const ALERTS = ["TodoHighErrorRatio", "TodoSlowResponses", "TodoPodRestarting", "TodoHpaAtMaximum", "TodoPodNotReady"];

const monitoringObjects = (run: ProgramRun): Inputs[] =>
    manifests(run).filter((manifest) => MONITORING_KINDS.includes(String(manifest.kind)) || manifest.metadata?.labels?.grafana_dashboard !== undefined);

/** Whether a label selector's matchLabels select an object with these labels. */
const selects = (matchLabels: Record<string, string>, labels: Record<string, string>): boolean =>
    Object.keys(matchLabels).length > 0 && Object.entries(matchLabels).every(([name, value]) => labels[name] === value);

const ingressOf = (run: ProgramRun, policy: string): Inputs[] => findManifest(run, "NetworkPolicy", policy).spec.ingress as Inputs[];

/** The NetworkPolicies' ingress rules as they are without monitoring. */
const CLOSED_INGRESS = {
    backend: [
        {
            from: [
                {
                    podSelector: {
                        matchLabels: { "app.kubernetes.io/name": "todo-app", "app.kubernetes.io/instance": "todo" },
                        matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: ["frontend"] }],
                    },
                },
            ],
            ports: [{ protocol: "TCP", port: 8000 }],
        },
    ],
    frontend: [{ ports: [{ protocol: "TCP", port: 3000 }] }],
};

describe("todo:monitoring off (the default)", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        // Not even asked: a cluster without the operator's API is no problem.
        run = await runProgram("dev", { monitoringApi: "absent" });
    });

    test("no monitor, rule or dashboard exists", () => {
        expect(monitoringObjects(run)).toEqual([]);
        expect(run.resources.filter((resource) => resource.type.includes("monitoring.coreos.com"))).toEqual([]);
    });

    test("the NetworkPolicies let nothing more in than the app needs", () => {
        expect(ingressOf(run, "backend")).toEqual(CLOSED_INGRESS.backend);
        expect(ingressOf(run, "frontend")).toEqual(CLOSED_INGRESS.frontend);
    });

    test.each(["backend", "frontend"])("the %s still serves its metrics on its own port, which no policy opens", (workload) => {
        const container = findManifest(run, "Deployment", workload).spec.template.spec.containers[0] as Inputs;
        expect(container.ports).toContainEqual({ name: "metrics", containerPort: 9464 });
        expect(container.env).toContainEqual({ name: "METRICS_PORT", value: "9464" });
    });

    test("the migration Job serves no metrics: it has no METRICS_PORT", () => {
        const job = manifests(run).find((manifest) => manifest.kind === "Job");
        const names = ((job?.spec.template.spec.containers[0] as Inputs).env as Inputs[]).map((variable) => variable.name);
        expect(names).not.toContain("METRICS_PORT");
    });
});

describe("todo:monitoring on", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram("dev", { config: { monitoring: "true" } });
    });

    test.each(["backend", "frontend"] as const)("the PodMonitor %s scrapes /metrics on its pods' metrics port, where they serve it, a port on no Service", (workload) => {
        const other = workload === "backend" ? "frontend" : "backend";
        const monitor = findManifest(run, "PodMonitor", workload);
        expect(monitor.apiVersion).toBe(MONITORING_API.groupVersion);
        expect(monitor.metadata.namespace).toBe("todo-app");
        const pods = findManifest(run, "Deployment", workload).spec.template;
        expect(selects(monitor.spec.selector.matchLabels as Record<string, string>, pods.metadata.labels as Record<string, string>)).toBe(true);
        expect(selects(monitor.spec.selector.matchLabels as Record<string, string>, findManifest(run, "Deployment", other).spec.template.metadata.labels as Record<string, string>)).toBe(false);
        expect(monitor.spec.podMetricsEndpoints).toEqual([{ port: "metrics", path: "/metrics", interval: "30s" }]);
        const container = pods.spec.containers[0] as { ports: Inputs[]; env: Inputs[] };
        const port = container.ports.find((candidate) => candidate.name === "metrics");
        expect(port?.containerPort).toBe(WORKLOAD_FACTS[workload].metrics.port);
        expect(container.env).toContainEqual({ name: "METRICS_PORT", value: String(port?.containerPort) });
        // The Service carries the app's port only: whoever reaches it reaches no metrics.
        expect((findManifest(run, "Service", workload).spec.ports as Inputs[]).map((servicePort) => servicePort.name)).toEqual(["http"]);
        // The series' job is the component, which the rules and the dashboard select by.
        expect(monitor.spec.jobLabel).toBe("app.kubernetes.io/component");
        expect(pods.metadata.labels["app.kubernetes.io/component"]).toBe(workload);
    });

    test("there is no ServiceMonitor: no Service carries a metrics port", () => {
        expect(manifests(run).filter((manifest) => manifest.kind === "ServiceMonitor")).toEqual([]);
    });

    test("the PrometheusRule carries the five alerts, each with a severity, a summary, a description and a runbook hint", () => {
        const rule = findManifest(run, "PrometheusRule", MONITORING.objectNames.alertRules);
        const rules = (rule.spec.groups as { rules: Inputs[] }[]).flatMap((group) => group.rules);
        expect(rules.map((alert) => alert.alert)).toEqual(ALERTS);
        for (const alert of rules) {
            expect([alert.alert, alert.labels.severity]).toEqual([alert.alert, expect.stringMatching(/^(warning|critical)$/)]);
            expect(Object.keys(alert.annotations as object).sort()).toEqual(["description", "runbook", "summary"]);
            expect(alert.expr).toContain('namespace="todo-app"');
            expect(alert.expr).not.toContain(NAMESPACE_PLACEHOLDER);
        }
    });

    test("the dashboard ConfigMap has the label Grafana's sidecar loads, and the dashboard file", () => {
        const dashboard = findManifest(run, "ConfigMap", MONITORING.objectNames.dashboard);
        expect(dashboard.metadata.labels.grafana_dashboard).toBe("1");
        expect(dashboard.data[MONITORING.dashboardFile]).toBe(dashboardJson());
        const titles = (JSON.parse(dashboard.data[MONITORING.dashboardFile] as string) as { panels: { title: string }[] }).panels.map((panel) => panel.title);
        expect(titles).toEqual(["Requests per second", "Server errors", "Errors per second by status", "Response time p50 / p95 / p99", "Slowest routes (p95)", "Replicas", "CPU", "Memory"]);
    });

    test("the NetworkPolicies let kube-prometheus-stack's Prometheus pods in to the metrics ports, and nothing else more", () => {
        const prometheus = {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
        };
        expect(ingressOf(run, "backend")).toEqual([...CLOSED_INGRESS.backend, { from: [prometheus], ports: [{ protocol: "TCP", port: 9464 }] }]);
        expect(ingressOf(run, "frontend")).toEqual([...CLOSED_INGRESS.frontend, { from: [prometheus], ports: [{ protocol: "TCP", port: 9464 }] }]);
    });
});

test("another namespace and another Prometheus: the rules are the app's, the policies let that one in", async () => {
    const run = await runProgram("dev", { config: { monitoring: "true", namespace: "shop", prometheusNamespace: "observability", prometheusPodSelector: "app=prometheus,team=sre" } });
    const rule = findManifest(run, "PrometheusRule", MONITORING.objectNames.alertRules);
    expect(rule.metadata.namespace).toBe("shop");
    const exprs = (rule.spec.groups as { rules: Inputs[] }[]).flatMap((group) => group.rules.map((alert) => String(alert.expr)));
    expect(exprs.every((expr) => expr.includes('namespace="shop"') && !expr.includes("todo-app"))).toBe(true);
    const backendIngress = ingressOf(run, "backend");
    expect(backendIngress[1]).toEqual({
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } }, podSelector: { matchLabels: { app: "prometheus", team: "sre" } } }],
        ports: [{ protocol: "TCP", port: 9464 }],
    });
});

describe("a cluster without the Prometheus operator's API", () => {
    const oneLine = monitoringApiMissing(["servicemonitors", "podmonitors", "prometheusrules"]);

    test("the line names todo:monitoring, the missing API, and both ways out", () => {
        expect(oneLine).not.toContain("\n");
        expect(oneLine).toMatch(/^todo:monitoring is true, but the cluster does not serve monitoring\.coreos\.com\/v1 servicemonitors, podmonitors, prometheusrules/);
        expect(oneLine).toContain("helm install kube-prometheus-stack prometheus-community/kube-prometheus-stack -n monitoring --create-namespace");
        expect(oneLine).toContain("pulumi config set todo:monitoring false");
    });

    test.each(["native", "chart"])("%s path: a preview stops with that one line, before it plans anything", async (deployMethod) => {
        const registered: string[] = [];
        const failure: unknown = await runProgram("dev", {
            config: { monitoring: "true", deployMethod },
            monitoringApi: "absent",
            preview: true,
            onRegister: (resource) => registered.push(resource.type),
        }).then(
            () => undefined,
            (error: unknown) => error,
        );
        expect(pulumi.RunError.isInstance(failure)).toBe(true);
        expect((failure as Error).message).toBe(oneLine);
        expect(registered).toEqual([]);
    });
});

/**
 * Validates Prometheus operator objects with @kubernetes-models/prometheus-operator, whose
 * validators are compiled from the operator's CRD schemas (types, required fields, patterns such
 * as a Duration's). The package is an ES module, which jest's module system does not load: a
 * node of its own runs it. Returns "Kind/name: problem" for each invalid object.
 */
function crdProblems(objects: Inputs[]): string[] {
    const script = `
        import { readFileSync } from "node:fs";
        const kinds = ["ServiceMonitor", "PodMonitor", "PrometheusRule"];
        const models = Object.fromEntries(await Promise.all(kinds.map(async (kind) =>
            [kind, (await import("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/" + kind))[kind]])));
        for (const object of JSON.parse(readFileSync(0, "utf8"))) {
            try {
                new models[object.kind](object).validate();
            } catch (error) {
                console.log(object.kind + "/" + object.metadata.name + ": " + error.message);
            }
        }`;
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: PROJECT_ROOT, input: JSON.stringify(objects), encoding: "utf8" });
    if (result.status !== 0) {
        throw new Error(`the CRD validation did not run: ${result.stderr}`);
    }
    return result.stdout.split("\n").filter((line) => line !== "");
}

describe("the Prometheus operator's CRD schemas", () => {
    const operatorObjects = (objects: Inputs[]): Inputs[] => objects.filter((object) => MONITORING_KINDS.includes(String(object.kind)));

    test("accept the monitors and the rules of both paths", async () => {
        const native = operatorObjects(manifests(await runProgram("dev", { config: { monitoring: "true" } })));
        const chart = operatorObjects(renderChart(ensureHelm(), "todo-app", ["values-dev.yaml"], { monitoring: { enabled: true } }));
        expect([native.length, chart.length]).toEqual([3, 3]);
        expect(crdProblems([...native, ...chart])).toEqual([]);
    }, 10 * 60 * 1000);

    test("refuse a monitor they do not describe", () => {
        const broken = { apiVersion: MONITORING_API.groupVersion, kind: "ServiceMonitor", metadata: { name: "backend" }, spec: { selector: {}, endpoints: [{ port: 8000, interval: "30 seconds" }] } };
        expect(crdProblems([broken])).toEqual([expect.stringMatching(/^ServiceMonitor\/backend: .*interval must match pattern.*port must be string/)]);
    });
});
