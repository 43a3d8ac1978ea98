// The main path: the README's main command as a new user runs it, on a machine with no kube
// context and no pulumi or minikube on PATH. `npm run up:dev` starts the project's own cluster,
// deploys the dev stack and prints where the app answers; `npm run down:dev` destroys the stack
// and stops the cluster, leaving no process, mount, network rule, ipset or link of it. It stops the
// cluster the suite started, so it runs last, on the offline cluster only.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

import { expect } from "@jest/globals";

import { CLUSTER, LOCK_OWNER_VARIABLE } from "../../local-cluster/local-cluster";
import { signUpAndAddTodo, uniqueTitle } from "../support/browser";
import { clusterIpsets, clusterLeftovers } from "../support/checks";
import { E2ePath } from "../support/path";
import { eventually, output, run } from "../../local-cluster/shell";

const path = new E2ePath("main", 6);
const { workDir } = path.run;
const { projectDir } = path;
const cacheDir = process.env.TODO_CACHE_DIR ?? join(process.env.HOME ?? "/root", ".cache", "todo-k8s");
const home = join(workDir, "main-home");
mkdirSync(home, { recursive: true });

// A fresh machine's environment: nothing of the suite's (toolchain on PATH, KUBECONFIG,
// DOCKER_CONFIG), an empty home, Node.js and the system's commands only. The suite's lock on the
// cluster passes to the commands it runs.
const freshEnv: NodeJS.ProcessEnv = {
    HOME: home,
    PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    TODO_CACHE_DIR: cacheDir,
    PULUMI_BACKEND_URL: `file://${join(workDir, "main-state")}`,
    PULUMI_CONFIG_PASSPHRASE: "e2e-main-job-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    [LOCK_OWNER_VARIABLE]: process.env[LOCK_OWNER_VARIABLE] ?? "",
    CI: "true",
};
mkdirSync(join(workDir, "main-state"), { recursive: true });

/** A command with exactly that environment; its output streamed to the log and returned. */
function fresh(command: string, args: string[], timeoutSeconds: number): Promise<{ status: number | null; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(command, args, { cwd: projectDir, env: freshEnv, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => process.stdout.write(chunk.replace(/^/gm, "      ")));
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
            stderr += chunk;
            process.stdout.write(chunk.replace(/^/gm, "      "));
        });
        const timer = setTimeout(() => child.kill("SIGTERM"), timeoutSeconds * 1000);
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stderr });
        });
    });
}

let appUrl = "";

path.require("a fresh machine's state: no kube context, no pulumi or minikube on PATH, the cluster down", async () => {
    for (const tool of ["pulumi", "minikube"]) {
        const found = await fresh("sh", ["-c", `command -v ${tool}`], 30);
        expect(found.status).not.toBe(0);
    }
    // A kubectl the machine may have (Debian's) finds no context.
    expect(existsSync(join(home, ".kube"))).toBe(false);
    expect((await fresh("sh", ["-c", "! command -v kubectl || ! kubectl config current-context"], 30)).status).toBe(0);
    await run(CLUSTER, ["down"], { timeoutSeconds: 300 });
    expect((await run(CLUSTER, ["status"])).status).not.toBe(0);
});

path.require("npm run up:dev starts the project's own cluster, deploys dev and prints where the app answers", async () => {
    const started = Date.now();
    const up = await path.time("up:dev", () => fresh("npm", ["run", "up:dev", "--", "--yes"], 2400));
    path.say(`npm run up:dev: exit ${up.status} after ${Math.round((Date.now() - started) / 1000)} s`);
    expect(up.status).toBe(0);
    // Why this cluster, and the toolchain's CLI in place of a missing one, each said in a line.
    expect(up.stderr).toMatch(/^up:dev: no minikube on PATH and (no kubectl on PATH|there is no current kube context): using the project's own cluster/m);
    expect(up.stderr).toMatch(/^up:dev: no pulumi on PATH: /m);
    appUrl = /^up:dev: the app answers at (\S+);/m.exec(up.stderr)?.[1] ?? "";
    path.say(`printed URL: ${appUrl}`);
    expect(appUrl).toBe("http://127.0.0.1:30000");
}, { timeoutSeconds: 2500 });

path.check("the app answers at the printed URL: sign up and add a todo in the browser", async () => {
    await signUpAndAddTodo(appUrl, uniqueTitle("Added after npm run up:dev"), path.say);
});

path.check("a second npm run up:dev changes nothing (--expect-no-changes)", async () => {
    const again = await path.time("second up:dev", () => fresh("npm", ["run", "up:dev", "--", "--yes", "--expect-no-changes"], 1200));
    expect(again.status).toBe(0);
}, { timeoutSeconds: 1300 });

// kube-router's ipsets go with the policies they enforce, so once the stack is destroyed there
// would be none left for `down` to remove: a policy outside the stack, on a pod of its own,
// keeps some in place when the cluster stops, and the leftover check first proves they existed.
const IPSET_KEEPER = "todo-e2e-ipset-keeper";
let ipsetsWhenStopped: string[] = [];

async function keepIpsetsThroughDown(): Promise<string[]> {
    const kubectl = join(cacheDir, "toolchain", "bin", "kubectl");
    const kubeconfig = join(cacheDir, "cluster", "kubeconfig");
    const pause = /^PAUSE_VERSION=(\S+)$/m.exec(readFileSync(join(projectDir, "local-cluster", "versions.env"), "utf8"))?.[1];
    if (!pause) throw new Error("local-cluster/versions.env has no PAUSE_VERSION");
    const manifest = [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: IPSET_KEEPER } },
        {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "keeper", namespace: IPSET_KEEPER, labels: { app: IPSET_KEEPER } },
            spec: { containers: [{ name: "pause", image: `registry.k8s.io/pause:${pause}`, imagePullPolicy: "IfNotPresent" }] },
        },
        {
            apiVersion: "networking.k8s.io/v1",
            kind: "NetworkPolicy",
            metadata: { name: "keeper", namespace: IPSET_KEEPER },
            spec: { podSelector: { matchLabels: { app: IPSET_KEEPER } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "nobody" } } }] }] },
        },
    ];
    const applied = await run(kubectl, ["--kubeconfig", kubeconfig, "apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: manifest }) });
    if (applied.status !== 0) throw new Error(`${applied.command}: ${applied.stderr.trim()}`);
    return eventually(120, "kube-router's ipsets for the keeper's policy", async () => {
        const sets = clusterIpsets(await output("ipset", ["list", "-n"], { timeoutSeconds: 60 }));
        return sets.length > 0 ? sets : undefined;
    });
}

path.teardown("npm run down:dev destroys the stack and stops the cluster", async () => {
    ipsetsWhenStopped = await keepIpsetsThroughDown();
    path.say(`kube-router's ipsets before down:dev (a policy outside the stack keeps them): ${ipsetsWhenStopped.join(", ")}`);
    const down = await path.time("down:dev", () => fresh("npm", ["run", "down:dev", "--", "--yes"], 1200));
    expect(down.status).toBe(0);
    expect((await run(CLUSTER, ["status"])).status).not.toBe(0);
});

// What the cluster makes while it runs (local-cluster/cluster), as its own scripts name it: its
// processes (kube-router's too), every mount under its folders, its iptables chains and rules,
// kube-router's ipsets, its bridges (support/checks.ts, clusterLeftovers).
path.teardown("nothing of the cluster is left: no process, mount, iptables chain or rule, ipset or network link", async () => {
    const { left, looked } = await clusterLeftovers(cacheDir);
    for (const line of looked) path.say(`looked at ${line}`);
    // Not vacuous: the cluster stopped with kube-router's ipsets in place.
    expect(ipsetsWhenStopped.length).toBeGreaterThan(0);
    path.say(`left behind: ${left.length === 0 ? "nothing" : left.join("; ")}`);
    expect(left).toEqual([]);
});
