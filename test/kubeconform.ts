// Strict OpenAPI validation of manifests, offline: kubeconform in strict mode (an unknown or
// misspelled field is an error) against the Kubernetes JSON schemas, both prepared by the
// chart's tools script into the cache, as the chart tests use them.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import { CHART_DIR, KUBERNETES_VERSION } from "./chart/render";

export interface Kubeconform {
    bin: string;
    schemaDir: string;
}

function tool(name: "kubeconform" | "schemas"): string {
    const output = execFileSync("bash", [path.join(CHART_DIR, "tests", "tools.sh"), name], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const last = output.trim().split("\n").pop();
    if (!last) {
        throw new Error(`helm/todo-app/tests/tools.sh ${name} printed no path`);
    }
    return last;
}

/** kubeconform and the schemas, built or prepared on a cold machine (minutes, once). */
export function ensureKubeconform(): Kubeconform {
    return { bin: tool("kubeconform"), schemaDir: tool("schemas") };
}

interface KubeconformResource {
    kind: string;
    name: string;
    status: string;
    msg?: string;
}

/** Every manifest that is not valid, as "Kind/name: message"; empty when all are. */
export function invalidManifests(kubeconform: Kubeconform, manifests: object[]): string[] {
    const folder = mkdtempSync(path.join(tmpdir(), "todo-manifests-"));
    try {
        const file = path.join(folder, "manifests.yaml");
        // JSON is YAML, and it takes any object, whichever module registry made it.
        writeFileSync(file, manifests.map((manifest) => JSON.stringify(manifest)).join("\n---\n"));
        const schemaLocation = `${kubeconform.schemaDir}/{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json`;
        const result = spawnSync(kubeconform.bin, ["-strict", "-verbose", "-output", "json", "-kubernetes-version", KUBERNETES_VERSION, "-schema-location", schemaLocation, file], {
            encoding: "utf8",
        });
        const report = JSON.parse(result.stdout) as { resources: KubeconformResource[] };
        if (report.resources.length !== manifests.length) {
            throw new Error(`kubeconform saw ${String(report.resources.length)} of ${String(manifests.length)} manifests: ${result.stderr}`);
        }
        return report.resources.filter((resource) => resource.status !== "statusValid").map((resource) => `${resource.kind}/${resource.name}: ${resource.status} ${resource.msg ?? ""}`);
    } finally {
        rmSync(folder, { recursive: true, force: true });
    }
}
