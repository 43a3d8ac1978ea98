// Policy checks over Kubernetes manifests, written as plain functions so that they can back a
// CrossGuard policy pack later. Each returns the violations it finds, as readable sentences.

export type Manifest = Record<string, unknown>;

interface ContainerSpec {
    name?: string;
    image?: string;
    imagePullPolicy?: string;
    securityContext?: {
        allowPrivilegeEscalation?: boolean;
        readOnlyRootFilesystem?: boolean;
        privileged?: boolean;
        runAsNonRoot?: boolean;
        runAsUser?: number;
        seccompProfile?: { type?: string };
        capabilities?: { drop?: string[]; add?: string[] };
    };
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    livenessProbe?: unknown;
    readinessProbe?: unknown;
}

interface PodSpec {
    containers?: ContainerSpec[];
    initContainers?: ContainerSpec[];
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type?: string } };
    automountServiceAccountToken?: boolean;
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    volumes?: { hostPath?: unknown }[];
    topologySpreadConstraints?: { topologyKey?: string; whenUnsatisfiable?: string }[];
}

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "Job", "DaemonSet"]);

/** The pod spec of a workload or a bare Pod, if the manifest has one. */
export function podSpecOf(manifest: Manifest): PodSpec | undefined {
    if (manifest.kind === "Pod") {
        return manifest.spec as PodSpec;
    }
    if (WORKLOAD_KINDS.has(String(manifest.kind))) {
        return (manifest.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
    }
    return undefined;
}

const label = (manifest: Manifest): string => `${String(manifest.kind)}/${String((manifest.metadata as { name?: string } | undefined)?.name)}`;

function containersOf(pod: PodSpec): ContainerSpec[] {
    return [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
}

/** Pod Security Admission `restricted`, checked before admission rather than at it. */
export function restrictedPodSecurity(manifest: Manifest): string[] {
    const pod = podSpecOf(manifest);
    if (!pod) {
        return [];
    }
    const where = label(manifest);
    const violations: string[] = [];
    if (pod.securityContext?.runAsNonRoot !== true) violations.push(`${where}: pod must set runAsNonRoot: true`);
    if (pod.securityContext?.runAsUser === 0) violations.push(`${where}: pod must not run as UID 0`);
    if (pod.securityContext?.seccompProfile?.type !== "RuntimeDefault") violations.push(`${where}: pod must use the RuntimeDefault seccomp profile`);
    if (pod.hostNetwork === true || pod.hostPID === true || pod.hostIPC === true) violations.push(`${where}: pod must not share host namespaces`);
    if ((pod.volumes ?? []).some((volume) => volume.hostPath !== undefined)) violations.push(`${where}: pod must not mount hostPath volumes`);
    for (const container of containersOf(pod)) {
        const context = container.securityContext;
        const name = `${where} container ${container.name ?? "?"}`;
        if (context?.allowPrivilegeEscalation !== false) violations.push(`${name}: must set allowPrivilegeEscalation: false`);
        if (context?.privileged === true) violations.push(`${name}: must not be privileged`);
        if (!(context?.capabilities?.drop ?? []).includes("ALL")) violations.push(`${name}: must drop ALL capabilities`);
        if ((context?.capabilities?.add ?? []).length > 0) violations.push(`${name}: must not add capabilities`);
        // A container's own settings override the pod's.
        if ((context?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) !== true) violations.push(`${name}: must run as non-root`);
        if (context?.runAsUser === 0) violations.push(`${name}: must not run as UID 0`);
        const seccomp = context?.seccompProfile?.type;
        if (seccomp !== undefined && seccomp !== "RuntimeDefault" && seccomp !== "Localhost") violations.push(`${name}: seccomp profile ${seccomp} is not allowed`);
    }
    return violations;
}

/** Hardening beyond PSA: read-only root filesystem, no service-account token. */
export function hardenedPods(manifest: Manifest): string[] {
    const pod = podSpecOf(manifest);
    if (!pod) {
        return [];
    }
    const where = label(manifest);
    const violations: string[] = [];
    if (pod.automountServiceAccountToken !== false) violations.push(`${where}: pod must not mount a service-account token`);
    for (const container of containersOf(pod)) {
        if (container.securityContext?.readOnlyRootFilesystem !== true) violations.push(`${where} container ${container.name ?? "?"}: root filesystem must be read-only`);
    }
    return violations;
}

/** Every container has CPU and memory requests and limits. */
export function resourceBounds(manifest: Manifest): string[] {
    const pod = podSpecOf(manifest);
    if (!pod) {
        return [];
    }
    const violations: string[] = [];
    for (const container of containersOf(pod)) {
        for (const bound of ["requests", "limits"] as const) {
            for (const resource of ["cpu", "memory"]) {
                if (!container.resources?.[bound]?.[resource]) {
                    violations.push(`${label(manifest)} container ${container.name ?? "?"}: missing ${resource} ${bound}`);
                }
            }
        }
    }
    return violations;
}

/** Images are pinned: never `:latest` or untagged, and never pulled on every start. */
export function pinnedImages(manifest: Manifest): string[] {
    const pod = podSpecOf(manifest);
    if (!pod) {
        return [];
    }
    const violations: string[] = [];
    for (const container of containersOf(pod)) {
        const image = container.image ?? "";
        const lastSegment = image.split("/").pop() ?? "";
        if (!image.includes("@sha256:") && (!lastSegment.includes(":") || lastSegment.endsWith(":latest"))) {
            violations.push(`${label(manifest)} container ${container.name ?? "?"}: image ${JSON.stringify(image)} is not pinned by tag or digest`);
        }
        if (container.imagePullPolicy === "Always") {
            violations.push(`${label(manifest)} container ${container.name ?? "?"}: imagePullPolicy Always defeats pinning and local images`);
        }
    }
    return violations;
}

/** Long-running workloads are probed (Jobs are not). */
export function probedWorkloads(manifest: Manifest): string[] {
    if (manifest.kind !== "Deployment" && manifest.kind !== "StatefulSet") {
        return [];
    }
    return (podSpecOf(manifest)?.containers ?? [])
        .filter((container) => container.livenessProbe === undefined || container.readinessProbe === undefined)
        .map((container) => `${label(manifest)} container ${container.name ?? "?"}: needs liveness and readiness probes`);
}

/** Replicas spread over nodes and zones, softly (ScheduleAnyway), so a single-node cluster still schedules them. */
export function spreadReplicas(manifest: Manifest): string[] {
    if (manifest.kind !== "Deployment") {
        return [];
    }
    const constraints = podSpecOf(manifest)?.topologySpreadConstraints ?? [];
    const violations: string[] = [];
    for (const key of ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]) {
        if (!constraints.some((constraint) => constraint.topologyKey === key)) violations.push(`${label(manifest)}: must spread replicas across ${key}`);
    }
    for (const constraint of constraints) {
        if (constraint.whenUnsatisfiable !== "ScheduleAnyway") violations.push(`${label(manifest)}: spreading across ${String(constraint.topologyKey)} must be ScheduleAnyway (a single node must still schedule every replica)`);
    }
    return violations;
}

export const POLICIES = { restrictedPodSecurity, hardenedPods, resourceBounds, pinnedImages, probedWorkloads, spreadReplicas } as const;

/** Every violation of every policy over a set of manifests. */
export function checkPolicies(manifests: Manifest[]): string[] {
    return manifests.flatMap((manifest) => Object.values(POLICIES).flatMap((policy) => policy(manifest)));
}
