// The stack's configuration: the `todo:*` keys (stacks/schema.ts) checked one by one and
// against each other, then shaped into the settings the components take. Everything is checked
// here, before a single resource is registered, and every problem is reported at once with the
// key to fix and the values it accepts.
import { isIP } from "node:net";

import * as pulumi from "@pulumi/pulumi";

import {
    CONFIG_KEYS,
    CONFIG_NAMESPACE,
    type ConfigKey,
    type Environment,
    type DeployMethod,
    EPHEMERAL_STORAGE,
    type LogLevel,
    type RawConfig,
    rawConfigSchema,
    SECRET_KEYS,
    type ServiceType,
    settingMeta,
} from "./schema";
import { parseQuantity } from "./quantity";

/** libpq sslmode values that encrypt the connection. */
export const TLS_SSL_MODES = ["require", "verify-ca", "verify-full"] as const;

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

export interface SigningSettings {
    /** PEM of the encrypted private key (cosign.key). */
    privateKey: pulumi.Output<string>;
    password: pulumi.Output<string>;
}

export interface ImageSettings {
    /** Push to a registry (prod) or load into the local Docker daemon (dev). */
    push: boolean;
    /** Where pushed images go: `<repositoryPrefix>/todo-backend`. Empty when not pushing. */
    repositoryPrefix: string;
    registry?: RegistrySettings;
    /** The cosign key that signs pushed images and attests their SBOMs; none: unsigned. */
    signing?: SigningSettings;
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
    /** The backend serves /docs, /redoc and /openapi.json (API_DOCS). */
    apiDocs: boolean;
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

/** An HPA's bounds the wrong way round: the one rule between them, for the stack config and the components alike. */
export function replicaBoundsProblem(workload: "backend" | "frontend", min: number, max: number): string | undefined {
    return min > max ? `${key(`${workload}MinReplicas`)}: ${min} is above ${key(`${workload}MaxReplicas`)} ${max}; accepted: min <= max` : undefined;
}

/** A value of an integer key outside the schema's bounds, for components given settings without the schema. */
export function integerSettingProblem(name: ConfigKey, value: number): string | undefined {
    const { minimum = -Infinity, maximum = Infinity } = settingMeta(name);
    return Number.isInteger(value) && value >= minimum && value <= maximum ? undefined : `${key(name)}: got ${value}; accepted: an integer from ${minimum} to ${maximum}`;
}

function checkRelations(raw: RawConfig, isSecret: (name: ConfigKey) => boolean): string[] {
    const problems: string[] = [];
    for (const name of SECRET_KEYS) {
        if (raw[name] !== "" && !isSecret(name)) {
            problems.push(`${key(name)}: is stored in plain text; set it with: pulumi config set --secret ${key(name)} <value>`);
        }
    }
    for (const workload of ["backend", "frontend"] as const) {
        const replicas = replicaBoundsProblem(workload, raw[`${workload}MinReplicas`], raw[`${workload}MaxReplicas`]);
        if (replicas !== undefined) problems.push(replicas);
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
    if (raw.signingKey !== "" && !raw.pushImages) {
        problems.push(`${key("signingKey")}: needs ${key("pushImages")} true: only pushed images are signed`);
    }
    if (raw.signingKeyPassword !== "" && raw.signingKey === "") {
        problems.push(`${key("signingKeyPassword")}: needs ${key("signingKey")}; accepted: set both, or neither`);
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
            signing: raw.signingKey === "" ? undefined : { privateKey: pulumi.secret(raw.signingKey.trim()), password: pulumi.secret(raw.signingKeyPassword) },
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
        apiDocs: raw.apiDocs,
        monitoring: raw.monitoring ? { prometheus: { namespace: raw.prometheusNamespace, podLabels: raw.prometheusPodSelector } } : undefined,
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
