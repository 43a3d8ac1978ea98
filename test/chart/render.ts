// Renders helm/todo-app with the real helm (built once from the Go module proxy into the
// cache by the chart's own tools script), as `helm install` would, without a cluster.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import * as yaml from "js-yaml";

import { PROJECT_ROOT } from "../harness";

export const CHART_DIR = path.join(PROJECT_ROOT, "helm", "todo-app");
/** The cluster version the chart is rendered for (the e2e cluster's minor). */
export const KUBERNETES_VERSION = "1.34.0";

export type Manifest = Record<string, unknown>;

/** Path of helm, building it first when the cache lacks it (minutes, once per machine). */
export function ensureHelm(): string {
    const output = execFileSync("bash", [path.join(CHART_DIR, "tests", "tools.sh"), "helm"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
    });
    const helm = output.trim().split("\n").pop();
    if (!helm) {
        throw new Error("helm/todo-app/tests/tools.sh printed no path");
    }
    return helm;
}

/**
 * `helm template` of the chart in a namespace, as parsed objects.
 * @param valuesFiles the chart's own values files to apply first, e.g. values-dev.yaml
 * @param values values applied last
 */
export function renderChart(helm: string, namespace: string, valuesFiles: string[], values: unknown): Manifest[] {
    const folder = mkdtempSync(path.join(tmpdir(), "todo-chart-"));
    try {
        const valuesFile = path.join(folder, "values.json");
        writeFileSync(valuesFile, JSON.stringify(values));
        const files = [...valuesFiles.map((file) => path.join(CHART_DIR, file)), valuesFile].flatMap((file) => ["--values", file]);
        const stream = execFileSync(
            helm,
            ["template", "todo", CHART_DIR, "--namespace", namespace, ...files, "--kube-version", KUBERNETES_VERSION],
            { encoding: "utf8", env: { ...process.env, KUBECONFIG: "/dev/null" } },
        );
        return yaml.loadAll(stream).filter((doc): doc is Manifest => doc !== null && typeof doc === "object");
    } finally {
        rmSync(folder, { recursive: true, force: true });
    }
}
