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
    /** Where the toolchain, the cluster and the images are kept (TODO_CACHE_DIR): its disk is measured. */
    cacheDir: string;
}

/** One thing the project's own cluster needs on the machine (local-cluster/host-requirements.tsv). */
export interface HostRequirement {
    kind: "command" | "file";
    /** The command's name, or the file's path. */
    name: string;
    /** The Debian package that provides it. */
    package: string;
    purpose: string;
}

const LOCAL_CLUSTER_DIR = path.join(__dirname, "..", "local-cluster");
const GIB = 1024 ** 3;
/**
 * Free disk the first run needs where the cache lives: a cold toolchain's Go module and build
 * caches took 19 GiB, cosign's and syft's about 6 more; the cluster's data, BuildKit's cache,
 * the base images and the app's images about 5 GiB, with room to grow.
 */
export const DISK_NEEDED = { coldToolchain: 35 * GIB, warmToolchain: 8 * GIB } as const;
/** Memory the first run needs available: the cluster with the app held 1.3 GiB, a Go link of Kubernetes about 2 GiB. */
export const MEMORY_NEEDED = 4 * GIB;

/** The requirements file: tab-separated kind, name, package, purpose; `#` starts a comment. */
export function hostRequirements(): HostRequirement[] {
    const lines = readFileSync(path.join(LOCAL_CLUSTER_DIR, "host-requirements.tsv"), "utf8").split("\n");
    return lines
        .filter((line) => line.trim() !== "" && !line.startsWith("#"))
        .map((line) => {
            const [kind, name, debianPackage, purpose, ...rest] = line.split("\t");
            if ((kind !== "command" && kind !== "file") || !name || !debianPackage || !purpose || rest.length > 0) {
                throw new Error(`local-cluster/host-requirements.tsv: ${JSON.stringify(line)} is not kind<TAB>name<TAB>package<TAB>purpose`);
            }
            return { kind, name, package: debianPackage, purpose };
        });
}

/** The Go version every toolchain component builds with (GO_MINIMUM_VERSION in local-cluster/versions.env). */
export function minimumGoVersion(): string {
    const version = /^GO_MINIMUM_VERSION=(\S+)$/m.exec(readFileSync(path.join(LOCAL_CLUSTER_DIR, "versions.env"), "utf8"))?.[1];
    if (!version) throw new Error("local-cluster/versions.env has no GO_MINIMUM_VERSION");
    return version;
}

const gib = (bytes: number): string => `${(bytes / GIB).toFixed(1)} GiB`;

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
export function systemProbe(toolchainPulumi: string | undefined, cacheDir: string): Probe {
    const run: Runner = (command, args, env) =>
        new Promise((resolve) => {
            execFile(command, args, { env, timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" }, (error, stdout, stderr) => {
                const code = (error as NodeJS.ErrnoException | null)?.code;
                resolve({ status: error ? (typeof code === "number" ? code : 1) : 0, stdout, stderr, missing: code === "ENOENT" });
            });
        });
    return { run, env: process.env, nodeVersion: process.versions.node, canRunLocalCluster: process.platform === "linux" && process.getuid?.() === 0, toolchainPulumi, cacheDir };
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
        // The project's own cluster lists docker among its requirements, checked below.
        if (target.kind !== "local-cluster") found.errors.push("no docker on PATH: the images are built with it (apt-get install docker.io)");
    } else if (docker.status !== 0) {
        found.errors.push(`no Docker daemon answers (${firstLine(docker)}): ${target.kind === "minikube" ? "minikube's Docker: minikube start" : await startDockerHint(probe)}`);
    }
    if (target.kind === "local-cluster") {
        await checkLocalClusterHost(probe, found);
    } else {
        await checkCluster(probe, target.context, found);
    }
    return found;
}

/** How to start dockerd on this machine: through systemd where it runs, else by hand. */
async function startDockerHint(probe: Probe): Promise<string> {
    const systemd = await probe.run("sh", ["-c", "test -d /run/systemd/system"], probe.env);
    return systemd.status === 0 ? "start the Docker daemon: systemctl start docker" : "start the Docker daemon (no systemd here): dockerd > /var/log/dockerd.log 2>&1 &";
}

/**
 * What the project's own cluster needs before anything is built: each command and file of
 * local-cluster/host-requirements.tsv, Go when the toolchain has components to build, free disk
 * where the cache lives and available memory. Every problem at once, each with its fix.
 */
export async function checkLocalClusterHost(probe: Probe, found: Preflight): Promise<void> {
    const lacking: HostRequirement[] = [];
    for (const requirement of hostRequirements()) {
        const check = requirement.kind === "command" ? `command -v ${requirement.name} >/dev/null` : `test -e ${requirement.name}`;
        if ((await probe.run("sh", ["-c", check], probe.env)).status !== 0) lacking.push(requirement);
    }
    for (const requirement of lacking) {
        found.errors.push(`missing ${requirement.kind === "file" ? `file ${requirement.name}` : requirement.name}, needed for ${requirement.purpose}: apt-get install -y ${requirement.package}`);
    }
    if (lacking.length > 1) {
        found.notes.push(`all the missing packages at once: apt-get install -y ${[...new Set(lacking.map((requirement) => requirement.package))].join(" ")}`);
    }
    const plan = await probe.run("bash", [path.join(LOCAL_CLUSTER_DIR, "toolchain"), "--plan"], probe.env);
    const toolchainBuilds = plan.status !== 0 || /components to build/.test(plan.stdout);
    if (toolchainBuilds) {
        const minimum = minimumGoVersion();
        const go = await probe.run("go", ["version"], probe.env);
        const version = /go(\d+\.\d+(\.\d+)?)/.exec(go.stdout)?.[1];
        const fix = `install Go ${minimum} or newer (https://go.dev/dl; Debian's golang package is older), or with any Go 1.21+: export GOTOOLCHAIN=go${minimum}`;
        if (go.missing || go.status !== 0 || !version) {
            found.errors.push(`no go on PATH: the toolchain builds the cluster from Go sources: ${fix}`);
        } else if (semver.lt(semver.coerce(version)?.version ?? "0.0.0", minimum)) {
            found.errors.push(`go ${version} is older than the ${minimum} the toolchain's components need: ${fix}`);
        }
    }
    const needed = toolchainBuilds ? DISK_NEEDED.coldToolchain : DISK_NEEDED.warmToolchain;
    // The cache folder may not exist yet: its nearest existing parent's filesystem is the one.
    const df = await probe.run("sh", ["-c", 'dir=$1; while [ ! -e "$dir" ]; do dir=$(dirname "$dir"); done; df -Pk "$dir"', "sh", probe.cacheDir], probe.env);
    const freeKib = Number(df.stdout.trim().split("\n").pop()?.split(/\s+/)[3]);
    if (df.status === 0 && Number.isFinite(freeKib) && freeKib * 1024 < needed) {
        found.errors.push(
            `${gib(freeKib * 1024)} free where ${probe.cacheDir} lives; the first run needs ${gib(needed)}${toolchainBuilds ? " (the toolchain's Go caches among them)" : ""}: free some space, or set TODO_CACHE_DIR to a larger disk`,
        );
    }
    const meminfo = await probe.run("cat", ["/proc/meminfo"], probe.env);
    const availableKib = Number(/^MemAvailable:\s+(\d+) kB$/m.exec(meminfo.stdout)?.[1]);
    if (meminfo.status === 0 && Number.isFinite(availableKib) && availableKib * 1024 < MEMORY_NEEDED) {
        found.errors.push(`${gib(availableKib * 1024)} of memory available; the cluster and the toolchain's builds need ${gib(MEMORY_NEEDED)}: stop other work, or use a larger machine`);
    }
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
