// The harness of a path: every check is a jest test run in order. A failed `require` stops the
// path: the checks after it fail as "not run" (teardown checks still run), so a path that ends
// early can never pass. Each path declares how many checks it has; the file fails when the
// checks it registered or ran differ from that number. A failed check leaves what it printed and
// the state of the path's namespaces in the run's diagnostics folder.
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

import { collectDiagnostics } from "./kube";
import { copyProject } from "./project";
import { type PathName, type PathResults, readRunInfo, type RunInfo } from "./run";
import type { TestStack } from "./stack";

type CheckKind = "check" | "require" | "teardown";

/** Thrown by `skip`: the check ends as skipped, with its reason. */
class SkippedCheck extends Error {}

export interface CheckOptions {
    /** The check fails after this many seconds. Default: 300. */
    timeoutSeconds?: number;
}

const DEFAULT_CHECK_SECONDS = 300;
// Jest's own timeout only backs up the harness's: a check ends by the harness's first.
const JEST_TIMEOUT_MARGIN_SECONDS = 60;

export class E2ePath {
    readonly run: RunInfo = readRunInfo();
    /** This path's own copy of the program as checked in: its code changes stay in it. */
    readonly projectDir: string;
    /** Namespaces whose state a failed check records. */
    readonly namespaces: string[] = [];
    private readonly results: PathResults;
    private registered = 0;
    private stoppedAt: string | undefined;
    private seen: string[] = [];
    private createdStack: TestStack | undefined;

    constructor(
        readonly name: PathName,
        declaredChecks: number,
    ) {
        this.results = { path: name, declaredChecks, checks: [], times: [] };
        this.projectDir = path.join(this.run.workDir, `project-${name}`);
        copyProject(this.run.rootDir, this.projectDir);
        afterAll(() => {
            this.finish();
        });
    }

    /** Keeps the stack a check created for the checks after it. */
    useStack(stack: TestStack): TestStack {
        this.createdStack = stack;
        return stack;
    }

    /** The path's stack; a check that needs it fails when none was created. */
    readonly stack = (): TestStack => {
        if (!this.createdStack) throw new Error(`the ${this.name} path's stack was not created`);
        return this.createdStack;
    };

    /** The path's stack, if a check created it (for the teardown). */
    readonly stackIfCreated = (): TestStack | undefined => this.createdStack;

    /** A check; later checks run whether it passes or not. */
    check(name: string, body: () => Promise<void> | void, options: CheckOptions = {}): void {
        this.register("check", name, body, options);
    }

    /** A check the rest of the path needs: when it fails, the path stops (teardown still runs). */
    require(name: string, body: () => Promise<void> | void, options: CheckOptions = {}): void {
        this.register("require", name, body, options);
    }

    /** A check of the teardown: it runs even when the path stopped early. */
    teardown(name: string, body: () => Promise<void> | void, options: CheckOptions = {}): void {
        this.register("teardown", name, body, options);
    }

    /**
     * Ends the running check as skipped, with the reason, when the target is a user's cluster
     * that lacks what the check needs. On the offline cluster nothing may be skipped: it fails.
     */
    skip(reason: string): never {
        if (this.run.target.kind !== "context") throw new Error(`${reason}: a check is never skipped on the offline cluster`);
        throw new SkippedCheck(reason);
    }

    /** Prints a line of what a check saw (kept for the diagnostics of a failure). */
    readonly say = (line: string): void => {
        this.seen.push(line);
        process.stdout.write(`    ${line}\n`);
    };

    /** Runs a step and records how long it took under LABEL, in the summary. */
    async time<Value>(label: string, step: () => Promise<Value>): Promise<Value> {
        const started = Date.now();
        try {
            return await step();
        } finally {
            const seconds = Math.round((Date.now() - started) / 1000);
            this.results.times.push({ label, seconds });
            this.say(`time: ${label} ${seconds} s`);
        }
    }

    private register(kind: CheckKind, name: string, body: () => Promise<void> | void, options: CheckOptions): void {
        const index = ++this.registered;
        const seconds = options.timeoutSeconds ?? DEFAULT_CHECK_SECONDS;
        test(
            `[${this.name}] ${name}`,
            async () => {
                if (this.stoppedAt !== undefined && kind !== "teardown") {
                    const reason = `not run: the path stopped at "${this.stoppedAt}"`;
                    this.results.checks.push({ name, status: "not run", seconds: 0, detail: reason });
                    process.stdout.write(`FAILED: [${this.name}] ${name} (${reason})\n`);
                    throw new Error(reason);
                }
                this.seen = [];
                const started = Date.now();
                try {
                    await withDeadline(body(), seconds, name);
                    this.results.checks.push({ name, status: "passed", seconds: elapsed(started) });
                    process.stdout.write(`ok: [${this.name}] ${name}\n`);
                } catch (error) {
                    if (error instanceof SkippedCheck) {
                        this.results.checks.push({ name, status: "skipped", seconds: elapsed(started), detail: error.message });
                        process.stdout.write(`skipped: [${this.name}] ${name} (${error.message})\n`);
                        return;
                    }
                    const detail = error instanceof Error ? error.message : String(error);
                    this.results.checks.push({ name, status: "failed", seconds: elapsed(started), detail });
                    process.stdout.write(`FAILED: [${this.name}] ${name}\n    ${detail.split("\n").join("\n    ")}\n`);
                    await this.diagnose(index, name, detail);
                    if (kind === "require") {
                        this.stoppedAt = name;
                        process.stdout.write(`[${this.name}] stopped early: the checks after this one need it\n`);
                    }
                    throw error;
                }
            },
            (seconds + JEST_TIMEOUT_MARGIN_SECONDS) * 1000,
        );
    }

    private async diagnose(index: number, name: string, detail: string): Promise<void> {
        const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
        const folder = path.join(this.run.diagnosticsDir, this.name, `${String(index).padStart(2, "0")}-${slug}`);
        mkdirSync(folder, { recursive: true });
        writeFileSync(path.join(folder, "check.txt"), `${name}\n\nfailure:\n${detail}\n\nwhat it printed:\n${this.seen.join("\n")}\n`);
        try {
            await collectDiagnostics(folder, this.namespaces);
        } catch (error) {
            writeFileSync(path.join(folder, "collect-error.txt"), String(error));
        }
        process.stdout.write(`    what it saw: ${folder}\n`);
    }

    private finish(): void {
        mkdirSync(this.run.resultsDir, { recursive: true });
        writeFileSync(path.join(this.run.resultsDir, `${this.name}.json`), JSON.stringify(this.results, null, 2));
        if (this.registered !== this.results.declaredChecks) {
            throw new Error(`the ${this.name} path declares ${this.results.declaredChecks} checks but registers ${this.registered}`);
        }
    }
}

const elapsed = (started: number): number => Math.round((Date.now() - started) / 1000);

async function withDeadline(work: Promise<void> | void, seconds: number, name: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
            reject(new Error(`"${name}" did not finish within ${seconds} s`));
        }, seconds * 1000);
    });
    try {
        await Promise.race([work, deadline]);
    } finally {
        clearTimeout(timer);
    }
}
