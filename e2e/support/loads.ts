// Bounded background loads (load.cjs): the suite stops one by closing its stdin; each also
// stops by itself after its time limit. Progress lines are timed by the suite's clock, so a
// check can tell whether a load ran across a window (a rollout) with requests in it.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";

const LOAD_SCRIPT = path.join(__dirname, "load.cjs");

export interface LoadSummary {
    mode: string;
    requests: number;
    failed: number;
    seconds: number;
    failures: string[];
}

interface Progress {
    /** When the suite read the line (ms since the epoch). */
    at: number;
    requests: number;
    failed: number;
}

/** What a load did inside a window. */
export interface WindowCoverage {
    startedBefore: boolean;
    endedAfter: boolean;
    requestsInWindow: number;
    failedInWindow: number;
    /** The longest stretch inside the window with no request finished, in seconds. */
    longestStallSeconds: number;
}

export class Load {
    private readonly progress: Progress[] = [];
    private summary: LoadSummary | undefined;
    private stderr = "";
    private readonly exited: Promise<number | null>;

    private constructor(
        readonly name: string,
        private readonly child: ChildProcessWithoutNullStreams,
    ) {
        let buffered = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
            buffered += chunk;
            let newline: number;
            while ((newline = buffered.indexOf("\n")) >= 0) {
                this.read(buffered.slice(0, newline));
                buffered = buffered.slice(newline + 1);
            }
        });
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
        child.stdin.on("error", () => undefined);
        this.exited = new Promise((resolve) => child.on("close", resolve));
    }

    /** Backend requests (read: list todos; cpu: logins) from a frontend pod, through the backend Service. */
    static fromFrontendPod(name: string, namespace: string, mode: "read" | "cpu", maxSeconds: number, workers: number): Load {
        const script = readFileSync(LOAD_SCRIPT, "utf8");
        const args = ["-n", namespace, "exec", "-i", "deployment/frontend", "--", "node", "-e", script, mode, String(maxSeconds), String(workers)];
        return new Load(name, spawn("kubectl", args));
    }

    /** The frontend's /api/ready from this machine. */
    static onFrontend(name: string, baseUrl: string, maxSeconds: number, workers: number): Load {
        return new Load(name, spawn(process.execPath, [LOAD_SCRIPT, "ready", String(maxSeconds), String(workers), baseUrl]));
    }

    /** Resolves once the load has finished its first request. */
    async started(seconds = 60): Promise<void> {
        const deadline = Date.now() + seconds * 1000;
        while (!this.progress.some((line) => line.requests > 0)) {
            if (this.child.exitCode !== null || Date.now() > deadline) {
                throw new Error(`load ${this.name} made no request within ${seconds} s: ${this.stderr.trim().slice(-500)}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
    }

    /** Closes its stdin, waits for its summary; throws when the load could not run. */
    async stop(): Promise<LoadSummary> {
        this.child.stdin.end();
        const status = await this.exited;
        if (status !== 0 || this.summary === undefined) {
            throw new Error(`load ${this.name} exited with ${status}: ${this.stderr.trim().slice(-1000)}`);
        }
        return this.summary;
    }

    coverage(start: number, end: number): WindowCoverage {
        const before = this.progress.filter((line) => line.at <= start).pop();
        const after = this.progress.find((line) => line.at >= end);
        const inside = this.progress.filter((line) => line.at >= start && line.at <= end);
        let longestStall = 0;
        let lastGain = before?.at ?? start;
        let lastCount = before?.requests ?? 0;
        for (const line of [...inside, ...(after ? [after] : [])]) {
            if (line.requests > lastCount) {
                longestStall = Math.max(longestStall, Math.min(line.at, end) - lastGain);
                lastGain = line.at;
                lastCount = line.requests;
            }
        }
        longestStall = Math.max(longestStall, end - lastGain);
        return {
            startedBefore: before !== undefined && before.requests > 0,
            endedAfter: after !== undefined,
            requestsInWindow: (after?.requests ?? lastCount) - (before?.requests ?? 0),
            failedInWindow: (after?.failed ?? 0) - (before?.failed ?? 0),
            longestStallSeconds: Math.round(longestStall / 100) / 10,
        };
    }

    private read(line: string): void {
        let parsed: { event?: string } & Partial<LoadSummary>;
        try {
            parsed = JSON.parse(line) as typeof parsed;
        } catch {
            this.stderr += `${line}\n`;
            return;
        }
        if (parsed.event === "progress") {
            this.progress.push({ at: Date.now(), requests: parsed.requests ?? 0, failed: parsed.failed ?? 0 });
        } else if (parsed.event === "summary") {
            this.summary = parsed as LoadSummary;
        }
    }
}
