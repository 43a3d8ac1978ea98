// The app's facts, in one place for both deploy paths: the native path (native-app.ts and its
// parts) renders them, the stack config schema takes its defaults from them, and the chart
// carries them as the defaults of its values (helm/todo-app/values.yaml and its schema), which
// test/contract.test.ts checks against this module.
import { createHash } from "node:crypto";

import type * as pulumi from "@pulumi/pulumi";

import type { StackConfig } from "../stacks/config";

/** The part of the app a workload or object belongs to; "monitoring" labels the alert rules and the dashboard. */
export type Component = "frontend" | "backend" | "database" | "migration" | "monitoring";
/** The long-running, autoscaled parts. */
export type Workload = "backend" | "frontend";

export const APP_NAME = "todo-app";
/** The instance label: the native path's, and the chart path's release name. */
export const INSTANCE = "todo";

/** Fixed object names: `kubectl rollout undo deployment/backend` works on both paths. */
export const OBJECT_NAMES = {
    serviceAccount: "todo-app",
    configMap: "todo-config",
    appSecret: "todo-secrets",
    ingress: "todo",
} as const;

/** The labels a Service or NetworkPolicy selects pods by. */
export function selectorLabels(component: Component): Record<string, string> {
    return {
        "app.kubernetes.io/name": APP_NAME,
        "app.kubernetes.io/instance": INSTANCE,
        "app.kubernetes.io/component": component,
    };
}

/** Every label an object of the native path carries (the chart's say managed-by Helm). */
export function objectLabels(component: Component): Record<string, string> {
    return {
        ...selectorLabels(component),
        "app.kubernetes.io/part-of": APP_NAME,
        "app.kubernetes.io/managed-by": "pulumi",
    };
}

/** An HTTP probe: where it asks and how often, in the shape of the chart's `<workload>.probes.*` values. */
export interface ProbeFacts {
    path: string;
    initialDelaySeconds?: number;
    periodSeconds: number;
    timeoutSeconds: number;
    failureThreshold: number;
}

/** Where Prometheus scrapes a workload's metrics: a named container port and a path. */
export interface MetricsFacts {
    portName: "http" | "metrics";
    port: number;
    path: string;
}

export interface WorkloadFacts {
    /** The container port named "http", also the Service's port. */
    port: number;
    probes: { startup: ProbeFacts; liveness: ProbeFacts; readiness: ProbeFacts };
    metrics: MetricsFacts;
}

/** Seed section 4: liveness 10/10/5/3, readiness 5/5/3/2 (delay, period, timeout, failures). */
const LIVENESS = { initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 };
const READINESS = { initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 };
/**
 * Up to 150 s to start before liveness takes over, asked every second: readiness (and so the
 * rollout) waits for the startup probe, and a coarser period would leave a started pod idle.
 */
const STARTUP = { periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 150 };

export const WORKLOADS: Record<Workload, WorkloadFacts> = {
    backend: {
        port: 8000,
        probes: { startup: { path: "/health", ...STARTUP }, liveness: { path: "/health", ...LIVENESS }, readiness: { path: "/ready", ...READINESS } },
        // On the API's own port: the backend's Service is reached from inside the cluster only.
        metrics: { portName: "http", port: 8000, path: "/metrics" },
    },
    frontend: {
        port: 3000,
        probes: { startup: { path: "/api/health", ...STARTUP }, liveness: { path: "/api/health", ...LIVENESS }, readiness: { path: "/api/ready", ...READINESS } },
        // A port of its own (METRICS_PORT), on no Service: the frontend's Service is the public one.
        metrics: { portName: "metrics", port: 9464, path: "/metrics" },
    },
};

/** Defaults of the settings a stack may change (the stack config schema's, and the chart's values.yaml). */
export const SETTING_DEFAULTS = {
    /** Seed section 2. */
    resources: {
        backend: { requests: { cpu: "200m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } },
        frontend: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    },
    minReplicas: 1,
    maxReplicas: 5,
    cpuTargetUtilization: 70,
    webConcurrency: 1,
    passwordHashConcurrency: 2,
    jwtExpireMinutes: 60,
    nodePort: 30000,
} as const;

/**
 * Ephemeral storage of every container, on top of its CPU and memory settings: the kubelet counts
 * the container's log (rotated at 10 Mi, a few compressed files kept) and its emptyDirs against it.
 */
export const EPHEMERAL_STORAGE = { requests: "64Mi", limits: "256Mi" } as const;
/** The cap of each scratch emptyDir (/tmp, the Next.js cache, the Postgres socket directory): the kubelet evicts a pod that fills one. */
export const SCRATCH_VOLUME_SIZE_LIMIT = "64Mi";

/**
 * Pushed images are pinned by digest, so pulling Always costs one manifest check per pod start and
 * re-checks the pull credentials every time; images built into the node's Docker exist nowhere
 * else, so they can only be used IfNotPresent.
 */
export function imagePullPolicy(images: { push: boolean }): "Always" | "IfNotPresent" {
    return images.push ? "Always" : "IfNotPresent";
}

/** Monitoring (todo:monitoring): what kube-prometheus-stack expects, and the names of the app's objects for it. */
export const MONITORING = {
    /** Where kube-prometheus-stack runs Prometheus (its README's install), and the label of its pods. */
    prometheus: { namespace: "monitoring", podSelector: "app.kubernetes.io/name=prometheus" },
    scrapeInterval: "30s",
    /** The label kube-prometheus-stack's Grafana sidecar loads dashboards from (grafana.sidecar.dashboards.label). */
    dashboardLabel: { grafana_dashboard: "1" },
    /** The monitors are named after their workload; the rules and the dashboard after the app. */
    objectNames: { alertRules: "todo-app", dashboard: "todo-app-dashboard" },
    /** The dashboard's key in its ConfigMap: the file the sidecar writes for Grafana. */
    dashboardFile: "todo-app.json",
} as const;

/** Database connections per backend worker; not a stack setting. */
export const DB_POOL_SIZE = 5;
/** Seconds a terminating pod keeps serving while Services and kube-proxy drop it. */
export const PRE_STOP_PAUSE_SECONDS = 5;
export const TERMINATION_GRACE_SECONDS = 30;
/** Kubernetes' default, spelt out so that both paths keep the same rollback depth. */
export const REVISION_HISTORY_LIMIT = 10;

/** Spread replicas over nodes and zones where there are several; ScheduleAnyway keeps a single-node cluster scheduling them. */
export const SPREAD_TOPOLOGY_KEYS = ["kubernetes.io/hostname", "topology.kubernetes.io/zone"] as const;

/** The migration Job: once per backend image, bounded in retries and time. */
export const MIGRATION = { backoffLimit: 3, activeDeadlineSeconds: 600, command: ["python", "-m", "todo_api", "migrate"] } as const;

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** One migration Job per backend image, on both deploy paths: migrate-<sha256(image)[:10]>. */
export function migrationJobName(backendImage: string): string {
    return `migrate-${sha256(backendImage).slice(0, 10)}`;
}

/** The pod annotation that rolls the pods when the app Secret's values change; it reveals nothing of them. */
export function secretsChecksum(values: string[]): string {
    return sha256(values.join("\n"));
}

/** The pod annotation that rolls the pods when a setting of the ConfigMap changes. */
export function configChecksum(data: Record<string, string>): string {
    return sha256(JSON.stringify(data));
}

/** What both deploy paths take: the stack's validated settings, the images to run and the app's credentials. */
export interface AppArgs {
    /** Namespace (already created, with Pod Security Admission labels). */
    namespace: pulumi.Input<string>;
    /** The validated stack configuration: every default is already applied. */
    settings: StackConfig;
    /** Image references to run: a local content tag (dev) or tag@digest (prod). */
    images: Record<Workload, pulumi.Input<string>>;
    /** JWT signing secret; must be a secret. */
    jwtSecret: pulumi.Output<string>;
    /** Shared by frontend and backend: the frontend passes each person's address with it. Must be a secret. */
    forwardedAddressSecret: pulumi.Output<string>;
}
