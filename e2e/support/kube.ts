// kubectl, read as JSON into the kubernetes-models types. A kubectl call that fails throws: a
// check never reads an error as "nothing there".
import { writeFileSync } from "node:fs";
import * as path from "node:path";

import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IPersistentVolume } from "kubernetes-models/v1/PersistentVolume";
import type { IPod } from "kubernetes-models/v1/Pod";

import { type Component, selectorLabels } from "../../components/contract";
import { eventually, output, run } from "../../local-cluster/shell";

export const kubectl = (args: readonly string[], input?: string): Promise<string> => output("kubectl", args, { input, timeoutSeconds: 120 });

export async function kubectlJson<Value>(args: readonly string[]): Promise<Value> {
    return JSON.parse(await kubectl([...args, "-o", "json"])) as Value;
}

/** The label selector of a component's pods, as the program sets it. */
export function selectorOf(component: Component): string {
    return Object.entries(selectorLabels(component))
        .map(([key, value]) => `${key}=${value}`)
        .join(",");
}

/** Whether the namespace exists; any answer but "found" or "not found" throws. */
export async function namespaceExists(namespace: string): Promise<boolean> {
    const result = await run("kubectl", ["get", "namespace", namespace, "-o", "name"], { timeoutSeconds: 60 });
    if (result.status === 0) return true;
    if (/NotFound/.test(result.stderr)) return false;
    throw new Error(`${result.command}: ${result.stderr.trim()}`);
}

export async function deployment(namespace: string, name: string): Promise<IDeployment> {
    return kubectlJson<IDeployment>(["-n", namespace, "get", "deployment", name]);
}

/** The image of a Deployment's first container. */
export async function deploymentImage(namespace: string, name: string): Promise<string> {
    const image = (await deployment(namespace, name)).spec?.template.spec?.containers[0]?.image;
    if (!image) throw new Error(`deployment ${name} in ${namespace} has no container image`);
    return image;
}

export async function pods(namespace: string, selector?: string): Promise<IPod[]> {
    const args = ["-n", namespace, "get", "pods", ...(selector ? ["-l", selector] : [])];
    return (await kubectlJson<{ items: IPod[] }>(args)).items;
}

/** The component's pods that are not shutting down. */
export async function activePods(namespace: string, component: Component): Promise<IPod[]> {
    return (await pods(namespace, selectorOf(component))).filter((pod) => !pod.metadata?.deletionTimestamp);
}

export const isReady = (pod: IPod): boolean => (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

/** Every active pod of the component is ready and runs IMAGE; there is at least one. */
export async function podsRunImage(namespace: string, component: Component, image: string, say: (line: string) => void): Promise<void> {
    const found = await activePods(namespace, component);
    const wrong: string[] = [];
    for (const pod of found) {
        const podImage = pod.spec?.containers[0]?.image;
        say(`${component} pod ${pod.metadata?.name}: ${podImage}${isReady(pod) ? "" : " (not ready)"}`);
        if (podImage !== image || !isReady(pod)) wrong.push(pod.metadata?.name ?? "?");
    }
    if (found.length === 0) throw new Error(`no ${component} pod found in ${namespace}`);
    if (wrong.length > 0) throw new Error(`${component} pods not ready on ${image}: ${wrong.join(", ")}`);
}

/**
 * Waits until every pod of the component runs IMAGE, the ones shutting down included: `kubectl
 * rollout status` returns while the replaced pods still finish their requests, and a client's
 * kept-alive connection can still reach one of them.
 */
export async function waitForOtherPodsGone(namespace: string, component: Component, image: string, seconds = 120): Promise<void> {
    await eventually(seconds, `every ${component} pod on ${image}`, async () => {
        const others = (await pods(namespace, selectorOf(component))).filter((pod) => pod.spec?.containers[0]?.image !== image);
        return others.length === 0 ? true : undefined;
    });
}

/** Ready replicas of a Deployment (0 when the status has none). */
export async function readyReplicas(namespace: string, name: string): Promise<number> {
    return (await deployment(namespace, name)).status?.readyReplicas ?? 0;
}

/** The replica count a Deployment asks for (the HPA sets it). */
export async function desiredReplicas(namespace: string, name: string): Promise<number> {
    const replicas = (await deployment(namespace, name)).spec?.replicas;
    if (replicas === undefined) throw new Error(`deployment ${name} has no spec.replicas yet`);
    return replicas;
}

/**
 * What keeps NAMESPACE's HorizontalPodAutoscalers from rest (each Deployment at its HPA's minimum,
 * every replica ready), or undefined at rest.
 */
export async function hpasNotAtRest(namespace: string): Promise<string | undefined> {
    const hpas = (await kubectlJson<{ items: { spec: { minReplicas?: number; scaleTargetRef: { name: string } } }[] }>(["-n", namespace, "get", "hpa"])).items;
    if (hpas.length === 0) throw new Error(`no HorizontalPodAutoscaler in ${namespace}`);
    const busy: string[] = [];
    for (const hpa of hpas) {
        const name = hpa.spec.scaleTargetRef.name;
        const { spec, status } = await deployment(namespace, name);
        const minimum = hpa.spec.minReplicas ?? 1;
        if (spec?.replicas !== minimum || status?.readyReplicas !== minimum || status.replicas !== minimum) {
            busy.push(`${name}: ${status?.readyReplicas ?? 0} ready of ${status?.replicas ?? 0}, asks ${spec?.replicas}, minimum ${minimum}`);
        }
    }
    return busy.length > 0 ? busy.join("; ") : undefined;
}

/**
 * What keeps NAMESPACE's Deployments from being settled (each one's replicas, as many as it asks
 * for now, all updated, ready and available, its latest generation observed), or undefined.
 */
export async function deploymentsNotSettled(namespace: string): Promise<string | undefined> {
    const found = (await kubectlJson<{ items: IDeployment[] }>(["-n", namespace, "get", "deployments"])).items;
    if (found.length === 0) throw new Error(`no Deployment in ${namespace}`);
    const busy: string[] = [];
    for (const { metadata, spec, status } of found) {
        const wanted = spec?.replicas;
        const settled =
            wanted !== undefined &&
            [status?.replicas, status?.updatedReplicas, status?.readyReplicas, status?.availableReplicas].every((count) => (count ?? 0) === wanted) &&
            (status?.observedGeneration ?? 0) >= (metadata?.generation ?? 0);
        if (!settled) busy.push(`${metadata?.name}: asks ${wanted}, ${status?.readyReplicas ?? 0} ready, ${status?.updatedReplicas ?? 0} updated of ${status?.replicas ?? 0}`);
    }
    return busy.length > 0 ? busy.join("; ") : undefined;
}

export async function waitForRollout(namespace: string, name: string, seconds = 180): Promise<void> {
    await output("kubectl", ["-n", namespace, "rollout", "status", `deployment/${name}`, `--timeout=${seconds}s`], {
        timeoutSeconds: seconds + 30,
    });
}

/** The PersistentVolumes whose claim was in NAMESPACE, in any phase. */
export async function volumesOf(namespace: string): Promise<IPersistentVolume[]> {
    const volumes = (await kubectlJson<{ items: IPersistentVolume[] }>(["get", "pv"])).items;
    return volumes.filter((volume) => volume.spec?.claimRef?.namespace === namespace);
}

/** Writes what the namespaces hold (objects, events, descriptions, logs) into FOLDER. */
export async function collectDiagnostics(folder: string, namespaces: readonly string[]): Promise<void> {
    const save = async (file: string, args: string[]): Promise<void> => {
        const result = await run("kubectl", args, { timeoutSeconds: 60 });
        writeFileSync(path.join(folder, file), `$ ${result.command}\n${result.stdout}${result.stderr}`);
    };
    await save("nodes.txt", ["get", "nodes,pv,storageclass", "-o", "wide"]);
    for (const namespace of namespaces) {
        const args = ["-n", namespace];
        await save(`${namespace}-objects.txt`, [...args, "get", "all,jobs,pvc,hpa,ingress,networkpolicy,secrets,configmaps", "-o", "wide"]);
        await save(`${namespace}-events.txt`, [...args, "get", "events", "--sort-by=.lastTimestamp"]);
        await save(`${namespace}-pods.txt`, [...args, "describe", "pods"]);
        const result = await run("kubectl", [...args, "get", "pods", "-o", "json"], { timeoutSeconds: 60 });
        if (result.status !== 0) continue;
        for (const pod of (JSON.parse(result.stdout) as { items: IPod[] }).items) {
            const name = pod.metadata?.name ?? "?";
            const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
            for (const container of containers) {
                await save(`${namespace}-${name}-${container}.log`, [...args, "logs", name, "-c", container, "--tail=300"]);
                const restarted = pod.status?.containerStatuses?.some((s) => s.name === container && s.restartCount > 0);
                if (restarted) await save(`${namespace}-${name}-${container}.previous.log`, [...args, "logs", name, "-c", container, "--previous", "--tail=300"]);
            }
        }
    }
}
