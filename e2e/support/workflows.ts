// The GitHub workflows' Pulumi step, run here as GitHub would run it: the pulumi/actions step's
// inputs turned into the command line pulumi/actions v6 hands the CLI (through the Automation
// API of @pulumi/pulumi), run in the program's copy, its engine events read back. What a step's
// inputs become was read in the action's sources (src/config.ts, src/main.ts at v6.6.1) and the
// Automation API's (automation/stack.ts, cmd.ts).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { EngineEvent } from "@pulumi/pulumi/automation";
import * as yaml from "js-yaml";

import { run } from "../../local-cluster/shell";
import { describeUrn, print } from "./stack";

type Inputs = Record<string, unknown>;

/** A scalar input as the action reads it (getInput: a string; YAML may give a boolean or a number). */
function scalarInput(value: unknown): string {
    if (value === undefined || value === null) return "";
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
    throw new Error(`pulumi/actions input ${JSON.stringify(value)} is not a scalar`);
}

/** Inputs that become flags, and the flags each becomes. */
const FLAG_INPUTS: Record<string, (value: unknown) => string[]> = {
    diff: (value) => (value === true ? ["--diff"] : []),
    refresh: (value) => (value === true ? ["--refresh"] : []),
    "expect-no-changes": (value) => (value === true ? ["--expect-no-changes"] : []),
    // A multiline input; each line may hold several entries separated by commas.
    policyPacks: (value) => listInput(value).flatMap((pack) => ["--policy-pack", pack]),
    policyPackConfigs: (value) => listInput(value).flatMap((file) => ["--policy-pack-config", file]),
};

/** Inputs that change no flag: the CLI version downloaded, the pull-request comment, the token for it. */
const NO_FLAG_INPUTS = new Set(["command", "stack-name", "pulumi-version", "comment-on-pr", "github-token"]);

/** The commands whose command line this module knows (the three workflows use these). */
const COMMANDS = new Set(["preview", "up", "destroy"]);

function listInput(value: unknown): string[] {
    return scalarInput(value)
        .split(/\r?\n/)
        .flatMap((line) => line.split(","))
        .map((entry) => entry.trim())
        .filter((entry) => entry !== "");
}

/** The `with:` of the pulumi/actions step of a workflow file. */
export function pulumiStepInputs(workflowFile: string): Inputs {
    const workflow = yaml.load(readFileSync(workflowFile, "utf8")) as { jobs?: Record<string, { steps?: { uses?: string; with?: Inputs }[] }> };
    const steps = Object.values(workflow.jobs ?? {}).flatMap((job) => job.steps ?? []).filter((step) => String(step.uses).startsWith("pulumi/actions@"));
    if (steps.length !== 1) throw new Error(`${workflowFile}: expected one pulumi/actions step, found ${steps.length}`);
    return steps[0]?.with ?? {};
}

export interface WorkflowCommand {
    /** The pulumi CLI's arguments, in the Automation API's order (the event log's path added when run). */
    args: string[];
    command: string;
    stack: string;
}

/**
 * The command line pulumi/actions v6 runs for these inputs. An input this function does not know
 * is refused, so a workflow that gains one fails the check instead of being run differently.
 */
export function workflowCommand(inputs: Inputs): WorkflowCommand {
    const command = scalarInput(inputs.command);
    const stack = scalarInput(inputs["stack-name"]);
    if (!COMMANDS.has(command)) throw new Error(`pulumi/actions command ${JSON.stringify(command)}: this check knows ${[...COMMANDS].join(", ")}`);
    if (stack === "" || stack.includes("${{")) throw new Error(`pulumi/actions stack-name ${JSON.stringify(stack)}: a fixed stack name is needed here`);
    const unknown = Object.keys(inputs).filter((name) => !(name in FLAG_INPUTS) && !NO_FLAG_INPUTS.has(name));
    if (unknown.length > 0) throw new Error(`pulumi/actions inputs this check cannot turn into the action's command line: ${unknown.join(", ")}`);
    const flags = Object.entries(FLAG_INPUTS).flatMap(([name, toFlags]) => (name in inputs ? toFlags(inputs[name]) : []));
    // The Automation API's order: the command (up runs without its own preview, confirmed),
    // the options, the agent, the colour, the kind of run, then the stack, non-interactive.
    // Colour: the action leaves it at auto; never here, so that the output reads as text.
    const args = [
        command,
        ...(command === "preview" ? [] : ["--yes", "--skip-preview"]),
        ...flags,
        "--exec-agent",
        "pulumi/actions@v6",
        "--color",
        "never",
        "--exec-kind",
        "auto.local",
    ];
    return { args, command, stack };
}

export interface WorkflowRun {
    /** The full command line run. */
    commandLine: string;
    status: number | null;
    output: string;
    events: EngineEvent[];
}

/** Runs a workflow's command in the program's copy; the event log goes to a folder of its own, removed after. */
export async function runWorkflowCommand(projectDir: string, command: WorkflowCommand, timeoutSeconds: number): Promise<WorkflowRun> {
    const logDir = mkdtempSync(join(tmpdir(), "workflow-events-"));
    const eventLog = join(logDir, "eventlog.txt");
    try {
        const args = [...command.args, "--event-log", eventLog, "--stack", command.stack, "--non-interactive"];
        // The variables the Automation API sets for every command (the event log needs the first).
        const env = { PULUMI_DEBUG_COMMANDS: "true", PULUMI_AUTOMATION_API: "true" };
        const result = await run("pulumi", args, { cwd: projectDir, timeoutSeconds, env });
        const events = readFileSync(eventLog, "utf8")
            .split("\n")
            .filter((line) => line.trim() !== "")
            .map((line) => JSON.parse(line) as EngineEvent);
        return { commandLine: result.command, status: result.status, output: `${result.stdout}${result.stderr}`, events };
    } finally {
        rmSync(logDir, { recursive: true, force: true });
    }
}

/** A policy event as the engine logs it (the Automation API's type lacks the summaries). */
interface PolicyDiagnostic {
    policyName: string;
    policyPackName: string;
    enforcementLevel: string;
    message: string;
    resourceUrn?: string;
}
interface PolicySummary {
    resourceUrn?: string;
    policyPackName: string;
    policyPackVersion: string;
    passed?: string[];
    failed?: string[];
}
interface PolicyEvents {
    policyEvent?: PolicyDiagnostic;
    policyAnalyzeSummaryEvent?: PolicySummary;
    policyAnalyzeStackSummaryEvent?: PolicySummary;
}

/** What @pulumi/policy reports, as an advisory, for a policy that met a value unknown in a preview. */
const COULD_NOT_RUN = /^can't run policy '([^']+)'/;

export interface PolicyReport {
    /** name@version of each pack that reported. */
    packs: string[];
    /** Each policy's name, with the objects it checked and passed (the stack, for a stack policy). */
    passed: Map<string, string[]>;
    /** Policies that could not run on an object: policy, object (type::name), message. */
    couldNotRun: { policy: string; object: string; message: string }[];
    /** Violations: policy, object, enforcement level, message. */
    violations: { policy: string; object: string; level: string; message: string }[];
}

/** A message without the engine's colour markup (<{%fg 1%}> and the like). */
const plain = (text: string): string => text.replace(/<\{%[^%]*%\}>/g, "").trim();

/** What a stack policy's summary is about. */
const STACK = "the stack";

/** type::name of a URN; STACK for none. */
const objectOf = (urn: string | undefined): string => {
    if (!urn) return STACK;
    const { type, name } = describeUrn(urn);
    return `${type}::${name}`;
};

/** What one pack's policies did in a run, from the engine's policy events and summaries. */
export function policyReport(events: EngineEvent[], packName: string): PolicyReport {
    const report: PolicyReport = { packs: [], passed: new Map(), couldNotRun: [], violations: [] };
    for (const event of events as PolicyEvents[]) {
        const summary = event.policyAnalyzeSummaryEvent ?? event.policyAnalyzeStackSummaryEvent;
        if (summary?.policyPackName === packName) {
            const pack = `${summary.policyPackName}@v${summary.policyPackVersion}`;
            if (!report.packs.includes(pack)) report.packs.push(pack);
            for (const policy of summary.passed ?? []) report.passed.set(policy, [...(report.passed.get(policy) ?? []), objectOf(summary.resourceUrn)]);
        }
        const diagnostic = event.policyEvent;
        if (diagnostic?.policyPackName !== packName) continue;
        const object = objectOf(diagnostic.resourceUrn);
        const message = plain(diagnostic.message);
        if (COULD_NOT_RUN.test(message)) report.couldNotRun.push({ policy: diagnostic.policyName, object, message });
        else report.violations.push({ policy: diagnostic.policyName, object, level: diagnostic.enforcementLevel, message });
    }
    return report;
}

/** A policy that may be unable to run in a preview, on one object, and why (policy/preview-exemptions.yaml). */
export interface PreviewExemption {
    policy: string;
    object: string;
    reason: string;
}

export function readPreviewExemptions(file: string): PreviewExemption[] {
    const entries = (yaml.load(readFileSync(file, "utf8")) as Partial<PreviewExemption>[] | null) ?? [];
    for (const entry of entries) {
        if (!entry.policy || !entry.object || !entry.reason?.trim()) throw new Error(`${file}: every entry needs a policy, an object (type::name) and a reason: ${JSON.stringify(entry)}`);
    }
    return entries as PreviewExemption[];
}

/**
 * What is wrong with a run's policy report: a policy of the pack that passed nothing, one that
 * could not run where no exemption says why, an exemption nothing needed, any violation.
 */
export function policyProblems(report: PolicyReport, policyNames: string[], exemptions: PreviewExemption[]): string[] {
    const problems: string[] = [];
    if (report.packs.length === 0) problems.push("no policy summary from the pack: it did not run");
    // The engine counts a policy as passed on any object it did not fail, the stack resource and
    // the images included: only a Kubernetes object, or the stack's summary for a stack policy,
    // shows that the policy looked at something it checks.
    const checked = (object: string): boolean => object.startsWith("kubernetes:") || object === STACK;
    for (const name of policyNames) {
        if (!(report.passed.get(name) ?? []).some(checked)) problems.push(`policy ${name} passed on no Kubernetes object`);
    }
    const exempted = (policy: string, object: string): boolean => exemptions.some((entry) => entry.policy === policy && entry.object === object);
    for (const entry of report.couldNotRun) {
        if (!exempted(entry.policy, entry.object)) problems.push(`policy ${entry.policy} could not run on ${entry.object}: ${entry.message}`);
    }
    for (const entry of exemptions) {
        if (!report.couldNotRun.some((seen) => seen.policy === entry.policy && seen.object === entry.object)) problems.push(`exemption no longer needed: ${entry.policy} on ${entry.object}`);
    }
    for (const entry of report.violations) problems.push(`[${entry.level}] ${entry.policy} (${entry.object}): ${entry.message}`);
    return problems;
}

/** Runs the Pulumi step of .github/workflows/FILE (the program copy's) in the copy, printing what it printed. */
export async function runWorkflowStep(projectDir: string, file: string, timeoutSeconds: number): Promise<WorkflowRun> {
    const command = workflowCommand(pulumiStepInputs(join(projectDir, ".github", "workflows", file)));
    const result = await runWorkflowCommand(projectDir, command, timeoutSeconds);
    print(`$ ${result.commandLine}\n${result.output}\n(exit status ${result.status})\n`);
    return result;
}

/** The inputs a run planned for an object (type::name), as its step's event holds them. */
export function plannedInputs(events: EngineEvent[], object: string): Record<string, unknown> | undefined {
    const metadata = events.map((event) => event.resourcePreEvent?.metadata).find((found) => found !== undefined && objectOf(found.urn) === object);
    return metadata?.new?.inputs;
}

/** The image a run planned for a container of an object (type::name). */
export function plannedImage(events: EngineEvent[], object: string, container: string): string | undefined {
    const spec = (plannedInputs(events, object) as { spec?: { template?: { spec?: { containers?: { name?: string; image?: string }[] } } } } | undefined)?.spec;
    return spec?.template?.spec?.containers?.find((entry) => entry.name === container)?.image;
}
