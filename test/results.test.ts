// Every figure a README gives for the current code comes from a committed result summary
// (docs/results/, written by the benchmarks through loadtest/results.ts or results.py). A README
// quotes one between `<!-- results docs/results/<name>.json -->` and `<!-- /results -->`: a link
// to its .md, the summary's table verbatim (if it shows a table), and prose whose every number
// is one of the summary's figures. These tests fail on a missing summary, a table or figure that differs from
// it, a summary no README shows, and a revision this repository does not have.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { z } from "zod";

import { REPOSITORY_DIR, summaryMarkdown, type ResultSummary } from "../loadtest/results";

const RESULTS_DIR = join(REPOSITORY_DIR, "docs", "results");

const machine = z.strictObject({
    cpu: z.string().min(1),
    cores: z.number().int().positive(),
    memory_gib: z.number().positive(),
    os: z.string().min(1),
    load_average: z.tuple([z.number().nonnegative(), z.number().nonnegative(), z.number().nonnegative()]),
});
const summarySchema = z.strictObject({
    title: z.string().min(1),
    about: z.string().min(1),
    runs: z
        .array(
            z.strictObject({
                key: z.string().min(1),
                command: z.string().min(1),
                date: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
                revision: z.string().regex(/^[0-9a-f]{7,40}$/),
                modified: z.boolean(),
                machine,
                figures: z.record(z.string(), z.unknown()),
            }),
        )
        .min(1),
    table: z.string().regex(/^\|.*\|$/s),
});

interface Quote {
    readme: string;
    summary: string;
    body: string;
}

function readmes(dir = REPOSITORY_DIR): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        if (entry.isDirectory()) {
            const skip = entry.name.startsWith(".") || ["node_modules", "bin", "docs"].includes(entry.name);
            return skip ? [] : readmes(join(dir, entry.name));
        }
        return entry.name === "README.md" ? [join(dir, entry.name)] : [];
    });
}

const OPENING = /<!-- results (\S+) -->/g;

export function quotesIn(readme: string, text: string): Quote[] {
    return [...text.matchAll(OPENING)].map((match) => {
        const start = match.index + match[0].length;
        const end = text.indexOf("<!-- /results -->", start);
        if (end === -1) throw new Error(`${readme}: "${match[0]}" is never closed by <!-- /results -->`);
        return { readme, summary: match[1] ?? "", body: text.slice(start, end) };
    });
}

/** Every number a text states, leaving out dates, versions and words with digits (p95, v3). */
export function numbersIn(text: string): string[] {
    const plain = text
        .replace(/`[^`]*`/g, " ")
        .replace(/\]\([^)]*\)/g, "] ")
        .replace(/<!--.*?-->/gs, " ")
        .replace(/\b\d{4}-\d\d-\d\d(T[\d:]+Z)?\b/g, " ");
    return [...plain.matchAll(/(?<![\w.\-/:])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w/])|(?<![\w.\-/:])\d+(?:\.\d+)?(?![\w/.]\w)/g)].map(
        (match) => match[0],
    );
}

function numericLeaves(value: unknown): number[] {
    if (typeof value === "number") return [value];
    if (Array.isArray(value)) return value.flatMap(numericLeaves);
    if (value !== null && typeof value === "object") return Object.values(value).flatMap(numericLeaves);
    return [];
}

/** A stated number is a figure when it is some figure (or a share of one as a percentage) rounded to the places it is written with. */
export function unmatchedNumbers(text: string, summary: ResultSummary): string[] {
    const leaves = summary.runs.flatMap((run) => [...numericLeaves(run.figures), ...numericLeaves(run.machine)]);
    return numbersIn(text).filter((written) => {
        const value = Number(written.replace(/,/g, ""));
        const places = written.split(".")[1]?.length ?? 0;
        // Written with `places` decimals, it may be the figure rounded either way on a tie.
        const same = (candidate: number): boolean => Math.abs(candidate - value) <= 0.5 * 10 ** -places + 1e-9;
        return !leaves.some((leaf) => same(leaf) || same(leaf * 100));
    });
}

function loadSummary(path: string): ResultSummary {
    return summarySchema.parse(JSON.parse(readFileSync(path, "utf8")));
}

const quotes = readmes().flatMap((readme) => quotesIn(relative(REPOSITORY_DIR, readme), readFileSync(readme, "utf8")));
const summaries = existsSync(RESULTS_DIR) ? readdirSync(RESULTS_DIR).filter((name) => name.endsWith(".json")) : [];

describe("committed result summaries", () => {
    it("exist, and the READMEs quote them", () => {
        expect(summaries.length).toBeGreaterThan(0);
        expect(quotes.length).toBeGreaterThan(0);
    });

    it.each(summaries)("%s is well formed, its .md is made from it, its table's numbers are its figures", (name) => {
        const summary = loadSummary(join(RESULTS_DIR, name));
        const markdown = join(RESULTS_DIR, name.replace(/\.json$/, ".md"));
        expect(existsSync(markdown)).toBe(true);
        expect(readFileSync(markdown, "utf8")).toBe(summaryMarkdown(summary));
        expect(unmatchedNumbers(summary.table, summary)).toEqual([]);
        expect(new Set(summary.runs.map((run) => run.key)).size).toBe(summary.runs.length);
    });

    it.each(summaries)("%s was measured on a revision of this repository", (name) => {
        for (const run of loadSummary(join(RESULTS_DIR, name)).runs) {
            expect(() => execFileSync("git", ["cat-file", "-e", `${run.revision}^{commit}`], { cwd: REPOSITORY_DIR, stdio: "pipe" })).not.toThrow();
        }
    });

    it.each(summaries)("%s is quoted by a README", (name) => {
        expect(quotes.map((quote) => quote.summary)).toContain(`docs/results/${name}`);
    });
});

// (With no quote at all, the first test above fails; jest refuses an empty table here.)
const quoteTable = quotes.map((quote) => [`${quote.readme} quoting ${quote.summary}`, quote] as const);
if (quoteTable.length > 0) describe.each(quoteTable)("%s", (_, quote) => {
    const path = resolve(REPOSITORY_DIR, quote.summary);

    it("names a summary that exists, and links its .md", () => {
        expect(quote.summary).toMatch(/^docs\/results\/[\w.-]+\.json$/);
        expect(existsSync(path)).toBe(true);
        const link = relative(dirname(join(REPOSITORY_DIR, quote.readme)), path.replace(/\.json$/, ".md"));
        expect(quote.body).toContain(`](${link})`);
    });

    it("shows the summary's table as it is, when it shows a table", () => {
        // A quote may be prose alone; any table in it must be the summary's, whole.
        if (/^\|/m.test(quote.body)) expect(quote.body).toContain(loadSummary(path).table);
    });

    it("states no number that is not one of the summary's figures", () => {
        const summary = loadSummary(path);
        expect(unmatchedNumbers(quote.body.replace(summary.table, ""), summary)).toEqual([]);
    });
});

describe("the figure reading itself", () => {
    const summary: ResultSummary = {
        title: "t",
        about: "a",
        table: "| x |",
        runs: [
            {
                key: "k",
                command: "c",
                date: "2026-12-07T12:00:00Z",
                revision: "abcdef1",
                modified: false,
                machine: { cpu: "x", cores: 2, memory_gib: 23.5, os: "y", load_average: [0.5, 1, 1.25] },
                figures: { p95_ms: 194.83, requests: 14529, error_rate: 0.0048, rounds: [29.04, 30.1] },
            },
        ],
    };

    it("finds the numbers of prose, not those of dates, code, links or words", () => {
        expect(numbersIn("p95 194.8 ms on 2026-12-02 (`--users 50`), [x](../a/b1.md), 14,529 requests, 0.48 % and v3")).toEqual(["194.8", "14,529", "0.48"]);
    });

    it("matches numbers as they are rounded, and percentages of shares", () => {
        expect(unmatchedNumbers("194.8 ms, 195 ms, 14,529, 0.48 %, 29.0 s, 30.1 s, 2 cores, load 1.25", summary)).toEqual([]);
        expect(unmatchedNumbers("194.9 ms, 14,528 requests, 0.6 %, 31 s", summary)).toEqual(["194.9", "14,528", "0.6", "31"]);
    });
});
