// The Todo app as native Kubernetes resources: every object is a typed Pulumi resource, so a
// pull request's `pulumi preview` shows the change object by object.
import { createHash } from "node:crypto";

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { LogLevel, ServiceType, WorkloadSettings } from "../stacks/config";
import { POSTGRES_PORT } from "./database";
import { imagePullSecret, type RegistryCredentials } from "./registry";
import { APP_NAME, type Component, DEFAULT_INSTANCE, objectLabels, selectorLabels } from "./labels";
import { APP_UID, containerSecurityContext, podSecurityContext } from "./security";

type Probe = k8s.types.input.core.v1.Probe;
type Container = k8s.types.input.core.v1.Container;
type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;

export const BACKEND_PORT = 8000;
export const FRONTEND_PORT = 3000;
export const SERVICE_ACCOUNT_NAME = "todo-app";
export const CONFIG_MAP_NAME = "todo-config";
export const SECRET_NAME = "todo-secrets";
/** Seconds a terminating pod keeps serving while Services and kube-proxy drop it. */
export const PRE_STOP_PAUSE_SECONDS = 5;

/** Seed section 4: probe timings. */
export const PROBE_TIMINGS = {
    liveness: { initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    readiness: { initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
    /** Up to 150 s to start before liveness takes over. */
    startup: { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 30 },
} as const;

/** Where each workload answers its probes. */
export const PROBE_PATHS = {
    backend: { liveness: "/health", readiness: "/ready" },
    frontend: { liveness: "/api/health", readiness: "/api/ready" },
} as const;

export interface TodoAppArgs {
    /** Namespace (already created, with Pod Security Admission labels). */
    namespace: pulumi.Input<string>;
    /** Image references to run: a local content tag (dev) or tag@digest (prod). */
    images: { backend: pulumi.Input<string>; frontend: pulumi.Input<string> };
    /** postgresql:// URL the backend connects to; must be a secret. */
    databaseUrl: pulumi.Output<string>;
    /** Whether Postgres runs in this namespace (else egress goes to `databaseEgressCidrs`). */
    databaseInCluster: boolean;
    /** CIDRs the backend may reach on 5432 for an external database. Default: ["0.0.0.0/0"]. */
    databaseEgressCidrs?: string[];
    /** Resources to wait for before the migration Job runs (e.g. the Postgres StatefulSet). */
    databaseReady?: pulumi.Resource[];
    /** JWT signing secret; must be a secret. */
    jwtSecret: pulumi.Output<string>;
    /** Shared by frontend and backend: the frontend passes each person's address with it. Must be a secret. */
    forwardedAddressSecret: pulumi.Output<string>;
    /** Access token lifetime. Default: 60 minutes. */
    jwtExpireMinutes?: number;
    /** Replicas and resources. Seed defaults: backend 200m/256Mi..1000m/1Gi, frontend 100m/128Mi..500m/512Mi. */
    backend: WorkloadSettings;
    frontend: WorkloadSettings;
    /** HPA CPU target. Default: 70 (%). */
    cpuTargetUtilization?: number;
    /** Uvicorn workers per backend pod. Default: 1 (the HPA adds pods instead). */
    webConcurrency?: number;
    /** Password hashes at once per backend worker (19 MiB each). Default: 2. */
    passwordHashConcurrency?: number;
    /** How the frontend is exposed. Default: NodePort 30000. */
    frontendService?: { type: ServiceType; nodePort: number };
    /** Optional Ingress in front of the frontend. */
    ingress?: { host: string; className: string; tlsSecretName?: string };
    /** Backend log level. Default: info. */
    logLevel?: LogLevel;
    /** Browser origins the backend accepts. Default: none (the browser only talks to the frontend). */
    corsOrigins?: string[];
    /** Credentials for an image pull Secret; none by default. */
    pullSecret?: RegistryCredentials;
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** One migration Job per backend image, named after it on both deploy paths: migrate-<sha256(image)[:10]>. */
export function migrationJobName(backendImage: string): string {
    return `migrate-${sha256(backendImage).slice(0, 10)}`;
}

/** The pod-to-pod peers the NetworkPolicies speak of. */
const peer = (...components: Component[]): NetworkPolicyPeer => ({
    podSelector: {
        matchLabels: { "app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": DEFAULT_INSTANCE },
        matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: components }],
    },
});

function httpProbe(path: string, timings: object): Probe {
    return { httpGet: { path, port: "http" }, ...timings };
}

function probes(workload: keyof typeof PROBE_PATHS): Pick<Container, "startupProbe" | "livenessProbe" | "readinessProbe"> {
    const paths = PROBE_PATHS[workload];
    return {
        startupProbe: httpProbe(paths.liveness, PROBE_TIMINGS.startup),
        livenessProbe: httpProbe(paths.liveness, PROBE_TIMINGS.liveness),
        readinessProbe: httpProbe(paths.readiness, PROBE_TIMINGS.readiness),
    };
}

/** Checks the inputs that types cannot: the same rules the stack config applies, for direct users of the component. */
function validate(args: TodoAppArgs): void {
    for (const workload of ["backend", "frontend"] as const) {
        const { minReplicas, maxReplicas } = args[workload];
        if (!Number.isInteger(minReplicas) || minReplicas < 1 || minReplicas > maxReplicas) {
            throw new pulumi.RunError(`TodoApp ${workload}: minReplicas ${minReplicas} / maxReplicas ${maxReplicas}; accepted: integers with 1 <= min <= max (config todo:${workload}MinReplicas, todo:${workload}MaxReplicas)`);
        }
    }
    const nodePort = args.frontendService?.nodePort ?? 30000;
    if (nodePort < 30000 || nodePort > 32767) {
        throw new pulumi.RunError(`TodoApp frontendService.nodePort ${nodePort}; accepted: 30000-32767 (config todo:frontendNodePort)`);
    }
}

/** Frontend, backend, their configuration and policies, and the migration Job, in one namespace. */
export class TodoApp extends pulumi.ComponentResource {
    readonly backendServiceName: pulumi.Output<string>;
    readonly frontendServiceName: pulumi.Output<string>;
    readonly migrationJobName: pulumi.Output<string>;

    constructor(name: string, args: TodoAppArgs, opts?: pulumi.ComponentResourceOptions) {
        validate(args);
        super("todo:components:TodoApp", name, {}, opts);
        const namespace = args.namespace;
        // Fixed names (kubectl rollout undo deployment/backend) mean a replacement must delete first.
        const named = { parent: this, deleteBeforeReplace: true };

        const serviceAccount = new k8s.core.v1.ServiceAccount(
            "service-account",
            { metadata: { name: SERVICE_ACCOUNT_NAME, namespace, labels: objectLabels("backend") }, automountServiceAccountToken: false },
            named,
        );

        const config = new k8s.core.v1.ConfigMap(
            "config",
            {
                metadata: { name: CONFIG_MAP_NAME, namespace, labels: objectLabels("backend") },
                data: {
                    BACKEND_URL: pulumi.interpolate`http://backend.${namespace}.svc.cluster.local:${BACKEND_PORT}`,
                    LOG_LEVEL: args.logLevel ?? "info",
                    CORS_ORIGINS: (args.corsOrigins ?? []).join(","),
                    WEB_CONCURRENCY: String(args.webConcurrency ?? 1),
                    JWT_EXPIRE_MINUTES: String(args.jwtExpireMinutes ?? 60),
                    DB_POOL_SIZE: "5",
                    PASSWORD_HASH_CONCURRENCY: String(args.passwordHashConcurrency ?? 2),
                },
            },
            named,
        );
        const secret = new k8s.core.v1.Secret(
            "secrets",
            {
                metadata: { name: SECRET_NAME, namespace, labels: objectLabels("backend") },
                type: "Opaque",
                stringData: {
                    DATABASE_URL: pulumi.secret(args.databaseUrl),
                    JWT_SECRET: pulumi.secret(args.jwtSecret),
                    FORWARDED_ADDRESS_SECRET: pulumi.secret(args.forwardedAddressSecret),
                },
            },
            named,
        );
        const pullSecret = args.pullSecret ? imagePullSecret(namespace, args.pullSecret, this) : undefined;
        const imagePullSecrets = pullSecret ? [{ name: pullSecret.metadata.name }] : undefined;

        // Pods restart when their configuration changes; the secret's checksum reveals nothing of it.
        const configChecksum = config.data.apply((data) => sha256(JSON.stringify(data)));
        const secretChecksum = pulumi.unsecret(
            pulumi.all([args.databaseUrl, args.jwtSecret, args.forwardedAddressSecret]).apply((values) => sha256(values.join("\n"))),
        );

        const backendEnv = [
            { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "DATABASE_URL" } } },
            { name: "JWT_SECRET", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "JWT_SECRET" } } },
        ];
        // The backend Deployment and the frontend (not the migration Job) share this one.
        const forwardedAddressEnv = {
            name: "FORWARDED_ADDRESS_SECRET",
            valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "FORWARDED_ADDRESS_SECRET" } },
        };
        const backendContainer = (command?: string[]): Container => ({
            name: command ? "migrate" : "backend",
            image: args.images.backend,
            imagePullPolicy: "IfNotPresent",
            command,
            envFrom: [{ configMapRef: { name: config.metadata.name } }],
            env: backendEnv,
            securityContext: containerSecurityContext(),
            volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
        });
        const podSpec = (component: Component, containers: Container[], extraVolumes: k8s.types.input.core.v1.Volume[] = []) => ({
            serviceAccountName: serviceAccount.metadata.name,
            automountServiceAccountToken: false,
            securityContext: podSecurityContext(APP_UID),
            imagePullSecrets,
            containers,
            volumes: [{ name: "tmp", emptyDir: {} }, ...extraVolumes],
            ...(component === "migration" ? { restartPolicy: "Never" } : { terminationGracePeriodSeconds: 30 }),
        });

        // One Job per backend image: it runs once per release, after the database and before the rollout.
        const migrationJob = new k8s.batch.v1.Job(
            "migrate",
            {
                metadata: {
                    name: pulumi.output(args.images.backend).apply(migrationJobName),
                    namespace,
                    labels: objectLabels("migration"),
                },
                spec: {
                    backoffLimit: 3,
                    activeDeadlineSeconds: 600,
                    template: {
                        metadata: { labels: objectLabels("migration") },
                        spec: podSpec("migration", [{ ...backendContainer(["python", "-m", "todo_api", "migrate"]), resources: args.backend.resources }]),
                    },
                },
            },
            { parent: this, dependsOn: args.databaseReady ?? [] },
        );

        const deployment = (component: "backend" | "frontend", container: Container, extraVolumes: k8s.types.input.core.v1.Volume[], dependsOn: pulumi.Resource[]) =>
            new k8s.apps.v1.Deployment(
                component,
                {
                    metadata: { name: component, namespace, labels: objectLabels(component) },
                    spec: {
                        // No `replicas`: the HorizontalPodAutoscaler owns the count.
                        selector: { matchLabels: selectorLabels(component) },
                        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                        revisionHistoryLimit: 10,
                        template: {
                            metadata: {
                                labels: objectLabels(component),
                                annotations: { "checksum/config": configChecksum, "checksum/secrets": secretChecksum },
                            },
                            spec: podSpec(component, [container], extraVolumes),
                        },
                    },
                },
                { ...named, dependsOn },
            );

        // Both pause before SIGTERM while the pod leaves the Services; the backend's pause also
        // closes its clients' kept-alive connections (apps/backend/src/todo_api/draining.py).
        const drainCommand = ["python", "-m", "todo_api", "drain", "--seconds", String(PRE_STOP_PAUSE_SECONDS)];
        const backend = deployment(
            "backend",
            {
                ...backendContainer(),
                env: [...backendEnv, forwardedAddressEnv],
                ports: [{ name: "http", containerPort: BACKEND_PORT }],
                resources: args.backend.resources,
                lifecycle: { preStop: { exec: { command: drainCommand } } },
                ...probes("backend"),
            },
            [],
            [migrationJob],
        );
        const frontend = deployment(
            "frontend",
            {
                name: "frontend",
                image: args.images.frontend,
                imagePullPolicy: "IfNotPresent",
                ports: [{ name: "http", containerPort: FRONTEND_PORT }],
                env: [
                    { name: "BACKEND_URL", valueFrom: { configMapKeyRef: { name: config.metadata.name, key: "BACKEND_URL" } } },
                    { name: "PORT", value: String(FRONTEND_PORT) },
                    { name: "HOSTNAME", value: "0.0.0.0" },
                    forwardedAddressEnv,
                ],
                resources: args.frontend.resources,
                securityContext: containerSecurityContext(),
                lifecycle: { preStop: { sleep: { seconds: PRE_STOP_PAUSE_SECONDS } } },
                volumeMounts: [
                    { name: "tmp", mountPath: "/tmp" },
                    { name: "next-cache", mountPath: "/app/.next/cache" },
                ],
                ...probes("frontend"),
            },
            [{ name: "next-cache", emptyDir: {} }],
            [],
        );

        const frontendServiceType = args.frontendService?.type ?? "NodePort";
        const backendService = new k8s.core.v1.Service(
            "backend",
            {
                metadata: { name: "backend", namespace, labels: objectLabels("backend") },
                spec: { type: "ClusterIP", selector: selectorLabels("backend"), ports: [{ name: "http", port: BACKEND_PORT, targetPort: "http" }] },
            },
            named,
        );
        const frontendService = new k8s.core.v1.Service(
            "frontend",
            {
                metadata: { name: "frontend", namespace, labels: objectLabels("frontend") },
                spec: {
                    type: frontendServiceType,
                    selector: selectorLabels("frontend"),
                    ports: [
                        {
                            name: "http",
                            port: FRONTEND_PORT,
                            targetPort: "http",
                            nodePort: frontendServiceType === "NodePort" ? (args.frontendService?.nodePort ?? 30000) : undefined,
                        },
                    ],
                },
            },
            named,
        );

        for (const [component, workload, target] of [
            ["backend", args.backend, backend],
            ["frontend", args.frontend, frontend],
        ] as const) {
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(
                component,
                {
                    metadata: { name: component, namespace, labels: objectLabels(component) },
                    spec: {
                        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target.metadata.name },
                        minReplicas: workload.minReplicas,
                        maxReplicas: workload.maxReplicas,
                        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: args.cpuTargetUtilization ?? 70 } } }],
                    },
                },
                named,
            );
            new k8s.policy.v1.PodDisruptionBudget(
                component,
                {
                    metadata: { name: component, namespace, labels: objectLabels(component) },
                    // maxUnavailable rather than minAvailable: a single-replica dev stack can still drain its node.
                    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(component) } },
                },
                named,
            );
        }

        this.networkPolicies(namespace, args);
        if (args.ingress) {
            this.ingress(namespace, args.ingress, frontendService);
        }

        this.backendServiceName = backendService.metadata.name;
        this.frontendServiceName = frontendService.metadata.name;
        this.migrationJobName = migrationJob.metadata.name;
        this.registerOutputs({ backendServiceName: this.backendServiceName, frontendServiceName: this.frontendServiceName, migrationJobName: this.migrationJobName });
    }

    private networkPolicies(namespace: pulumi.Input<string>, args: TodoAppArgs): void {
        const named = { parent: this, deleteBeforeReplace: true };
        const policy = (name: string, spec: k8s.types.input.networking.v1.NetworkPolicySpec) =>
            new k8s.networking.v1.NetworkPolicy(name, { metadata: { name, namespace, labels: objectLabels("backend") }, spec }, named);
        const appPods = { matchLabels: { "app.kubernetes.io/name": APP_NAME } };
        const tcp = (port: number | string) => ({ protocol: "TCP", port });

        policy("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        policy("allow-dns", {
            podSelector: appPods,
            policyTypes: ["Egress"],
            egress: [
                {
                    to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
                    ports: [
                        { protocol: "UDP", port: 53 },
                        { protocol: "TCP", port: 53 },
                    ],
                },
            ],
        });
        policy("frontend", {
            podSelector: { matchLabels: selectorLabels("frontend") },
            policyTypes: ["Ingress", "Egress"],
            // The NodePort, an ingress controller or a port-forward: the frontend is the public face.
            ingress: [{ ports: [tcp(FRONTEND_PORT)] }],
            egress: [{ to: [peer("backend")], ports: [tcp(BACKEND_PORT)] }],
        });
        const databasePeers: NetworkPolicyPeer[] = args.databaseInCluster
            ? [peer("database")]
            : (args.databaseEgressCidrs ?? ["0.0.0.0/0"]).map((cidr) => ({ ipBlock: { cidr } }));
        policy("backend", {
            podSelector: peer("backend", "migration").podSelector ?? {},
            policyTypes: ["Ingress", "Egress"],
            ingress: [{ from: [peer("frontend")], ports: [tcp(BACKEND_PORT)] }],
            egress: [{ to: databasePeers, ports: [tcp(POSTGRES_PORT)] }],
        });
        if (args.databaseInCluster) {
            policy("postgres", {
                podSelector: { matchLabels: selectorLabels("database") },
                policyTypes: ["Ingress"],
                ingress: [{ from: [peer("backend", "migration")], ports: [tcp(POSTGRES_PORT)] }],
            });
        }
    }

    private ingress(namespace: pulumi.Input<string>, settings: NonNullable<TodoAppArgs["ingress"]>, service: k8s.core.v1.Service): void {
        new k8s.networking.v1.Ingress(
            "ingress",
            {
                metadata: { name: "todo", namespace, labels: objectLabels("frontend") },
                spec: {
                    ingressClassName: settings.className,
                    tls: settings.tlsSecretName ? [{ hosts: [settings.host], secretName: settings.tlsSecretName }] : undefined,
                    rules: [
                        {
                            host: settings.host,
                            http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: service.metadata.name, port: { name: "http" } } } }] },
                        },
                    ],
                },
            },
            { parent: this, deleteBeforeReplace: true },
        );
    }
}
