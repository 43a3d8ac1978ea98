// One long-running part of the app on the native path: its Deployment, Service,
// HorizontalPodAutoscaler and PodDisruptionBudget, from the contract's facts.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { WorkloadSettings } from "../stacks/config";
import type { ServiceType } from "../stacks/schema";
import {
    objectLabels,
    type ProbeFacts,
    REVISION_HISTORY_LIMIT,
    SCRATCH_VOLUME_SIZE_LIMIT,
    selectorLabels,
    SPREAD_TOPOLOGY_KEYS,
    TERMINATION_GRACE_SECONDS,
    type Workload,
    WORKLOAD_FACTS,
} from "./contract";
import { APP_UID, podSecurityContext } from "./security";

type Container = k8s.types.input.core.v1.Container;
type Probe = k8s.types.input.core.v1.Probe;

function httpProbe({ path, ...timings }: ProbeFacts): Probe {
    return { httpGet: { path, port: "http" }, ...timings };
}

/** The container's ports (its metrics' own, where it has one) and probes, as the contract states them for the workload. */
export function servingFacts(workload: Workload): Pick<Container, "ports" | "startupProbe" | "livenessProbe" | "readinessProbe"> {
    const { port, probes, metrics } = WORKLOAD_FACTS[workload];
    const metricsPort = metrics.portName === "http" ? [] : [{ name: metrics.portName, containerPort: metrics.port }];
    return {
        ports: [{ name: "http", containerPort: port }, ...metricsPort],
        startupProbe: httpProbe(probes.startup),
        livenessProbe: httpProbe(probes.liveness),
        readinessProbe: httpProbe(probes.readiness),
    };
}

/** What every pod of the app shares: its ServiceAccount, security context, pull secrets and /tmp. */
export interface PodBasics {
    serviceAccountName: pulumi.Input<string>;
    imagePullSecrets?: { name: pulumi.Input<string> }[];
}

export function podSpec(basics: PodBasics, containers: Container[], extraVolumes: k8s.types.input.core.v1.Volume[] = []) {
    return {
        serviceAccountName: basics.serviceAccountName,
        automountServiceAccountToken: false,
        securityContext: podSecurityContext(APP_UID),
        imagePullSecrets: basics.imagePullSecrets,
        containers,
        volumes: [{ name: "tmp", emptyDir: { sizeLimit: SCRATCH_VOLUME_SIZE_LIMIT } }, ...extraVolumes],
    };
}

export interface WorkloadArgs {
    namespace: pulumi.Input<string>;
    settings: WorkloadSettings;
    cpuTargetUtilization: number;
    pod: PodBasics;
    /** The app's container, with its port and probes from servingFacts(). */
    container: Container;
    extraVolumes?: k8s.types.input.core.v1.Volume[];
    /** Annotations that roll the pods when what they read changes. */
    podAnnotations: Record<string, pulumi.Input<string>>;
    service: { type: ServiceType; nodePort?: number };
    dependsOn?: pulumi.Resource[];
}

/** Deployment, Service, HPA and PDB of one workload, all named after it and parented to `parent`. */
export function deployWorkload(workload: Workload, args: WorkloadArgs, parent: pulumi.Resource): { service: k8s.core.v1.Service } {
    const { namespace } = args;
    // Fixed names (kubectl rollout undo deployment/backend) mean a replacement must delete first.
    // Every object has a fixed name (metadata.name), so a replacement must delete the old one first.
    const fixedNameOptions = { parent, deleteBeforeReplace: true };
    const metadata = { name: workload, namespace, labels: objectLabels(workload) };
    const selector = { matchLabels: selectorLabels(workload) };
    const deployment = new k8s.apps.v1.Deployment(
        workload,
        {
            metadata,
            spec: {
                // No `replicas`: the HorizontalPodAutoscaler owns the count.
                selector,
                strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                revisionHistoryLimit: REVISION_HISTORY_LIMIT,
                template: {
                    metadata: { labels: objectLabels(workload), annotations: args.podAnnotations },
                    spec: {
                        ...podSpec(args.pod, [args.container], args.extraVolumes),
                        terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
                        topologySpreadConstraints: SPREAD_TOPOLOGY_KEYS.map((topologyKey) => ({
                            maxSkew: 1,
                            topologyKey,
                            whenUnsatisfiable: "ScheduleAnyway",
                            labelSelector: selector,
                            // Spread each ReplicaSet on its own, so a rollout's new pods spread too.
                            matchLabelKeys: ["pod-template-hash"],
                        })),
                    },
                },
            },
        },
        { ...fixedNameOptions, dependsOn: args.dependsOn },
    );
    const service = new k8s.core.v1.Service(
        workload,
        {
            metadata,
            spec: {
                type: args.service.type,
                selector: selectorLabels(workload),
                ports: [{ name: "http", port: WORKLOAD_FACTS[workload].port, targetPort: "http", nodePort: args.service.type === "NodePort" ? args.service.nodePort : undefined }],
            },
        },
        fixedNameOptions,
    );
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
        workload,
        {
            metadata,
            spec: {
                scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
                minReplicas: args.settings.minReplicas,
                maxReplicas: args.settings.maxReplicas,
                metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: args.cpuTargetUtilization } } }],
            },
        },
        fixedNameOptions,
    );
    new k8s.policy.v1.PodDisruptionBudget(
        workload,
        {
            metadata,
            // maxUnavailable rather than minAvailable: a single-replica dev stack can still drain its node.
            spec: { maxUnavailable: 1, selector },
        },
        fixedNameOptions,
    );
    return { service };
}
