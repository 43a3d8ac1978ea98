// `npm run up:dev` and `npm run down:dev`: the preflight (launcher/preflight.ts), then the Pulumi
// CLI on the dev stack, with Docker pointed at the cluster's daemon and the kube context chosen
// by the preflight (the user's kubeconfig is left as it is).
//
//   npm run up:dev                          # Minikube, or the current context if it is local
//   npm run up:dev -- --context NAME        # that context, named on purpose
//   npm run up:dev -- --yes                 # any other argument goes to `pulumi up` / `destroy`
//   npm run up:dev -- --config todo:KEY=VALUE   # a setting, also on the project's own cluster
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import * as path from "node:path";

import * as yaml from "js-yaml";

import { CLUSTER, lockLocalCluster, provideStandInImages, startLocalCluster, toolchainPlan, useToolchain } from "../local-cluster/local-cluster";
import { output } from "../local-cluster/shell";
import { type MainJobArgs, parseMainJobArgs, USAGE, UsageError } from "./args";
import { type DevTarget, preflightDev, systemProbe } from "./preflight";

const STACK = "dev";
const PROJECT = "todo";
const ROOT_DIR = path.resolve(__dirname, "..");
const CACHE_DIR = process.env.TODO_CACHE_DIR ?? path.join(homedir(), ".cache", "todo-k8s");
// While it exists, the dev stack lives on the project's own cluster: its config file is here.
const LOCAL_CLUSTER_DIR = path.join(CACHE_DIR, "local-cluster-dev");

function usage(message: string): never {
    process.stderr.write(`${message}\n${USAGE}\n`);
    process.exit(2);
}

/** Runs a command with the terminal attached; resolves with its exit status. */
function attached(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
    return new Promise((resolve) => {
        const child = spawn(command, args, { env, stdio: "inherit" });
        child.on("error", (error) => {
            process.stderr.write(`${command}: ${error.message}\n`);
            resolve(127);
        });
        child.on("exit", (code, signal) => {
            resolve(code ?? (signal ? 128 : 1));
        });
    });
}

/** Pulumi's environment: Minikube's Docker, a kubeconfig holding only the chosen context. */
async function pulumiEnvironment(target: Exclude<DevTarget, { kind: "local-cluster" }>, workDir: string): Promise<NodeJS.ProcessEnv> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...(target.kind === "minikube" ? target.dockerEnv : {}) };
    const kubeconfig = path.join(workDir, "kubeconfig");
    writeFileSync(kubeconfig, await output("kubectl", ["config", "view", "--minify", "--flatten", "--context", target.context], { env }), { mode: 0o600 });
    env.KUBECONFIG = kubeconfig;
    return env;
}

/** The dev stack's config for the project's own cluster: the checkout's, plus the stand-in images. */
function localClusterConfigFile(settings: Record<string, string>): string {
    const stackConfig = (yaml.load(readFileSync(path.join(ROOT_DIR, `Pulumi.${STACK}.yaml`), "utf8")) ?? {}) as { config?: Record<string, unknown> };
    stackConfig.config = { ...stackConfig.config, ...settings };
    mkdirSync(LOCAL_CLUSTER_DIR, { recursive: true });
    const file = path.join(LOCAL_CLUSTER_DIR, `Pulumi.${STACK}.yaml`);
    writeFileSync(file, `# Written by npm run up:dev for the project's own cluster (launcher/main-job.ts): Pulumi.${STACK}.yaml plus its images.\n${yaml.dump(stackConfig)}`);
    return file;
}

/** The images alone first (a targeted up), then into the node, as Minikube's Docker would have them. */
async function buildAndLoadImages(pulumi: string, env: NodeJS.ProcessEnv, configFile: string): Promise<number> {
    const images = `urn:pulumi:${STACK}::${PROJECT}::todo:components:Images`;
    const targets = [`${images}::images`, `${images}$docker-build:index:Image::backend`, `${images}$docker-build:index:Image::frontend`];
    const status = await attached(pulumi, ["up", "--stack", STACK, "--config-file", configFile, "--yes", "--skip-preview", ...targets.flatMap((urn) => ["--target", urn])], env);
    if (status !== 0) return status;
    const state = JSON.parse(await output(pulumi, ["stack", "export", "--stack", STACK], { env })) as { deployment?: { resources?: { type: string; outputs?: { tags?: string[] } }[] } };
    const tags = (state.deployment?.resources ?? []).filter((resource) => resource.type === "docker-build:index:Image").flatMap((image) => image.outputs?.tags ?? []);
    if (tags.length !== 2) throw new Error(`expected the two images' tags in the stack's state, found ${JSON.stringify(tags)}`);
    return attached(CLUSTER, ["load-image", ...tags], env);
}

/** A reason to stop with this exit status, said on stderr; thrown so that every cleanup still runs. */
class MainJobStop extends Error {
    constructor(
        message: string,
        readonly status: number,
    ) {
        super(message);
    }
}

/** up:dev and down:dev on the project's own cluster: toolchain, cluster, stand-in images, then Pulumi. */
async function onLocalCluster({ action, pulumiArgs, config }: MainJobArgs, label: string, workDir: string): Promise<number> {
    const unlock = lockLocalCluster(label, (line) => {
        throw new MainJobStop(line, 2);
    });
    let startedHere = false;
    try {
        const plan = await toolchainPlan();
        if (plan) process.stderr.write(`${plan.replace(/^/gm, `${label}: `)}\n`);
        const bin = await useToolchain({ showProgress: true });
        const pulumi = path.join(bin, "pulumi");
        const { registry, startedCluster } = await startLocalCluster();
        startedHere = startedCluster;
        const env = { ...process.env };
        if (action === "down") {
            const status = await attached(pulumi, ["destroy", "--stack", STACK, "--config-file", path.join(LOCAL_CLUSTER_DIR, `Pulumi.${STACK}.yaml`), ...pulumiArgs], env);
            if (status !== 0) return status;
            rmSync(LOCAL_CLUSTER_DIR, { recursive: true, force: true });
            process.stderr.write(`${label}: stopping the project's own cluster\n`);
            startedHere = false;
            return await attached(CLUSTER, ["down"], env);
        }
        const { bases, postgresImage } = await provideStandInImages(registry, workDir);
        let status = await attached(pulumi, ["stack", "select", "--create", STACK], env);
        if (status !== 0) return status;
        // After `stack select --create`, which writes the stack's secrets salt into Pulumi.dev.yaml.
        // Settings given on the command line win over the stand-in bases.
        const configFile = localClusterConfigFile({ ...bases, "todo:postgresImage": postgresImage, ...config.settings });
        status = await buildAndLoadImages(pulumi, env, configFile);
        if (status === 0) status = await attached(pulumi, ["up", "--stack", STACK, "--config-file", configFile, ...config.rest], env);
        if (status === 0) {
            const url = (await output(pulumi, ["stack", "output", "frontendUrl", "--stack", STACK], { env })).trim().replace("<node-ip>", "127.0.0.1");
            process.stderr.write(`${label}: the app answers at ${url}; npm run down:dev removes it and stops the cluster\n`);
        }
        return status;
    } finally {
        // A down that failed leaves no cluster running that it started itself (an up that failed
        // keeps it: the next up:dev starts faster, and down:dev stops it).
        if (action === "down" && startedHere) {
            process.stderr.write(`${label}: stopping the project's own cluster, which this command started\n`);
            await attached(CLUSTER, ["down"], { ...process.env });
        }
        unlock();
    }
}

/** The dev stack's resources per `pulumi stack ls` in the project; undefined when there is no such stack. */
async function devStackResources(pulumi: string): Promise<number | undefined> {
    const stacks = JSON.parse(await output(pulumi, ["stack", "ls", "--json"], { cwd: ROOT_DIR, timeoutSeconds: 20 })) as { name: string; resourceCount?: number }[];
    const dev = stacks.find((stack) => stack.name === STACK || stack.name.endsWith(`/${STACK}`));
    return dev === undefined ? undefined : (dev.resourceCount ?? 0);
}

/**
 * Why down:dev has nothing to remove, or undefined when a dev stack holds resources: asked of the
 * Pulumi CLI before anything is built, started or probed.
 */
async function nothingToRemove(pulumi: string): Promise<string | undefined> {
    let resources: number | undefined;
    try {
        resources = await devStackResources(pulumi);
    } catch (error) {
        if (/\bENOENT\b/.test(String(error))) return "no Pulumi CLI on this machine, so no dev stack was deployed from it";
        // The backend could not be listed (a login, say): the destroy below says why, in full.
        return undefined;
    }
    if (resources === undefined) return `no ${STACK} stack exists (pulumi stack ls)`;
    return resources === 0 ? `the ${STACK} stack holds no resource (pulumi stack ls)` : undefined;
}

async function main(): Promise<void> {
    let args: MainJobArgs;
    try {
        args = parseMainJobArgs(process.argv.slice(2), PROJECT);
    } catch (error) {
        if (error instanceof UsageError) usage(error.message);
        throw error;
    }
    const label = `${args.action}:${STACK}`;
    const workDir = mkdtempSync(path.join(tmpdir(), "todo-main-job-"));
    let status = 1;
    try {
        status = await mainJob(args, label, workDir);
    } catch (error) {
        if (!(error instanceof MainJobStop)) throw error;
        process.stderr.write(`${label}: ${error.message}\n`);
        status = error.status;
    } finally {
        rmSync(workDir, { recursive: true, force: true });
    }
    process.exit(status);
}

/** The main job itself; its exit status. */
async function mainJob(args: MainJobArgs, label: string, workDir: string): Promise<number> {
    const { action, context, pulumiArgs } = args;
    // A dev stack up:dev put on the project's own cluster goes down from there.
    if (action === "down" && !context && existsSync(LOCAL_CLUSTER_DIR)) {
        return onLocalCluster(args, label, workDir);
    }
    const toolchainPulumi = path.join(CACHE_DIR, "toolchain", "bin", "pulumi");
    const builtPulumi = existsSync(toolchainPulumi) ? toolchainPulumi : undefined;
    if (action === "down") {
        const reason = await nothingToRemove(builtPulumi ?? "pulumi");
        if (reason !== undefined) {
            process.stderr.write(`${label}: nothing to remove: ${reason}\n`);
            return 0;
        }
    }
    const found = await preflightDev(systemProbe(builtPulumi, CACHE_DIR), { context });
    for (const note of found.notes) process.stderr.write(`${label}: ${note}\n`);
    for (const error of found.errors) process.stderr.write(`${label}: ${error}\n`);
    const { target } = found;
    if (found.errors.length > 0 || !target) return 1;
    if (target.kind === "local-cluster") {
        process.stderr.write(`${label}: ${target.reason}: using the project's own cluster (local-cluster/cluster; for Minikube instead: minikube start, then npm run up:dev)\n`);
        return onLocalCluster(args, label, workDir);
    }
    if (!found.pulumi) return 1;
    process.stderr.write(`${label}: kube context ${target.context}${target.kind === "minikube" ? ", images built into Minikube's Docker" : ""}\n`);
    const env = await pulumiEnvironment(target, workDir);
    if (found.pulumi !== "pulumi") env.PATH = `${path.dirname(found.pulumi)}${path.delimiter}${env.PATH ?? ""}`;
    let status = await attached(found.pulumi, ["stack", "select", "--create", STACK], env);
    if (status === 0) {
        status = await attached(found.pulumi, [action === "up" ? "up" : "destroy", "--stack", STACK, ...pulumiArgs], env);
    }
    if (status === 0 && action === "up") {
        const url = (await output(found.pulumi, ["stack", "output", "frontendUrl", "--stack", STACK], { env })).trim();
        const nodeIp = target.kind === "minikube" ? (await output("minikube", ["ip"], { env })).trim() : "<node-ip>";
        process.stderr.write(`${label}: the app answers at ${url.replace("<node-ip>", nodeIp)}; npm run down:dev removes it\n`);
    }
    return status;
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
});
