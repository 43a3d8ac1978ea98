// The Todo app through the chart helm/todo-app, as a Helm release (`todo:deployMethod: chart`):
// the same objects as the native path, but `helm history`, `helm rollback` and `helm test`
// work on them. Secrets never pass through the chart's values in clear: the app's Secret is
// created here (the release points at it), and the in-cluster database password, the one
// secret the chart itself needs, is a Pulumi secret inside the values.
import * as path from "node:path";

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { ResourceSettings, StackConfig } from "../stacks/config";
import type { LogLevel, ServiceType } from "../stacks/schema";
import { type AppArgs, imagePullPolicy, INSTANCE, migrationJobName, OBJECT_NAMES, objectLabels, secretsChecksum } from "./contract";
import { inClusterDatabaseUrl } from "./database";
import { GeneratedSecret } from "./generated-secret";
import { imagePullSecret, PULL_SECRET_NAME } from "./registry";

/** helm/todo-app in this repository. */
export const CHART_PATH = path.resolve(__dirname, "..", "helm", "todo-app");

/** An image reference split the way the chart's values take it. */
export interface ImageValues {
    repository: string;
    /** Empty when the reference has none. */
    tag: string;
    /** sha256:<hex>, or empty. */
    digest: string;
}

/** Splits name[:tag][@digest]; a colon before the last slash belongs to a registry port. */
export function splitImageRef(ref: string): ImageValues {
    const [name = "", digest = ""] = ref.split("@", 2);
    const lastSlash = name.lastIndexOf("/");
    const tagColon = name.lastIndexOf(":");
    if (tagColon > lastSlash) {
        return { repository: name.slice(0, tagColon), tag: name.slice(tagColon + 1), digest };
    }
    return { repository: name, tag: "", digest };
}

/** The chart's values (values.schema.json), for the keys this program sets; the rest keep the chart's defaults. */
export interface ChartValues {
    imagePullPolicy: "Always" | "IfNotPresent";
    imagePullSecrets: string[];
    frontend: WorkloadValues & { service: { type: ServiceType; nodePort: number } };
    backend: WorkloadValues;
    config: { logLevel: LogLevel; corsOrigins: string[]; webConcurrency: number; jwtExpireMinutes: number; passwordHashConcurrency: number };
    secrets: { existingSecret: string; checksum: pulumi.Input<string> };
    database:
        | { inCluster: { enabled: true; image: ImageValues; password: pulumi.Input<string>; storage: { size: string; storageClassName: string } } }
        | { inCluster: { enabled: false }; egressCidrs: string[] };
    ingress: { enabled: false } | { enabled: true; className: string; host: string; tlsSecretName: string };
    monitoring: { enabled: false } | { enabled: true; prometheus: { namespace: string; podLabels: Record<string, string> } };
}

interface WorkloadValues {
    image: pulumi.Input<ImageValues>;
    resources: ResourceSettings;
    autoscaling: { minReplicas: number; maxReplicas: number; targetCPUUtilizationPercentage: number };
}

export interface ChartValuesInputs {
    settings: StackConfig;
    images: { backend: pulumi.Input<ImageValues>; frontend: pulumi.Input<ImageValues> };
    /** The Secret with DATABASE_URL, JWT_SECRET and FORWARDED_ADDRESS_SECRET, created before the release: its name and the checksum of its values. */
    appSecret: { name: string; checksum: pulumi.Input<string> };
    /** Password of the in-cluster server (must be a secret); unused with an external database. */
    postgresPassword?: pulumi.Input<string>;
    /** Names of image pull Secrets. */
    imagePullSecrets: string[];
}

/** The values that make the chart render what the native path creates for the same stack config. */
export function chartValues(inputs: ChartValuesInputs): ChartValues {
    const { settings } = inputs;
    const workload = (workloadSettings: StackConfig["backend"], image: pulumi.Input<ImageValues>): WorkloadValues => ({
        image,
        resources: workloadSettings.resources,
        autoscaling: {
            minReplicas: workloadSettings.minReplicas,
            maxReplicas: workloadSettings.maxReplicas,
            targetCPUUtilizationPercentage: settings.cpuTargetUtilization,
        },
    });
    const database = settings.database;
    if (database.mode === "in-cluster" && inputs.postgresPassword === undefined) {
        throw new pulumi.RunError("chartValues: the in-cluster database (todo:databaseMode in-cluster) needs postgresPassword");
    }
    return {
        imagePullPolicy: imagePullPolicy(settings.images),
        imagePullSecrets: inputs.imagePullSecrets,
        frontend: { ...workload(settings.frontend, inputs.images.frontend), service: settings.frontendService },
        backend: workload(settings.backend, inputs.images.backend),
        config: {
            logLevel: settings.logLevel,
            corsOrigins: settings.corsOrigins,
            webConcurrency: settings.webConcurrency,
            jwtExpireMinutes: settings.jwtExpireMinutes,
            passwordHashConcurrency: settings.passwordHashConcurrency,
        },
        secrets: { existingSecret: inputs.appSecret.name, checksum: inputs.appSecret.checksum },
        database:
            database.mode === "in-cluster"
                ? {
                      inCluster: {
                          enabled: true,
                          image: splitImageRef(database.image),
                          password: inputs.postgresPassword ?? "",
                          storage: { size: database.storageSize, storageClassName: database.storageClass ?? "" },
                      },
                  }
                : { inCluster: { enabled: false }, egressCidrs: database.egressCidrs },
        ingress: settings.ingress
            ? { enabled: true, className: settings.ingress.className, host: settings.ingress.host, tlsSecretName: settings.ingress.tlsSecretName ?? "" }
            : { enabled: false },
        monitoring: settings.monitoring ? { enabled: true, prometheus: settings.monitoring.prometheus } : { enabled: false },
    };
}

export interface ChartAppArgs extends AppArgs {
    /** Seconds Helm waits for each operation (the migration hook, the rollouts). Default: 600. */
    timeoutSeconds?: number;
}

/** The Todo app as one Helm release of helm/todo-app, with its Secret made by Pulumi. */
export class ChartApp extends pulumi.ComponentResource {
    readonly releaseName: pulumi.Output<string>;
    /** Helm's status of the release, e.g. deployed. */
    readonly releaseStatus: pulumi.Output<string>;
    readonly revision: pulumi.Output<number>;
    /** The migration hook's name, as in the native path: migrate-<sha256(backend image)[:10]>. */
    readonly migrationJobName: pulumi.Output<string>;

    constructor(name: string, args: ChartAppArgs, opts?: pulumi.ComponentResourceOptions) {
        const timeoutSeconds = args.timeoutSeconds ?? 600;
        if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 60) {
            throw new pulumi.RunError(`ChartApp timeoutSeconds ${timeoutSeconds}; accepted: an integer number of seconds, at least 60`);
        }
        super("todo:components:ChartApp", name, {}, opts);
        const { settings, namespace } = args;

        const { postgresPassword, databaseUrl } = this.database(namespace, settings.database);
        const appSecret = new k8s.core.v1.Secret(
            "secrets",
            {
                metadata: { name: OBJECT_NAMES.appSecret, namespace, labels: objectLabels("backend") },
                type: "Opaque",
                stringData: {
                    DATABASE_URL: pulumi.secret(databaseUrl),
                    JWT_SECRET: pulumi.secret(args.jwtSecret),
                    FORWARDED_ADDRESS_SECRET: pulumi.secret(args.forwardedAddressSecret),
                },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        const registry = settings.images.pullSecret ? settings.images.registry : undefined;
        const pullSecret = registry ? imagePullSecret(namespace, registry, this) : undefined;

        const values = chartValues({
            settings,
            images: {
                backend: pulumi.output(args.images.backend).apply(splitImageRef),
                frontend: pulumi.output(args.images.frontend).apply(splitImageRef),
            },
            // Rolls the pods when a credential changes, as on the native path: the chart cannot see into a Secret it does not make.
            appSecret: {
                name: OBJECT_NAMES.appSecret,
                checksum: pulumi.unsecret(pulumi.all([databaseUrl, args.jwtSecret, args.forwardedAddressSecret]).apply(secretsChecksum)),
            },
            postgresPassword,
            imagePullSecrets: pullSecret ? [PULL_SECRET_NAME] : [],
        });
        const release = new k8s.helm.v3.Release(
            "release",
            {
                name: INSTANCE,
                chart: CHART_PATH,
                namespace,
                values,
                // Waits for the Deployments, the StatefulSet and the migration hook; a failed
                // upgrade is rolled back to the last good revision.
                atomic: true,
                cleanupOnFail: true,
                waitForJobs: true,
                timeout: timeoutSeconds,
                maxHistory: 10,
            },
            { parent: this, dependsOn: pullSecret ? [appSecret, pullSecret] : [appSecret] },
        );

        this.releaseName = release.status.name;
        this.releaseStatus = release.status.status;
        this.revision = release.status.revision;
        this.migrationJobName = pulumi.output(args.images.backend).apply(migrationJobName);
        this.registerOutputs({
            releaseName: this.releaseName,
            releaseStatus: this.releaseStatus,
            revision: this.revision,
            migrationJobName: this.migrationJobName,
        });
    }

    /** The URL the backend uses and, for the in-cluster server, its password (both secrets). */
    private database(
        namespace: pulumi.Input<string>,
        settings: StackConfig["database"],
    ): { postgresPassword?: pulumi.Output<string>; databaseUrl: pulumi.Output<string> } {
        if (settings.mode === "external") {
            return { databaseUrl: settings.url };
        }
        // Generated once and kept in the stack's state, so it is stable across `pulumi up` runs.
        const password = pulumi.secret(new GeneratedSecret("postgres-password", { length: 32 }, { parent: this }).value);
        return {
            postgresPassword: password,
            databaseUrl: inClusterDatabaseUrl(namespace, password),
        };
    }
}
