// Checks that more than one path runs: readiness, Pod Security, users, drift, teardown.
import type { IPod } from "kubernetes-models/v1/Pod";

import type { Component } from "../../components/contract";
import type { E2ePath } from "./path";
import { deploymentsNotSettled, hpasNotAtRest, kubectl, kubectlJson, namespaceExists, pods, readyReplicas, volumesOf } from "./kube";
import { eventually, run } from "../../local-cluster/shell";

export const WORKLOAD_NAMES: readonly Component[] = ["backend", "frontend"];
// The design's requirement, not the program's value: a program that lowered its level must fail here.
const POD_SECURITY_LEVEL = "restricted";

/** The suite deploys into namespaces of its own; one that exists already would be adopted by `up` and deleted by the teardown. */
export async function namespacesFree(namespaces: readonly string[]): Promise<void> {
    for (const namespace of namespaces) {
        if (await namespaceExists(namespace)) {
            throw new Error(`namespace ${namespace} already exists in this cluster: delete it (kubectl delete namespace ${namespace}) or run the suite on a fresh cluster (local-cluster/cluster down)`);
        }
    }
}

export async function deploymentsReady(path: E2ePath, namespace: string, minimum: number): Promise<void> {
    for (const name of WORKLOAD_NAMES) {
        const ready = await readyReplicas(namespace, name);
        path.say(`deployment ${name}: ${ready} ready`);
        if (ready < minimum) throw new Error(`deployment ${name} has ${ready} ready replicas, expected at least ${minimum}`);
    }
}

export async function migrationJobCompleted(path: E2ePath, namespace: string, job: string): Promise<void> {
    const status = (await kubectlJson<{ status?: { succeeded?: number; conditions?: { type: string; status: string }[] } }>(["-n", namespace, "get", "job", job])).status;
    path.say(`migration Job ${job}: ${status?.succeeded ?? 0} succeeded`);
    if (!status?.conditions?.some((c) => c.type === "Complete" && c.status === "True")) throw new Error(`Job ${job} is not Complete`);
}

export async function namespaceEnforcesRestricted(path: E2ePath, namespace: string): Promise<void> {
    const labels = (await kubectlJson<{ metadata?: { labels?: Record<string, string> } }>(["get", "namespace", namespace])).metadata?.labels ?? {};
    const enforce = labels["pod-security.kubernetes.io/enforce"];
    path.say(`namespace ${namespace}: pod-security.kubernetes.io/enforce=${enforce}`);
    if (enforce !== POD_SECURITY_LEVEL) throw new Error(`namespace ${namespace} enforces ${enforce}, not ${POD_SECURITY_LEVEL}`);
}

/** Pods admission must refuse in a restricted namespace: what each breaks, and the words of the refusal that name it. */
const FORBIDDEN_PODS = [
    { what: "a privileged pod", securityContext: { privileged: true }, podSecurityContext: {}, refusal: "privileged" },
    { what: "a pod running as root", securityContext: {}, podSecurityContext: { runAsUser: 0 }, refusal: "runAsUser=0" },
];

/** Admission refuses each forbidden pod (a server-side dry run: nothing is created) with the restricted profile's message. */
export async function podSecurityRefuses(path: E2ePath, namespace: string, image: string): Promise<void> {
    for (const pod of FORBIDDEN_PODS) {
        const manifest = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "e2e-forbidden", namespace },
            spec: { securityContext: pod.podSecurityContext, containers: [{ name: "probe", image, securityContext: pod.securityContext }] },
        };
        const result = await run("kubectl", ["create", "--dry-run=server", "-f", "-"], { input: JSON.stringify(manifest), timeoutSeconds: 60 });
        const answer = `${result.stdout}${result.stderr}`.trim();
        path.say(`${pod.what}: ${answer}`);
        const expected = `violates PodSecurity "${POD_SECURITY_LEVEL}:`;
        if (result.status === 0 || !answer.includes(expected) || !answer.includes(pod.refusal)) {
            throw new Error(`${pod.what} was not refused with "${expected}... ${pod.refusal}"`);
        }
    }
}

const containersOf = (pod: IPod) => [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];

/**
 * Every container of every pod in the namespace runs as a non-zero UID: running containers as
 * the kernel sees their first process; finished ones (init containers, Job pods) by the user the
 * kubelet had to start them with (runAsNonRoot, so the kubelet refused a root image user).
 */
export async function everyContainerNonRoot(path: E2ePath, namespace: string, options: { jobPodExpected: boolean }): Promise<void> {
    const found = await pods(namespace);
    if (found.length === 0) throw new Error(`no pod found in ${namespace}`);
    const problems: string[] = [];
    let jobPods = 0;
    let seenRunning = 0;
    for (const pod of found) {
        const name = pod.metadata?.name ?? "?";
        if (pod.metadata?.labels?.["job-name"]) jobPods += 1;
        for (const container of containersOf(pod)) {
            const status = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((s) => s.name === container.name);
            if (status?.state?.running) {
                const procStatus = await kubectl(["-n", namespace, "exec", name, "-c", container.name, "--", "cat", "/proc/1/status"]);
                const uids = /^Uid:\s+(.*)$/m.exec(procStatus)?.[1]?.trim().split(/\s+/) ?? [];
                path.say(`pod ${name} container ${container.name} (running): uids ${uids.join(" ")}`);
                seenRunning += 1;
                if (uids.length !== 4 || uids.some((uid) => uid === "0")) problems.push(`${name}/${container.name} runs with uids ${uids.join(" ")}`);
            } else {
                const user = container.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser;
                const nonRoot = container.securityContext?.runAsNonRoot ?? pod.spec?.securityContext?.runAsNonRoot;
                path.say(`pod ${name} container ${container.name} (not running): runAsUser ${user}, runAsNonRoot ${nonRoot}`);
                if (nonRoot !== true || user === 0) problems.push(`${name}/${container.name} may run as root (runAsUser ${user}, runAsNonRoot ${nonRoot})`);
            }
        }
    }
    if (seenRunning === 0) problems.push("no running container to look into");
    if (options.jobPodExpected && jobPods === 0) problems.push("no migration Job pod found");
    if (problems.length > 0) throw new Error(problems.join("; "));
}

/** Seconds for every Deployment to settle: new pods (a rollout's, or an HPA's) ready. */
export const SETTLE_SECONDS = 180;

/**
 * Waits until NAMESPACE's Deployments are settled. pulumi-kubernetes reads a Deployment on a
 * refresh with its rollout check (provider/pkg/await/deployment.go): a replica that is still
 * starting, from a rollout or from an HPA scaling up, makes the read an initialization error,
 * which the state keeps, and the engine then plans an update of the unchanged Deployment to
 * finish waiting (pkg/resource/deploy/step_generator.go). The HPA's count itself is no change.
 */
export async function deploymentsSettled(path: E2ePath, namespace: string, label: string): Promise<void> {
    await path.time(`Deployments settled ${label}`, () =>
        eventually(SETTLE_SECONDS, `the Deployments of ${namespace} settled`, async () => ((await deploymentsNotSettled(namespace)) === undefined ? true : undefined)),
    );
}

/**
 * After an `up`: the cluster still matches the state, and a preview plans nothing. At rest: every
 * HPA at its minimum with its replicas ready, so that no replica starts or stops during the
 * refresh (see deploymentsSettled; the scaling checks look above the minimum).
 */
export function registerNoDriftChecks(path: E2ePath, after: string, namespace: string): void {
    const { stack } = path;
    const restSeconds = path.run.target.hpaDownSeconds;
    path.check(`pulumi refresh after ${after} finds no drift (--expect-no-changes)`, async () => {
        await path.time(`HPAs at rest after ${after}`, () =>
            eventually(restSeconds, `the HPAs of ${namespace} at their minimum`, async () => ((await hpasNotAtRest(namespace)) === undefined ? true : undefined)),
        );
        await path.time(`refresh after ${after}`, () => stack().refreshFindsNoDrift());
    }, { timeoutSeconds: restSeconds + 120 });
    path.check(`pulumi preview after ${after} plans no change (--expect-no-changes)`, async () => {
        await path.time(`preview after ${after}`, () => stack().preview({ expectNoChanges: true }));
    });
}

/** `pulumi destroy` and what it must leave: no namespace, no volume of its claims in any phase, an empty state. */
export function registerTeardown(path: E2ePath, namespace: string): void {
    const stack = path.stackIfCreated;
    path.teardown("pulumi destroy succeeds", async () => {
        const current = stack();
        if (!current) throw new Error("the stack was never created");
        await path.time("destroy", () => current.destroy());
    });
    path.teardown(`the namespace ${namespace} is gone, with everything in it`, async () => {
        await eventually(180, `namespace ${namespace} gone`, async () => ((await namespaceExists(namespace)) ? undefined : true));
    });
    path.teardown("no PersistentVolume of the namespace's claims is left, in any phase", async () => {
        // The default StorageClass reclaims Delete (as Minikube's does): the claims' volumes go with them.
        await eventually(120, `volumes of ${namespace} deleted`, async () => {
            const left = await volumesOf(namespace);
            path.say(`volumes of claims in ${namespace}: ${left.map((v) => `${v.metadata?.name} ${v.status?.phase}`).join(", ") || "none"}`);
            return left.length === 0 ? true : undefined;
        });
    });
    path.teardown("the stack's state holds no resource", async () => {
        const current = stack();
        if (!current) throw new Error("the stack was never created");
        const left = await current.resources();
        path.say(`resources left in the stack's state: ${left.length}`);
        if (left.length > 0) throw new Error(`left in the state: ${left.map((r) => r.urn).join(", ")}`);
        await current.remove();
    });
}
