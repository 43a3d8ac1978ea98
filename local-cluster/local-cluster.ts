// The project's own single-node cluster (local-cluster/cluster) made ready for a stack: the offline
// toolchain on PATH, the cluster up, the stand-in base images in its registry and the database
// image on its node. The end-to-end suite (e2e/run.ts) and `npm run up:dev` without Minikube
// (launcher/main-job.ts) both start from here.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";

import { output, run } from "./shell";

export const LOCAL_CLUSTER_DIR = __dirname;
export const CLUSTER = path.join(LOCAL_CLUSTER_DIR, "cluster");
const DOCKER = process.env.DOCKER ?? "/usr/bin/docker";
// The stand-ins of local-cluster/base-images.sh and the stack settings that take them.
const STAND_IN_BASES = [
    ["todo-base/python:3.12", "todo:pythonImage"],
    ["todo-base/node:24", "todo:nodeImage"],
] as const;
const STAND_IN_POSTGRES = "todo-base/postgres:15";
/** The pid holding the cluster's lock, passed on to the commands it runs. */
export const LOCK_OWNER_VARIABLE = "TODO_LOCAL_CLUSTER_LOCK_OWNER";

const lastLine = (text: string): string => text.trim().split("\n").pop() ?? "";

/** `local-cluster/cluster ARGS`: its last line of output. */
export async function cluster(...args: string[]): Promise<string> {
    return lastLine(await output(CLUSTER, args, { timeoutSeconds: 900, showProgress: args[0] === "up" }));
}

export async function clusterRuns(): Promise<boolean> {
    return (await run(CLUSTER, ["status"])).status === 0;
}

/** What `local-cluster/toolchain` would build, and how long that took when last measured cold here; undefined when it is all cached. */
export async function toolchainPlan(): Promise<string | undefined> {
    const plan = await output(path.join(LOCAL_CLUSTER_DIR, "toolchain"), ["--plan"]);
    return plan.includes("components to build") ? plan.trim() : undefined;
}

/**
 * Builds what the toolchain lacks (progress on stderr), puts its bin directory first on PATH and
 * returns it. Components: the toolchain's names (default: what the cluster and the main job run).
 */
export async function useToolchain(options: { showProgress?: boolean; components?: readonly string[] } = {}): Promise<string> {
    const toolchain = await run(path.join(LOCAL_CLUSTER_DIR, "toolchain"), [...(options.components ?? [])], { timeoutSeconds: 7200, showProgress: options.showProgress });
    if (toolchain.status !== 0) throw new Error(`local-cluster/toolchain failed:\n${toolchain.stderr.slice(-3000)}`);
    const bin = lastLine(toolchain.stdout);
    process.env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ""}`;
    // Plugins come from the toolchain only: nothing is downloaded from get.pulumi.com.
    process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
    return bin;
}

export interface LocalCluster {
    /** Whether this call started it (it was down). */
    startedCluster: boolean;
    kubeconfig: string;
    /** A Docker client config naming the cluster's BuildKit daemon as builder. */
    dockerConfig: string;
    registry: string;
}

/** `local-cluster/cluster up`; KUBECONFIG and DOCKER_CONFIG of this process then point at it. */
export async function startLocalCluster(): Promise<LocalCluster> {
    const startedCluster = !(await clusterRuns());
    await cluster("up");
    const local = { startedCluster, kubeconfig: await cluster("kubeconfig"), dockerConfig: await cluster("docker-config"), registry: await cluster("registry") };
    process.env.KUBECONFIG = local.kubeconfig;
    process.env.DOCKER_CONFIG = local.dockerConfig;
    return local;
}

/**
 * The stand-in bases, in the cluster's registry (BuildKit reads FROM images from a registry), and
 * the stand-in database on its node; returns the stack settings that take the bases, and the
 * database image's name. Package
 * downloads in RUN steps pass through this machine's TLS-inspecting proxy: the pushed bases trust
 * this machine's CA bundle, the way an organisation's own bases carry its CA.
 */
export async function provideStandInImages(registry: string, workDir: string): Promise<{ bases: Record<string, string>; postgresImage: string }> {
    await output(path.join(LOCAL_CLUSTER_DIR, "base-images.sh"), [], { timeoutSeconds: 3600, showProgress: true });
    const context = path.join(workDir, "base-context");
    const bases: Record<string, string> = {};
    for (const [base, key] of STAND_IN_BASES) {
        rmSync(context, { recursive: true, force: true });
        mkdirSync(context, { recursive: true });
        cpSync("/etc/ssl/certs/ca-certificates.crt", path.join(context, "ca-certificates.crt"));
        writeFileSync(
            path.join(context, "Dockerfile"),
            [
                `FROM ${base}`,
                "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
                "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt npm_config_cafile=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
                "",
            ].join("\n"),
        );
        await output(DOCKER, ["build", "-q", "-t", `${registry}/${base}`, context], { env: { DOCKER_BUILDKIT: "0" } });
        await output(DOCKER, ["push", "-q", `${registry}/${base}`]);
        bases[key] = `${registry}/${base}`;
    }
    rmSync(context, { recursive: true, force: true });
    // The database image is run, not built on: it goes into the node directly.
    await output(CLUSTER, ["load-image", STAND_IN_POSTGRES], { timeoutSeconds: 600 });
    return { bases, postgresImage: STAND_IN_POSTGRES };
}

/**
 * One user of the cluster at a time (an end-to-end run, `up:dev`, `down:dev`): another would
 * stop the cluster under it or build into it concurrently. REFUSE is called with the one line
 * that names the holder; a lock left by a dead process is taken over. Returns the release.
 */
export function lockLocalCluster(holder: string, refuse: (line: string) => never): () => void {
    const cacheDir = process.env.TODO_CACHE_DIR ?? path.join(homedir(), ".cache", "todo-k8s");
    const lock = path.join(cacheDir, "local-cluster.lock");
    mkdirSync(cacheDir, { recursive: true });
    for (;;) {
        try {
            writeFileSync(lock, `${process.pid} ${holder}`, { flag: "wx" });
            process.env[LOCK_OWNER_VARIABLE] = String(process.pid);
            return () => {
                rmSync(lock, { force: true });
            };
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        const [pidText = "", ...what] = readFileSync(lock, "utf8").trim().split(" ");
        const pid = Number(pidText);
        // A command the holder runs (the end-to-end suite's main path runs up:dev) shares its lock.
        if (pidText !== "" && pidText === process.env[LOCK_OWNER_VARIABLE]) return () => undefined;
        if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) {
            refuse(`${what.join(" ") || "another process"} (pid ${pid}) is using the project's own cluster: wait for it, or stop it (kill ${pid}); the lock is ${lock}`);
        }
        rmSync(lock, { force: true });
    }
}

function isRunning(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}
