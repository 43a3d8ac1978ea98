// Monitoring on the native path (todo:monitoring): a PodMonitor for each workload, which tells
// kube-prometheus-stack's Prometheus where to scrape (the metrics ports are on no Service),
// the alert rules as a PrometheusRule, and the Grafana dashboard as a ConfigMap its sidecar
// loads. The rules and the dashboard are the chart's files (helm/todo-app/monitoring: Helm reads
// only files inside its chart), read from there so that both paths deploy the same ones.
import { readFileSync } from "node:fs";
import * as path from "node:path";

import type { IPodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import type { IPrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";

import { MONITORING_API } from "./cluster";
import { MONITORING, objectLabels, selectorLabels, type Workload, WORKLOAD_FACTS } from "./contract";

/** The chart's copy of the rules and the dashboard: the only one. */
const MONITORING_FILES_DIR = path.resolve(__dirname, "..", "helm", "todo-app", "monitoring");
export const ALERT_RULES_FILE = path.join(MONITORING_FILES_DIR, "alert-rules.yaml");
const DASHBOARD_FILE = path.join(MONITORING_FILES_DIR, "dashboard.json");
/** Stands for the app's namespace in the rules; the chart replaces it too (templates/monitoring.yaml). */
export const NAMESPACE_PLACEHOLDER = "__NAMESPACE__";

/** A Prometheus rule file: what a PrometheusRule's spec holds, and what promtool reads. */
export interface RuleFile {
    groups: { name: string; rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
}

/** The alert rules for the app in `namespace`, as a rule file's text. */
export function alertRulesText(namespace: string): string {
    return readFileSync(ALERT_RULES_FILE, "utf8").replaceAll(NAMESPACE_PLACEHOLDER, namespace);
}

/** The alert rules for the app in `namespace`. */
export function alertRules(namespace: string): RuleFile {
    return yaml.load(alertRulesText(namespace)) as RuleFile;
}

/** The Grafana dashboard's JSON, the same for every namespace (it has a namespace variable). */
export function dashboardJson(): string {
    return readFileSync(DASHBOARD_FILE, "utf8");
}

export interface MonitoringArgs {
    /** The app's namespace: the monitors, the rules and the dashboard go there, beside the workloads. */
    namespace: pulumi.Input<string>;
}

/** Where and how often Prometheus scrapes a workload, in the shape of a monitor's endpoint. */
function scrapeEndpoint(workload: Workload, interval: string): { port: string; path: string; interval: string } {
    const { portName, path: metricsPath } = WORKLOAD_FACTS[workload].metrics;
    return { port: portName, path: metricsPath, interval };
}

/** The monitors, the alert rules and the dashboard, parented to `parent`. */
export function deployMonitoring(args: MonitoringArgs, parent: pulumi.Resource): void {
    const { namespace } = args;
    const interval = MONITORING.scrapeInterval;
    const opts = { parent, deleteBeforeReplace: true };
    // The job label of the scraped series is the component ("backend", "frontend"): the rules
    // and the dashboard select by it.
    const jobLabel = "app.kubernetes.io/component";
    // PodMonitors: each workload serves its metrics on a port of its own, on no Service.
    for (const workload of ["backend", "frontend"] as const) {
        new k8s.apiextensions.CustomResource(
            `${workload}-monitor`,
            {
                apiVersion: MONITORING_API.groupVersion,
                kind: "PodMonitor",
                metadata: { name: workload, namespace, labels: objectLabels(workload) },
                spec: { jobLabel, selector: { matchLabels: selectorLabels(workload) }, podMetricsEndpoints: [scrapeEndpoint(workload, interval)] } satisfies IPodMonitor["spec"],
            },
            opts,
        );
    }
    new k8s.apiextensions.CustomResource(
        "alert-rules",
        {
            apiVersion: MONITORING_API.groupVersion,
            kind: "PrometheusRule",
            metadata: { name: MONITORING.objectNames.alertRules, namespace, labels: objectLabels("monitoring") },
            spec: pulumi.output(namespace).apply((name): IPrometheusRule["spec"] => alertRules(name)),
        },
        opts,
    );
    new k8s.core.v1.ConfigMap(
        "dashboard",
        {
            metadata: { name: MONITORING.objectNames.dashboard, namespace, labels: { ...objectLabels("monitoring"), ...MONITORING.dashboardLabel } },
            data: { [MONITORING.dashboardFile]: dashboardJson() },
        },
        opts,
    );
}
