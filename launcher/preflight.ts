// What `npm run up:dev` checks before any `pulumi` command: each problem is one line naming what
// is missing and the command that fixes it, so a fresh machine fails in words, not in a stack
// trace from deep inside a provider. Every probe goes through `Probe`, which the tests replace.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";

import * as semver from "semver";

import { COMMAND_TIMEOUT_MS, type CommandResult, firstLine } from "../components/commands";

/** Runs one command with the environment given (PATH, KUBECONFIG, DOCKER_HOST...). */
export type Runner = (command: string, args: string[], env: NodeJS.ProcessEnv) => Promise<CommandResult>;

export interface Probe {
    run: Runner;
    env: NodeJS.ProcessEnv;
    nodeVersion: string;
    /** The project's own cluster (local-cluster/cluster) runs on Linux, as root. */
    canRunLocalCluster: boolean;
    /** The offline toolchain's Pulumi CLI when local-cluster/toolchain has built it, else undefined. */
    toolchainPulumi: string | undefined;
}

/**
 * Where dev goes: Minikube (its Docker builds the images), a context (local, or named on
 * purpose), or, with neither, the project's own cluster, started for it.
 */
export type DevTarget =
    | { kind: "minikube"; context: string; dockerEnv: Record<string, string> }
    | { kind: "context"; context: string }
    | { kind: "local-cluster"; reason: string };

export interface Preflight {
    /** Lines that stop the job: nothing has been started. */
    errors: string[];
    /** Lines worth reading that do not stop it. */
    notes: string[];
    /** The `pulumi` to run: the one on PATH, or the toolchain's. */
    pulumi: string | undefined;
    target: DevTarget | undefined;
}

// Kubernetes contexts that name a cluster on this machine, where dev may go without asking.
const LOCAL_CONTEXTS = /^(minikube|kind-.*|docker-desktop|rancher-desktop|k3d-.*)$/;
/** The context of the project's own cluster's kubeconfig (local-cluster/config/kubeconfig.yaml). */
const OWN_CLUSTER_CONTEXT = "todo-k8s";
const START_MINIKUBE = "start Minikube: minikube start --cpus=4 --memory=4096 && minikube addons enable metrics-server";

/** The oldest Node.js the program runs on, from package.json's "engines". */
export function minimumNodeVersion(): string {
    const manifest = JSON.parse(readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as { engines?: { node?: string } };
    const minimum = semver.minVersion(manifest.engines?.node ?? "");
    if (!minimum) throw new Error('package.json has no "engines": {"node": ...} range');
    return minimum.version;
}

/** The Pulumi CLI every test runs with (local-cluster/versions.env): older ones are refused. */
export function minimumPulumiVersion(): string {
    const versions = readFileSync(path.join(__dirname, "..", "local-cluster", "versions.env"), "utf8");
    const version = /^PULUMI_VERSION=v?(\S+)$/m.exec(versions)?.[1];
    if (!version) throw new Error("local-cluster/versions.env has no PULUMI_VERSION");
    return version;
}

/** The real probe: commands run with a timeout, through PATH. */
export function systemProbe(toolchainPulumi: string | undefined): Probe {
    const run: Runner = (command, args, env) =>
        new Promise((resolve) => {
            execFile(command, args, { env, timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" }, (error, stdout, stderr) => {
                const code = (error as NodeJS.ErrnoException | null)?.code;
                resolve({ status: error ? (typeof code === "number" ? code : 1) : 0, stdout, stderr, missing: code === "ENOENT" });
            });
        });
    return { run, env: process.env, nodeVersion: process.versions.node, canRunLocalCluster: process.platform === "linux" && process.getuid?.() === 0, toolchainPulumi };
}


async function checkPulumi(probe: Probe, minimum: string, toolchainWillBuild: boolean, found: Preflight): Promise<void> {
    const onPath = await probe.run("pulumi", ["version"], probe.env);
    if (onPath.missing) {
        if (probe.toolchainPulumi) {
            found.pulumi = probe.toolchainPulumi;
            found.notes.push(`no pulumi on PATH: using the offline toolchain's (${found.pulumi})`);
        } else if (toolchainWillBuild) {
            found.notes.push("no pulumi on PATH: the offline toolchain builds one (local-cluster/toolchain)");
        } else {
            found.errors.push("no pulumi on PATH: install the Pulumi CLI (curl -fsSL https://get.pulumi.com | sh)");
        }
        return;
    }
    const version = semver.coerce(onPath.stdout)?.version;
    if (onPath.status !== 0 || !version) {
        found.errors.push(`pulumi on PATH does not answer \`pulumi version\`: ${firstLine(onPath)}`);
    } else if (semver.lt(version, minimum)) {
        found.errors.push(`pulumi ${version} on PATH is older than the ${minimum} this program needs: upgrade it (curl -fsSL https://get.pulumi.com | sh)`);
    } else {
        found.pulumi = "pulumi";
    }
}

/** `export NAME="value"` lines of `minikube docker-env --shell bash`. */
export function parseDockerEnv(text: string): Record<string, string> {
    const variables: Record<string, string> = {};
    for (const match of text.matchAll(/^export (\w+)="([^"]*)"$/gm)) {
        const [, name, value] = match;
        if (name !== undefined && value !== undefined) variables[name] = value;
    }
    return variables;
}

async function chooseTarget(probe: Probe, explicitContext: string | undefined, found: Preflight): Promise<DevTarget | undefined> {
    const kubectl = (args: string[]) => probe.run("kubectl", args, probe.env);
    if (explicitContext) return { kind: "context", context: explicitContext };

    const minikube = await probe.run("minikube", ["status", "--format", "{{.Host}}"], probe.env);
    if (!minikube.missing && minikube.stdout.trim() === "Running") {
        const dockerEnv = await probe.run("minikube", ["docker-env", "--shell", "bash"], probe.env);
        if (dockerEnv.status !== 0) {
            found.errors.push(`minikube runs but gives no Docker environment: ${firstLine(dockerEnv)} (try: minikube stop && minikube start)`);
            return undefined;
        }
        return { kind: "minikube", context: "minikube", dockerEnv: parseDockerEnv(dockerEnv.stdout) };
    }

    const noMinikube = minikube.missing ? "no minikube on PATH" : "Minikube is not running";
    const current = await kubectl(["config", "current-context"]);
    if (current.missing || current.status !== 0 || current.stdout.trim() === "") {
        return { kind: "local-cluster", reason: `${noMinikube} and ${current.missing ? "no kubectl on PATH" : "there is no current kube context"}` };
    }
    const context = current.stdout.trim();
    const answers = await kubectl(["--context", context, "--request-timeout=5s", "get", "--raw", "/readyz"]);
    if (answers.status !== 0) {
        return { kind: "local-cluster", reason: `${noMinikube} and kube context ${context} does not answer (${firstLine(answers)})` };
    }
    // KUBECONFIG set to the project's own cluster's (the load plan's image-change deploys so): it
    // is deployed its own way, with the cluster's BuildKit and the images copied onto its node.
    if (context === OWN_CLUSTER_CONTEXT) {
        return { kind: "local-cluster", reason: `${noMinikube} and the current kube context is the project's own cluster` };
    }
    if (!LOCAL_CONTEXTS.test(context)) {
        found.errors.push(
            `kube context ${context} is not a local cluster: dev goes to Minikube or the project's own cluster; to deploy dev there anyway: npm run up:dev -- --context ${context}`,
        );
        return undefined;
    }
    return { kind: "context", context };
}

/** Checks the machine for the dev stack's `pulumi up`. */
export async function preflightDev(probe: Probe, options: { context?: string } = {}): Promise<Preflight> {
    const found: Preflight = { errors: [], notes: [], pulumi: undefined, target: undefined };
    const node = minimumNodeVersion();
    if (semver.lt(semver.coerce(probe.nodeVersion)?.version ?? "0.0.0", node)) {
        found.errors.push(`Node.js ${probe.nodeVersion} is older than the ${node} the program needs: install Node.js ${semver.major(node)} or newer (https://nodejs.org)`);
    }
    const target = await chooseTarget(probe, options.context, found);
    await checkPulumi(probe, minimumPulumiVersion(), target?.kind === "local-cluster" && probe.canRunLocalCluster, found);
    if (target?.kind === "local-cluster" && !probe.canRunLocalCluster) {
        found.errors.push(`${target.reason}; the project's own cluster needs Linux and root: ${START_MINIKUBE}`);
        return found;
    }
    found.target = target;
    if (!target) return found;

    const dockerEnv = { ...probe.env, ...(target.kind === "minikube" ? target.dockerEnv : {}) };
    const docker = await probe.run("docker", ["version", "--format", "{{.Server.Version}}"], dockerEnv);
    if (docker.missing) {
        found.errors.push("no docker on PATH: the images are built with it (apt-get install docker.io)");
    } else if (docker.status !== 0) {
        const fix = target.kind === "minikube" ? "minikube's Docker: minikube start" : "start the Docker daemon: systemctl start docker (or dockerd &)";
        found.errors.push(`no Docker daemon answers (${firstLine(docker)}): ${fix}`);
    }
    // The project's own cluster is checked by its own start (local-cluster/cluster up).
    if (target.kind !== "local-cluster") await checkCluster(probe, target.context, found);
    return found;
}

/** The kube context answers, and has what dev needs: a default StorageClass, and metrics-server for the HPAs. */
export async function checkCluster(probe: Probe, context: string, found: Preflight): Promise<void> {
    const kubectl = (args: string[]) => probe.run("kubectl", ["--context", context, "--request-timeout=10s", ...args], probe.env);
    const ready = await kubectl(["get", "--raw", "/readyz"]);
    if (ready.missing) {
        found.errors.push("no kubectl on PATH: install it (apt-get install kubectl, or: minikube kubectl)");
        return;
    }
    if (ready.status !== 0) {
        found.errors.push(`kube context ${context} does not answer: ${firstLine(ready)}`);
        return;
    }
    const classes = await kubectl(["get", "storageclass", "-o", "jsonpath={.items[*].metadata.annotations.storageclass\\.kubernetes\\.io/is-default-class}"]);
    if (classes.status !== 0 || !classes.stdout.split(/\s+/).includes("true")) {
        found.errors.push(`kube context ${context} has no default StorageClass: dev's Postgres needs one (minikube addons enable default-storageclass storage-provisioner)`);
    }
    const metrics = await kubectl(["get", "apiservice", "v1beta1.metrics.k8s.io", "-o", 'jsonpath={.status.conditions[?(@.type=="Available")].status}']);
    if (metrics.status !== 0 || metrics.stdout.trim() !== "True") {
        found.notes.push(`warning: kube context ${context} has no metrics-server: the HPAs stay at their minimum (minikube addons enable metrics-server)`);
    }
}
