// Policy checks over Kubernetes manifests, as plain functions: the CrossGuard pack (policies.ts)
// runs them on the program's resources during `pulumi preview`, and the jest tests on both deploy
// paths' manifests (the chart's objects are invisible to a pack: a Helm release is one resource).
// Each returns the violations it finds, as readable sentences.

import { APP_IMAGE_REPOSITORIES, CONTENT_TAG_LENGTH } from "../components/image-names";

export type Manifest = Record<string, unknown>;

interface ContainerSpec {
    name?: string;
    env?: { name?: string; value?: string }[];
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

interface Metadata {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
}

const metadataOf = (manifest: Manifest): Metadata => manifest.metadata ?? {};

const label = (manifest: Manifest): string => `${String(manifest.kind)}/${String(metadataOf(manifest).name)}`;

/**
 * Violations named after their object. The name is read only when there is one: in a preview a
 * name may be unknown (the migration Job's comes from its image), and a policy that reads an
 * unknown value cannot run.
 */
const named = (manifest: Manifest, found: string[]): string[] => (found.length === 0 ? [] : found.map((text) => `${label(manifest)}${text}`));

function containersOf(pod: PodSpec): ContainerSpec[] {
    return [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
}

/** Pod Security Admission `restricted`, checked before admission rather than at it. */
export function restrictedPodSecurity(manifest: Manifest): string[] {
    const pod = podSpecOf(manifest);
    if (!pod) {
        return [];
    }
    const violations: string[] = [];
    if (pod.securityContext?.runAsNonRoot !== true) violations.push(": pod must set runAsNonRoot: true");
    if (pod.securityContext?.runAsUser === 0) violations.push(": pod must not run as UID 0");
    if (pod.securityContext?.seccompProfile?.type !== "RuntimeDefault") violations.push(": pod must use the RuntimeDefault seccomp profile");
    if (pod.hostNetwork === true || pod.hostPID === true || pod.hostIPC === true) violations.push(": pod must not share host namespaces");
    if ((pod.volumes ?? []).some((volume) => volume.hostPath !== undefined)) violations.push(": pod must not mount hostPath volumes");
    for (const container of containersOf(pod)) {
        const context = container.securityContext;
        const name = ` container ${container.name ?? "?"}`;
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
    return named(manifest, violations);
}

/** Hardening beyond PSA: read-only root filesystem, no service-account token. */
export function hardenedPods(manifest: Manifest): string[] {
    const pod = podSpecOf(manifest);
    if (!pod) {
        return [];
    }
    const violations: string[] = [];
    if (pod.automountServiceAccountToken !== false) violations.push(": pod must not mount a service-account token");
    for (const container of containersOf(pod)) {
        if (container.securityContext?.readOnlyRootFilesystem !== true) violations.push(` container ${container.name ?? "?"}: root filesystem must be read-only`);
    }
    return named(manifest, violations);
}

/** Every container has CPU, memory and ephemeral-storage requests and limits. */
export function resourceBounds(manifest: Manifest): string[] {
    const pod = podSpecOf(manifest);
    if (!pod) {
        return [];
    }
    const violations: string[] = [];
    for (const container of containersOf(pod)) {
        for (const bound of ["requests", "limits"] as const) {
            for (const resource of ["cpu", "memory", "ephemeral-storage"]) {
                if (!container.resources?.[bound]?.[resource]) {
                    violations.push(`${label(manifest)} container ${container.name ?? "?"}: missing ${resource} ${bound}`);
                }
            }
        }
    }
    return violations;
}

/** What a check knows of the run beyond the manifests: a preview or an update, and whether the stack pushes its builds. */
export interface RunFacts {
    /** A preview: a build pushed by the update has no digest yet. */
    preview: boolean;
    /** The stack pushes the app's images to a registry (todo:pushImages), to be pulled by digest. */
    pushesImages: boolean;
}

/** What the checks assume without facts: an update of a stack that builds locally. */
export const LOCAL_UPDATE: RunFacts = { preview: false, pushesImages: false };

const APP_REPOSITORIES = new Set<string>(Object.values(APP_IMAGE_REPOSITORIES));
const CONTENT_TAG = new RegExp(`^[0-9a-f]{${CONTENT_TAG_LENGTH}}$`);
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** An image reference's repository (path after any registry), tag and digest. */
function parseImage(image: string): { repository: string; tag?: string; digest?: string } {
    const [name = "", digest] = image.split("@");
    const lastSlash = name.lastIndexOf("/");
    const colon = name.lastIndexOf(":");
    const hasTag = colon > lastSlash;
    return { repository: hasTag ? name.slice(0, colon) : name, tag: hasTag ? name.slice(colon + 1) : undefined, digest };
}

/**
 * Images are pinned: never `:latest` or untagged; pulled Always only when pinned by digest (a tag
 * may move, and a local image cannot be pulled). The app's own images carry their content tag,
 * and a stack that pushes them deploys them by digest: checked in an update, because in a preview
 * the digest does not exist yet and the content tag stands for it.
 */
export function pinnedImages(manifest: Manifest, run: RunFacts = LOCAL_UPDATE): string[] {
    const pod = podSpecOf(manifest);
    if (!pod) {
        return [];
    }
    const violations: string[] = [];
    for (const container of containersOf(pod)) {
        const image = container.image ?? "";
        const where = ` container ${container.name ?? "?"}`;
        const { repository, tag, digest } = parseImage(image);
        if (digest === undefined && (tag === undefined || tag === "latest")) {
            violations.push(`${where}: image ${JSON.stringify(image)} is not pinned by tag or digest`);
        }
        if (container.imagePullPolicy === "Always" && digest === undefined) {
            violations.push(`${where}: imagePullPolicy Always needs an image pinned by digest (a tag may move, a local image cannot be pulled)`);
        }
        if (!APP_REPOSITORIES.has(repository.split("/").pop() ?? "")) {
            continue;
        }
        if (tag === undefined || !CONTENT_TAG.test(tag)) {
            violations.push(`${where}: the app's image ${JSON.stringify(image)} must carry its content tag (${CONTENT_TAG_LENGTH} hex digits)`);
        }
        if (digest !== undefined && !DIGEST.test(digest)) {
            violations.push(`${where}: image ${JSON.stringify(image)} has a malformed digest`);
        }
        if (run.pushesImages && !run.preview && digest === undefined) {
            violations.push(`${where}: the pushed image ${JSON.stringify(image)} must be deployed by digest (<repository>:<content tag>@sha256:...)`);
        }
    }
    return named(manifest, violations);
}

/**
 * The tags of an image build: the app's builds are tagged by content. In a preview of a changed
 * build this is where pinned-images sees the image, since the reference a Deployment runs
 * (tag@digest) is unknown until the update pushes it.
 */
export function pinnedBuildTags(tags: string[]): string[] {
    return tags
        .map(parseImage)
        .filter(({ repository, tag }) => APP_REPOSITORIES.has(repository.split("/").pop() ?? "") && (tag === undefined || !CONTENT_TAG.test(tag)))
        .map(({ repository, tag }) => `image build ${repository}: tag ${JSON.stringify(tag ?? "")} is not a content tag (${CONTENT_TAG_LENGTH} hex digits)`);
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

/** A Service of type LoadBalancer buys a public cloud address; the app is reached through a NodePort or an Ingress. */
export function noLoadBalancer(manifest: Manifest): string[] {
    const type = (manifest.spec as { type?: string } | undefined)?.type;
    return manifest.kind === "Service" && type === "LoadBalancer" ? [`${label(manifest)}: type LoadBalancer is not allowed (use NodePort, or ClusterIP behind an Ingress)`] : [];
}

/** Names that hold a credential: *_PASSWORD, *_SECRET, *_TOKEN, *_API_KEY, *_PRIVATE_KEY, DATABASE_URL. */
const CREDENTIAL_NAME = /(^|_)(PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|DATABASE_URL)$/i;

/** Credentials live in Secrets only: never in a ConfigMap, never as a literal container variable. */
export function secretsInSecrets(manifest: Manifest): string[] {
    const violations: string[] = [];
    if (manifest.kind === "ConfigMap") {
        for (const key of Object.keys((manifest.data ?? {}) as Record<string, unknown>).filter((name) => CREDENTIAL_NAME.test(name))) {
            violations.push(`${label(manifest)}: ${key} is a credential; keep it in a Secret`);
        }
    }
    const pod = podSpecOf(manifest);
    for (const container of pod ? containersOf(pod) : []) {
        for (const variable of (container.env ?? []).filter((entry) => entry.value !== undefined && CREDENTIAL_NAME.test(entry.name ?? ""))) {
            violations.push(`${label(manifest)} container ${container.name ?? "?"}: ${String(variable.name)} is a credential given as a literal; take it from a Secret (valueFrom.secretKeyRef)`);
        }
    }
    return violations;
}

interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Whether a label selector selects these labels (an empty selector selects every pod). */
function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
    const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
    const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
        switch (operator) {
            case "In":
                return key in labels && values.includes(labels[key] ?? "");
            case "NotIn":
                return !(key in labels) || !values.includes(labels[key] ?? "");
            case "Exists":
                return key in labels;
            case "DoesNotExist":
                return !(key in labels);
            default:
                return false;
        }
    });
    return byLabels && byExpressions;
}

/** A manifest's namespace; objects rendered without one (helm template) all share the release's. */
const namespaceOf = (manifest: Manifest): string => metadataOf(manifest).namespace ?? "";

/** Every workload's pods are selected by a NetworkPolicy of their namespace, so none talks freely. */
export function networkPolicyCoverage(manifests: Manifest[]): string[] {
    const networkPolicies = manifests.filter((manifest) => manifest.kind === "NetworkPolicy");
    return manifests
        .filter((manifest) => podSpecOf(manifest) !== undefined)
        .filter((workload) => {
            const podLabels = podLabelsOf(workload);
            return !networkPolicies.some(
                (policy) => namespaceOf(policy) === namespaceOf(workload) && selects((policy.spec as { podSelector?: LabelSelector } | undefined)?.podSelector ?? {}, podLabels),
            );
        })
        .map((workload) => `${label(workload)}: no NetworkPolicy selects its pods`);
}

/** The labels of a workload's pods (a bare Pod's own). */
function podLabelsOf(manifest: Manifest): Record<string, string> {
    if (manifest.kind === "Pod") {
        return metadataOf(manifest).labels ?? {};
    }
    return (manifest.spec as { template?: { metadata?: Metadata } } | undefined)?.template?.metadata?.labels ?? {};
}

interface ManagedFieldsEntry {
    manager?: string;
    subresource?: string;
    fieldsV1?: { "f:spec"?: { "f:replicas"?: unknown } };
}

/**
 * Whether the Deployment's replica count is set by its manifest. A manifest sets it by holding
 * spec.replicas. A live object always holds one (the API server's default, or the HPA's), so
 * there it counts as set when a writer other than the scale subresource (which the HPA uses)
 * owns the field: the stack policies of an update see live objects (the engine hands
 * AnalyzeStack each object's outputs).
 */
function setsReplicas(deployment: Manifest): boolean {
    const managedFields = (metadataOf(deployment) as { managedFields?: ManagedFieldsEntry[] }).managedFields;
    if (managedFields === undefined) {
        return (deployment.spec as { replicas?: unknown } | undefined)?.replicas !== undefined;
    }
    return managedFields.some((entry) => entry.subresource !== "scale" && entry.fieldsV1?.["f:spec"]?.["f:replicas"] !== undefined);
}

/** A Deployment an HPA of its namespace scales sets no spec.replicas: each apply would reset what the HPA chose. */
export function hpaOwnsReplicas(manifests: Manifest[]): string[] {
    const scaled = new Set(
        manifests
            .filter((manifest) => manifest.kind === "HorizontalPodAutoscaler")
            .filter((hpa) => (hpa.spec as { scaleTargetRef?: { kind?: string } } | undefined)?.scaleTargetRef?.kind === "Deployment")
            .map((hpa) => `${namespaceOf(hpa)}/${String((hpa.spec as { scaleTargetRef: { name?: string } }).scaleTargetRef.name)}`),
    );
    return manifests
        .filter((manifest) => manifest.kind === "Deployment" && scaled.has(`${namespaceOf(manifest)}/${String(metadataOf(manifest).name)}`))
        .filter(setsReplicas)
        .map((deployment) => `${label(deployment)}: an HPA owns its replica count, so it must not set spec.replicas`);
}

/** A check of one manifest; only pinned-images reads the run's facts. */
export type ManifestCheck = (manifest: Manifest, run: RunFacts) => string[];

/** The checks of one manifest at a time, keyed by the pack's policy names. */
export const MANIFEST_POLICIES = {
    "restricted-pod-security": restrictedPodSecurity,
    "hardened-pods": hardenedPods,
    "resource-bounds": resourceBounds,
    "pinned-images": pinnedImages,
    "probed-workloads": probedWorkloads,
    "spread-replicas": spreadReplicas,
    "no-load-balancer": noLoadBalancer,
    "secrets-in-secrets": secretsInSecrets,
} as const satisfies Record<string, ManifestCheck>;

/** The checks that need every manifest at once (what selects or owns what), keyed likewise. */
export const SET_POLICIES = {
    "network-policy-coverage": networkPolicyCoverage,
    "hpa-owns-replicas": hpaOwnsReplicas,
} as const;

/** Every violation of every policy over a set of manifests. */
export function checkPolicies(manifests: Manifest[], run: RunFacts = LOCAL_UPDATE): string[] {
    return [
        ...manifests.flatMap((manifest) => Object.values<ManifestCheck>(MANIFEST_POLICIES).flatMap((policy) => policy(manifest, run))),
        ...Object.values(SET_POLICIES).flatMap((policy) => policy(manifests)),
    ];
}
