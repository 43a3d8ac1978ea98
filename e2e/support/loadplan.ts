// The design's load plan (loadtest/loadplan, `npm run loadtest`) against a path's deployed
// stack: a shortened smoke profile with its faults, injected one after another. Resolves to
// the run's summary.json, checked
// against the shape below, whatever the gates said (the caller decides what to expect); throws
// when the run could not start (exit status 2: a refused address, unreadable stack outputs, a
// fault the stack cannot take).
import { readFileSync } from "node:fs";
import * as path from "node:path";

import { z } from "zod";

import { run } from "../../local-cluster/shell";

export const LOAD_PLAN_FAULTS = ["backend-pod", "frontend-pod", "postgres-pod", "postgres-crash", "rolling-restart", "image-change"] as const;
export type LoadPlanFault = (typeof LOAD_PLAN_FAULTS)[number];

const figures = z.object({
    requests: z.number(),
    failures: z.number(),
    error_rate: z.number(),
    requests_per_second: z.number(),
    p50_ms: z.number(),
    p95_ms: z.number(),
    p99_ms: z.number(),
});

const faultFigures = z.object({
    kind: z.enum(LOAD_PLAN_FAULTS),
    /** Why the fault was not injected (the load ended first, kubectl failed), or null. */
    skipped: z.string().nullable(),
    // The rest is there once it was injected.
    detail: z.string().optional(),
    injected_at_seconds: z.number().optional(),
    time_to_full_readiness_seconds: z.number().nullable().optional(),
    problem: z.string().nullable().optional(),
    failed_requests: z.number().optional(),
    failed_share: z.number().optional(),
    /** Failures in the fault's window per channel that had requests in it ("frontend", "api"). */
    failed_by_channel: z.record(z.string(), z.number()).optional(),
    /** "all", "frontend", "api": the longest stretch without a successful answer in the fault's window. */
    longest_gap_without_success_seconds: z.record(z.string(), z.number()).optional(),
    acknowledged_writes_lost: z.number().nullable().optional(),
    writes_applied_twice: z.number().nullable().optional(),
    read_back_problem: z.string().nullable().optional(),
});

export const loadPlanSummary = z.object({
    profile: z.enum(["smoke", "load", "stress"]),
    stack: z.string().nullable(),
    started_utc: z.string(),
    duration_seconds: z.number(),
    target: z.object({ frontend_url: z.string(), api_url: z.string(), how: z.string(), namespace: z.string().nullable() }),
    overall: figures,
    per_channel: z.object({ frontend: figures, api: figures }),
    faults: z.array(faultFigures),
    data_loss: z.object({ checked: z.number().nullable(), lost: z.number().nullable(), duplicated: z.number().nullable(), problem: z.string().nullable() }),
    sampling: z.object({
        enabled: z.boolean(),
        samples: z.number(),
        max_ready_replicas: z.record(z.string(), z.number()),
        restarts_at_end: z.record(z.string(), z.number()),
    }),
    gates: z.array(z.object({ name: z.string(), passed: z.boolean(), value: z.string() })),
    passed: z.boolean(),
    notes: z.array(z.string()),
});
export type LoadPlanSummary = z.infer<typeof loadPlanSummary>;

export interface LoadPlanOptions {
    /** The checkout that holds loadtest/ (RunInfo.rootDir). */
    rootDir: string;
    /** Where the stack's Pulumi.yaml is (the path's copy of the program). */
    projectDir: string;
    stack: string;
    /** Injected in this order, each once the app is whole again after the one before. */
    faults: readonly LoadPlanFault[];
    /** Where the report folder goes. */
    reportsDir: string;
    /** The kube context (Target.contextName); default: KUBECONFIG / the current context. */
    contextName?: string;
    /** Default 120: a fault comes 24 s in, and a replaced pod is ready well before the end. */
    durationSeconds?: number;
    /** Default 5, the smoke profile's. */
    users?: number;
}

export interface LoadPlanRun {
    /** 0: every gate passed; 1: one failed (see summary.gates). */
    exitStatus: number;
    reportDir: string;
    summary: LoadPlanSummary;
}

// On top of the load: accounts, port-forwards, the fault's readiness wait, the read-backs and,
// for image-change, two deploys (`npm run up:dev` or `pulumi up`) with an image build each.
const SETUP_AND_FAULT_SECONDS = 2 * 1800 + 600;

export async function runLoadPlan(options: LoadPlanOptions): Promise<LoadPlanRun> {
    const duration = options.durationSeconds ?? 120;
    const args = [
        path.join(options.rootDir, "loadtest", "run.sh"),
        "plan",
        "--stack", options.stack,
        "--project-dir", options.projectDir,
        "--profile", "smoke",
        "--duration", String(duration),
        "--users", String(options.users ?? 5),
        ...options.faults.flatMap((fault) => ["--fault", fault]),
        "--out", options.reportsDir,
        ...(options.contextName ? ["--context", options.contextName] : []),
    ];
    // Its committed summary goes beside the report: a shortened run is no figure for a README.
    const env = { TODO_RESULTS_DIR: path.join(options.reportsDir, "results") };
    const result = await run("bash", args, { cwd: options.rootDir, env, timeoutSeconds: duration + SETUP_AND_FAULT_SECONDS });
    if (result.status !== 0 && result.status !== 1) {
        throw new Error(`${result.command} exited with ${result.status ?? "a signal"}: ${(result.stderr || result.stdout).trim().slice(-2000)}`);
    }
    // The tool's last line names the report folder.
    const reportDir = result.stdout.trim().split("\n").at(-1) ?? "";
    const summary = loadPlanSummary.parse(JSON.parse(readFileSync(path.join(reportDir, "summary.json"), "utf8")));
    return { exitStatus: result.status, reportDir, summary };
}
