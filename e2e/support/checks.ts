// Checks that more than one path runs: readiness, Pod Security, users, drift, teardown.
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import * as nodePath from "node:path";

import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { IPersistentVolume } from "kubernetes-models/v1/PersistentVolume";
import type { IPersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import type { IPod } from "kubernetes-models/v1/Pod";

import type { Component } from "../../components/contract";
import { POSTGRES_NAME } from "../../components/database";
import { CONFIG_NAMESPACE, settingMeta } from "../../stacks/schema";
import type { E2ePath } from "./path";
import { deploymentsNotSettled, hpasNotAtRest, kubectlJson, namespaceExists, pods, readyReplicas } from "./kube";
import type { TestStack } from "./stack";
import { LOCAL_CLUSTER_DIR } from "../../local-cluster/local-cluster";
import { eventually, output, run, sleep } from "../../local-cluster/shell";

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
const statusOf = (pod: IPod, container: string) =>
    [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((status) => status.name === container);
const isJobPod = (pod: IPod): boolean => Boolean(pod.metadata?.labels?.["job-name"]);

/**
 * The first line of the log of every container of the app's images, whatever command the pod
 * gives it (serve, migrate, wait-for-database, helm test, the suite's probes): the UIDs its first
 * process runs with, real and effective, printed by the image itself at start
 * (apps/backend/src/sitecustomize.py, apps/frontend/scripts/container-user.cjs).
 */
const USER_LINE = /^uid=(\d+) euid=(\d+)$/;
/**
 * Containers of an image this project does not build, whose first line is not its own: the
 * database (POSTGRES_NAME on both deploy paths, and the prod path's Neon stand-in), from the
 * official postgres image or its local stand-in. Their UIDs are the kernel's, read while they run
 * (/proc/1/status through kubectl exec); one that is not running cannot be read, and fails.
 */
const READ_WHILE_RUNNING: ReadonlySet<string> = new Set([POSTGRES_NAME]);
/** How often a ContainerUserWatch looks at the pods: a hook pod lives a few seconds after its container starts. */
const WATCH_POLL_MS = 250;

/** The UIDs a container ran with, as one source says (uids), or why that source says nothing (why). */
interface UserReading {
    from: string;
    uids?: string[];
    why?: string;
}

const firstLine = (text: string): string => text.trim().split("\n")[0] ?? "";

/** The user line a container's log starts with (the previous instance's with PREVIOUS): its two UIDs, or why there are none. */
async function userFromLog(namespace: string, pod: string, container: string, previous: boolean): Promise<UserReading> {
    const from = previous ? "first line of its previous log" : "first line of its log";
    const result = await run("kubectl", ["-n", namespace, "logs", pod, "-c", container, "--limit-bytes=256", ...(previous ? ["--previous"] : [])], { timeoutSeconds: 60 });
    if (result.status !== 0) return { from, why: `kubectl logs failed: ${firstLine(result.stderr)}` };
    const line = result.stdout.split("\n")[0] ?? "";
    const match = USER_LINE.exec(line);
    return match ? { from, uids: [match[1] ?? "", match[2] ?? ""] } : { from, why: `it is ${JSON.stringify(line)}, not uid=<n> euid=<n>` };
}

/** What the kernel says the container's first process runs as (real, effective, saved, filesystem UIDs); it must be running. */
async function userFromProc(namespace: string, pod: string, container: string): Promise<UserReading> {
    const from = "/proc/1/status";
    const result = await run("kubectl", ["-n", namespace, "exec", pod, "-c", container, "--", "cat", "/proc/1/status"], { timeoutSeconds: 60 });
    if (result.status !== 0) return { from, why: `kubectl exec failed: ${firstLine(result.stderr)}` };
    const uids = /^Uid:\s+(.*)$/m.exec(result.stdout)?.[1]?.trim().split(/\s+/) ?? [];
    return uids.length === 4 ? { from, uids } : { from, why: `no Uid line of four UIDs in it` };
}

/**
 * Every reading of one container of a pod that exists: a database container's by the kernel while
 * it runs; any other's by the first line of its log (the current instance once started, the
 * previous one after a restart), and while it runs by the kernel too, which must agree.
 */
async function readContainer(namespace: string, pod: IPod, container: string): Promise<UserReading[]> {
    const name = pod.metadata?.name ?? "?";
    const status = statusOf(pod, container);
    const running = status?.state?.running !== undefined;
    if (READ_WHILE_RUNNING.has(container)) {
        return [running ? await userFromProc(namespace, name, container) : { from: "/proc/1/status", why: "not running, and its image prints no user line" }];
    }
    const readings: UserReading[] = [];
    if (running || status?.state?.terminated) readings.push(await userFromLog(namespace, name, container, false));
    if ((status?.restartCount ?? 0) > 0) readings.push(await userFromLog(namespace, name, container, true));
    if (readings.length === 0) readings.push({ from: "its log", why: `it never started (${status?.state?.waiting?.reason ?? "no status"})` });
    if (running) {
        const kernel = await userFromProc(namespace, name, container);
        const logged = readings[0]?.uids;
        if (kernel.uids && logged && (kernel.uids[0] !== logged[0] || kernel.uids[1] !== logged[1])) {
            kernel.why = `its UIDs ${kernel.uids.join(" ")} differ from its log's uid=${logged[0]} euid=${logged[1]}`;
        }
        readings.push(kernel);
    }
    return readings;
}

/** Whether the pod still exists; any answer but "found" or "not found" counts as found. */
async function podExists(namespace: string, name: string): Promise<boolean> {
    const result = await run("kubectl", ["-n", namespace, "get", "pod", name, "-o", "name"], { timeoutSeconds: 60 });
    return result.status === 0 || !/NotFound/.test(result.stderr);
}

/** What a ContainerUserWatch saw of one pod: per container instance (`name#restarts`) that started, its reading. */
interface WatchedPod {
    namespace: string;
    name: string;
    uid: string;
    jobPod: boolean;
    containers: string[];
    started: Map<string, UserReading>;
}

/**
 * Reads the user line of every container of NAMESPACE's pods while a step runs (`during`), for
 * the pods that are gone by the time everyContainerNonRoot looks: the chart's migration Job is a
 * Helm hook deleted with its pod the moment it succeeds (helm.sh/hook-delete-policy
 * hook-succeeded), wait-for-database included. Every WATCH_POLL_MS it lists the pods and reads
 * each started container's first log line until it has one (the line comes at start, and a log
 * stays readable as long as its pod exists); database containers are left to the check.
 */
export class ContainerUserWatch {
    private readonly seen = new Map<string, WatchedPod>();
    private readonly failures: string[] = [];

    constructor(readonly namespace: string) {}

    /** Runs STEP while watching; the watch ends with it. */
    async during<Value>(step: () => Promise<Value>): Promise<Value> {
        const watch = { on: true };
        const polling = (async () => {
            while (watch.on) {
                await this.poll();
                await sleep(WATCH_POLL_MS);
            }
        })();
        try {
            return await step();
        } finally {
            watch.on = false;
            await polling;
        }
    }

    /** The pods it saw, and why a look at them failed, if one did. */
    report(): { pods: WatchedPod[]; failures: string[] } {
        return { pods: [...this.seen.values()], failures: [...this.failures] };
    }

    private async poll(): Promise<void> {
        try {
            const listing = await run("kubectl", ["-n", this.namespace, "get", "pods", "-o", "json"], { timeoutSeconds: 30 });
            if (listing.status !== 0) throw new Error(`${listing.command}: ${firstLine(listing.stderr)}`);
            for (const pod of (JSON.parse(listing.stdout) as { items: IPod[] }).items) {
                const uid = pod.metadata?.uid ?? "";
                const name = pod.metadata?.name ?? "?";
                const watched: WatchedPod = this.seen.get(uid) ?? {
                    namespace: this.namespace,
                    name,
                    uid,
                    jobPod: isJobPod(pod),
                    containers: containersOf(pod).map((c) => c.name),
                    started: new Map<string, UserReading>(),
                };
                this.seen.set(uid, watched);
                for (const container of watched.containers) {
                    const status = statusOf(pod, container);
                    if (READ_WHILE_RUNNING.has(container) || !status || (!status.state?.running && !status.state?.terminated)) continue;
                    const instance = `${container}#${status.restartCount}`;
                    if (watched.started.get(instance)?.uids) continue;
                    watched.started.set(instance, await userFromLog(this.namespace, name, container, false));
                }
            }
        } catch (error) {
            if (this.failures.length < 5) this.failures.push(error instanceof Error ? error.message : String(error));
        }
    }
}

/**
 * Every container of every pod in NAMESPACES (init containers and Job pods included) ran with
 * non-zero UIDs, as the container itself or the kernel says (the kubelet's status has no UIDs
 * with this cluster's containerd). The app's containers print their UIDs as their log's first
 * line, read for every pod that exists, running or finished, and after a restart for the previous
 * instance too; running ones are also read from /proc/1/status, which must agree. Database
 * containers are read from /proc/1/status while they run. Pods gone before the check (the
 * chart's migration hook) are read while they existed, by WATCHED. A container whose UIDs cannot
 * be read fails the check with its name, as does a pod gone with one of its containers unread.
 */
export async function everyContainerNonRoot(
    path: E2ePath,
    namespaces: readonly string[],
    options: { jobPodExpected: boolean; watched?: ContainerUserWatch },
): Promise<void> {
    const problems: string[] = [];
    const judged = new Set<string>();
    let jobPods = 0;
    let read = 0;
    const judge = (id: string, readings: UserReading[]): void => {
        for (const { from, uids, why } of readings) {
            path.say(`${id}: ${from}: ${[uids ? `uids ${uids.join(" ")}` : "", why ?? ""].filter(Boolean).join(", ")}`);
            if (uids?.includes("0")) problems.push(`${id} runs as root (${from}: uids ${uids.join(" ")})`);
            else if (!uids) problems.push(`${id}: UIDs not read (${from}: ${why ?? "no answer"})`);
            else if (why) problems.push(`${id}: ${from}: ${why}`);
            else read += 1;
        }
    };
    for (const namespace of namespaces) {
        const found = await pods(namespace);
        if (found.length === 0) problems.push(`no pod found in ${namespace}`);
        for (const pod of found) {
            const name = pod.metadata?.name ?? "?";
            const results: [string, UserReading[]][] = [];
            for (const container of containersOf(pod)) results.push([`${namespace}/${name}/${container.name}`, await readContainer(namespace, pod, container.name)]);
            // A pod may go while it is read (a Job's hook deleted, a replica scaled down): nothing is left
            // to ask, and what a watch read of it while it existed counts instead.
            const unread = results.some(([, readings]) => readings.some((reading) => !reading.uids));
            if (unread && !(await podExists(namespace, name))) {
                path.say(`${namespace}/${name}: gone while it was read`);
                continue;
            }
            judged.add(pod.metadata?.uid ?? "");
            if (isJobPod(pod)) jobPods += 1;
            for (const [id, readings] of results) judge(id, readings);
        }
    }
    const watched = options.watched?.report();
    for (const failure of watched?.failures ?? []) path.say(`watch of ${options.watched?.namespace}: ${failure}`);
    for (const pod of watched?.pods ?? []) {
        if (judged.has(pod.uid)) continue;
        const id = `${pod.namespace}/${pod.name}`;
        if (pod.started.size === 0) {
            path.say(`${id}: gone before a container of the app's images started in it`);
            continue;
        }
        if (pod.jobPod) jobPods += 1;
        for (const container of pod.containers) {
            const instances = [...pod.started].filter(([instance]) => instance.startsWith(`${container}#`)).map(([, reading]) => reading);
            const gone = READ_WHILE_RUNNING.has(container) ? "a database container, read only while it runs" : "never seen started";
            judge(
                `${id}/${container}`,
                instances.length === 0
                    ? [{ from: "nothing: its pod is gone", why: gone }]
                    : instances.map(({ from, uids, why }) => ({ from: `${from}, read while its pod existed`, uids, why: uids ? undefined : `its pod went before it could be read (last: ${why ?? "?"})` })),
            );
        }
    }
    if (read === 0) problems.push("no container's UIDs were read");
    if (options.jobPodExpected && jobPods === 0) problems.push("no migration Job pod found (present, or seen while the step ran)");
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

/** What the volume check needs to know of a namespace's claims, read before `destroy`. */
export interface ClaimsRecord {
    namespace: string;
    /** The stack's `todo:databaseMode` (its schema default when the stack file leaves it). */
    databaseMode: string;
    /** The namespace's StatefulSets: replicas and the names of their volumeClaimTemplates. */
    statefulSets: { name: string; replicas: number; templates: string[] }[];
    claims: { name: string; uid: string; phase: string; volumeName: string }[];
    /** Every PersistentVolume of the cluster: its phase, its claim and its reclaim policy. */
    volumes: { name: string; phase: string; claimNamespace: string; claimName: string; claimUid: string; reclaimPolicy: string }[];
    /** Claims the namespace's pods mount ("pod/claim"). */
    podClaims: string[];
}

/** What the record proves: the volumes that must be gone after `destroy`, what was said, and what is wrong. */
export interface ClaimsFinding {
    volumes: string[];
    said: string[];
    problems: string[];
}

/**
 * Judges a namespace's claims before `destroy`. With an in-cluster database each claim its
 * StatefulSets ask for (<template>-<set>-<ordinal>) must exist, be Bound, and name a volume that is
 * Bound to that very claim (its uid): those volumes are the ones the teardown then expects gone,
 * so the check never passes on nothing. With an external database the path has no claim: no
 * StatefulSet asks for one, the namespace holds none, no pod mounts one, no volume names one.
 */
export function judgeClaims(record: ClaimsRecord): ClaimsFinding {
    const { namespace } = record;
    const said: string[] = [];
    const problems: string[] = [];
    const volumes: string[] = [];
    const expected = record.statefulSets.flatMap((set) =>
        set.templates.flatMap((template) => Array.from({ length: set.replicas }, (_, ordinal) => `${template}-${set.name}-${ordinal}`)),
    );
    const volumesOfNamespace = record.volumes.filter((volume) => volume.claimNamespace === namespace);
    if (record.databaseMode === "in-cluster") {
        said.push(`todo:databaseMode in-cluster: the StatefulSets of ${namespace} ask for ${expected.length > 0 ? expected.join(", ") : "no claim"}`);
        if (expected.length === 0) problems.push(`the database is in-cluster, yet no StatefulSet in ${namespace} declares a volumeClaimTemplate (StatefulSets: ${record.statefulSets.map((set) => set.name).join(", ") || "none"})`);
        for (const name of expected) {
            const claim = record.claims.find((candidate) => candidate.name === name);
            if (!claim) {
                problems.push(`claim ${namespace}/${name} does not exist (claims there: ${record.claims.map((candidate) => candidate.name).join(", ") || "none"})`);
                continue;
            }
            if (claim.phase !== "Bound" || !claim.volumeName) {
                problems.push(`claim ${namespace}/${name} is ${claim.phase || "without a phase"}${claim.volumeName ? ` (volume ${claim.volumeName})` : ", with no volume"}, not Bound`);
                continue;
            }
            const volume = record.volumes.find((candidate) => candidate.name === claim.volumeName);
            if (!volume) {
                problems.push(`claim ${namespace}/${name} names volume ${claim.volumeName}, which does not exist`);
                continue;
            }
            if (volume.phase !== "Bound" || volume.claimNamespace !== namespace || volume.claimName !== name || volume.claimUid !== claim.uid) {
                problems.push(`volume ${volume.name} is ${volume.phase}, claimed by ${volume.claimNamespace}/${volume.claimName} (uid ${volume.claimUid}), not Bound to ${namespace}/${name} (uid ${claim.uid})`);
                continue;
            }
            said.push(`claim ${namespace}/${name}: Bound to volume ${volume.name} (reclaim policy ${volume.reclaimPolicy})`);
            volumes.push(volume.name);
        }
    } else {
        said.push(`todo:databaseMode ${record.databaseMode}: this path has no claim; checking that ${namespace} really has none`);
        if (expected.length > 0) problems.push(`the database is ${record.databaseMode}, yet StatefulSets of ${namespace} ask for claims: ${expected.join(", ")}`);
        if (record.claims.length > 0) problems.push(`the database is ${record.databaseMode}, yet ${namespace} holds claims: ${record.claims.map((claim) => `${claim.name} (${claim.phase})`).join(", ")}`);
        if (record.podClaims.length > 0) problems.push(`the database is ${record.databaseMode}, yet pods of ${namespace} mount claims: ${record.podClaims.join(", ")}`);
        if (volumesOfNamespace.length > 0) problems.push(`the database is ${record.databaseMode}, yet volumes name claims of ${namespace}: ${volumesOfNamespace.map((volume) => `${volume.name} (${volume.phase})`).join(", ")}`);
    }
    // Claims nobody expected (made by hand, or by another workload): their volumes must go as well.
    for (const claim of record.claims.filter((candidate) => !expected.includes(candidate.name))) {
        said.push(`claim ${namespace}/${claim.name} (${claim.phase}${claim.volumeName ? `, volume ${claim.volumeName}` : ""}) is not one a StatefulSet asks for`);
        if (claim.volumeName && !volumes.includes(claim.volumeName)) volumes.push(claim.volumeName);
    }
    return { volumes, said, problems };
}

type PersistentVolumeList = { items: IPersistentVolume[] };

/** Reads what judgeClaims needs, from the stack's settings and the cluster. */
async function recordClaims(namespace: string, stack: TestStack): Promise<ClaimsRecord> {
    const config = await stack.stack.getAllConfig();
    const databaseMode = config[`${CONFIG_NAMESPACE}:databaseMode`]?.value ?? String(settingMeta("databaseMode").default);
    const statefulSets = (await kubectlJson<{ items: IStatefulSet[] }>(["-n", namespace, "get", "statefulsets"])).items.map((set) => ({
        name: set.metadata?.name ?? "?",
        replicas: set.spec?.replicas ?? 1,
        templates: (set.spec?.volumeClaimTemplates ?? []).map((template) => template.metadata?.name ?? "?"),
    }));
    const claims = (await kubectlJson<{ items: IPersistentVolumeClaim[] }>(["-n", namespace, "get", "pvc"])).items.map((claim) => ({
        name: claim.metadata?.name ?? "?",
        uid: claim.metadata?.uid ?? "",
        phase: claim.status?.phase ?? "",
        volumeName: claim.spec?.volumeName ?? "",
    }));
    const volumes = (await kubectlJson<PersistentVolumeList>(["get", "pv"])).items.map((volume) => ({
        name: volume.metadata?.name ?? "?",
        phase: volume.status?.phase ?? "",
        claimNamespace: volume.spec?.claimRef?.namespace ?? "",
        claimName: volume.spec?.claimRef?.name ?? "",
        claimUid: volume.spec?.claimRef?.uid ?? "",
        reclaimPolicy: volume.spec?.persistentVolumeReclaimPolicy ?? "",
    }));
    const podClaims = (await pods(namespace)).flatMap((pod) =>
        (pod.spec?.volumes ?? []).flatMap((volume) => (volume.persistentVolumeClaim ? [`${pod.metadata?.name ?? "?"}/${volume.persistentVolumeClaim.claimName}`] : [])),
    );
    return { namespace, databaseMode, statefulSets, claims, volumes, podClaims };
}

/**
 * `pulumi destroy` and what it must leave: no namespace, none of the volumes its claims had bound
 * (recorded before destroy, so that the check proves a volume existed) and no volume of its
 * claims in any phase, an empty state.
 */
export function registerTeardown(path: E2ePath, namespace: string): void {
    const stack = path.stackIfCreated;
    let claims: ClaimsFinding | undefined;
    let notRecorded = "the destroy check did not run";
    path.teardown("pulumi destroy succeeds", async () => {
        const current = stack();
        if (!current) {
            notRecorded = "the stack was never created";
            throw new Error("the stack was never created");
        }
        try {
            claims = judgeClaims(await recordClaims(namespace, current));
        } catch (error) {
            notRecorded = `the claims of ${namespace} could not be read before destroy: ${error instanceof Error ? error.message : String(error)}`;
        }
        for (const line of claims?.said ?? [notRecorded]) path.say(`before destroy: ${line}`);
        await path.time("destroy", () => current.destroy());
    });
    path.teardown(`the namespace ${namespace} is gone, with everything in it`, async () => {
        await eventually(180, `namespace ${namespace} gone`, async () => ((await namespaceExists(namespace)) ? undefined : true));
    });
    path.teardown("no PersistentVolume of the namespace's claims is left, in any phase; each one that was bound before destroy is gone", async () => {
        if (!claims) throw new Error(notRecorded);
        const { volumes, problems } = claims;
        // The default StorageClass reclaims Delete (as Minikube's does): the claims' volumes go with them.
        let left: string[] = [];
        try {
            await eventually(120, `volumes of ${namespace} deleted`, async () => {
                const all = (await kubectlJson<PersistentVolumeList>(["get", "pv"])).items;
                left = all
                    .filter((volume) => volumes.includes(volume.metadata?.name ?? "") || volume.spec?.claimRef?.namespace === namespace)
                    .map((volume) => {
                        const claim = volume.spec?.claimRef ? `claim ${volume.spec.claimRef.namespace}/${volume.spec.claimRef.name}` : "no claim";
                        return `${volume.metadata?.name} (${volume.status?.phase ?? "no phase"}, ${claim}, reclaim ${volume.spec?.persistentVolumeReclaimPolicy ?? "?"})`;
                    });
                path.say(`volumes bound before destroy: ${volumes.join(", ") || "none"}; left now: ${left.join(", ") || "none"}`);
                return left.length === 0 ? true : undefined;
            });
        } catch (error) {
            problems.push(left.length > 0 ? `left after destroy: ${left.join(", ")}` : error instanceof Error ? error.message : String(error));
        }
        if (problems.length > 0) throw new Error(problems.join("; "));
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

/**
 * Where the offline cluster keeps its files and what it runs, as its own scripts say
 * (local-cluster/lib/settings.sh and addons.sh, sourced with the cache folder the run used): a
 * folder or a component added there is looked for here too.
 */
export interface ClusterLayout {
    /** Folders no mount may be left under (and no process may name on its command line). */
    folders: string[];
    /** Mount points starting with one of these are the cluster's too (its pods' network namespaces). */
    mountPrefixes: string[];
    /** Its components, by process name; containerd and the registries, whose names others share, by folder only. */
    processNames: string[];
    bridges: string[];
}

const NAMED_BY_FOLDER_ONLY = new Set(["containerd", "registry", "hub-registry"]);

export async function clusterLayout(cacheDir: string): Promise<ClusterLayout> {
    const script = 'source "$0/versions.env"; source "$0/lib/settings.sh"; source "$0/lib/addons.sh"; printf "%s\\n" "$CLUSTER_DIR" "$RUN_DIR" "$BUILDKIT_ROOT" "$VOLUME_ROOT" "$NODE_BRIDGE $POD_BRIDGE" "${COMPONENTS[*]}"';
    const lines = (await output("bash", ["-c", script, LOCAL_CLUSTER_DIR], { env: { TODO_CACHE_DIR: cacheDir }, timeoutSeconds: 30 })).trim().split("\n");
    const [clusterDir, runDir, buildkitRoot, volumeRoot, bridges, components] = lines;
    if (lines.length !== 6 || lines.some((line) => line.trim() === "") || !clusterDir || !runDir || !buildkitRoot || !volumeRoot || !bridges || !components) {
        throw new Error(`the cluster's settings did not name its folders, bridges and components: ${JSON.stringify(lines)}`);
    }
    return {
        folders: [clusterDir, runDir, buildkitRoot, volumeRoot],
        mountPrefixes: ["/run/netns/cni-"],
        // CoreDNS runs as a pod, its process on this host all the same.
        processNames: [...components.split(" ").filter((name) => !NAMED_BY_FOLDER_ONLY.has(name)), "coredns"],
        bridges: bridges.split(" "),
    };
}

/** A folder as the kernel names it in mountinfo (symlinks resolved), also when it no longer exists. */
function canonicalFolder(folder: string): string {
    const resolved = nodePath.resolve(folder);
    try {
        return realpathSync(resolved);
    } catch {
        const parent = nodePath.dirname(resolved);
        return parent === resolved ? resolved : nodePath.join(canonicalFolder(parent), nodePath.basename(resolved));
    }
}

const isUnder = (point: string, folder: string): boolean => point === folder || point.startsWith(folder.endsWith("/") ? folder : `${folder}/`);
/** mountinfo escapes space, tab, newline and backslash in paths as \ooo. */
const unescapeMountPath = (text: string): string => text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** The mounts of MOUNTINFO (/proc/self/mountinfo's text) under FOLDERS or starting with PREFIXES: "point (type source)". */
export function mountsUnder(mountinfo: string, folders: readonly string[], prefixes: readonly string[]): string[] {
    const found: string[] = [];
    for (const line of mountinfo.split("\n")) {
        const [before, after = ""] = line.split(" - ");
        const point = unescapeMountPath(before?.split(" ")[4] ?? "");
        if (!point) continue;
        if (!folders.some((folder) => isUnder(point, folder)) && !prefixes.some((prefix) => point.startsWith(prefix))) continue;
        const [type = "?", source = "?"] = after.split(" ");
        found.push(`${point} (${type} ${unescapeMountPath(source)})`);
    }
    return found;
}

/** Chain names of the cluster: kube-proxy's and the kubelet's KUBE-*, kube-router's (KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*), the CNI plugins' CNI-*, its own TODO-K8S-*. */
const CLUSTER_CHAIN = /^(KUBE-|CNI-|TODO-K8S)/;

/**
 * What an `iptables -S` listing still holds of the cluster: its chains, and any rule elsewhere
 * that names one of them, one of its ipsets or one of its bridges.
 */
export function clusterRules(listing: string, bridges: readonly string[]): string[] {
    const found: string[] = [];
    for (const line of listing.split("\n")) {
        const [verb, chain = ""] = line.split(" ");
        if (verb === "-N" && CLUSTER_CHAIN.test(chain)) {
            found.push(`chain ${chain}${/^KUBE-(ROUTER|NWPLCY|POD-FW)-/.test(chain) ? " (kube-router's)" : ""}`);
        } else if (verb === "-A" && !CLUSTER_CHAIN.test(chain) && (/\b(KUBE-|CNI-|TODO-K8S)/.test(line) || bridges.some((bridge) => line.split(" ").includes(bridge)))) {
            found.push(`rule ${line}`);
        }
    }
    return found;
}

/** The sets of `ipset list -n` that are kube-router's (KUBE-SRC-*, KUBE-DST-*; inet6: for IPv6) or any other KUBE-* / kube-router-* set. */
export function clusterIpsets(names: string): string[] {
    return names
        .split("\n")
        .map((name) => name.trim())
        .filter((name) => /^(inet6:)?(KUBE-|kube-router-)/i.test(name));
}

/** The processes whose program is one of NAMES or whose command line names one of FOLDERS, from /proc (this one left out). */
export function clusterProcesses(processes: readonly { pid: number; argv: string[] }[], names: readonly string[], folders: readonly string[]): string[] {
    return processes
        .filter(({ argv }) => {
            const program = nodePath.basename(argv[0] ?? "");
            return names.includes(program) || argv.some((arg) => folders.some((folder) => arg.includes(`${folder}/`) || arg.endsWith(folder)));
        })
        .map(({ pid, argv }) => `${pid} ${argv.join(" ").slice(0, 160)}`);
}

function runningProcesses(): { pid: number; argv: string[] }[] {
    const found: { pid: number; argv: string[] }[] = [];
    for (const entry of readdirSync("/proc")) {
        const pid = Number(entry);
        if (!Number.isInteger(pid) || pid === process.pid) continue;
        try {
            const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((arg) => arg !== "");
            if (argv.length > 0) found.push({ pid, argv });
        } catch {
            // Gone since the listing: nothing left of it.
        }
    }
    return found;
}

/**
 * Lists one iptables table: undefined when this tool is not installed, "" when the kernel has no
 * such table (nothing can be left in it). Any other failure throws: it never reads as "nothing left".
 */
async function listTable(tool: string, table: string): Promise<string | undefined> {
    const result = await run(tool, ["-w", "-t", table, "-S"], { timeoutSeconds: 60 });
    if (result.status === 0) return result.stdout;
    if (result.status === null && /ENOENT/.test(result.stderr)) return undefined;
    if (/Table does not exist/.test(result.stderr)) return "";
    throw new Error(`${result.command} exited with ${result.status ?? "a signal"}: ${result.stderr.trim()}`);
}

/**
 * What the offline cluster left after `down`: processes (its components, kube-router among them,
 * by name; anything naming its folders on its command line: containerd, its shims, the
 * registries), mounts anywhere under its folders (/proc/self/mountinfo) and its pods' network
 * namespaces, iptables chains and rules in every table of iptables and ip6tables (and of the
 * legacy tools when installed, in case a component took the other backend), kube-router's ipsets,
 * its bridges. Returns what is left, and what was looked at.
 */
export async function clusterLeftovers(cacheDir: string): Promise<{ left: string[]; looked: string[] }> {
    const layout = await clusterLayout(cacheDir);
    const folders = layout.folders.map(canonicalFolder);
    const left: string[] = [];
    const looked: string[] = [];
    const processes = runningProcesses();
    left.push(...clusterProcesses(processes, layout.processNames, folders).map((line) => `process ${line}`));
    looked.push(`${processes.length} processes for ${layout.processNames.join(", ")} or a command line naming ${folders.join(", ")}`);
    const mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
    left.push(...mountsUnder(mountinfo, folders, layout.mountPrefixes).map((line) => `mount ${line}`));
    looked.push(`${mountinfo.trim().split("\n").length} mounts for ${[...folders, ...layout.mountPrefixes.map((prefix) => `${prefix}*`)].join(", ")}`);
    const tables: string[] = [];
    for (const tool of ["iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy"]) {
        for (const table of ["filter", "nat", "mangle", "raw", "security"]) {
            const listing = await listTable(tool, table);
            if (listing === undefined) {
                if (!tool.endsWith("-legacy")) throw new Error(`${tool} is not installed: the cluster's rules cannot be looked for`);
                break;
            }
            tables.push(`${tool} ${table}${listing === "" ? " (no such table)" : ""}`);
            left.push(...clusterRules(listing, layout.bridges).map((line) => `${tool} ${table}: ${line}`));
        }
    }
    looked.push(`iptables chains and rules in ${tables.join(", ")}`);
    const sets = await output("ipset", ["list", "-n"], { timeoutSeconds: 60 });
    left.push(...clusterIpsets(sets).map((name) => `ipset ${name}`));
    looked.push(`${sets.trim() === "" ? 0 : sets.trim().split("\n").length} ipsets`);
    for (const link of layout.bridges) {
        const result = await run("ip", ["link", "show", link], { timeoutSeconds: 30 });
        if (result.status === 0) left.push(`link ${link}`);
        else if (!/does not exist/.test(result.stderr)) throw new Error(`${result.command} exited with ${result.status ?? "a signal"}: ${result.stderr.trim()}`);
    }
    looked.push(`links ${layout.bridges.join(", ")}`);
    return { left, looked };
}
