// What the launcher (e2e/run.ts) hands to the paths: the target cluster and the run's folders.
// The launcher writes it as JSON and names the file in E2E_RUN_FILE; the paths read it.
import { readFileSync } from "node:fs";

// main stops the cluster (it runs the README's main command on a fresh machine's state): last.
export const PATH_NAMES = ["errors", "dev", "prod", "chart", "main"] as const;
export type PathName = (typeof PATH_NAMES)[number];

export interface Target {
    /** "offline": the cluster of local-cluster/cluster; "context": a kube context of the user's. */
    kind: "offline" | "context";
    /** The kube context's name (context mode). */
    contextName?: string;
    /** Settings every stack gets on top of its stack file (e.g. reachable base images). */
    stackSettings: Record<string, string>;
    /** The in-cluster database's image (dev, chart) and the prod path's Neon stand-in. */
    postgresImage: string;
    /** Where the node's NodePorts answer. */
    nodeAddress: string;
    /** The prod path's image repository (host[:port]/namespace) and a user:password file for it. */
    prodRepository?: string;
    prodCredentialsFile?: string;
    /** How long the backend's HPA may take to scale back down after a load. */
    hpaDownSeconds: number;
    /** An ingress controller: its class and its https host:port (none: the Ingress is not exercised). */
    ingress?: { className: string; address: string };
    /** The command that gets local builds onto the node, given the image names (none: they are there already). */
    loadImagesCommand: string[];
}

export interface RunInfo {
    target: Target;
    /** The repository checkout. */
    rootDir: string;
    /** Throwaway files of this run (certificates, state). */
    workDir: string;
    /** Where failed checks leave what they saw, one folder per path and check. */
    diagnosticsDir: string;
    /** Where each path writes its check results (PATH.json). */
    resultsDir: string;
}

export const RUN_FILE_VARIABLE = "E2E_RUN_FILE";

export function readRunInfo(): RunInfo {
    const file = process.env[RUN_FILE_VARIABLE];
    if (!file) throw new Error(`${RUN_FILE_VARIABLE} is not set: run the suite with npm run test:e2e`);
    return JSON.parse(readFileSync(file, "utf8")) as RunInfo;
}

/** A path's results, as its harness writes them and the launcher reads them. */
export interface PathResults {
    path: PathName;
    declaredChecks: number;
    checks: { name: string; status: "passed" | "skipped" | "failed" | "not run"; seconds: number; detail?: string }[];
    times: { label: string; seconds: number }[];
}
