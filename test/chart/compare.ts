// Object-by-object comparison of two sets of Kubernetes manifests (the native path's and the
// chart's), after normalising what is equal in meaning but spelled differently.

export type Manifest = Record<string, unknown>;

export interface Difference {
    /** Kind/name of the object. */
    object: string;
    /** Dotted path inside it ("" when the object exists on one side only). */
    path: string;
    native: unknown;
    chart: unknown;
}

/** A difference the parity test accepts, with the reason it is right. */
export interface Allowance {
    object: RegExp;
    path: RegExp;
    why: string;
    /** Scenarios it applies to; all when absent. */
    scenarios?: string[];
    /** Narrows it to the differences this accepts; any at the path when absent. */
    accepts?: (difference: Difference) => boolean;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

export const objectKey = (manifest: Manifest): string => {
    const metadata = manifest.metadata as { name?: string } | undefined;
    return `${String(manifest.kind)}/${String(metadata?.name)}`;
};

/**
 * A label selector as the set of requirements it states: {key: allowed values}.
 * `matchLabels: {a: x}` and `matchExpressions: [{key: a, operator: In, values: [x]}]` select the same pods.
 */
function canonicalSelector(selector: unknown): Record<string, string[]> {
    if (!isRecord(selector)) {
        return {};
    }
    const requirements: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(isRecord(selector.matchLabels) ? selector.matchLabels : {})) {
        requirements[key] = [String(value)];
    }
    for (const expression of Array.isArray(selector.matchExpressions) ? (selector.matchExpressions as Record<string, unknown>[]) : []) {
        if (expression.operator !== "In") {
            throw new Error(`selector operator ${String(expression.operator)} is not compared; extend canonicalSelector`);
        }
        requirements[String(expression.key)] = (expression.values as string[]).map(String).sort();
    }
    return requirements;
}

const SELECTOR_KEYS = new Set(["podSelector", "namespaceSelector"]);
/** Lists whose items are keyed by name: their order carries no meaning. */
const NAMED_ITEM_KEYS = new Set(["containers", "initContainers", "volumes", "volumeMounts", "env", "ports", "volumeClaimTemplates", "imagePullSecrets"]);
/** Lists of ports, where TCP is the default protocol. */
const PORT_LIST_KEYS = new Set(["ports"]);

/** The name of a list item: `name`, or `metadata.name` (volumeClaimTemplates). */
function itemName(item: unknown): string | undefined {
    if (!isRecord(item)) {
        return undefined;
    }
    const name = item.name ?? (isRecord(item.metadata) ? item.metadata.name : undefined);
    return typeof name === "string" ? name : undefined;
}

function normalise(value: unknown, key: string): unknown {
    if (SELECTOR_KEYS.has(key)) {
        return canonicalSelector(value);
    }
    if (Array.isArray(value)) {
        let items = value.map((item) => normalise(item, ""));
        if (PORT_LIST_KEYS.has(key)) {
            items = items.map((item) => (isRecord(item) && item.protocol === undefined ? { ...item, protocol: "TCP" } : item));
        }
        const names = items.map(itemName);
        if (NAMED_ITEM_KEYS.has(key) && names.every((name) => name !== undefined)) {
            items = items.map((item, index) => ({ item, name: names[index] ?? "" })).sort((a, b) => a.name.localeCompare(b.name)).map(({ item }) => item);
        }
        return items;
    }
    if (isRecord(value)) {
        const result: Record<string, unknown> = {};
        for (const [childKey, child] of Object.entries(value)) {
            if (child !== undefined && child !== null) {
                result[childKey] = normalise(child, childKey);
            }
        }
        return result;
    }
    return value;
}

/** The manifest in comparable form; a Secret's values are replaced by a marker (generated on both sides). */
export function canonical(manifest: Manifest): Record<string, unknown> {
    const copy = normalise(manifest, "") as Record<string, unknown>;
    if (copy.kind === "Secret") {
        for (const field of ["data", "stringData"]) {
            if (isRecord(copy[field])) {
                copy[field] = Object.fromEntries(Object.keys(copy[field]).map((name) => [name, "<secret value>"]));
            }
        }
    }
    return copy;
}

function diffValues(object: string, path: string, native: unknown, chart: unknown, out: Difference[]): void {
    if (isRecord(native) && isRecord(chart)) {
        for (const key of new Set([...Object.keys(native), ...Object.keys(chart)])) {
            diffValues(object, path === "" ? key : `${path}.${key}`, native[key], chart[key], out);
        }
        return;
    }
    if (Array.isArray(native) && Array.isArray(chart) && native.length === chart.length) {
        native.forEach((item, index) => {
            diffValues(object, `${path}[${String(index)}]`, item, chart[index], out);
        });
        return;
    }
    if (JSON.stringify(native) !== JSON.stringify(chart)) {
        out.push({ object, path, native, chart });
    }
}

/** Every difference between the two sets, object by object. */
export function compareManifests(native: Manifest[], chart: Manifest[]): Difference[] {
    const byKey = (manifests: Manifest[]) => new Map(manifests.map((manifest) => [objectKey(manifest), canonical(manifest)]));
    const nativeObjects = byKey(native);
    const chartObjects = byKey(chart);
    const differences: Difference[] = [];
    for (const key of [...new Set([...nativeObjects.keys(), ...chartObjects.keys()])].sort()) {
        const nativeObject = nativeObjects.get(key);
        const chartObject = chartObjects.get(key);
        if (!nativeObject || !chartObject) {
            differences.push({ object: key, path: "", native: nativeObject ? "present" : "absent", chart: chartObject ? "present" : "absent" });
        } else {
            diffValues(key, "", nativeObject, chartObject, differences);
        }
    }
    return differences;
}

/** Splits differences into those an allowance explains and the rest, recording which allowances were used. */
export function applyAllowances(differences: Difference[], allowances: Allowance[], used: Set<Allowance>): Difference[] {
    return differences.filter((difference) => {
        const allowance = allowances.find(
            (candidate) => candidate.object.test(difference.object) && candidate.path.test(difference.path) && (candidate.accepts?.(difference) ?? true),
        );
        if (allowance) {
            used.add(allowance);
            return false;
        }
        return true;
    });
}
