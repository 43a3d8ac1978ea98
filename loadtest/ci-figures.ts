// `.ci/run`'s own times, for its committed summary docs/results/ci-run.json: called by .ci/run once
// every section passed, with the load average it read when it started and each section's seconds.
//
//   tsx loadtest/ci-figures.ts --key "toolchain cached" --load "0.52 0.61 0.70" --started ISO --queue 2900 \
//       "npm ci=12" "npm test=409" ...
//
// --queue: the wall seconds of the build queue, which runs beside the sections from the start (so
// it is not added to their total).
import { describeMachine, figure, markdownTable, recordResult, type ResultRun } from "./results";

interface Section {
    name: string;
    seconds: number;
}

function usage(message: string): never {
    process.stderr.write(`ci-figures: ${message}\nusage: tsx loadtest/ci-figures.ts --key KEY --load "1m 5m 15m" --started ISO --queue SECONDS "SECTION=SECONDS"...\n`);
    process.exit(2);
}

function parse(args: string[]): { key: string; load: [number, number, number]; started: string; queueSeconds: number; sections: Section[] } {
    let key: string | undefined;
    let queueSeconds = Number.NaN;
    let load: number[] = [];
    let started: string | undefined;
    const sections: Section[] = [];
    const remaining = [...args];
    for (let arg = remaining.shift(); arg !== undefined; arg = remaining.shift()) {
        if (arg === "--key") key = remaining.shift();
        else if (arg === "--load") load = (remaining.shift() ?? "").split(/\s+/).map(Number);
        else if (arg === "--started") started = remaining.shift();
        else if (arg === "--queue") queueSeconds = Number(remaining.shift());
        else {
            const match = /^(.+)=(\d+)$/.exec(arg);
            if (match?.[1] === undefined || match[2] === undefined) usage(`not a SECTION=SECONDS pair: ${arg}`);
            sections.push({ name: match[1], seconds: Number(match[2]) });
        }
    }
    const [one, five, fifteen] = load;
    if (key === undefined || key === "") usage("--key is required");
    if (one === undefined || five === undefined || fifteen === undefined || load.length !== 3 || load.some(Number.isNaN)) usage("--load takes the three numbers of /proc/loadavg");
    if (started === undefined || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(started)) usage("--started takes the UTC time the run started, as 2026-12-07T12:00:00Z");
    if (!Number.isInteger(queueSeconds) || queueSeconds < 0) usage("--queue takes the build queue's wall seconds");
    if (sections.length === 0) usage("no section given");
    return { key, load: [one, five, fifteen], started, queueSeconds, sections };
}

function ciTable(runs: readonly ResultRun[]): string {
    const rows = runs.flatMap((run) => {
        const figures = run.figures as { sections: Section[]; totalSeconds: number; totalMinutes: number; buildQueueSeconds?: number };
        const queue = figures.buildQueueSeconds === undefined ? [] : [[`\`${run.key}\``, "build queue, beside the sections from the start (not added)", figure(figures.buildQueueSeconds, 0)]];
        return [
            ...figures.sections.map((section) => [`\`${run.key}\``, section.name, figure(section.seconds, 0)]),
            ...queue,
            [`\`${run.key}\``, "in all", `${figure(figures.totalSeconds, 0)} (${figure(figures.totalMinutes)} min)`],
        ];
    });
    return markdownTable(["Run", "Section", "Seconds"], rows, [false, false, true]);
}

const { key, load, started, queueSeconds, sections } = parse(process.argv.slice(2));
const totalSeconds = sections.reduce((sum, section) => sum + section.seconds, 0);
const file = recordResult({
    name: "ci-run",
    title: "`.ci/run` on a clean clone",
    about:
        "`git clone` of the repository, then `bash .ci/run` in the clone: system packages, `npm ci`, the README's test command (`npm test`) and the end-to-end suite (`npm run test:e2e`); from the start, one build queue builds every long build of the run beside them (`local-cluster/toolchain --tests`, the base images' root filesystems, the toolchain, then `--suite` while the e2e suite starts). A run is keyed by whether the offline toolchain was already cached when it started. The load average is the machine's when the run started.",
    run: {
        key,
        command: "bash .ci/run",
        date: started,
        machine: { ...describeMachine(), load_average: load },
        figures: { sections, totalSeconds, totalMinutes: Number((totalSeconds / 60).toFixed(1)), buildQueueSeconds: queueSeconds },
    },
    table: ciTable,
});
process.stdout.write(`committed summary: ${file}\n`);
