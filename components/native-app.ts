// The Todo app as native Kubernetes resources: every object is a typed Pulumi resource, so a
// pull request's `pulumi preview` shows the change object by object. The parts live beside it:
// workload.ts (Deployment, Service, HPA, PDB), network-policies.ts, migration.ts, and with
// todo:monitoring monitoring.ts.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { integerSettingProblem, replicaBoundsProblem } from "../stacks/config";
import {
    type AppArgs,
    configChecksum,
    DB_POOL_SIZE,
    imagePullPolicy,
    OBJECT_NAMES,
    objectLabels,
    PRE_STOP_PAUSE_SECONDS,
    SCRATCH_VOLUME_SIZE_LIMIT,
    secretsChecksum,
    WORKLOAD_FACTS,
} from "./contract";
import { deployMigration } from "./migration";
import { deployMonitoring } from "./monitoring";
import { deployNetworkPolicies } from "./network-policies";
import { imagePullSecret } from "./registry";
import { containerSecurityContext } from "./security";
import { deployWorkload, servingFacts } from "./workload";

type Container = k8s.types.input.core.v1.Container;

export interface NativeAppArgs extends AppArgs {
    /** The database the backend uses: its URL (a secret) and what to wait for before migrating. */
    database: { url: pulumi.Output<string>; ready: pulumi.Resource[] };
}

/** Checks what types cannot, for direct users of the component: the rules the stack config applies. */
function validate({ settings }: NativeAppArgs): void {
    const problems = [
        ...(["backend", "frontend"] as const).flatMap((workload) => {
            const { minReplicas, maxReplicas } = settings[workload];
            return [
                integerSettingProblem(`${workload}MinReplicas`, minReplicas),
                integerSettingProblem(`${workload}MaxReplicas`, maxReplicas),
                replicaBoundsProblem(workload, minReplicas, maxReplicas),
            ];
        }),
        integerSettingProblem("frontendNodePort", settings.frontendService.nodePort),
    ].filter((problem) => problem !== undefined);
    if (problems.length > 0) {
        throw new pulumi.RunError(`NativeApp: ${problems.join("; ")}`);
    }
}

/** Frontend, backend, their configuration and policies, and the migration Job, in one namespace. */
export class NativeApp extends pulumi.ComponentResource {
    readonly migrationJobName: pulumi.Output<string>;

    constructor(name: string, args: NativeAppArgs, opts?: pulumi.ComponentResourceOptions) {
        validate(args);
        // The component's former type: existing stacks keep their objects instead of replacing them.
        super("todo:components:NativeApp", name, {}, { ...opts, aliases: [...(opts?.aliases ?? []), { type: "todo:components:TodoApp" }] });
        const { namespace, settings } = args;
        // Every object has a fixed name (metadata.name), so a replacement must delete the old one first.
        const fixedNameOptions = { parent: this, deleteBeforeReplace: true };

        const serviceAccount = new k8s.core.v1.ServiceAccount(
            "service-account",
            { metadata: { name: OBJECT_NAMES.serviceAccount, namespace, labels: objectLabels("backend") }, automountServiceAccountToken: false },
            fixedNameOptions,
        );
        const config = new k8s.core.v1.ConfigMap(
            "config",
            {
                metadata: { name: OBJECT_NAMES.configMap, namespace, labels: objectLabels("backend") },
                data: {
                    BACKEND_URL: pulumi.interpolate`http://backend.${namespace}.svc.cluster.local:${WORKLOAD_FACTS.backend.port}`,
                    LOG_LEVEL: settings.logLevel,
                    API_DOCS: String(settings.apiDocs),
                    CORS_ORIGINS: settings.corsOrigins.join(","),
                    WEB_CONCURRENCY: String(settings.webConcurrency),
                    JWT_EXPIRE_MINUTES: String(settings.jwtExpireMinutes),
                    DB_POOL_SIZE: String(DB_POOL_SIZE),
                },
            },
            fixedNameOptions,
        );
        const credentials = [args.database.url, args.jwtSecret, args.forwardedAddressSecret];
        const secret = new k8s.core.v1.Secret(
            "secrets",
            {
                metadata: { name: OBJECT_NAMES.appSecret, namespace, labels: objectLabels("backend") },
                type: "Opaque",
                stringData: {
                    DATABASE_URL: pulumi.secret(args.database.url),
                    JWT_SECRET: pulumi.secret(args.jwtSecret),
                    FORWARDED_ADDRESS_SECRET: pulumi.secret(args.forwardedAddressSecret),
                },
            },
            fixedNameOptions,
        );
        const registry = settings.images.pullSecret ? settings.images.registry : undefined;
        const pullSecret = registry ? imagePullSecret(namespace, registry, this) : undefined;
        const pod = { serviceAccountName: serviceAccount.metadata.name, imagePullSecrets: pullSecret ? [{ name: pullSecret.metadata.name }] : undefined };

        // Pods restart when their configuration or credentials change; the checksums reveal nothing of them.
        const podAnnotations = {
            "checksum/config": config.data.apply(configChecksum),
            "checksum/secrets": pulumi.unsecret(pulumi.all(credentials).apply(secretsChecksum)),
        };
        const pullPolicy = imagePullPolicy(settings.images);
        const secretEnv = (key: string) => ({ name: key, valueFrom: { secretKeyRef: { name: secret.metadata.name, key } } });
        // The migration Job reads the backend's settings, but not the frontend's shared secret.
        const backendBase = {
            image: args.images.backend,
            imagePullPolicy: pullPolicy,
            envFrom: [{ configMapRef: { name: config.metadata.name } }],
            // A variable of its own, not a todo-config key: scanners read a ConfigMap key that names
            // a password as a stored credential (Trivy KSV-0109), though this is a thread count.
            env: [{ name: "PASSWORD_HASH_CONCURRENCY", value: String(settings.passwordHashConcurrency) }, secretEnv("DATABASE_URL"), secretEnv("JWT_SECRET")],
            resources: settings.backend.resources,
            securityContext: containerSecurityContext(),
            volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
        } satisfies Omit<Container, "name">;

        // One Job per backend image: it runs once per release, after the database and before the rollout.
        const migrationJob = deployMigration({ namespace, backendImage: args.images.backend, container: backendBase, pod, databaseReady: args.database.ready }, this);

        const workload = { namespace, cpuTargetUtilization: settings.cpuTargetUtilization, pod, podAnnotations };
        // Both pause before SIGTERM while the pod leaves the Services; the backend's pause also
        // closes its clients' kept-alive connections (apps/backend/src/todo_api/draining.py).
        deployWorkload(
            "backend",
            {
                ...workload,
                settings: settings.backend,
                container: {
                    ...backendBase,
                    name: "backend",
                    env: [
                        ...backendBase.env,
                        // Where the backend serves its metrics; the migration Job serves none.
                        { name: "METRICS_PORT", value: String(WORKLOAD_FACTS.backend.metrics.port) },
                        secretEnv("FORWARDED_ADDRESS_SECRET"),
                    ],
                    lifecycle: { preStop: { exec: { command: ["python", "-m", "todo_api", "drain", "--seconds", String(PRE_STOP_PAUSE_SECONDS)] } } },
                    ...servingFacts("backend"),
                },
                service: { type: "ClusterIP" },
                dependsOn: [migrationJob],
            },
            this,
        );
        const frontend = deployWorkload(
            "frontend",
            {
                ...workload,
                settings: settings.frontend,
                container: {
                    name: "frontend",
                    image: args.images.frontend,
                    imagePullPolicy: pullPolicy,
                    env: [
                        { name: "BACKEND_URL", valueFrom: { configMapKeyRef: { name: config.metadata.name, key: "BACKEND_URL" } } },
                        { name: "PORT", value: String(WORKLOAD_FACTS.frontend.port) },
                        { name: "HOSTNAME", value: "0.0.0.0" },
                        // Where the frontend serves its request metrics.
                        { name: "METRICS_PORT", value: String(WORKLOAD_FACTS.frontend.metrics.port) },
                        secretEnv("FORWARDED_ADDRESS_SECRET"),
                    ],
                    resources: settings.frontend.resources,
                    securityContext: containerSecurityContext(),
                    lifecycle: { preStop: { sleep: { seconds: PRE_STOP_PAUSE_SECONDS } } },
                    volumeMounts: [
                        { name: "tmp", mountPath: "/tmp" },
                        { name: "next-cache", mountPath: "/app/.next/cache" },
                    ],
                    ...servingFacts("frontend"),
                },
                extraVolumes: [{ name: "next-cache", emptyDir: { sizeLimit: SCRATCH_VOLUME_SIZE_LIMIT } }],
                service: settings.frontendService,
            },
            this,
        );

        deployNetworkPolicies(namespace, settings.database, settings.monitoring, this);
        if (settings.monitoring) {
            deployMonitoring({ namespace }, this);
        }
        if (settings.ingress) {
            this.ingress(namespace, settings.ingress, frontend.service);
        }

        this.migrationJobName = migrationJob.metadata.name;
        this.registerOutputs({ migrationJobName: this.migrationJobName });
    }

    private ingress(namespace: pulumi.Input<string>, settings: NonNullable<AppArgs["settings"]["ingress"]>, service: k8s.core.v1.Service): void {
        new k8s.networking.v1.Ingress(
            "ingress",
            {
                metadata: { name: OBJECT_NAMES.ingress, namespace, labels: objectLabels("frontend") },
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
