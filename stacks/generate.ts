// Writes the copies other files must carry of the stack schema (stacks/schema.ts) and of the app's
// contract (components/contract.ts): Pulumi.yaml's config block, and the chart's defaults and
// bounds in values.yaml and values.schema.json. Only values are written: the files' structure,
// comments and descriptions of chart-only keys stay hand-written, so a generated path that a file
// lacks is an error that says where to declare it. `npm run generate` writes them;
// test/generated.test.ts fails when a committed copy is stale.
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

import { isNode, parseDocument } from "yaml";

import { DB_POOL_SIZE, MIGRATION, MONITORING, PRE_STOP_PAUSE_SECONDS, REVISION_HISTORY_LIMIT, SCRATCH_VOLUME_SIZE_LIMIT, TERMINATION_GRACE_SECONDS, WORKLOAD_FACTS } from "../components/contract";
import { POSTGRES_PORT, POSTGRES_RESOURCES } from "../components/database";
import { CONFIG_KEYS, CONFIG_NAMESPACE, EPHEMERAL_STORAGE, rawConfigSchema, settingMeta } from "./schema";

export const ROOT_DIR = path.resolve(__dirname, "..");
const CHART_DIR = path.join(ROOT_DIR, "helm", "todo-app");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One chart value the sources decide: its dotted path, its default and, for settings, the bounds a stack accepts. */
interface ChartFact {
    path: string;
    value: Json;
    bounds?: { minimum?: number; maximum?: number; enum?: readonly string[] };
}

const toJson = (value: unknown): Json => JSON.parse(JSON.stringify(value)) as Json;

/** The contract's facts the chart carries as defaults. */
function contractFacts(): ChartFact[] {
    const workload = (name: "backend" | "frontend"): ChartFact[] => [
        { path: `${name}.port`, value: WORKLOAD_FACTS[name].port },
        ...(["startup", "liveness", "readiness"] as const).map((probe) => ({ path: `${name}.probes.${probe}`, value: toJson(WORKLOAD_FACTS[name].probes[probe]) })),
        { path: `${name}.resources.requests.ephemeral-storage`, value: EPHEMERAL_STORAGE.requests },
        { path: `${name}.resources.limits.ephemeral-storage`, value: EPHEMERAL_STORAGE.limits },
    ];
    return [
        { path: "revisionHistoryLimit", value: REVISION_HISTORY_LIMIT },
        { path: "scratchVolumeSizeLimit", value: SCRATCH_VOLUME_SIZE_LIMIT },
        { path: "terminationGracePeriodSeconds", value: TERMINATION_GRACE_SECONDS },
        { path: "preStopPauseSeconds", value: PRE_STOP_PAUSE_SECONDS },
        ...workload("frontend"),
        { path: "frontend.metricsPort", value: WORKLOAD_FACTS.frontend.metrics.port },
        ...workload("backend"),
        { path: "backend.metricsPort", value: WORKLOAD_FACTS.backend.metrics.port },
        { path: "config.dbPoolSize", value: DB_POOL_SIZE },
        { path: "migration.backoffLimit", value: MIGRATION.backoffLimit },
        { path: "migration.activeDeadlineSeconds", value: MIGRATION.activeDeadlineSeconds },
        { path: "database.port", value: POSTGRES_PORT },
        { path: "database.inCluster.resources", value: toJson(POSTGRES_RESOURCES) },
        { path: "monitoring.scrapeInterval", value: MONITORING.scrapeInterval },
    ];
}

/** The stack settings the chart takes with the same default: the parsed default, and the schema's bounds. */
function settingFacts(): ChartFact[] {
    const defaults = rawConfigSchema.parse({});
    return CONFIG_KEYS.flatMap((key) => {
        const meta = settingMeta(key);
        return (meta.chart ?? []).map((chartPath) => ({
            path: chartPath,
            value: toJson(defaults[key]),
            bounds: { minimum: meta.minimum, maximum: meta.maximum, enum: meta.values },
        }));
    });
}

export const chartFacts = (): ChartFact[] => [...contractFacts(), ...settingFacts()];

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** values.yaml with every fact's value; comments and the rest as they are. */
export function renderValuesYaml(current: string, facts: ChartFact[]): string {
    const doc = parseDocument(current);
    for (const fact of facts) {
        const at = fact.path.split(".");
        if (!doc.hasIn(at)) throw new Error(`values.yaml has no ${fact.path}: declare it there, with a comment, before generating its value`);
        const node: unknown = doc.getIn(at, true);
        // Set only what differs, so that an up-to-date file is rewritten byte for byte.
        if (!sameJson(isNode(node) ? node.toJSON() : node, fact.value)) doc.setIn(at, fact.value);
    }
    return doc.toString({ lineWidth: 0 });
}

type SchemaNode = { [key: string]: unknown; properties?: Record<string, SchemaNode>; $ref?: string };

/** values.schema.json with every fact's default (on nodes of its own) and bounds (also on shared definitions). */
export function renderValuesSchema(current: string, facts: ChartFact[]): string {
    const schema = JSON.parse(current) as SchemaNode & { definitions: Record<string, SchemaNode> };
    const boundsSetBy = new Map<SchemaNode, string>();
    for (const fact of facts) {
        let node: SchemaNode = schema;
        let shared = false;
        for (const key of fact.path.split(".")) {
            const child: SchemaNode | undefined = node.properties?.[key];
            if (child === undefined) throw new Error(`values.schema.json has no ${fact.path}: declare it there, with its type and description, before generating its default`);
            node = child;
            const ref = /^#\/definitions\/(.+)$/.exec(node.$ref ?? "")?.[1];
            if (ref !== undefined && node.properties === undefined) {
                const definition = schema.definitions[ref];
                if (definition === undefined) throw new Error(`values.schema.json: ${fact.path} refers to a missing definition ${ref}`);
                node = definition;
                shared = true;
            }
        }
        if (!shared) node.default = fact.value;
        for (const [bound, value] of Object.entries<unknown>(fact.bounds ?? {})) {
            // A setting without a bound leaves the chart's own.
            if (value === undefined) continue;
            const earlier = boundsSetBy.get(node);
            if (earlier !== undefined && !sameJson(node[bound], value)) throw new Error(`values.schema.json: ${fact.path} and ${earlier} share a definition but not their ${bound}`);
            node[bound] = value;
        }
        if (fact.bounds !== undefined) boundsSetBy.set(node, fact.path);
    }
    return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Pulumi.yaml with its config block declaring every key of the schema, in the schema's order. */
export function renderPulumiYaml(current: string): string {
    const doc = parseDocument(current);
    const declarations = Object.fromEntries(
        CONFIG_KEYS.map((key) => {
            const meta = settingMeta(key);
            return [
                `${CONFIG_NAMESPACE}:${key}`,
                { type: meta.type, ...(meta.type === "array" ? { items: { type: "string" } } : {}), description: meta.description, default: meta.default },
            ];
        }),
    );
    doc.set("config", doc.createNode(declarations));
    return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** Every generated file: where it goes, and what it must hold given what it holds now. */
export function generatedFiles(root = ROOT_DIR): { file: string; render: (current: string) => string }[] {
    const facts = chartFacts();
    return [
        { file: path.join(root, "Pulumi.yaml"), render: renderPulumiYaml },
        { file: path.join(root, path.relative(ROOT_DIR, CHART_DIR), "values.yaml"), render: (current) => renderValuesYaml(current, facts) },
        { file: path.join(root, path.relative(ROOT_DIR, CHART_DIR), "values.schema.json"), render: (current) => renderValuesSchema(current, facts) },
    ];
}

if (require.main === module) {
    for (const { file, render } of generatedFiles()) {
        const current = readFileSync(file, "utf8");
        const rendered = render(current);
        if (rendered !== current) writeFileSync(file, rendered);
        process.stdout.write(`${path.relative(ROOT_DIR, file)}: ${rendered === current ? "up to date" : "written"}\n`);
    }
}
