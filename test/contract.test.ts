// The chart carries the contract's facts as the defaults of its values: values.yaml and the
// `default`s of values.schema.json must say what components/contract.ts says.
import { readFileSync } from "node:fs";
import * as path from "node:path";

import * as yaml from "js-yaml";

import { DB_POOL_SIZE, EPHEMERAL_STORAGE, MONITORING, REVISION_HISTORY_LIMIT, SCRATCH_VOLUME_SIZE_LIMIT, SETTING_DEFAULTS, WORKLOADS } from "../components/contract";
import { parseLabelSelector } from "../stacks/config";
import { CHART_DIR } from "./chart/render";

type Json = Record<string, any>;

const values = yaml.load(readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8")) as Json;
const schema = JSON.parse(readFileSync(path.join(CHART_DIR, "values.schema.json"), "utf8")) as Json;

/** The chart's values the contract decides, as the contract states them. */
function contractValues(): Json {
    const workload = (name: "backend" | "frontend") => ({
        port: WORKLOADS[name].port,
        probes: WORKLOADS[name].probes,
        resources: {
            requests: { ...SETTING_DEFAULTS.resources[name].requests, "ephemeral-storage": EPHEMERAL_STORAGE.requests },
            limits: { ...SETTING_DEFAULTS.resources[name].limits, "ephemeral-storage": EPHEMERAL_STORAGE.limits },
        },
        autoscaling: { minReplicas: SETTING_DEFAULTS.minReplicas, maxReplicas: SETTING_DEFAULTS.maxReplicas, targetCPUUtilizationPercentage: SETTING_DEFAULTS.cpuTargetUtilization },
    });
    return {
        revisionHistoryLimit: REVISION_HISTORY_LIMIT,
        scratchVolumeSizeLimit: SCRATCH_VOLUME_SIZE_LIMIT,
        backend: workload("backend"),
        frontend: { ...workload("frontend"), metricsPort: WORKLOADS.frontend.metrics.port, service: { nodePort: SETTING_DEFAULTS.nodePort } },
        config: {
            webConcurrency: SETTING_DEFAULTS.webConcurrency,
            jwtExpireMinutes: SETTING_DEFAULTS.jwtExpireMinutes,
            dbPoolSize: DB_POOL_SIZE,
            passwordHashConcurrency: SETTING_DEFAULTS.passwordHashConcurrency,
        },
        monitoring: {
            enabled: false,
            scrapeInterval: MONITORING.scrapeInterval,
            prometheus: { namespace: MONITORING.prometheus.namespace, podLabels: parseLabelSelector(MONITORING.prometheus.podSelector) },
        },
    };
}

/** Every [path, value] leaf of a JSON value, objects walked, arrays and scalars as leaves. */
function leaves(value: unknown, at: string[] = []): [string[], unknown][] {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        return Object.entries(value).flatMap(([key, child]) => leaves(child, [...at, key]));
    }
    return [[at, value]];
}

const valueAt = (root: unknown, at: string[]): unknown => at.reduce<unknown>((node, key) => (node as Json | undefined)?.[key], root);

/** Every `default` the schema declares, with the values path it belongs to. */
function schemaDefaults(node: Json, at: string[] = []): [string[], unknown][] {
    const own: [string[], unknown][] = "default" in node ? [[at, node.default]] : [];
    const children = Object.entries((node.properties ?? {}) as Record<string, Json>).flatMap(([key, child]) => schemaDefaults(child, [...at, key]));
    return [...own, ...children];
}

test("values.yaml holds the contract's facts and defaults", () => {
    const differences = leaves(contractValues())
        .filter(([at, expected]) => JSON.stringify(valueAt(values, at)) !== JSON.stringify(expected))
        .map(([at, expected]) => `${at.join(".")}: values.yaml has ${JSON.stringify(valueAt(values, at))}, the contract ${JSON.stringify(expected)}`);
    expect(differences).toEqual([]);
});

test("every default of values.schema.json is values.yaml's value", () => {
    const defaults = schemaDefaults(schema);
    expect(defaults.length).toBeGreaterThanOrEqual(9);
    const differences = defaults
        .filter(([at, declared]) => JSON.stringify(valueAt(values, at)) !== JSON.stringify(declared))
        .map(([at, declared]) => `${at.join(".")}: schema default ${JSON.stringify(declared)}, values.yaml ${JSON.stringify(valueAt(values, at))}`);
    expect(differences).toEqual([]);
});
