// Every `todo:*` key: how it is validated, its default, its bounds and what it means, each written
// once. Pulumi.yaml's config block and the chart's defaults and bounds (values.yaml,
// values.schema.json) are generated from here (`npm run generate`; test/generated.test.ts fails
// when a copy is stale).
import { z } from "zod";

import { parseQuantity } from "./quantity";

export const CONFIG_NAMESPACE = "todo";

export const ENVIRONMENTS = ["dev", "prod"] as const;
export const DEPLOY_METHODS = ["native", "chart"] as const;
export const DATABASE_MODES = ["in-cluster", "external"] as const;
export const SERVICE_TYPES = ["NodePort", "ClusterIP", "LoadBalancer"] as const;
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

export type Environment = (typeof ENVIRONMENTS)[number];
export type DeployMethod = (typeof DEPLOY_METHODS)[number];
export type DatabaseMode = (typeof DATABASE_MODES)[number];
export type ServiceType = (typeof SERVICE_TYPES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Keys whose values are credentials: they must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["registryPassword", "signingKey", "signingKeyPassword", "databaseUrl", "jwtSecret"] as const;

/**
 * Ephemeral storage of every container, on top of its CPU and memory settings: the kubelet counts
 * the container's log (rotated at 10 Mi, a few compressed files kept) and its emptyDirs against it.
 */
export const EPHEMERAL_STORAGE = { requests: "64Mi", limits: "256Mi" } as const;

/** What the schema says of a key besides how it validates it: the source of its generated copies. */
export interface SettingMeta {
    /** The key's type in Pulumi.yaml. */
    type: "string" | "integer" | "boolean" | "array";
    /** The default as Pulumi.yaml declares it (the program parses it like a value that was set). */
    default: string | number | boolean | string[];
    minimum?: number;
    maximum?: number;
    /** The accepted values of a key that takes one of a list. */
    values?: readonly string[];
    description: string;
    /** The chart values (dotted paths) that take this setting with the same default and bounds. */
    chart?: readonly string[];
}

/** What a key's declaration says in words, and where the chart takes it. */
type SettingDoc = Pick<SettingMeta, "description" | "chart">;

/** Each key's SettingMeta, registered by the builders below. */
export const SETTING_META = z.registry<SettingMeta>();

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// registry[:port]/path or a Docker Hub user/organisation: lower-case path components.
const IMAGE_REPOSITORY = /^([a-z0-9.-]+(:\d+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const IMAGE_REFERENCE = /^[\w.-]+(:\d+)?(\/[\w.-]+)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
// A label's name (with an optional DNS prefix) and value, as Kubernetes accepts them.
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
// What cosign generate-key-pair writes (v2 and later; v1 named it ENCRYPTED COSIGN PRIVATE KEY).
const SIGNING_KEY_PEM = /^-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

const NAMESPACE_NAME = {
    test: (value: string) => value.length <= 63 && DNS_LABEL.test(value),
    error: "is not a namespace name; accepted: lower-case letters, digits and '-', at most 63 characters",
};

/** `name=value[,name=value...]`, kubectl's -l form, as labels; undefined when it is not one. */
export function parseLabelSelector(selector: string): Record<string, string> | undefined {
    const labels: Record<string, string> = {};
    for (const pair of selector.split(",")) {
        const [name = "", value, ...rest] = pair.trim().split("=");
        if (value === undefined || rest.length > 0 || !LABEL_NAME.test(name) || !LABEL_VALUE.test(value)) {
            return undefined;
        }
        labels[name] = value;
    }
    return labels;
}

const setting = <Schema extends z.ZodType>(schema: Schema, meta: SettingMeta): Schema => {
    SETTING_META.add(schema, meta);
    return schema;
};

const oneOf = <T extends readonly [string, ...string[]]>(values: T, fallback: T[number], doc: SettingDoc) =>
    setting(z.enum(values, { error: (issue) => `got ${JSON.stringify(issue.input)}; accepted: ${values.join(", ")}` }).default(fallback), {
        type: "string",
        default: fallback,
        values,
        ...doc,
    });

const flag = (fallback: boolean, doc: SettingDoc) =>
    setting(
        z
            .enum(["true", "false"], { error: (issue) => `got ${JSON.stringify(issue.input)}; accepted: true, false` })
            .default(fallback ? "true" : "false")
            .transform((value) => value === "true"),
        { type: "boolean", default: fallback, ...doc },
    );

const integer = (fallback: number, minimum: number, maximum: number, doc: SettingDoc) =>
    setting(
        z
            .string()
            .default(String(fallback))
            .transform((value, ctx) => {
                const parsed = Number(value);
                if (!/^-?\d+$/.test(value.trim()) || parsed < minimum || parsed > maximum) {
                    ctx.addIssue({ code: "custom", message: `got ${JSON.stringify(value)}; accepted: an integer from ${minimum} to ${maximum}` });
                    return z.NEVER;
                }
                return parsed;
            }),
        { type: "integer", default: fallback, minimum, maximum, ...doc },
    );

const quantity = (fallback: string, unit: "cpu" | "memory", doc: SettingDoc) =>
    setting(
        z
            .string()
            .default(fallback)
            .refine((value) => (parseQuantity(value) ?? 0) > 0, {
                error:
                    unit === "cpu"
                        ? "is not a CPU quantity; accepted: cores or millicores such as 0.5, 1, 250m"
                        : "is not a memory quantity; accepted: bytes with a suffix such as 256Mi, 1Gi, 512M",
            }),
        { type: "string", default: fallback, ...doc },
    );

const stringList = (fallback: string[], doc: SettingDoc) =>
    setting(
        z
            .string()
            .default(JSON.stringify(fallback))
            .transform((value, ctx) => {
                let parsed: unknown;
                try {
                    parsed = JSON.parse(value);
                } catch {
                    parsed = undefined;
                }
                if (!Array.isArray(parsed) || !parsed.every((item): item is string => typeof item === "string")) {
                    ctx.addIssue({ code: "custom", message: `got ${JSON.stringify(value)}; accepted: a list of strings (pulumi config set --path 'todo:key[0]' value)` });
                    return z.NEVER;
                }
                return parsed;
            }),
        { type: "array", default: fallback, ...doc },
    );

const text = (fallback: string, doc: SettingDoc, rule?: { test: (value: string) => boolean; error: string }) =>
    setting(rule ? z.string().default(fallback).refine(rule.test, { error: rule.error }) : z.string().default(fallback), { type: "string", default: fallback, ...doc });

const imageReference = (fallback: string, doc: SettingDoc) =>
    text(fallback, doc, { test: (value) => IMAGE_REFERENCE.test(value), error: "is not an image reference; accepted: name[:tag][@sha256:digest], e.g. python:3.12-alpine" });

/** A pod label selector in kubectl's -l form, parsed into labels. */
const labelSelector = (fallback: string, doc: SettingDoc) =>
    setting(
        z
            .string()
            .default(fallback)
            .transform((value, ctx) => {
                const labels = parseLabelSelector(value);
                if (labels === undefined) {
                    ctx.addIssue({ code: "custom", message: "is not a pod label selector; accepted: name=value pairs separated by commas, e.g. app.kubernetes.io/name=prometheus" });
                    return z.NEVER;
                }
                return labels;
            }),
        { type: "string", default: fallback, ...doc },
    );

const replicas = (fallback: number, bound: "minimum" | "maximum", workload: "backend" | "frontend") =>
    integer(fallback, 1, 50, { description: `HPA ${bound} for the ${workload}.`, chart: [`${workload}.autoscaling.${bound === "minimum" ? "min" : "max"}Replicas`] });

const resource = (fallback: string, unit: "cpu" | "memory", workload: "backend" | "frontend", bound: "request" | "limit") =>
    quantity(fallback, unit, {
        description: `${workload === "backend" ? "Backend" : "Frontend"} ${unit === "cpu" ? "CPU" : "memory"} ${bound}.`,
        chart: [`${workload}.resources.${bound}s.${unit}`],
    });

/** The raw `todo:*` keys (strings, as Pulumi config stores them) with their defaults. Defaults suit the dev stack (Minikube). */
export const rawConfigSchema = z.object({
    environment: oneOf(ENVIRONMENTS, "dev", { description: "dev or prod. prod requires todo:jwtSecret." }),
    deployMethod: oneOf(DEPLOY_METHODS, "native", { description: "native (every object a Pulumi resource) or chart (helm/todo-app as a Helm release)." }),
    namespace: text("todo-app", { description: "Namespace of the app, labelled for Pod Security Admission restricted." }, NAMESPACE_NAME),
    pushImages: flag(false, { description: "false: build into the local Docker (eval $(minikube docker-env)); true: push to todo:imageRepository and deploy by digest." }),
    imageRepository: text(
        "",
        { description: "Where pushed images go: a Docker Hub user (alice), docker.io/alice, ghcr.io/acme or registry:port/path. Required when pushing." },
        {
            test: (value) => value === "" || IMAGE_REPOSITORY.test(value),
            error: "is not a repository prefix; accepted: a Docker Hub user (alice), or registry/path (docker.io/alice, ghcr.io/acme, 127.0.0.1:5000/todo)",
        },
    ),
    registryUsername: text("", { description: "Registry user for pushing (and for the pull Secret). Required when pushing." }),
    registryPassword: text("", { description: "Registry password or access token (secret). Required when pushing." }),
    imagePullSecret: flag(false, { description: "Create an image pull Secret from the registry credentials (private repositories)." }),
    registryCache: flag(true, { description: "When pushing, use <repository>:buildcache in the registry as the build cache." }),
    signingKey: text(
        "",
        {
            description:
                "cosign private key (secret; the cosign.key that cosign generate-key-pair writes). Set, pulumi up signs each pushed image and attaches its SBOM, signed, in the registry. Needs todo:pushImages.",
        },
        {
            test: (value) => value === "" || SIGNING_KEY_PEM.test(value.trim()),
            error: "is not a cosign private key; accepted: the PEM of cosign.key (-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----), set with: pulumi config set --secret todo:signingKey < cosign.key",
        },
    ),
    signingKeyPassword: text("", { description: "Password of todo:signingKey (secret; the COSIGN_PASSWORD it was made with); empty for a key made without one." }),
    pythonImage: imageReference("python:3.12-alpine", { description: "Base image of the backend (build arg PYTHON_IMAGE)." }),
    nodeImage: imageReference("node:24-alpine", { description: "Base image of the frontend (build arg NODE_IMAGE)." }),
    databaseMode: oneOf(DATABASE_MODES, "in-cluster", { description: "in-cluster (a Postgres StatefulSet) or external (todo:databaseUrl, e.g. Neon)." }),
    databaseUrl: text("", { description: "External database URL (secret), postgresql://user:password@host/db; sslmode=require is added when absent." }),
    databaseRequireTls: flag(true, { description: "Refuse an external database URL whose sslmode does not encrypt (disable, allow, prefer)." }),
    databaseEgressCidrs: stringList(["0.0.0.0/0"], { description: "CIDRs the backend may reach on TCP 5432 when the database is external.", chart: ["database.egressCidrs"] }),
    postgresImage: imageReference("postgres:16-alpine", { description: "Image of the in-cluster Postgres." }),
    postgresStorageSize: quantity("1Gi", "memory", { description: "Size of the in-cluster Postgres volume.", chart: ["database.inCluster.storage.size"] }),
    postgresStorageClass: text("", { description: "StorageClass of the in-cluster Postgres volume; empty for the cluster's default.", chart: ["database.inCluster.storage.storageClassName"] }),
    jwtSecret: text("", { description: "JWT signing key (secret, 32+ characters). Empty in dev: one is generated and kept in the stack's state." }),
    jwtExpireMinutes: integer(60, 5, 1440, { description: "Lifetime of an access token, 5-1440 minutes.", chart: ["config.jwtExpireMinutes"] }),
    backendMinReplicas: replicas(1, "minimum", "backend"),
    backendMaxReplicas: replicas(5, "maximum", "backend"),
    frontendMinReplicas: replicas(1, "minimum", "frontend"),
    frontendMaxReplicas: replicas(5, "maximum", "frontend"),
    // Seed section 2.
    backendCpuRequest: resource("200m", "cpu", "backend", "request"),
    backendCpuLimit: resource("1000m", "cpu", "backend", "limit"),
    backendMemoryRequest: resource("256Mi", "memory", "backend", "request"),
    backendMemoryLimit: resource("1Gi", "memory", "backend", "limit"),
    frontendCpuRequest: resource("100m", "cpu", "frontend", "request"),
    frontendCpuLimit: resource("500m", "cpu", "frontend", "limit"),
    frontendMemoryRequest: resource("128Mi", "memory", "frontend", "request"),
    frontendMemoryLimit: resource("512Mi", "memory", "frontend", "limit"),
    cpuTargetUtilization: integer(70, 10, 100, {
        description: "Average CPU utilisation (% of requests) the HPAs aim for.",
        chart: ["backend.autoscaling.targetCPUUtilizationPercentage", "frontend.autoscaling.targetCPUUtilizationPercentage"],
    }),
    webConcurrency: integer(1, 1, 16, { description: "Uvicorn workers per backend pod (1-16).", chart: ["config.webConcurrency"] }),
    passwordHashConcurrency: integer(2, 1, 16, {
        description: "Password hashes (argon2, 19 MiB each) at once per backend worker (1-16); see the backend README's sizing rule.",
        chart: ["config.passwordHashConcurrency"],
    }),
    frontendServiceType: oneOf(SERVICE_TYPES, "NodePort", { description: "NodePort (Minikube), ClusterIP (behind an ingress) or LoadBalancer." }),
    frontendNodePort: integer(30000, 30000, 32767, { description: "Node port of the frontend when its Service is a NodePort (30000-32767).", chart: ["frontend.service.nodePort"] }),
    ingressHost: text(
        "",
        { description: "Host name of an optional Ingress to the frontend; empty for none." },
        { test: (value) => value === "" || DNS_NAME.test(value), error: "is not a host name; accepted: a DNS name such as todo.example.com" },
    ),
    ingressClassName: text("nginx", { description: "IngressClass of that Ingress.", chart: ["ingress.className"] }),
    ingressTlsSecret: text("", { description: "TLS Secret of that Ingress; empty for plain HTTP.", chart: ["ingress.tlsSecretName"] }),
    logLevel: oneOf(LOG_LEVELS, "info", { description: "Backend log level: debug, info, warning or error.", chart: ["config.logLevel"] }),
    corsOrigins: stringList([], { description: "Browser origins allowed to call the backend directly (none needed: the browser talks to the frontend).", chart: ["config.corsOrigins"] }),
    apiDocs: flag(false, {
        description: "Serve the backend's interactive API docs (/docs, /redoc) and /openapi.json, a map of every endpoint; off, they are 404.",
        chart: ["config.apiDocs"],
    }),
    monitoring: flag(false, {
        description:
            "Monitors (a PodMonitor per workload, on its metrics port), alert rules and a Grafana dashboard for kube-prometheus-stack, whose CRDs the cluster must have (README: Monitoring).",
        chart: ["monitoring.enabled"],
    }),
    // kube-prometheus-stack's defaults: its namespace as its README installs it, its pods' label.
    prometheusNamespace: text(
        "monitoring",
        {
            description: "With todo:monitoring: the namespace of the Prometheus that scrapes the app; the NetworkPolicies let its pods reach the metrics ports.",
            chart: ["monitoring.prometheus.namespace"],
        },
        NAMESPACE_NAME,
    ),
    prometheusPodSelector: labelSelector("app.kubernetes.io/name=prometheus", {
        description: "With todo:monitoring: the labels of that Prometheus's pods, name=value[,name=value] (kube-prometheus-stack's: app.kubernetes.io/name=prometheus).",
        chart: ["monitoring.prometheus.podLabels"],
    }),
});

export type RawConfig = z.output<typeof rawConfigSchema>;
export type ConfigKey = keyof RawConfig;
export const CONFIG_KEYS = Object.keys(rawConfigSchema.shape) as ConfigKey[];

/** A key's SettingMeta; every key of the schema has one. */
export function settingMeta(key: ConfigKey): SettingMeta {
    const meta = SETTING_META.get(rawConfigSchema.shape[key]);
    if (meta === undefined) throw new Error(`todo:${key} has no SettingMeta: declare it with one of stacks/schema.ts's builders`);
    return meta;
}
