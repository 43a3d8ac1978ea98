// Trivy's configuration checks and kube-score over both deploy paths' manifests (the native path
// as the program registers them, the chart as `helm template` renders it, each for dev and prod)
// and Trivy's Dockerfile checks over both images' Dockerfiles. Both scanners are built from the
// Go module proxy into the cache (test/tools/scanners.sh). No Trivy finding may be high or
// critical; every other finding must be listed, with its reason, in test/scanner-findings.yaml
// (a kube-score CRITICAL grade only with a reason that says so), and every entry there must still
// be needed.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import * as yaml from "js-yaml";

import { splitImageRef } from "../components/chart-app";
import { ensureHelm, KUBERNETES_VERSION, renderChart } from "./chart/render";
import { manifests, type ProgramRun, PROJECT_ROOT, runProgram } from "./harness";

/** An accepted finding: a scanner's check, optionally only on some objects or files, and why. */
interface Accepted {
    check: string;
    where?: string;
    reason: string;
}

interface FindingsFile {
    trivy: Accepted[];
    "kube-score": Accepted[];
}

/** One finding of either scanner, reduced to what the findings file matches. */
interface Finding {
    scanner: keyof FindingsFile;
    check: string;
    severity: string;
    /** The object (Kind/name) or Dockerfile it is about, with the manifest set it came from. */
    where: string;
    message: string;
}

const FINDINGS_FILE = path.join(PROJECT_ROOT, "test", "scanner-findings.yaml");
const PROD_SETTINGS = {
    // Prod with every optional object: the pull Secret, the Ingress, and monitoring's.
    config: {
        imageRepository: "ghcr.io/acme",
        registryUsername: "acme",
        registryPassword: "ghp_token",
        databaseUrl: "postgresql://u:p@db.example.com/todo",
        jwtSecret: "x".repeat(40),
        imagePullSecret: "true",
        ingressHost: "todo.example.com",
        monitoring: "true",
    },
    secretKeys: ["registryPassword", "databaseUrl", "jwtSecret"],
};

function scanner(name: "trivy-config" | "kube-score"): string {
    const output = execFileSync("bash", [path.join(PROJECT_ROOT, "test", "tools", "scanners.sh"), name], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const bin = output.trim().split("\n").pop();
    if (!bin) {
        throw new Error(`scanners.sh ${name} printed no path`);
    }
    return bin;
}

const objectName = (manifest: Record<string, any>): string => `${String(manifest.kind)}/${String(manifest.metadata?.name)}`;

let workDir = "";
const findings: Finding[] = [];

/** Writes each manifest set to a folder of its own, one file per object named after it. */
function writeManifestSets(sets: Record<string, Record<string, any>[]>): string {
    const root = path.join(workDir, "manifests");
    for (const [set, objects] of Object.entries(sets)) {
        mkdirSync(path.join(root, set), { recursive: true });
        for (const manifest of objects) {
            writeFileSync(path.join(root, set, `${objectName(manifest).replace("/", "-")}.yaml`), yaml.dump(manifest, { noRefs: true }));
        }
    }
    return root;
}

interface TrivyFinding {
    ID: string;
    Severity: string;
    Title: string;
    Message: string;
    File: string;
}

function trivy(bin: string, kind: "kubernetes" | "dockerfile", folder: string, where: (file: string) => string): Finding[] {
    const report = JSON.parse(execFileSync(bin, [kind, folder], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })) as TrivyFinding[];
    return report.map((finding) => ({ scanner: "trivy", check: finding.ID, severity: finding.Severity, where: where(finding.File), message: `${finding.Title}: ${finding.Message}` }));
}

interface KubeScoreObject {
    type_meta: { kind: string };
    object_meta: { name: string };
    checks: { check: { id: string; name: string }; grade: number; skipped: boolean; comments: { path: string; summary: string }[] | null }[];
}

/** kube-score's grades (scorecard.Grade): below ALL_OK is a finding, CRITICAL the worst. */
const KUBE_SCORE_GRADES: Record<number, string> = { 1: "CRITICAL", 5: "WARNING", 7: "ALMOST_OK" };
const KUBE_SCORE_ALL_OK = 10;

function kubeScore(bin: string, folder: string, set: string, objects: Record<string, any>[]): Finding[] {
    const files = objects.map((manifest) => `${objectName(manifest).replace("/", "-")}.yaml`);
    // Its checks of removed APIs follow the cluster's minor version (it assumes v1.18 otherwise).
    const kubernetesMinor = `v${KUBERNETES_VERSION.split(".").slice(0, 2).join(".")}`;
    const result = spawnSync(bin, ["score", "--output-format", "json", "--kubernetes-version", kubernetesMinor, ...files], { cwd: folder, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const scored = JSON.parse(result.stdout || "[]") as KubeScoreObject[];
    // It scores the kinds it has checks for (workloads, Services, NetworkPolicies, ...), not ConfigMaps or Secrets.
    const workloads = objects.filter((manifest) => ["Deployment", "StatefulSet"].includes(String(manifest.kind))).map(objectName);
    const scoredNames = scored.map((object) => `${object.type_meta.kind}/${object.object_meta.name}`);
    if (workloads.length === 0 || !workloads.every((name) => scoredNames.includes(name))) {
        throw new Error(`kube-score scored ${scoredNames.join(", ")} of ${set}, not every one of ${workloads.join(", ")}: ${result.stderr}`);
    }
    return scored.flatMap((object) =>
        object.checks
            .filter((check) => !check.skipped && check.grade < KUBE_SCORE_ALL_OK)
            .map((check) => ({
                scanner: "kube-score" as const,
                check: check.check.id,
                severity: KUBE_SCORE_GRADES[check.grade] ?? String(check.grade),
                where: `${set}:${object.type_meta.kind}/${object.object_meta.name}`,
                message: (check.comments ?? []).map((comment) => `${comment.path} ${comment.summary}`.trim()).join("; "),
            })),
    );
}

beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), "todo-scanners-"));
    const helm = ensureHelm();
    const [dev, prod] = [await runProgram("dev"), await runProgram("prod", PROD_SETTINGS)];
    // A plain helm user's install: the chart's values file, the stack's images passed with --set.
    const chart = (run: ProgramRun, valuesFile: string, monitoring: boolean): Record<string, any>[] =>
        renderChart(helm, String(run.outputs.namespace), [valuesFile], {
            backend: { image: splitImageRef(String(run.outputs.backendImage)) },
            frontend: { image: splitImageRef(String(run.outputs.frontendImage)) },
            monitoring: { enabled: monitoring },
        });
    const sets: Record<string, Record<string, any>[]> = {
        "native-dev": manifests(dev),
        "native-prod": manifests(prod),
        "chart-dev": chart(dev, "values-dev.yaml", false),
        "chart-prod": chart(prod, "values-prod.yaml", true),
    };
    const manifestRoot = writeManifestSets(sets);
    const dockerRoot = path.join(workDir, "dockerfiles");
    for (const app of ["backend", "frontend"]) {
        mkdirSync(path.join(dockerRoot, app), { recursive: true });
        copyFileSync(path.join(PROJECT_ROOT, "apps", app, "Dockerfile"), path.join(dockerRoot, app, "Dockerfile"));
    }

    const trivyBin = scanner("trivy-config");
    const kubeScoreBin = scanner("kube-score");
    findings.push(...trivy(trivyBin, "kubernetes", manifestRoot, (file) => `${path.dirname(file)}:${path.basename(file, ".yaml").replace("-", "/")}`));
    findings.push(...trivy(trivyBin, "dockerfile", dockerRoot, (file) => `apps/${path.dirname(file)}/Dockerfile`));
    for (const set of Object.keys(sets)) {
        const folder = path.join(manifestRoot, set);
        findings.push(...kubeScore(kubeScoreBin, folder, set, sets[set] ?? []));
    }
}, 30 * 60 * 1000);

afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
});

const accepted = (): FindingsFile => yaml.load(readFileSync(FINDINGS_FILE, "utf8")) as FindingsFile;

/** Whether an entry covers a finding: same check, and `where` (a regular expression) matching its place when given. */
const covers = (entry: Accepted, finding: Finding): boolean => entry.check === finding.check && (entry.where === undefined || new RegExp(entry.where).test(finding.where));

test("no Trivy finding is high or critical", () => {
    expect(findings.filter((finding) => finding.scanner === "trivy" && ["HIGH", "CRITICAL"].includes(finding.severity))).toEqual([]);
});

test("no prod manifest gets a kube-score CRITICAL grade", () => {
    expect(findings.filter((finding) => finding.scanner === "kube-score" && finding.severity === "CRITICAL" && /^(native|chart)-prod:/.test(finding.where))).toEqual([]);
});

test("a kube-score CRITICAL grade is accepted only as a design decision the findings file names", () => {
    const entries = accepted()["kube-score"];
    const unexplained = findings.filter((finding) => finding.severity === "CRITICAL" && !entries.some((entry) => covers(entry, finding) && /CRITICAL in kube-score/.test(entry.reason)));
    expect(unexplained).toEqual([]);
});

test("every other finding is listed with its reason in test/scanner-findings.yaml", () => {
    const file = accepted();
    const unlisted = findings.filter((finding) => !file[finding.scanner].some((entry) => covers(entry, finding)));
    expect(unlisted).toEqual([]);
});

test("every entry of the findings file has a reason and is still needed", () => {
    const file = accepted();
    for (const scannerName of ["trivy", "kube-score"] as const) {
        for (const entry of file[scannerName]) {
            expect([scannerName, entry.check, entry.reason.length > 20]).toEqual([scannerName, entry.check, true]);
            expect([scannerName, entry.check, findings.some((finding) => finding.scanner === scannerName && covers(entry, finding))]).toEqual([scannerName, entry.check, true]);
        }
    }
});
