// `npm run up:dev` and `npm run down:dev`: the preflight (stacks/preflight.ts), then the Pulumi
// CLI on the dev stack, with Docker pointed at the cluster's daemon and the kube context chosen
// by the preflight (the user's kubeconfig is left as it is).
//
//   npm run up:dev                          # Minikube, or the current context if it is local
//   npm run up:dev -- --context NAME        # that context, named on purpose
//   npm run up:dev -- --yes                 # any other argument goes to `pulumi up` / `destroy`
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import * as path from "node:path";

import { type DevTarget, preflightDev, systemProbe } from "./preflight";

const STACK = "dev";
const CACHE_DIR = process.env.TODO_CACHE_DIR ?? path.join(homedir(), ".cache", "todo-k8s");

function usage(message: string): never {
    process.stderr.write(`${message}\nusage: npm run up:dev|down:dev -- [--context KUBE_CONTEXT] [pulumi arguments...]\n`);
    process.exit(2);
}

function parse(argv: string[]): { action: "up" | "down"; context: string | undefined; pulumiArgs: string[] } {
    const [action, ...rest] = argv;
    if (action !== "up" && action !== "down") usage(`unknown action '${action ?? ""}'; accepted: up, down`);
    let context: string | undefined;
    const pulumiArgs: string[] = [];
    for (let arg = rest.shift(); arg !== undefined; arg = rest.shift()) {
        if (arg === "--context") context = rest.shift() ?? usage("--context needs the name of a kube context");
        else if (arg.startsWith("--context=")) context = arg.slice("--context=".length);
        else pulumiArgs.push(arg);
    }
    return { action, context, pulumiArgs };
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

function captured(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "inherit"] });
        let stdout = "";
        child.stdout.on("data", (chunk: Buffer) => {
            stdout += chunk.toString();
        });
        child.on("error", reject);
        child.on("exit", (code) => {
            if (code === 0) resolve(stdout);
            else reject(new Error(`${command} ${args.join(" ")} exited with ${String(code)}`));
        });
    });
}

/** Pulumi's environment: Minikube's Docker, a kubeconfig holding only the chosen context. */
async function pulumiEnvironment(target: DevTarget, workDir: string): Promise<NodeJS.ProcessEnv> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...(target.kind === "minikube" ? target.dockerEnv : {}) };
    const kubeconfig = path.join(workDir, "kubeconfig");
    writeFileSync(kubeconfig, await captured("kubectl", ["config", "view", "--minify", "--flatten", "--context", target.context], env), { mode: 0o600 });
    env.KUBECONFIG = kubeconfig;
    return env;
}

async function main(): Promise<void> {
    const { action, context, pulumiArgs } = parse(process.argv.slice(2));
    const label = `${action}:${STACK}`;
    const toolchainPulumi = path.join(CACHE_DIR, "toolchain", "bin", "pulumi");
    const found = await preflightDev(systemProbe(existsSync(toolchainPulumi) ? toolchainPulumi : undefined), { context });
    for (const note of found.notes) process.stderr.write(`${label}: ${note}\n`);
    for (const error of found.errors) process.stderr.write(`${label}: ${error}\n`);
    if (found.errors.length > 0 || !found.pulumi || !found.target) process.exit(1);
    const { target } = found;
    process.stderr.write(`${label}: kube context ${target.context}${target.kind === "minikube" ? ", images built into Minikube's Docker" : ""}\n`);

    const workDir = mkdtempSync(path.join(tmpdir(), "todo-main-job-"));
    let status = 1;
    try {
        const env = await pulumiEnvironment(target, workDir);
        if (found.pulumi !== "pulumi") env.PATH = `${path.dirname(found.pulumi)}${path.delimiter}${env.PATH ?? ""}`;
        status = await attached(found.pulumi, ["stack", "select", "--create", STACK], env);
        if (status === 0) {
            status = await attached(found.pulumi, [action === "up" ? "up" : "destroy", "--stack", STACK, ...pulumiArgs], env);
        }
        if (status === 0 && action === "up") {
            const url = (await captured(found.pulumi, ["stack", "output", "frontendUrl", "--stack", STACK], env)).trim();
            const nodeIp = target.kind === "minikube" ? (await captured("minikube", ["ip"], env)).trim() : "<node-ip>";
            process.stderr.write(`${label}: the app answers at ${url.replace("<node-ip>", nodeIp)}; npm run down:dev removes it\n`);
        }
    } finally {
        rmSync(workDir, { recursive: true, force: true });
    }
    process.exit(status);
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
});
