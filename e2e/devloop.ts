// The dev loop, measured (npm run bench:devloop): how long a developer waits between changing one
// line and the new pods serving it. A copy of the project is deployed as a dev stack; then, round
// after round, one line of the backend (and, separately, of the frontend) changes in the copy and
// `pulumi up` runs again. Each round's wall time from the change to the new pods ready and the app
// answering through its NodePort is split into: the image build, getting the image onto the node
// (the offline cluster only; Minikube's Docker is the node's), the migration Job, the rollout,
// and the rest (the program, Pulumi's diff and state). Figures go to the console and to the
// committed summary docs/results/devloop.json (one run per target: the offline cluster, or a context).
//
//   npm run bench:devloop                              # on the offline cluster (as root)
//   npm run bench:devloop -- --context minikube        # into that kube context instead
//   npm run bench:devloop -- --rounds 3
import { randomUUID } from "node:crypto";
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import type { EngineEvent } from "@pulumi/pulumi/automation";

import { CLUSTER, lockLocalCluster } from "../local-cluster/local-cluster";
import { describeMachine, figure, markdownTable, recordResult, startedNow, type ResultRun } from "../loadtest/results";
import { builtImageTags, imageTargets } from "./support/images";
import { activePods, isReady } from "./support/kube";
import { copyProject } from "./support/project";
import type { Target } from "./support/run";
import { output, run, sleep } from "../local-cluster/shell";
import { TestStack } from "./support/stack";
import { setupTarget, useThrowawayBackend } from "./support/targets";

const ROOT_DIR = path.resolve(__dirname, "..");
const NAMESPACE = "todo-devloop";
// Not the dev stack's 30000 or the suite's: the benchmark may run beside a user's dev stack.
const NODE_PORT = 30002;
const DEFAULT_ROUNDS = 2;
/** How long the app may take to serve the change after `pulumi up` returns. */
const SERVING_DEADLINE_SECONDS = 120;
const IMAGE_TYPE = "docker-build:index:Image";

type Workload = "backend" | "frontend";

/**
 * The one line each round adds: a comment, so behaviour is unchanged, yet the image's content
 * changes; the run's own token makes it new to BuildKit's cache, which outlives a run.
 */
const CHANGED_FILE: Record<Workload, string> = {
    backend: "apps/backend/src/todo_api/routes.py",
    frontend: "apps/frontend/src/app/layout.tsx",
};
const RUN_TOKEN = randomUUID();
const commentLine = (workload: Workload, round: number): string => `${workload === "backend" ? "#" : "//"} dev loop ${RUN_TOKEN} round ${round}\n`;

/** Seconds of one round, by phase. */
interface RoundFigures {
    workload: Workload;
    round: number;
    /** From the change to the new pods ready (the old ones out of the Service) and the app answering 200 through the NodePort. */
    totalSeconds: number;
    /** The changed image's build (BuildKit, as the docker-build provider reports its step). */
    buildSeconds: number;
    /** Copying the image into the node's containerd (offline cluster only). */
    loadSeconds: number;
    /** The migration Job's step: 0 when it did not run. */
    migrationSeconds: number;
    migrationRan: boolean;
    /** The changed Deployment's step: new pods ready, old ones gone. */
    rolloutSeconds: number;
    /** After `pulumi up` returned, until the app answered through the NodePort with every pod on the new image. */
    servingSeconds: number;
    /** Everything else: starting the program, hashing the contexts, Pulumi's diff and state. */
    otherSeconds: number;
}

interface StepTime {
    op: string;
    seconds: number;
}

/** Each resource's step (op and seconds, from its pre-event to its outputs) in one update, by type::name. */
function stepRecorder(): { onEvent: (event: EngineEvent) => void; steps: Map<string, StepTime> } {
    const started = new Map<string, number>();
    const steps = new Map<string, StepTime>();
    const key = (urn: string): string => {
        const [, , typePath = "", name = ""] = urn.split("::");
        return `${typePath.split("$").pop() ?? typePath}::${name}`;
    };
    // A replacement is three steps under one URN: creating the new object (the one that takes the
    // time), an instant `replace` marker, and deleting the old one later. The first is the step.
    const counted = (op: string): boolean => !["replace", "delete-replaced", "discard-replaced", "delete"].includes(op);
    const onEvent = (event: EngineEvent): void => {
        const pre = event.resourcePreEvent?.metadata;
        if (pre && counted(pre.op)) started.set(pre.urn, event.timestamp);
        const done = event.resOutputsEvent?.metadata;
        if (done && counted(done.op)) steps.set(key(done.urn), { op: done.op, seconds: event.timestamp - (started.get(done.urn) ?? event.timestamp) });
    };
    return { onEvent, steps };
}

const stepSeconds = (steps: Map<string, StepTime>, typeAndName: string): number => steps.get(typeAndName)?.seconds ?? 0;
/** Whether the step changed the resource (same/read steps are no-ops). */
const changed = (step: StepTime | undefined): boolean => step !== undefined && !["same", "read"].includes(step.op);

function usageError(message: string): never {
    process.stderr.write(`${message}\nusage: npm run bench:devloop -- [--context KUBE_CONTEXT] [--rounds N]\n`);
    process.exit(2);
}

function parseArguments(args: string[]): { context: string | undefined; rounds: number } {
    let context: string | undefined;
    let rounds = DEFAULT_ROUNDS;
    const remaining = [...args];
    for (let arg = remaining.shift(); arg !== undefined; arg = remaining.shift()) {
        if (arg === "--context") {
            context = remaining.shift() ?? usageError("--context needs the name of a kube context");
        } else if (arg === "--rounds") {
            rounds = Number(remaining.shift());
            if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) usageError("--rounds takes a whole number from 1 to 10");
        } else {
            usageError(`unknown argument '${arg}'`);
        }
    }
    return { context, rounds };
}

/** The program's copy, with a frontend of its own too (the suite's copies link the checkout's). */
function copyForChanges(projectDir: string): void {
    copyProject(ROOT_DIR, projectDir);
    const frontend = path.join(projectDir, "apps", "frontend");
    rmSync(frontend);
    const skipped = new Set(["node_modules", ".next", "test-results", "playwright-report", "bench-results"]);
    cpSync(path.join(ROOT_DIR, "apps", "frontend"), frontend, { recursive: true, filter: (source) => !skipped.has(path.basename(source)) });
}

/**
 * Polls every half second until every pod of WORKLOAD that is not shutting down runs IMAGE and is
 * ready (a pod shutting down has left the Service) and the app answers 200 at URL.
 */
async function waitUntilServing(workload: Workload, image: string, url: string): Promise<void> {
    const deadline = Date.now() + SERVING_DEADLINE_SECONDS * 1000;
    for (;;) {
        const active = await activePods(NAMESPACE, workload);
        const onImage = active.length > 0 && active.every((pod) => pod.spec?.containers[0]?.image === image && isReady(pod));
        const answer = onImage ? await fetch(url, { signal: AbortSignal.timeout(5000) }).then((response) => response.status, () => 0) : 0;
        if (answer === 200) return;
        if (Date.now() > deadline) throw new Error(`${workload}: not serving ${image} at ${url} within ${SERVING_DEADLINE_SECONDS} s of pulumi up`);
        await sleep(500);
    }
}

async function deployedImage(stack: TestStack, workload: Workload): Promise<string> {
    return stack.output(`${workload}Image`);
}

/**
 * Where the node has an image store of its own (a load command), as `npm run up:dev` does: a
 * targeted `up` of the images, then the images onto the node; returns the seconds the copy took
 * (0 without a load command: the full `up` builds where the node runs).
 */
async function imagesOntoNode(stack: TestStack, target: Target, imageUrns: string[], onEvent?: (event: EngineEvent) => void): Promise<number> {
    const [loadCommand, ...loadArgs] = target.loadImagesCommand;
    if (!loadCommand) return 0;
    await stack.up({ targets: imageUrns, onEvent });
    const loadStarted = Date.now();
    await output(loadCommand, [...loadArgs, ...(await builtImageTags(stack))], { timeoutSeconds: 600 });
    return (Date.now() - loadStarted) / 1000;
}

/** One round: change a line of WORKLOAD in the copy, bring it to the cluster the way a developer does, time each phase. */
async function measureRound(stack: TestStack, target: Target, projectDir: string, workload: Workload, round: number, imageUrns: string[]): Promise<RoundFigures> {
    const started = Date.now();
    appendFileSync(path.join(projectDir, CHANGED_FILE[workload]), commentLine(workload, round));
    const build = stepRecorder();
    const loadSeconds = await imagesOntoNode(stack, target, imageUrns, build.onEvent);
    const update = stepRecorder();
    await stack.up({ onEvent: update.onEvent });
    const upReturned = Date.now();
    const image = await deployedImage(stack, workload);
    await waitUntilServing(workload, image, `http://${target.nodeAddress}:${NODE_PORT}/api/ready`);
    const totalSeconds = (Date.now() - started) / 1000;
    const buildSeconds = stepSeconds(build.steps, `${IMAGE_TYPE}::${workload}`) + stepSeconds(update.steps, `${IMAGE_TYPE}::${workload}`);
    const migration = update.steps.get("kubernetes:batch/v1:Job::migrate");
    const migrationSeconds = changed(migration) ? (migration?.seconds ?? 0) : 0;
    const rolloutSeconds = stepSeconds(update.steps, `kubernetes:apps/v1:Deployment::${workload}`);
    const servingSeconds = (Date.now() - upReturned) / 1000;
    const figures: RoundFigures = {
        workload,
        round,
        totalSeconds,
        buildSeconds,
        loadSeconds,
        migrationSeconds,
        migrationRan: changed(migration),
        rolloutSeconds,
        servingSeconds,
        otherSeconds: Math.max(0, totalSeconds - buildSeconds - loadSeconds - migrationSeconds - rolloutSeconds - servingSeconds),
    };
    process.stdout.write(`devloop: ${describe(figures)}\n`);
    return figures;
}

const seconds = (value: number): string => `${value.toFixed(1)} s`;

/** The README's table: a row per round, its phases in seconds. */
function devloopTable(runs: readonly ResultRun[]): string {
    const rows = runs.flatMap((run) => {
        const figures = run.figures as { firstDeploySeconds: number; rounds: RoundFigures[] };
        const first = [`\`${run.key}\``, "first deploy", figure(figures.firstDeploySeconds), "", "", "", "", "", ""];
        const rounds = figures.rounds.map((round) => [
            `\`${run.key}\``,
            `${round.workload} line, round ${round.round}`,
            figure(round.totalSeconds),
            figure(round.buildSeconds),
            figure(round.loadSeconds),
            round.migrationRan ? figure(round.migrationSeconds) : "not run",
            figure(round.rolloutSeconds),
            figure(round.servingSeconds),
            figure(round.otherSeconds),
        ]);
        return [first, ...rounds];
    });
    const header = ["Target", "Change", "To serving s", "Build s", "Onto the node s", "Migration Job s", "Rollout s", "Serving after up s", "Other s"];
    return markdownTable(header, rows, [false, false, true, true, true, true, true, true, true]);
}

function describe(figures: RoundFigures): string {
    return [
        `${figures.workload} round ${figures.round}: ${seconds(figures.totalSeconds)} from the change to serving`,
        `build ${seconds(figures.buildSeconds)}`,
        `load ${seconds(figures.loadSeconds)}`,
        `migration ${figures.migrationRan ? seconds(figures.migrationSeconds) : "not run"}`,
        `rollout ${seconds(figures.rolloutSeconds)}`,
        `serving after up ${seconds(figures.servingSeconds)}`,
        `other ${seconds(figures.otherSeconds)}`,
    ].join(", ");
}

async function main(): Promise<void> {
    const { context, rounds } = parseArguments(process.argv.slice(2));
    const machine = describeMachine();
    const date = startedNow();
    const unlock = context ? undefined : lockLocalCluster("dev-loop benchmark", usageError);
    const workDir = mkdtempSync(path.join(tmpdir(), "todo-devloop-"));
    let startedCluster = false;
    let stack: TestStack | undefined;
    try {
        const setup = await setupTarget(context, workDir, usageError);
        const { target } = setup;
        startedCluster = setup.startedCluster;
        useThrowawayBackend(workDir);
        const projectDir = path.join(workDir, "project");
        copyForChanges(projectDir);
        stack = await TestStack.create(projectDir, "dev", {
            ...target.stackSettings,
            "todo:postgresImage": target.postgresImage,
            "todo:namespace": NAMESPACE,
            "todo:frontendNodePort": String(NODE_PORT),
        });
        const imageUrns = imageTargets(await stack.preview());
        const firstStarted = Date.now();
        await imagesOntoNode(stack, target, imageUrns);
        await stack.up();
        const firstDeploySeconds = (Date.now() - firstStarted) / 1000;
        process.stdout.write(`devloop: first deploy ${seconds(firstDeploySeconds)}\n`);

        const figures: RoundFigures[] = [];
        for (const workload of ["backend", "frontend"] as const) {
            for (let round = 1; round <= rounds; round++) figures.push(await measureRound(stack, target, projectDir, workload, round, imageUrns));
        }
        const key = context === undefined ? "offline cluster" : `context ${context}`;
        const file = recordResult({
            name: "devloop",
            title: "The dev loop: one changed line to new pods serving",
            about:
                "`npm run bench:devloop`: a copy of the project deployed as a dev stack, then one line added to the backend's routes.py (and, apart, to the frontend's layout.tsx) and `pulumi up` again, round after round. Each round is timed from the change to every pod of the changed Deployment on the new image, ready, and the app answering through its NodePort; serving after up is the wait, once `pulumi up` returned, until the app answered with every pod on the new image; other is the program, Pulumi's diff and state.",
            run: {
                key,
                command: ["npm run bench:devloop", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" "),
                date,
                machine,
                figures: { nodeVersion: process.version, firstDeploySeconds, rounds: figures },
            },
            table: devloopTable,
        });
        process.stdout.write(`\n==== dev loop (${key}, ${machine.cores} CPUs)\n  first deploy: ${seconds(firstDeploySeconds)}\n`);
        for (const round of figures) process.stdout.write(`  ${describe(round)}\n`);
        process.stdout.write(`  committed summary: ${file}\n`);
    } finally {
        if (stack) await stack.destroy().catch((error: unknown) => process.stderr.write(`devloop: destroy failed: ${String(error)}\n`));
        rmSync(workDir, { recursive: true, force: true });
        if (startedCluster) await run(CLUSTER, ["down"], { timeoutSeconds: 300 });
        unlock?.();
    }
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
});
