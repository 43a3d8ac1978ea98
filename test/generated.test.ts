// Pulumi.yaml's config block and the chart's defaults and bounds are copies of the stack schema and
// the app's contract, written by `npm run generate`: a copy edited by hand, or a source changed
// without regenerating, fails here.
import { readFileSync } from "node:fs";
import * as path from "node:path";

import * as yaml from "js-yaml";

import { chartFacts, generatedFiles, renderPulumiYaml, renderValuesSchema, renderValuesYaml, ROOT_DIR } from "../stacks/generate";
import { CONFIG_KEYS, settingMeta } from "../stacks/schema";

const CHART_DIR = path.join(ROOT_DIR, "helm", "todo-app");
const read = (file: string): string => readFileSync(file, "utf8");

test.each(generatedFiles().map(({ file, render }) => [path.relative(ROOT_DIR, file), file, render] as const))("%s is up to date (npm run generate)", (_name, file, render) => {
    const current = read(file);
    expect(render(current)).toBe(current);
});

test("every key with a chart value, and every contract fact, reaches values.yaml", () => {
    const facts = chartFacts();
    const chartKeys = CONFIG_KEYS.filter((key) => settingMeta(key).chart !== undefined);
    // The settings both interfaces share: replicas, resources, autoscaling, app config, storage, ingress, monitoring.
    expect(chartKeys.length).toBeGreaterThanOrEqual(20);
    const values = yaml.load(read(path.join(CHART_DIR, "values.yaml")));
    const valueAt = (dotted: string): unknown => dotted.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], values);
    expect(facts.filter((fact) => JSON.stringify(valueAt(fact.path)) !== JSON.stringify(fact.value)).map((fact) => fact.path)).toEqual([]);
    expect(facts.map((fact) => fact.path)).toEqual(expect.arrayContaining(["backend.autoscaling.minReplicas", "terminationGracePeriodSeconds", "preStopPauseSeconds", "migration.backoffLimit", "database.port"]));
});

describe("a changed source changes every copy", () => {
    // As if both workloads' todo:*MinReplicas said default 3, from 2 to 40.
    const facts = chartFacts().map((fact) => (fact.path.endsWith(".autoscaling.minReplicas") ? { ...fact, value: 3, bounds: { minimum: 2, maximum: 40 } } : fact));

    test("values.yaml takes the new default, and keeps its comments", () => {
        const current = read(path.join(CHART_DIR, "values.yaml"));
        const rendered = renderValuesYaml(current, facts);
        expect((yaml.load(rendered) as { backend: { autoscaling: { minReplicas: number } } }).backend.autoscaling.minReplicas).toBe(3);
        expect(rendered.split("\n").filter((line) => line.trimStart().startsWith("#"))).toEqual(current.split("\n").filter((line) => line.trimStart().startsWith("#")));
    });

    test("values.schema.json takes the new bounds on the definition both workloads share", () => {
        const schema = JSON.parse(renderValuesSchema(read(path.join(CHART_DIR, "values.schema.json")), facts)) as { definitions: { autoscaling: { properties: { minReplicas: object } } } };
        expect(schema.definitions.autoscaling.properties.minReplicas).toMatchObject({ minimum: 2, maximum: 40 });
    });

    test("two settings sharing a definition with different bounds are refused", () => {
        const clash = chartFacts().map((fact) => (fact.path === "frontend.autoscaling.minReplicas" ? { ...fact, bounds: { minimum: 3, maximum: 50 } } : fact));
        expect(() => renderValuesSchema(read(path.join(CHART_DIR, "values.schema.json")), clash)).toThrow(/share a definition but not their minimum/);
    });

    test("a value the chart does not declare is refused, naming where to declare it", () => {
        const unknown = [...chartFacts(), { path: "backend.drainSeconds", value: 5 }];
        expect(() => renderValuesYaml(read(path.join(CHART_DIR, "values.yaml")), unknown)).toThrow("values.yaml has no backend.drainSeconds: declare it there");
        expect(() => renderValuesSchema(read(path.join(CHART_DIR, "values.schema.json")), unknown)).toThrow("values.schema.json has no backend.drainSeconds: declare it there");
    });

    test("Pulumi.yaml declares each key with the schema's type, description and default, and nothing else", () => {
        const declared = (yaml.load(renderPulumiYaml("name: todo\nconfig:\n  todo:gone:\n    type: string\n")) as { config: Record<string, { type: string; default: unknown }> }).config;
        expect(Object.keys(declared)).toEqual(CONFIG_KEYS.map((key) => `todo:${key}`));
        expect(declared["todo:backendMinReplicas"]).toEqual({ type: "integer", description: "HPA minimum for the backend.", default: 1 });
        expect(declared["todo:databaseEgressCidrs"]).toEqual({ type: "array", items: { type: "string" }, description: expect.any(String), default: ["0.0.0.0/0"] });
    });
});

test("the chart README's values table gives values.yaml's defaults", () => {
    const values = yaml.load(read(path.join(CHART_DIR, "values.yaml")));
    const valueAt = (dotted: string): unknown => dotted.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], values);
    // How the table writes a default: "" for an empty string, [a, b] for a list, name: value for a map.
    const written = (value: unknown): string => {
        if (Array.isArray(value)) return `[${value.join(", ")}]`;
        if (value !== null && typeof value === "object") return Object.entries(value).map(([name, item]) => `${name}: ${String(item)}`).join(", ");
        return value === "" ? '""' : String(value);
    };
    // Rows of one key whose default is one value in backticks; object rows describe their defaults in words.
    const rows = [...read(path.join(CHART_DIR, "README.md")).matchAll(/^\| `([\w.-]+)` \| [^|]* \| `([^`]*)`(?: \([^|]*\))? \|/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(30);
    const differences = rows.filter(([, key = "", shown]) => written(valueAt(key)) !== shown).map(([, key = "", shown]) => `${key}: README ${shown}, values.yaml ${written(valueAt(key))}`);
    expect(differences).toEqual([]);
});
