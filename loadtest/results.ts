// The committed result summaries (docs/results/<name>.json and .md, format in
// docs/results/README.md), written by the TypeScript benchmarks: the dev loop, the e2e suite's
// timings and the frontend benchmark. loadtest/results.py is the same for the Python ones; the
// README figures test (test/results.test.ts) reads both.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";

export const REPOSITORY_DIR = resolve(__dirname, "..");

/** Where summaries go: TODO_RESULTS_DIR, else the checkout's docs/results/ (committed). */
export function resultsDir(): string {
    return process.env.TODO_RESULTS_DIR ?? join(REPOSITORY_DIR, "docs", "results");
}

/** What the figures of a run depend on besides the code: read when the run starts. */
export interface Machine {
    cpu: string;
    cores: number;
    memory_gib: number;
    os: string;
    /** 1, 5 and 15 minutes, when the run started: other work on the machine. */
    load_average: [number, number, number];
}

export interface ResultRun {
    /** Names the run within its summary; recording a run with the same key replaces it. */
    key: string;
    command: string;
    /** When the run started, UTC, to the second (startedNow()). */
    date: string;
    /** The checkout's commit; `modified` when tracked files outside docs/results/ differed from it. */
    revision: string;
    modified: boolean;
    machine: Machine;
    figures: Record<string, unknown>;
}

export interface ResultSummary {
    title: string;
    about: string;
    runs: ResultRun[];
    /** The Markdown table a README shows, made from `runs` by the benchmark: never typed by hand. */
    table: string;
}

const round = (value: number, places: number): number => Number(value.toFixed(places));

function osName(): string {
    const release = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1] ?? process.platform;
}

export function describeMachine(): Machine {
    const [one = 0, five = 0, fifteen = 0] = loadavg();
    return {
        cpu: cpus()[0]?.model.trim() ?? "unknown",
        cores: cpus().length,
        memory_gib: round(totalmem() / 2 ** 30, 1),
        os: osName(),
        load_average: [round(one, 2), round(five, 2), round(fifteen, 2)],
    };
}

/** A run's `date`: UTC, to the second. */
export function startedNow(): string {
    return `${new Date().toISOString().slice(0, 19)}Z`;
}

function git(args: string[]): string {
    return execFileSync("git", args, { cwd: REPOSITORY_DIR, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** The commit the figures belong to, and whether tracked code differed from it; outside a git
 * checkout "unknown" (test/results.test.ts refuses such a summary in docs/results/). */
export function codeRevision(): { revision: string; modified: boolean } {
    try {
        const revision = git(["rev-parse", "--short=12", "HEAD"]);
        const changes = git(["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs/results"]);
        return { revision, modified: changes !== "" };
    } catch {
        return { revision: "unknown", modified: true };
    }
}

export interface RecordOptions {
    /** File name without extension, e.g. "devloop". */
    name: string;
    title: string;
    about: string;
    run: Omit<ResultRun, "revision" | "modified">;
    /** The README's table, made from every run the summary holds after this one. */
    table: (runs: readonly ResultRun[]) => string;
}

/** Adds (or replaces, by key) one run in a summary and writes its JSON and Markdown; returns the JSON's path. */
export function recordResult(options: RecordOptions): string {
    const dir = resultsDir();
    mkdirSync(dir, { recursive: true });
    const jsonPath = join(dir, `${options.name}.json`);
    const previous = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, "utf8")) as ResultSummary).runs : [];
    const { revision, modified } = codeRevision();
    const { key, command, date, machine, figures } = options.run;
    // Keys in a fixed order, as loadtest/results.py writes them.
    const run: ResultRun = { key, command, date, revision, modified, machine, figures };
    const index = previous.findIndex((existing) => existing.key === run.key);
    const runs = index === -1 ? [...previous, run] : previous.map((existing, at) => (at === index ? run : existing));
    const summary: ResultSummary = { title: options.title, about: options.about, runs, table: options.table(runs) };
    writeFileSync(jsonPath, `${JSON.stringify(summary, null, 2)}\n`);
    writeFileSync(join(dir, `${options.name}.md`), summaryMarkdown(summary));
    return jsonPath;
}

/** The .md beside each summary; loadtest/results.py writes the same bytes. */
export function summaryMarkdown(summary: ResultSummary): string {
    const runLines = summary.runs.map((run) => {
        const { machine } = run;
        const revision = run.modified ? `${run.revision} (with uncommitted changes)` : run.revision;
        const load = machine.load_average.join(" / ");
        return `| ${run.key} | \`${run.command}\` | ${run.date} | ${revision} | ${machine.cores} x ${machine.cpu}, ${machine.memory_gib} GiB, ${machine.os} | ${load} |`;
    });
    return [
        `# ${summary.title}`,
        "",
        summary.about,
        "",
        summary.table,
        "",
        "## Runs",
        "",
        "| run | command | started (UTC) | revision | machine | load average before (1 / 5 / 15 min) |",
        "| --- | --- | --- | --- | --- | --- |",
        ...runLines,
        "",
    ].join("\n");
}

/** A Markdown table from a header row and body rows; `right` marks the numeric columns. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[] = []): string {
    const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
    const rule = header.map((_, column) => (right[column] === true ? "---:" : "---"));
    return [line(header), line(rule), ...rows.map(line)].join("\n");
}

/** A figure as the READMEs print it: thousands separated, at most `places` decimals. */
export function figure(value: number, places = 1): string {
    return value.toLocaleString("en-US", { maximumFractionDigits: places, minimumFractionDigits: 0 });
}
