// The clusters a run can target: the project's own offline cluster (local-cluster/cluster), or a kube
// context the user names (e.g. Minikube). The end-to-end suite and the dev-loop benchmark share them.
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

import { CLUSTER, cluster, provideStandInImages, startLocalCluster, useToolchain } from "../../local-cluster/local-cluster";
import type { Target } from "./run";
import { output, run } from "../../local-cluster/shell";

/** How a setup reports a usage error (it exits). */
export type Refuse = (message: string) => never;

/** The offline cluster: stand-in base images in its registry on 127.0.0.1, its own password-protected registry for prod, images copied into the node, NodePorts on 127.0.0.1. */
export async function setupOfflineCluster(workDir: string, refuse: Refuse): Promise<{ target: Target; startedCluster: boolean }> {
    if (process.getuid?.() !== 0) refuse("run as root (the cluster and the base images need it), or name a kube context with --context");
    await useToolchain();
    const { startedCluster, registry } = await startLocalCluster();
    const ingressAddress = (await cluster("ingress")).split(" ")[1] ?? "";
    const { bases, postgresImage } = await provideStandInImages(registry, workDir);
    console.log(`stand-in bases: ${Object.values(bases).join(" ")}`);
    return {
        startedCluster,
        target: {
            kind: "offline",
            stackSettings: bases,
            postgresImage,
            nodeAddress: "127.0.0.1",
            prodRepository: `${await cluster("hub")}/todo`,
            prodCredentialsFile: await cluster("hub-credentials"),
            // The controller manager here stabilises scale-downs over 30 s.
            hpaDownSeconds: 240,
            ingress: { className: "traefik", address: ingressAddress },
            loadImagesCommand: [CLUSTER, "load-image"],
        },
    };
}

/** A kube context the user names (e.g. Minikube): the CLIs on PATH (else the toolchain's), the program's own base images, and what the E2E_* variables say. */
export async function setupGivenContext(contextName: string, workDir: string, refuse: Refuse): Promise<Target> {
    const missing: string[] = [];
    for (const tool of ["pulumi", "kubectl", "helm"]) if ((await run("sh", ["-c", `command -v ${tool}`])).status !== 0) missing.push(tool);
    if (missing.length > 0) {
        console.log(`not on PATH: ${missing.join(" ")}; using the offline toolchain's`);
        await useToolchain();
    }
    // The suite's own kubeconfig: just that context, so the user's current context stays as it is.
    const minified = await run("kubectl", ["config", "view", "--minify", "--flatten", "--context", contextName]);
    if (minified.status !== 0) refuse(`no kube context '${contextName}' in ${process.env.KUBECONFIG ?? "~/.kube/config"}; see kubectl config get-contexts`);
    const kubeconfig = path.join(workDir, "kubeconfig");
    writeFileSync(kubeconfig, minified.stdout, { mode: 0o600 });
    process.env.KUBECONFIG = kubeconfig;
    if ((await run("kubectl", ["get", "nodes"])).status !== 0) refuse(`the cluster of kube context '${contextName}' does not answer`);
    const nodeAddress =
        process.env.E2E_NODE_ADDRESS ||
        (await output("kubectl", ["get", "nodes", "-o", 'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}'])).trim();
    const stackSettings = Object.fromEntries(
        (process.env.E2E_STACK_CONFIG ?? "")
            .split(/\s+/)
            .filter(Boolean)
            .map((setting) => [setting.slice(0, setting.indexOf("=")), setting.slice(setting.indexOf("=") + 1)]),
    );
    const ingressAddress = process.env.E2E_INGRESS_ADDRESS;
    if (!ingressAddress) console.log("the prod path's Ingress is not exercised: set E2E_INGRESS_ADDRESS (and E2E_INGRESS_CLASS)");
    const loadImagesCommand = (process.env.E2E_LOAD_IMAGES ?? "").split(/\s+/).filter(Boolean);
    if (loadImagesCommand.length === 0) {
        // No load step: the images must be built where the node runs them.
        const minikube = !process.env.DOCKER_HOST && (await run("minikube", ["-p", contextName, "status"])).status === 0;
        if (minikube) {
            // What `npm run up:dev` does: build straight into the Minikube node's Docker.
            console.log(`building into the Docker of Minikube profile ${contextName}`);
            const exports = await output("minikube", ["-p", contextName, "docker-env", "--shell", "bash"]);
            for (const [, name = "", value] of exports.matchAll(/^export (\w+)="(.*)"$/gm)) process.env[name] = value;
        } else {
            console.log(`dev and chart images stay in the Docker at ${process.env.DOCKER_HOST ?? "the default socket"}: set E2E_LOAD_IMAGES if the nodes do not run on it`);
        }
    }
    return {
        kind: "context",
        contextName,
        stackSettings,
        postgresImage: process.env.E2E_POSTGRES_IMAGE || "postgres:16-alpine",
        nodeAddress,
        prodRepository: process.env.E2E_REGISTRY || undefined,
        prodCredentialsFile: process.env.E2E_REGISTRY_CREDENTIALS || undefined,
        // Kubernetes' default scale-down stabilisation window is 300 s.
        hpaDownSeconds: Number(process.env.E2E_HPA_DOWN_SECONDS || 420),
        ingress: ingressAddress ? { className: process.env.E2E_INGRESS_CLASS || "nginx", address: ingressAddress } : undefined,
        loadImagesCommand,
    };
}

/** A local Pulumi backend and home in WORKDIR, with a throwaway passphrase: nothing of the user's is read or changed. */
export function useThrowawayBackend(workDir: string): void {
    Object.assign(process.env, {
        PULUMI_HOME: path.join(workDir, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(workDir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "e2e-suite-throwaway-passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
    });
    mkdirSync(path.join(workDir, "state"));
}

/** The target a run names (a kube context), else the offline cluster; `startedCluster`: this call started it. */
export async function setupTarget(context: string | undefined, workDir: string, refuse: Refuse): Promise<{ target: Target; startedCluster: boolean }> {
    if (context) return { target: await setupGivenContext(context, workDir, refuse), startedCluster: false };
    return setupOfflineCluster(workDir, refuse);
}
