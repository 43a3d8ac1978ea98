// The pack's policies, each a manifest check of manifest-policies.ts (shared with the jest tests):
// a resource policy per Kubernetes object, a stack policy where the check needs every object.
import type { Policies, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

import { type Manifest, MANIFEST_POLICIES, type ManifestCheck, pinnedBuildTags, type RunFacts, SET_POLICIES } from "./manifest-policies";

export const POLICY_PACK_NAME = "todo-kubernetes";

/** Kubernetes objects carry their type token's prefix; a Helm release or a ConfigGroup has no pods to check. */
const isKubernetes = (type: string): boolean => type.startsWith("kubernetes:");

const DESCRIPTIONS: Record<keyof typeof MANIFEST_POLICIES | keyof typeof SET_POLICIES, string> = {
    "restricted-pod-security": "Pods and each of their containers meet Pod Security Admission `restricted`: non-root, no privilege escalation, ALL capabilities dropped, RuntimeDefault seccomp, no host namespaces or hostPath.",
    "hardened-pods": "Pods mount no service-account token, and every container's root filesystem is read-only.",
    "resource-bounds": "Every container sets CPU, memory and ephemeral-storage requests and limits.",
    "pinned-images": "Images are pinned by digest or a content tag, never `latest` or untagged, and pulled Always only when pinned by digest.",
    "probed-workloads": "Deployments and StatefulSets have liveness and readiness probes on every container.",
    "spread-replicas": "Deployments spread their replicas over nodes and zones, softly (ScheduleAnyway).",
    "no-load-balancer": "No Service of type LoadBalancer: the app is reached through a NodePort or an Ingress.",
    "secrets-in-secrets": "Credentials live in Secrets only: never in a ConfigMap or a literal environment variable.",
    "network-policy-coverage": "Every workload's pods are selected by a NetworkPolicy of their namespace.",
    "hpa-owns-replicas": "A Deployment scaled by a HorizontalPodAutoscaler does not set spec.replicas.",
};

const report = (violations: string[], reportViolation: ReportViolation): void => {
    for (const violation of violations) {
        reportViolation(violation);
    }
};

/**
 * The run the pack checks, from the variables the Node.js language host gives a pack (from the
 * engine's ConfigureStack): PULUMI_NODEJS_DRY_RUN, and the stack's configuration in PULUMI_CONFIG.
 * Without them (a host that passes none), an update of a stack that builds locally.
 */
export function runFacts(env: NodeJS.ProcessEnv = process.env): RunFacts {
    const config = JSON.parse(env.PULUMI_CONFIG ?? "{}") as Record<string, string | undefined>;
    return { preview: env.PULUMI_NODEJS_DRY_RUN === "true", pushesImages: config["todo:pushImages"] === "true" };
}

/** The image builds, whose tags pinned-images checks too. */
const IMAGE_BUILD = "docker-build:index:Image";

const resourcePolicies: ResourceValidationPolicy[] = Object.entries<ManifestCheck>(MANIFEST_POLICIES).map(([name, check]) => ({
    name,
    description: DESCRIPTIONS[name as keyof typeof MANIFEST_POLICIES],
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (isKubernetes(args.type)) {
            report(check(args.props as Manifest, runFacts()), reportViolation);
        } else if (args.type === IMAGE_BUILD && name === "pinned-images") {
            report(pinnedBuildTags((args.props.tags as string[] | undefined) ?? []), reportViolation);
        }
    },
}));

const stackPolicies: StackValidationPolicy[] = Object.entries(SET_POLICIES).map(([name, check]) => ({
    name,
    description: DESCRIPTIONS[name as keyof typeof SET_POLICIES],
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const objects = args.resources.filter((resource) => isKubernetes(resource.type)).map((resource) => resource.props as Manifest);
        report(check(objects), reportViolation);
    },
}));

export const policies: Policies = [...resourcePolicies, ...stackPolicies];
