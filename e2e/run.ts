// The end-to-end suite's launcher (npm run test:e2e): prepares the target cluster and a copy of
// the program, then runs each path's checks with jest, one path after the other, and sums up.
//
//   npm run test:e2e                          # every path, on the offline cluster (as root)
//   npm run test:e2e -- prod chart            # some of them
//   npm run test:e2e -- --context minikube    # into that kube context instead (see e2e/README.md)
//
// Without --context (or E2E_KUBE_CONTEXT) the target is the offline cluster (local-cluster/cluster),
// started when it is down and stopped again at the end, with the toolchain's CLIs and plugins.
// Either way: a local Pulumi backend in a temp folder and a throwaway passphrase.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import * as path from "node:path";

import { CLUSTER, lockLocalCluster } from "../local-cluster/local-cluster";
import { describeMachine, figure, markdownTable, recordResult, startedNow, type ResultRun } from "../loadtest/results";
import { PATH_NAMES, type PathName, type PathResults, RUN_FILE_VARIABLE, type RunInfo } from "./support/run";
import { output, run } from "../local-cluster/shell";
import { setupTarget, useThrowawayBackend } from "./support/targets";

const E2E_DIR = __dirname;
const ROOT_DIR = path.resolve(E2E_DIR, "..");
const CACHE_DIR = process.env.TODO_CACHE_DIR ?? path.join(homedir(), ".cache", "todo-k8s");
// Diagnostics of the newest runs are kept; older ones are removed at the start of a run.
const RUNS_KEPT = 10;

function usageError(message: string): never {
    process.stderr.write(`${message}\nusage: npm run test:e2e -- [--context KUBE_CONTEXT] [${PATH_NAMES.join(" ")}]...\n`);
    process.exit(2);
}

function parseArguments(args: string[]): { context: string | undefined; paths: PathName[] } {
    let context = process.env.E2E_KUBE_CONTEXT || undefined;
    const paths: PathName[] = [];
    const remaining = [...args];
    for (let arg = remaining.shift(); arg !== undefined; arg = remaining.shift()) {
        if (arg === "--context") {
            context = remaining.shift() ?? usageError("--context needs the name of a kube context");
        } else if (arg.startsWith("--context=")) {
            context = arg.slice("--context=".length);
        } else if (arg.startsWith("-")) {
            usageError(`unknown option '${arg}'`);
        } else if ((PATH_NAMES as readonly string[]).includes(arg)) {
            paths.push(arg as PathName);
        } else {
            usageError(`unknown path '${arg}'; accepted: ${PATH_NAMES.join(" ")}`);
        }
    }
    return { context, paths };
}

function pruneOldRuns(runsDir: string): void {
    const runs = existsSync(runsDir) ? readdirSync(runsDir).sort() : [];
    for (const old of runs.slice(0, Math.max(0, runs.length - (RUNS_KEPT - 1)))) rmSync(path.join(runsDir, old), { recursive: true, force: true });
}

async function runPath(pathName: PathName): Promise<number | null> {
    return new Promise((resolve) => {
        const jest = path.join(ROOT_DIR, "node_modules", "jest", "bin", "jest.js");
        const args = [jest, "--config", path.join(E2E_DIR, "jest.config.js"), "--runInBand", path.join(E2E_DIR, "paths", `${pathName}.e2e.ts`)];
        const child = spawn(process.execPath, args, { stdio: "inherit", cwd: ROOT_DIR });
        child.on("close", resolve);
    });
}

interface PathFigures {
    path: PathName;
    wallSeconds: number;
    checks: number;
    times: PathResults["times"];
}

/** The README's table: each path's wall time, checks and timed steps, then setup and the whole run. */
function suiteTable(runs: readonly ResultRun[]): string {
    const rows = runs.flatMap((run) => {
        const figures = run.figures as { setupSeconds: number; totalSeconds: number; checks: number; paths: PathFigures[] };
        return [
            [`\`${run.key}\``, "setup (toolchain check, cluster up, base images)", "", figure(figures.setupSeconds, 0), ""],
            ...figures.paths.map((entry) => [
                `\`${run.key}\``,
                entry.path,
                figure(entry.checks, 0),
                figure(entry.wallSeconds, 0),
                entry.times.map((time) => `\`${time.label}\` ${figure(time.seconds, 0)}`).join(", "),
            ]),
            [`\`${run.key}\``, "in all", figure(figures.checks, 0), figure(figures.totalSeconds, 0), ""],
        ];
    });
    return markdownTable(["Target", "Path", "Checks passed", "Wall s", "Timed steps (s)"], rows, [false, false, true, true, false]);
}

/** A whole, passing run's times go to the committed summary docs/results/e2e-suite.json. */
function recordSuite(context: string | undefined, resultsDir: string, date: string, machine: ReturnType<typeof describeMachine>, setupSeconds: number, wallSeconds: Map<PathName, number>, started: number): string {
    const paths = PATH_NAMES.map((pathName): PathFigures => {
        const results = JSON.parse(readFileSync(path.join(resultsDir, `${pathName}.json`), "utf8")) as PathResults;
        const checks = results.checks.filter((check) => check.status === "passed").length;
        return { path: pathName, wallSeconds: wallSeconds.get(pathName) ?? 0, checks, times: results.times };
    });
    return recordResult({
        name: "e2e-suite",
        title: "The end-to-end suite's times",
        about: "`npm run test:e2e`: every path, one after the other, into the offline cluster started from stopped (or a kube context), its checks all passed. Wall seconds per path; the timed steps are the ones each path names.",
        run: {
            key: context === undefined ? "offline cluster" : `context ${context}`,
            command: ["npm run test:e2e", ...(context === undefined ? [] : ["--", "--context", context])].join(" "),
            date,
            machine,
            figures: {
                setupSeconds,
                totalSeconds: Math.round((Date.now() - started) / 1000),
                checks: paths.reduce((sum, entry) => sum + entry.checks, 0),
                paths,
            },
        },
        table: suiteTable,
    });
}

function summarise(paths: PathName[], resultsDir: string, statuses: Map<PathName, number | null>, started: number): boolean {
    console.log("\n==== e2e summary");
    let ok = true;
    let passedAll = 0;
    let skippedAll = 0;
    for (const pathName of paths) {
        const file = path.join(resultsDir, `${pathName}.json`);
        if (!existsSync(file)) {
            console.log(`  ${pathName}: wrote no results (jest exited with ${statuses.get(pathName)})`);
            ok = false;
            continue;
        }
        const results = JSON.parse(readFileSync(file, "utf8")) as PathResults;
        const count = (status: string) => results.checks.filter((check) => check.status === status).length;
        const passed = count("passed");
        // Skipped: only against a user's cluster that lacks what a check needs (the harness refuses it on the offline cluster).
        const skipped = count("skipped");
        passedAll += passed;
        skippedAll += skipped;
        const complete = passed + skipped === results.declaredChecks && statuses.get(pathName) === 0;
        ok &&= complete;
        console.log(`  ${pathName}: ${passed} of ${results.declaredChecks} declared checks passed, ${skipped} skipped, ${count("failed")} failed, ${count("not run")} not run${complete ? "" : "  <- FAILED"}`);
        for (const time of results.times) console.log(`      ${time.label.padEnd(32)} ${String(time.seconds).padStart(5)} s`);
        for (const check of results.checks.filter((c) => c.status !== "passed")) console.log(`      ${check.status}: ${check.name}${check.detail && check.status === "skipped" ? ` (${check.detail})` : ""}`);
    }
    console.log(`  suite in all: ${Math.round((Date.now() - started) / 1000)} s; ${passedAll} checks passed, ${skippedAll} skipped; ${ok ? "every path complete" : "FAILED"}`);
    return ok;
}

async function main(): Promise<void> {
    const started = Date.now();
    const machine = describeMachine();
    const date = startedNow();
    const { context, paths: asked } = parseArguments(process.argv.slice(2));
    if (!existsSync(path.join(ROOT_DIR, "node_modules", "@pulumi", "kubernetes"))) usageError("run npm ci at the repository root first");
    let paths = asked;
    if (context && paths.length === 0) paths = process.env.E2E_REGISTRY ? ["errors", "dev", "prod", "chart"] : ["errors", "dev", "chart"];
    if (paths.length === 0) paths = [...PATH_NAMES];
    if (context && paths.includes("main")) usageError("the main path runs on the offline cluster only: it starts and stops that cluster as `npm run up:dev` does on a machine without one");
    if (context && paths.includes("prod") && !(process.env.E2E_REGISTRY && process.env.E2E_REGISTRY_CREDENTIALS && existsSync(process.env.E2E_REGISTRY_CREDENTIALS))) {
        usageError("the prod path on a kube context needs E2E_REGISTRY (registry host/namespace to push to) and E2E_REGISTRY_CREDENTIALS (a readable user:password file)");
    }

    const unlock = context ? undefined : lockLocalCluster("end-to-end run", usageError);
    const workDir = mkdtempSync(path.join(tmpdir(), "todo-e2e-"));
    const runsDir = path.join(CACHE_DIR, "e2e-runs");
    pruneOldRuns(runsDir);
    const runDir = path.join(runsDir, new Date().toISOString().replace(/[:.]/g, "-"));
    mkdirSync(runDir, { recursive: true });
    console.log(`failed checks leave what they saw under ${runDir}`);
    let startedCluster = false;
    let ok = false;
    try {
        const setup = await setupTarget(context, workDir, usageError);
        const { target } = setup;
        startedCluster = setup.startedCluster;
        console.log(`target: ${context ?? "the offline cluster"}; NodePorts on ${target.nodeAddress}; paths: ${paths.join(" ")}`);

        useThrowawayBackend(workDir);
        console.log((await output("pulumi", ["version"])).trim());
        const info: RunInfo = { target, rootDir: ROOT_DIR, workDir, diagnosticsDir: path.join(runDir, "diagnostics"), resultsDir: path.join(runDir, "results") };
        const runFile = path.join(runDir, "run.json");
        writeFileSync(runFile, JSON.stringify(info, null, 2));
        process.env[RUN_FILE_VARIABLE] = runFile;
        const setupSeconds = Math.round((Date.now() - started) / 1000);
        console.log(`setup: ${setupSeconds} s`);

        const statuses = new Map<PathName, number | null>();
        const wallSeconds = new Map<PathName, number>();
        for (const pathName of paths) {
            console.log(`\n==== path ${pathName} (${new Date().toISOString().slice(11, 19)})`);
            const pathStarted = Date.now();
            statuses.set(pathName, await runPath(pathName));
            wallSeconds.set(pathName, Math.round((Date.now() - pathStarted) / 1000));
        }
        ok = summarise(paths, info.resultsDir, statuses, started);
        if (!ok) console.log(`what the failed checks saw: ${info.diagnosticsDir}`);
        if (ok && paths.length === PATH_NAMES.length) {
            console.log(`  committed summary: ${recordSuite(context, info.resultsDir, date, machine, setupSeconds, wallSeconds, started)}`);
        }
    } finally {
        rmSync(workDir, { recursive: true, force: true });
        if (startedCluster) await run(CLUSTER, ["down"], { timeoutSeconds: 300 });
        unlock?.();
    }
    process.exit(ok ? 0 : 1);
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
