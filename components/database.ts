// The app's PostgreSQL: in the cluster (dev default: a StatefulSet with a PersistentVolumeClaim),
// or an external server such as Neon (prod), whose URL arrives as a secret from the stack config.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { DatabaseSettings } from "../stacks/config";
import { EPHEMERAL_STORAGE } from "../stacks/schema";
import { GeneratedSecret } from "./generated-secret";
import { objectLabels, SCRATCH_VOLUME_SIZE_LIMIT, selectorLabels } from "./contract";
import { containerSecurityContext, podSecurityContext } from "./security";

export const POSTGRES_NAME = "postgres";
export const POSTGRES_PORT = 5432;
export const POSTGRES_USER = "todo";
export const POSTGRES_DB = "todo";
/** A subdirectory of the volume: its root holds lost+found on many storage classes. */
const POSTGRES_DATA_DIR = "/var/lib/postgresql/data/pgdata";
/**
 * Postgres runs as a UID and GID of its own, above 10000 so that none collides with a node's users;
 * the official image's entrypoint gives initdb the passwd entry it needs (nss_wrapper), and the
 * server owns the data directory it creates.
 */
export const POSTGRES_UID = 10002;
/** Asks the server in PGDATA for a fast shutdown (the preStop hook of both paths); the kubelet waits for it to exit. */
export const POSTGRES_FAST_STOP = ["pg_ctl", "stop", "-D", POSTGRES_DATA_DIR, "-m", "fast", "--no-wait"] as const;
/** Seed section 2: 100m-500m CPU, 256Mi-1Gi memory. */
export const POSTGRES_RESOURCES = {
    requests: { cpu: "100m", memory: "256Mi", "ephemeral-storage": EPHEMERAL_STORAGE.requests },
    limits: { cpu: "500m", memory: "1Gi", "ephemeral-storage": EPHEMERAL_STORAGE.limits },
};

/** The URL of the in-cluster server for the backend (a secret), on both deploy paths. */
export function inClusterDatabaseUrl(namespace: pulumi.Input<string>, password: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.secret(
        pulumi.interpolate`postgresql://${POSTGRES_USER}:${pulumi.output(password).apply(encodeURIComponent)}@${POSTGRES_NAME}.${namespace}.svc.cluster.local:${POSTGRES_PORT}/${POSTGRES_DB}`,
    );
}

export interface DatabaseArgs {
    /** Namespace to run the in-cluster server in. */
    namespace: pulumi.Input<string>;
    /** In-cluster server settings, or the external URL (from the stack config). */
    settings: DatabaseSettings;
    /** How the node gets the server's image; the app's images' policy (contract.imagePullPolicy). Default: IfNotPresent. */
    imagePullPolicy?: "Always" | "IfNotPresent";
}

/** The database the backend uses; `url` is always a secret. */
export class Database extends pulumi.ComponentResource {
    /** postgresql:// URL for the backend, secret. */
    readonly url: pulumi.Output<string>;
    /** Resources the migration Job must wait for before it can connect. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("todo:components:Database", name, {}, opts);
        const settings = args.settings;
        if (settings.mode === "external") {
            this.url = pulumi.secret(settings.url);
            this.ready = [];
        } else {
            const { url, statefulSet } = this.inClusterServer(args.namespace, settings, args.imagePullPolicy ?? "IfNotPresent");
            this.url = url;
            this.ready = [statefulSet];
        }
        this.registerOutputs({ url: this.url });
    }

    private inClusterServer(
        namespace: pulumi.Input<string>,
        settings: Extract<DatabaseSettings, { mode: "in-cluster" }>,
        imagePullPolicy: "Always" | "IfNotPresent",
    ): { url: pulumi.Output<string>; statefulSet: k8s.apps.v1.StatefulSet } {
        const labels = objectLabels("database");
        const selector = selectorLabels("database");
        // Generated once and kept in the stack's state, so it is stable across `pulumi up` runs.
        const password = new GeneratedSecret(`${POSTGRES_NAME}-password`, { length: 32 }, { parent: this });
        const credentials = new k8s.core.v1.Secret(
            `${POSTGRES_NAME}-credentials`,
            {
                metadata: { name: "postgres-credentials", namespace, labels },
                type: "Opaque",
                stringData: { POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD: password.value },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        const service = new k8s.core.v1.Service(
            POSTGRES_NAME,
            {
                metadata: { name: POSTGRES_NAME, namespace, labels },
                spec: { clusterIP: "None", selector, ports: [{ name: "postgres", port: POSTGRES_PORT, targetPort: "postgres" }] },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        const secretEnv = (key: string): k8s.types.input.core.v1.EnvVar => ({
            name: key,
            valueFrom: { secretKeyRef: { name: credentials.metadata.name, key } },
        });
        const readiness = ["pg_isready", "-h", "127.0.0.1", "-U", POSTGRES_USER, "-d", POSTGRES_DB];
        const statefulSet = new k8s.apps.v1.StatefulSet(
            POSTGRES_NAME,
            {
                metadata: { name: POSTGRES_NAME, namespace, labels },
                spec: {
                    serviceName: service.metadata.name,
                    replicas: 1,
                    selector: { matchLabels: selector },
                    template: {
                        metadata: { labels },
                        spec: {
                            automountServiceAccountToken: false,
                            securityContext: podSecurityContext(POSTGRES_UID),
                            containers: [
                                {
                                    name: POSTGRES_NAME,
                                    image: settings.image,
                                    imagePullPolicy,
                                    ports: [{ name: "postgres", containerPort: POSTGRES_PORT }],
                                    env: [
                                        secretEnv("POSTGRES_USER"),
                                        secretEnv("POSTGRES_DB"),
                                        secretEnv("POSTGRES_PASSWORD"),
                                        { name: "PGDATA", value: POSTGRES_DATA_DIR },
                                    ],
                                    resources: POSTGRES_RESOURCES,
                                    securityContext: containerSecurityContext(),
                                    // Asked every 2 s: a restarted server answers within a second or two, and the backend waits on it.
                                    readinessProbe: { exec: { command: readiness }, initialDelaySeconds: 2, periodSeconds: 2, timeoutSeconds: 3, failureThreshold: 2 },
                                    // A fast shutdown (clients disconnected, a clean checkpoint) on stop: SIGTERM alone asks
                                    // Postgres for a smart one, which waits for the backend's pooled connections to close,
                                    // until the grace period ends in SIGKILL and crash recovery.
                                    lifecycle: { preStop: { exec: { command: [...POSTGRES_FAST_STOP] } } },
                                    // Alive is listening; ready is answering a login (liveness differs from readiness, so a busy server is not restarted).
                                    livenessProbe: { tcpSocket: { port: POSTGRES_PORT }, initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
                                    volumeMounts: [
                                        { name: "data", mountPath: "/var/lib/postgresql/data" },
                                        // The root filesystem is read-only: the socket directory and /tmp are not.
                                        { name: "run", mountPath: "/var/run/postgresql" },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "run", emptyDir: { sizeLimit: SCRATCH_VOLUME_SIZE_LIMIT } },
                                { name: "tmp", emptyDir: { sizeLimit: SCRATCH_VOLUME_SIZE_LIMIT } },
                            ],
                        },
                    },
                    volumeClaimTemplates: [
                        {
                            metadata: { name: "data", labels },
                            spec: {
                                accessModes: ["ReadWriteOnce"],
                                storageClassName: settings.storageClass,
                                resources: { requests: { storage: settings.storageSize } },
                            },
                        },
                    ],
                },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        return { url: inClusterDatabaseUrl(namespace, password.value), statefulSet };
    }
}
