// The project's own cluster, measured (npm run bench:cluster, as root, with the cluster stopped):
// the toolchain's cold build of each component (its own record: the seconds each build took,
// written by local-cluster/toolchain when it built it), a warm toolchain run, `cluster up` from
// stopped and again when up, the components' memory when idle, and `cluster down`. Figures go to
// the console and to the committed summary docs/results/local-cluster.json.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";

import { CLUSTER, LOCAL_CLUSTER_DIR, clusterRuns, lockLocalCluster, toolchainPlan } from "../local-cluster/local-cluster";
import { run } from "../local-cluster/shell";
import { describeMachine, figure, markdownTable, recordResult, startedNow, type ResultRun } from "./results";

const TOOLCHAIN_DIR = path.join(process.env.TODO_CACHE_DIR ?? path.join(homedir(), ".cache", "todo-k8s"), "toolchain");

interface ComponentBuild {
    component: string;
    seconds: number;
    /** When the build finished (its record's time), UTC. */
    builtAt: string;
}

interface ClusterFigures {
    toolchain: ComponentBuild[];
    toolchainColdSeconds: number;
    toolchainWarmSeconds: number;
    upFromStoppedSeconds: number;
    upWhenUpSeconds: number;
    idleComponentsMiB: number;
    idlePodsMiB: number | null;
    downSeconds: number;
}

function refuse(line: string): never {
    process.stderr.write(`${line}\n`);
    process.exit(2);
}

/** Every component's cold build time, from the `.build-seconds` the toolchain wrote beside it. */
function toolchainRecord(): ComponentBuild[] {
    const builds = existsSync(TOOLCHAIN_DIR) ? readdirSync(TOOLCHAIN_DIR) : [];
    return builds
        .map((component) => path.join(TOOLCHAIN_DIR, component, ".build-seconds"))
        .filter((record) => existsSync(record))
        .map((record) => ({
            component: path.basename(path.dirname(record)),
            seconds: Number(readFileSync(record, "utf8").trim()),
            builtAt: `${statSync(record).mtime.toISOString().slice(0, 19)}Z`,
        }))
        .sort((a, b) => a.builtAt.localeCompare(b.builtAt));
}

async function timed(what: string, command: string, args: string[]): Promise<{ seconds: number; stdout: string }> {
    const started = process.hrtime.bigint();
    const result = await run(command, args, { timeoutSeconds: 900 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw new Error(`${what} failed (${result.status ?? "signal"}):\n${(result.stderr || result.stdout).slice(-3000)}`);
    process.stdout.write(`cluster figures: ${what} ${seconds.toFixed(1)} s\n`);
    return { seconds, stdout: result.stdout };
}

/** `cluster status` prints "components: N MiB resident" and, with pods, "pods: N MiB". */
function statusMiB(status: string, label: string): number | null {
    const match = new RegExp(`^${label}: (\\d+) MiB`, "m").exec(status);
    return match?.[1] === undefined ? null : Number(match[1]);
}

function clusterTable(runs: readonly ResultRun[]): string {
    const rows = runs.flatMap((run) => {
        const figures = run.figures as unknown as ClusterFigures;
        return [
            ...figures.toolchain.map((build) => [`toolchain cold: \`${build.component}\` (built ${build.builtAt.slice(0, 10)})`, `${figure(build.seconds, 0)} s`]),
            ["toolchain cold, the recorded builds above one after another", `${figure(figures.toolchainColdSeconds, 0)} s`],
            ["toolchain warm (`local-cluster/toolchain`, all cached)", `${figure(figures.toolchainWarmSeconds, 2)} s`],
            ["`cluster up` from stopped, until the node, DNS and the metrics API are ready", `${figure(figures.upFromStoppedSeconds)} s`],
            ["`cluster up` when already up", `${figure(figures.upWhenUpSeconds)} s`],
            ["idle memory, the components (`cluster status`)", `${figure(figures.idleComponentsMiB, 0)} MiB`],
            ...(figures.idlePodsMiB === null ? [] : [["idle memory, the system pods (kubepods cgroup)", `${figure(figures.idlePodsMiB, 0)} MiB`]]),
            ["`cluster down`", `${figure(figures.downSeconds)} s`],
        ];
    });
    return markdownTable(["What", "Measured"], rows, [false, true]);
}

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) refuse("npm run bench:cluster: run it as root (the cluster's components need it)");
    const plan = await toolchainPlan();
    if (plan !== undefined) refuse(`npm run bench:cluster: build the toolchain first (local-cluster/toolchain):\n${plan}`);
    if (await clusterRuns()) refuse("npm run bench:cluster: the cluster is up; it measures `cluster up` from stopped: run local-cluster/cluster down first");
    const unlock = lockLocalCluster("cluster benchmark", refuse);
    const machine = describeMachine();
    const date = startedNow();
    let finished = false;
    try {
        const toolchain = toolchainRecord();
        const warm = await timed("toolchain warm", path.join(LOCAL_CLUSTER_DIR, "toolchain"), []);
        const up = await timed("cluster up from stopped", CLUSTER, ["up"]);
        const again = await timed("cluster up when up", CLUSTER, ["up"]);
        // Settled: the system pods started, nothing else deployed.
        await new Promise((resolve) => setTimeout(resolve, 30_000));
        const status = (await run(CLUSTER, ["status"])).stdout;
        const down = await timed("cluster down", CLUSTER, ["down"]);
        const figures: ClusterFigures = {
            toolchain,
            toolchainColdSeconds: toolchain.reduce((sum, build) => sum + build.seconds, 0),
            toolchainWarmSeconds: warm.seconds,
            upFromStoppedSeconds: up.seconds,
            upWhenUpSeconds: again.seconds,
            idleComponentsMiB: statusMiB(status, "components") ?? refuse(`cluster status printed no components' memory:\n${status}`),
            idlePodsMiB: statusMiB(status, "pods"),
            downSeconds: down.seconds,
        };
        const file = recordResult({
            name: "local-cluster",
            title: "The project's own cluster: toolchain, start, stop, memory",
            about:
                "`npm run bench:cluster`. The toolchain's cold times are its own record of each component's build (`.build-seconds` in its cache, with the day it was built; the builds run under `nice -n 10` beside whatever else the machine did then); the rest is measured by the command itself, the machine's load as it started given below.",
            run: { key: "offline cluster", command: "npm run bench:cluster", date, machine, figures: { ...figures } },
            table: clusterTable,
        });
        finished = true;
        process.stdout.write(`cluster figures: committed summary ${file}\n`);
    } finally {
        // A failed step leaves the cluster as it found it: stopped.
        if (!finished) await run(CLUSTER, ["down"], { timeoutSeconds: 300 });
        unlock();
    }
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
});
