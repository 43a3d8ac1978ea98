// The stack's configuration: every `todo:*` key, its default, and the rules that tie keys
// together. Everything is checked here, before a single resource is registered, and every
// problem is reported at once with the key to fix and the values it accepts.
import { isIP } from "node:net";

import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

import { EPHEMERAL_STORAGE, MONITORING, SETTING_DEFAULTS } from "../components/contract";
import { parseQuantity } from "./quantity";

export const CONFIG_NAMESPACE = "todo";

export const ENVIRONMENTS = ["dev", "prod"] as const;
export const DEPLOY_METHODS = ["native", "chart"] as const;
export const DATABASE_MODES = ["in-cluster", "external"] as const;
export const SERVICE_TYPES = ["NodePort", "ClusterIP", "LoadBalancer"] as const;
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;
/** libpq sslmode values that encrypt the connection. */
export const TLS_SSL_MODES = ["require", "verify-ca", "verify-full"] as const;

export type Environment = (typeof ENVIRONMENTS)[number];
export type DeployMethod = (typeof DEPLOY_METHODS)[number];
export type DatabaseMode = (typeof DATABASE_MODES)[number];
export type ServiceType = (typeof SERVICE_TYPES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Keys whose values are credentials: they must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["registryPassword", "databaseUrl", "jwtSecret"] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// registry[:port]/path or a Docker Hub user/organisation: lower-case path components.
const IMAGE_REPOSITORY = /^([a-z0-9.-]+(:\d+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const IMAGE_REFERENCE = /^[\w.-]+(:\d+)?(\/[\w.-]+)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
// A label's name (with an optional DNS prefix) and value, as Kubernetes accepts them.
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values, { error: (issue) => `got ${JSON.stringify(issue.input)}; accepted: ${values.join(", ")}` });

const flag = (fallback: boolean) =>
    z
        .enum(["true", "false"], { error: (issue) => `got ${JSON.stringify(issue.input)}; accepted: true, false` })
        .default(fallback ? "true" : "false")
        .transform((value) => value === "true");

const integer = (fallback: number, min: number, max: number) =>
    z
        .string()
        .default(String(fallback))
        .transform((value, ctx) => {
            const parsed = Number(value);
            if (!/^-?\d+$/.test(value.trim()) || parsed < min || parsed > max) {
                ctx.addIssue({ code: "custom", message: `got ${JSON.stringify(value)}; accepted: an integer from ${min} to ${max}` });
                return z.NEVER;
            }
            return parsed;
        });

const quantity = (fallback: string, unit: "cpu" | "memory") =>
    z
        .string()
        .default(fallback)
        .refine((value) => parseQuantity(value) !== undefined && (parseQuantity(value) ?? 0) > 0, {
            error:
                unit === "cpu"
                    ? "is not a CPU quantity; accepted: cores or millicores such as 0.5, 1, 250m"
                    : "is not a memory quantity; accepted: bytes with a suffix such as 256Mi, 1Gi, 512M",
        });

const stringList = (fallback: string[]) =>
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
        });

const text = (fallback: string) => z.string().default(fallback);

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

const imageReference = (fallback: string) =>
    text(fallback).refine((value) => IMAGE_REFERENCE.test(value), { error: "is not an image reference; accepted: name[:tag][@sha256:digest], e.g. python:3.12-alpine" });

/** The raw `todo:*` keys with their defaults (the app's from components/contract.ts; Pulumi.yaml declares the same). */
export const rawConfigSchema = z.object({
    environment: oneOf(ENVIRONMENTS).default("dev"),
    deployMethod: oneOf(DEPLOY_METHODS).default("native"),
    namespace: text("todo-app").refine((value) => value.length <= 63 && DNS_LABEL.test(value), {
        error: "is not a namespace name; accepted: lower-case letters, digits and '-', at most 63 characters",
    }),
    pushImages: flag(false),
    imageRepository: text("").refine((value) => value === "" || IMAGE_REPOSITORY.test(value), {
        error: "is not a repository prefix; accepted: a Docker Hub user (alice), or registry/path (docker.io/alice, ghcr.io/acme, 127.0.0.1:5000/todo)",
    }),
    registryUsername: text(""),
    registryPassword: text(""),
    imagePullSecret: flag(false),
    registryCache: flag(true),
    pythonImage: imageReference("python:3.12-alpine"),
    nodeImage: imageReference("node:24-alpine"),
    databaseMode: oneOf(DATABASE_MODES).default("in-cluster"),
    databaseUrl: text(""),
    databaseRequireTls: flag(true),
    databaseEgressCidrs: stringList(["0.0.0.0/0"]),
    postgresImage: imageReference("postgres:16-alpine"),
    postgresStorageSize: quantity("1Gi", "memory"),
    postgresStorageClass: text(""),
    jwtSecret: text(""),
    jwtExpireMinutes: integer(SETTING_DEFAULTS.jwtExpireMinutes, 5, 1440),
    backendMinReplicas: integer(SETTING_DEFAULTS.minReplicas, 1, 50),
    backendMaxReplicas: integer(SETTING_DEFAULTS.maxReplicas, 1, 50),
    frontendMinReplicas: integer(SETTING_DEFAULTS.minReplicas, 1, 50),
    frontendMaxReplicas: integer(SETTING_DEFAULTS.maxReplicas, 1, 50),
    backendCpuRequest: quantity(SETTING_DEFAULTS.resources.backend.requests.cpu, "cpu"),
    backendCpuLimit: quantity(SETTING_DEFAULTS.resources.backend.limits.cpu, "cpu"),
    backendMemoryRequest: quantity(SETTING_DEFAULTS.resources.backend.requests.memory, "memory"),
    backendMemoryLimit: quantity(SETTING_DEFAULTS.resources.backend.limits.memory, "memory"),
    frontendCpuRequest: quantity(SETTING_DEFAULTS.resources.frontend.requests.cpu, "cpu"),
    frontendCpuLimit: quantity(SETTING_DEFAULTS.resources.frontend.limits.cpu, "cpu"),
    frontendMemoryRequest: quantity(SETTING_DEFAULTS.resources.frontend.requests.memory, "memory"),
    frontendMemoryLimit: quantity(SETTING_DEFAULTS.resources.frontend.limits.memory, "memory"),
    cpuTargetUtilization: integer(SETTING_DEFAULTS.cpuTargetUtilization, 10, 100),
    webConcurrency: integer(SETTING_DEFAULTS.webConcurrency, 1, 16),
    passwordHashConcurrency: integer(SETTING_DEFAULTS.passwordHashConcurrency, 1, 16),
    frontendServiceType: oneOf(SERVICE_TYPES).default("NodePort"),
    frontendNodePort: integer(SETTING_DEFAULTS.nodePort, 30000, 32767),
    ingressHost: text("").refine((value) => value === "" || DNS_NAME.test(value), {
        error: "is not a host name; accepted: a DNS name such as todo.example.com",
    }),
    ingressClassName: text("nginx"),
    ingressTlsSecret: text(""),
    logLevel: oneOf(LOG_LEVELS).default("info"),
    corsOrigins: stringList([]),
    monitoring: flag(false),
    prometheusNamespace: text(MONITORING.prometheus.namespace).refine((value) => value.length <= 63 && DNS_LABEL.test(value), {
        error: "is not a namespace name; accepted: lower-case letters, digits and '-', at most 63 characters",
    }),
    prometheusPodSelector: text(MONITORING.prometheus.podSelector).refine((value) => parseLabelSelector(value) !== undefined, {
        error: "is not a pod label selector; accepted: name=value pairs separated by commas, e.g. app.kubernetes.io/name=prometheus",
    }),
});

export type RawConfig = z.output<typeof rawConfigSchema>;
export type ConfigKey = keyof RawConfig;
export const CONFIG_KEYS = Object.keys(rawConfigSchema.shape) as ConfigKey[];

export interface ResourceSettings {
    requests: { cpu: string; memory: string; "ephemeral-storage": string };
    limits: { cpu: string; memory: string; "ephemeral-storage": string };
}

export interface WorkloadSettings {
    minReplicas: number;
    maxReplicas: number;
    resources: ResourceSettings;
}

export interface RegistrySettings {
    /** Host of the registry, e.g. docker.io or 127.0.0.1:5000. */
    address: string;
    username: string;
    password: pulumi.Output<string>;
}

export interface ImageSettings {
    /** Push to a registry (prod) or load into the local Docker daemon (dev). */
    push: boolean;
    /** Where pushed images go: `<repositoryPrefix>/todo-backend`. Empty when not pushing. */
    repositoryPrefix: string;
    registry?: RegistrySettings;
    /** Create an image pull Secret from the registry credentials. */
    pullSecret: boolean;
    /** Use the registry as a build cache (`<repository>:buildcache`). */
    registryCache: boolean;
    pythonImage: string;
    nodeImage: string;
}

export interface MonitoringSettings {
    /** The Prometheus that scrapes the app: its namespace and its pods' labels, which the NetworkPolicies let in. */
    prometheus: { namespace: string; podLabels: Record<string, string> };
}

export type DatabaseSettings =
    | { mode: "in-cluster"; image: string; storageSize: string; storageClass?: string }
    | { mode: "external"; url: pulumi.Output<string>; egressCidrs: string[] };

export interface StackConfig {
    environment: Environment;
    deployMethod: DeployMethod;
    namespace: string;
    images: ImageSettings;
    database: DatabaseSettings;
    /** Undefined: generate one and keep it in the stack's state. */
    jwtSecret?: pulumi.Output<string>;
    jwtExpireMinutes: number;
    backend: WorkloadSettings;
    frontend: WorkloadSettings;
    cpuTargetUtilization: number;
    webConcurrency: number;
    /** argon2 hashes at once per backend worker (19 MiB each); more wait, then get 503. */
    passwordHashConcurrency: number;
    frontendService: { type: ServiceType; nodePort: number };
    ingress?: { host: string; className: string; tlsSecretName?: string };
    logLevel: LogLevel;
    corsOrigins: string[];
    /** Monitors, alert rules and a dashboard for the Prometheus operator; undefined: none (todo:monitoring false). */
    monitoring?: MonitoringSettings;
}

/**
 * Every problem found in a stack's configuration, one per line, each naming its key. A RunError,
 * so the Pulumi CLI prints the message alone: no stack trace, no dump of this object.
 */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

const key = (name: ConfigKey): string => `${CONFIG_NAMESPACE}:${name}`;

function isCidr(value: string): boolean {
    const [address, prefix, ...rest] = value.split("/");
    const family = isIP(address ?? "");
    if (rest.length > 0 || family === 0 || prefix === undefined || !/^\d+$/.test(prefix)) {
        return false;
    }
    return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** A database URL with TLS required: sslmode=require is added when absent. Returns problems instead when invalid. */
export function normaliseDatabaseUrl(raw: string, requireTls: boolean): { url: string } | { problem: string } {
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        return { problem: "is not a URL; accepted: postgresql://user:password@host/db?sslmode=require" };
    }
    if (!["postgres:", "postgresql:", "postgresql+psycopg:"].includes(url.protocol) || url.hostname === "") {
        return { problem: `has scheme ${url.protocol.replace(/:$/, "")} or no host; accepted: postgresql://user:password@host/db` };
    }
    const sslMode = url.searchParams.get("sslmode");
    if (requireTls) {
        if (sslMode === null) {
            url.searchParams.set("sslmode", "require");
        } else if (!(TLS_SSL_MODES as readonly string[]).includes(sslMode)) {
            return { problem: `has sslmode=${sslMode}; accepted: ${TLS_SSL_MODES.join(", ")} (or set ${key("databaseRequireTls")} false)` };
        }
    }
    return { url: url.toString() };
}

function checkRelations(raw: RawConfig, isSecret: (name: ConfigKey) => boolean): string[] {
    const problems: string[] = [];
    for (const name of SECRET_KEYS) {
        if (raw[name] !== "" && !isSecret(name)) {
            problems.push(`${key(name)}: is stored in plain text; set it with: pulumi config set --secret ${key(name)} <value>`);
        }
    }
    for (const workload of ["backend", "frontend"] as const) {
        const min = raw[`${workload}MinReplicas`];
        const max = raw[`${workload}MaxReplicas`];
        if (min > max) {
            problems.push(`${key(`${workload}MinReplicas`)}: ${min} is above ${key(`${workload}MaxReplicas`)} ${max}; accepted: min <= max`);
        }
        for (const resource of ["Cpu", "Memory"] as const) {
            const request = raw[`${workload}${resource}Request`];
            const limit = raw[`${workload}${resource}Limit`];
            if ((parseQuantity(request) ?? 0) > (parseQuantity(limit) ?? Infinity)) {
                problems.push(`${key(`${workload}${resource}Request`)}: ${request} is above ${key(`${workload}${resource}Limit`)} ${limit}; accepted: request <= limit`);
            }
        }
    }
    const hasCredentials = raw.registryUsername !== "" && raw.registryPassword !== "";
    if (raw.pushImages) {
        if (raw.imageRepository === "") {
            problems.push(`${key("imageRepository")}: required when ${key("pushImages")} is true; accepted: docker.io/<user>, ghcr.io/<owner> or <registry>/<path>`);
        }
        if (!hasCredentials) {
            problems.push(`${key("registryUsername")}/${key("registryPassword")}: required when ${key("pushImages")} is true; set them with pulumi config set ${key("registryUsername")} <user> and pulumi config set --secret ${key("registryPassword")} <token>`);
        }
    }
    if (raw.imagePullSecret && (!raw.pushImages || !hasCredentials)) {
        problems.push(`${key("imagePullSecret")}: needs ${key("pushImages")} true and registry credentials (${key("registryUsername")}, ${key("registryPassword")})`);
    }
    if (raw.databaseMode === "external") {
        if (raw.databaseUrl === "") {
            problems.push(`${key("databaseUrl")}: required when ${key("databaseMode")} is external; set the Neon URL with: pulumi config set --secret ${key("databaseUrl")} 'postgresql://user:password@host/db?sslmode=require'`);
        } else {
            const normalised = normaliseDatabaseUrl(raw.databaseUrl, raw.databaseRequireTls);
            if ("problem" in normalised) {
                problems.push(`${key("databaseUrl")}: ${normalised.problem}`);
            }
        }
    }
    for (const cidr of raw.databaseEgressCidrs) {
        if (!isCidr(cidr)) {
            problems.push(`${key("databaseEgressCidrs")}: ${JSON.stringify(cidr)} is not a CIDR; accepted: address/prefix such as 0.0.0.0/0 or 10.0.0.0/8`);
        }
    }
    if (raw.environment === "prod" && raw.jwtSecret === "") {
        problems.push(`${key("jwtSecret")}: required in prod; set it with: pulumi config set --secret ${key("jwtSecret")} "$(openssl rand -base64 48)"`);
    }
    if (raw.jwtSecret !== "" && raw.jwtSecret.length < 32) {
        problems.push(`${key("jwtSecret")}: is ${raw.jwtSecret.length} characters long; accepted: at least 32 characters`);
    }
    if (raw.ingressTlsSecret !== "" && raw.ingressHost === "") {
        problems.push(`${key("ingressTlsSecret")}: needs ${key("ingressHost")}; accepted: set both, or neither`);
    }
    return problems;
}

function toStackConfig(raw: RawConfig): StackConfig {
    const resources = (workload: "backend" | "frontend"): ResourceSettings => ({
        requests: { cpu: raw[`${workload}CpuRequest`], memory: raw[`${workload}MemoryRequest`], "ephemeral-storage": EPHEMERAL_STORAGE.requests },
        limits: { cpu: raw[`${workload}CpuLimit`], memory: raw[`${workload}MemoryLimit`], "ephemeral-storage": EPHEMERAL_STORAGE.limits },
    });
    const repositoryPrefix = raw.pushImages && !raw.imageRepository.includes("/") ? `docker.io/${raw.imageRepository}` : raw.imageRepository;
    const registry: RegistrySettings | undefined =
        raw.registryUsername !== "" && raw.registryPassword !== ""
            ? { address: repositoryPrefix.split("/")[0] ?? "docker.io", username: raw.registryUsername, password: pulumi.secret(raw.registryPassword) }
            : undefined;
    const database: DatabaseSettings =
        raw.databaseMode === "external"
            ? {
                  mode: "external",
                  // Validated by checkRelations, so the URL normalises.
                  url: pulumi.secret((normaliseDatabaseUrl(raw.databaseUrl, raw.databaseRequireTls) as { url: string }).url),
                  egressCidrs: raw.databaseEgressCidrs,
              }
            : { mode: "in-cluster", image: raw.postgresImage, storageSize: raw.postgresStorageSize, storageClass: raw.postgresStorageClass || undefined };
    return {
        environment: raw.environment,
        deployMethod: raw.deployMethod,
        namespace: raw.namespace,
        images: {
            push: raw.pushImages,
            repositoryPrefix: raw.pushImages ? repositoryPrefix : "",
            registry,
            pullSecret: raw.imagePullSecret,
            registryCache: raw.registryCache,
            pythonImage: raw.pythonImage,
            nodeImage: raw.nodeImage,
        },
        database,
        jwtSecret: raw.jwtSecret === "" ? undefined : pulumi.secret(raw.jwtSecret),
        jwtExpireMinutes: raw.jwtExpireMinutes,
        backend: { minReplicas: raw.backendMinReplicas, maxReplicas: raw.backendMaxReplicas, resources: resources("backend") },
        frontend: { minReplicas: raw.frontendMinReplicas, maxReplicas: raw.frontendMaxReplicas, resources: resources("frontend") },
        cpuTargetUtilization: raw.cpuTargetUtilization,
        webConcurrency: raw.webConcurrency,
        passwordHashConcurrency: raw.passwordHashConcurrency,
        frontendService: { type: raw.frontendServiceType, nodePort: raw.frontendNodePort },
        ingress: raw.ingressHost === "" ? undefined : { host: raw.ingressHost, className: raw.ingressClassName, tlsSecretName: raw.ingressTlsSecret || undefined },
        logLevel: raw.logLevel,
        corsOrigins: raw.corsOrigins,
        // Validated by the schema, so the selector parses.
        monitoring: raw.monitoring ? { prometheus: { namespace: raw.prometheusNamespace, podLabels: parseLabelSelector(raw.prometheusPodSelector) ?? {} } } : undefined,
    };
}

/**
 * Validates raw `todo:*` values (strings, as Pulumi config stores them) into a StackConfig.
 * @param values the set keys; absent keys take their defaults
 * @param isSecret whether a key was set with --secret
 * @throws ConfigError listing every problem
 */
export function parseStackConfig(values: Partial<Record<ConfigKey, string>>, isSecret: (name: ConfigKey) => boolean): StackConfig {
    const parsed = rawConfigSchema.safeParse(values);
    if (!parsed.success) {
        throw new ConfigError(parsed.error.issues.map((issue) => `${key(String(issue.path[0]) as ConfigKey)}: ${issue.message}`));
    }
    const problems = checkRelations(parsed.data, isSecret);
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return toStackConfig(parsed.data);
}

/**
 * The keys the stack set with --secret. The engine hands the program their names in this
 * variable (the SDK reads it too, but does not export its reader in its typings).
 */
function configSecretKeys(): Set<string> {
    const names: unknown = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]");
    return new Set(Array.isArray(names) ? names.filter((name): name is string => typeof name === "string") : []);
}

/** Reads and validates the current stack's `todo:*` configuration. */
export function loadStackConfig(): StackConfig {
    const config = new pulumi.Config(CONFIG_NAMESPACE);
    const values: Partial<Record<ConfigKey, string>> = {};
    for (const name of CONFIG_KEYS) {
        const value = config.get(name);
        if (value !== undefined) {
            values[name] = value;
        }
    }
    return parseStackConfig(values, (name) => configSecretKeys().has(`${CONFIG_NAMESPACE}:${name}`));
}
