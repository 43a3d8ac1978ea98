// The GitHub Actions workflows pass actionlint (built from the Go module proxy, cached), and
// do what the README promises: preview on pull requests, up on main, destroy on demand.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import type { EngineEvent } from "@pulumi/pulumi/automation";
import * as yaml from "js-yaml";

import { policyProblems, policyReport, pulumiStepInputs, readPreviewExemptions, workflowCommand } from "../e2e/support/workflows";
import { PROJECT_ROOT } from "./harness";

const WORKFLOWS = path.join(PROJECT_ROOT, ".github", "workflows");
let actionlint: string;

beforeAll(() => {
    actionlint = execFileSync("bash", [path.join(PROJECT_ROOT, "test/tools/actionlint.sh")], { encoding: "utf8" }).trim();
}, 300_000);

const workflow = (file: string): Record<string, any> => yaml.load(readFileSync(path.join(WORKFLOWS, file), "utf8")) as Record<string, any>;
const pulumiStep = (file: string): Record<string, any> =>
    Object.values(workflow(file).jobs as Record<string, { steps: Record<string, any>[] }>)
        .flatMap((job) => job.steps)
        .find((step) => String(step.uses).startsWith("pulumi/actions@")) ?? {};

test("actionlint finds nothing in .github/workflows", () => {
    const result = spawnSync(actionlint, ["-color=false"], { cwd: PROJECT_ROOT, encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
});

test("actionlint does report a broken workflow (the check can fail)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "workflows-"));
    const broken = path.join(dir, "broken.yml");
    writeFileSync(broken, "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n");
    const result = spawnSync(actionlint, ["-color=false", broken], { encoding: "utf8" });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/nope/);
});

test("the pull request's preview and the deploy run the project's policy pack", () => {
    expect(pulumiStep("preview.yml").with).toMatchObject({ command: "preview", policyPacks: "policy" });
    expect(pulumiStep("deploy.yml").with).toMatchObject({ command: "up", policyPacks: "policy" });
});

const WORKFLOW_FILES = ["preview.yml", "deploy.yml", "destroy.yml"];

test("every workflow installs the Pulumi CLI version the tests run, from local-cluster/versions.env", () => {
    const tested = /^PULUMI_VERSION=v(\S+)$/m.exec(readFileSync(path.join(PROJECT_ROOT, "local-cluster/versions.env"), "utf8"))?.[1];
    expect(tested).toMatch(/^\d+\.\d+\.\d+$/);
    const printed = execFileSync("bash", [path.join(PROJECT_ROOT, ".github/actions/setup/pulumi-version.sh")], { encoding: "utf8" });
    expect(printed).toBe(`version=${tested}\n`);
    const setup = yaml.load(readFileSync(path.join(PROJECT_ROOT, ".github/actions/setup/action.yml"), "utf8")) as Record<string, any>;
    const versionStep = (setup.runs.steps as Record<string, any>[]).find((step) => step.id === "pulumi-cli");
    expect(versionStep?.run).toContain("bash .github/actions/setup/pulumi-version.sh");
    expect(setup.outputs["pulumi-version"].value).toBe("${{ steps.pulumi-cli.outputs.version }}");
    for (const file of WORKFLOW_FILES) {
        const steps = Object.values(workflow(file).jobs as Record<string, { steps: Record<string, any>[] }>).flatMap((job) => job.steps);
        expect({ file, setup: steps.find((step) => step.id === "setup")?.uses }).toEqual({ file, setup: "./.github/actions/setup" });
        expect({ file, version: pulumiStep(file).with?.["pulumi-version"] }).toEqual({ file, version: "${{ steps.setup.outputs.pulumi-version }}" });
    }
});

test("the deploy installs cosign and syft, the versions the tests sign with, before pulumi up", () => {
    const versions = readFileSync(path.join(PROJECT_ROOT, "local-cluster/versions.env"), "utf8");
    const tested = { cosign: /^COSIGN_VERSION=(v\S+)$/m.exec(versions)?.[1], syft: /^SYFT_VERSION=(v\S+)$/m.exec(versions)?.[1] };
    expect(tested.cosign).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(tested.syft).toMatch(/^v\d+\.\d+\.\d+$/);
    const printed = execFileSync("bash", [path.join(PROJECT_ROOT, ".github/actions/setup/signing-tool-versions.sh")], { encoding: "utf8" });
    expect(printed).toBe(`cosign=${tested.cosign}\nsyft=${tested.syft}\n`);
    const steps = (workflow("deploy.yml").jobs.up.steps as Record<string, any>[]);
    const index = (uses: string): number => steps.findIndex((step) => String(step.uses).startsWith(uses));
    expect(steps.find((step) => step.id === "signing-tools")?.run).toContain("bash .github/actions/setup/signing-tool-versions.sh");
    expect(steps[index("sigstore/cosign-installer@")]?.with).toEqual({ "cosign-release": "${{ steps.signing-tools.outputs.cosign }}" });
    expect(steps[index("anchore/sbom-action/download-syft@")]?.with).toEqual({ "syft-version": "${{ steps.signing-tools.outputs.syft }}" });
    expect(Math.max(index("sigstore/cosign-installer@"), index("anchore/sbom-action/download-syft@"))).toBeLessThan(index("pulumi/actions@"));
    expect(Math.min(index("sigstore/cosign-installer@"), index("anchore/sbom-action/download-syft@"))).toBeGreaterThan(-1);
});

test("a pull request from a fork gets a skipped preview with the reason, never the base repository's secrets", () => {
    const { on, jobs } = workflow("preview.yml");
    // pull_request_target would run the fork's code with this repository's secrets.
    expect(Object.keys(on as object)).toEqual(["pull_request"]);
    const sameRepository = "github.event.pull_request.head.repo.full_name == github.repository";
    expect(jobs.preview.if).toBe(sameRepository);
    expect(jobs.fork.if).toBe(sameRepository.replace("==", "!="));
    expect(JSON.stringify(jobs.fork)).not.toContain("secrets.");
    const notice = (jobs.fork.steps as Record<string, any>[]).map((step) => String(step.run)).join("\n");
    expect(notice).toMatch(/::notice title=Preview skipped::/);
    expect(notice).toMatch(/GITHUB_STEP_SUMMARY/);
    expect(notice).toMatch(/forks none of this repository's secrets/);
});

test("pull requests get a commented preview of prod; main deploys prod; destroy needs a typed confirmation", () => {
    expect(workflow("preview.yml").on).toEqual({ pull_request: { branches: ["main"] } });
    expect(pulumiStep("preview.yml").with).toMatchObject({ command: "preview", "stack-name": "prod", "comment-on-pr": true });
    expect(workflow("preview.yml").permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(workflow("deploy.yml").on).toEqual({ push: { branches: ["main"] } });
    expect(pulumiStep("deploy.yml").with).toMatchObject({ command: "up", "stack-name": "prod" });
    expect(workflow("deploy.yml").concurrency).toEqual({ group: "deploy-prod", "cancel-in-progress": false });
    expect(Object.keys(workflow("destroy.yml").on as object)).toEqual(["workflow_dispatch"]);
    expect(pulumiStep("destroy.yml").with).toMatchObject({ command: "destroy" });
    expect(workflow("destroy.yml").jobs.destroy.if).toBe("${{ inputs.stack == inputs.confirm }}");
});

describe("the workflows' Pulumi steps as the e2e suite runs them (e2e/support/workflows.ts)", () => {
    test("preview.yml and deploy.yml become the command lines pulumi/actions v6 runs", () => {
        expect(workflowCommand(pulumiStepInputs(path.join(WORKFLOWS, "preview.yml")))).toEqual({
            command: "preview",
            stack: "prod",
            args: ["preview", "--diff", "--policy-pack", "policy", "--exec-agent", "pulumi/actions@v6", "--color", "never", "--exec-kind", "auto.local"],
        });
        expect(workflowCommand(pulumiStepInputs(path.join(WORKFLOWS, "deploy.yml"))).args).toEqual([
            "up", "--yes", "--skip-preview", "--diff", "--policy-pack", "policy", "--exec-agent", "pulumi/actions@v6", "--color", "never", "--exec-kind", "auto.local",
        ]);
    });

    test("an input that would change the command line unseen is refused, not dropped", () => {
        const inputs = { command: "preview", "stack-name": "prod", target: "urn:x" };
        expect(() => workflowCommand(inputs)).toThrow(/cannot turn into the action's command line: target/);
        expect(workflowCommand({ command: "preview", "stack-name": "prod", policyPacks: "policy, extra\nthird" }).args.filter((arg) => arg !== "--policy-pack").slice(1, 4)).toEqual(["policy", "extra", "third"]);
    });

    // Events as the engine logs them; the Automation API's type lacks the policy summaries.
    const event = (fields: Record<string, unknown>): EngineEvent => ({ sequence: 0, timestamp: 0, ...fields });
    const summary = (urn: string, passed: string[], failed: string[] = []): EngineEvent =>
        event({ policyAnalyzeSummaryEvent: { resourceUrn: urn, policyPackName: "pack", policyPackVersion: "0.2.0", passed, failed } });
    const diagnostic = (policyName: string, urn: string, message: string, enforcementLevel = "advisory"): EngineEvent =>
        event({ policyEvent: { policyName, policyPackName: "pack", resourceUrn: urn, enforcementLevel, message: `<{%fg 12%}>${message}<{%reset%}>\n` } });
    const deployment = "urn:pulumi:prod::todo::todo:components:NativeApp$kubernetes:apps/v1:Deployment::backend";

    test("a policy that could not run in a preview is a problem unless listed with its reason", () => {
        const events = [
            summary(deployment, ["a"], ["b"]),
            diagnostic("b", deployment, "can't run policy 'b' from policy pack 'pack@v0.2.0' during preview: string value at .spec can't be known during preview"),
        ];
        const report = policyReport(events, "pack");
        expect(report.packs).toEqual(["pack@v0.2.0"]);
        expect(report.couldNotRun).toEqual([{ policy: "b", object: "kubernetes:apps/v1:Deployment::backend", message: expect.stringMatching(/^can't run policy 'b'/) }]);
        expect(policyProblems(report, ["a", "b"], [])).toEqual([
            "policy b passed on no Kubernetes object",
            expect.stringMatching(/^policy b could not run on kubernetes:apps\/v1:Deployment::backend: can't run/),
        ]);
        const listed = [{ policy: "b", object: "kubernetes:apps/v1:Deployment::backend", reason: "the digest is unknown until pushed" }];
        expect(policyProblems(report, ["a"], listed)).toEqual([]);
        expect(policyProblems(policyReport([summary(deployment, ["a", "b"])], "pack"), ["a", "b"], listed)).toEqual([
            "exemption no longer needed: b on kubernetes:apps/v1:Deployment::backend",
        ]);
    });

    test("a violation, or a pack that never reported, is a problem", () => {
        const violated = policyReport([summary(deployment, ["a"]), diagnostic("a", deployment, "Deployment/backend: bad", "mandatory")], "pack");
        expect(policyProblems(violated, ["a"], [])).toEqual(["[mandatory] a (kubernetes:apps/v1:Deployment::backend): Deployment/backend: bad"]);
        expect(policyProblems(policyReport([], "pack"), ["a"], [])).toEqual(["no policy summary from the pack: it did not run", "policy a passed on no Kubernetes object"]);
        // Passing on the stack resource or an image is no sign the policy checked anything.
        const stackResource = "urn:pulumi:prod::todo::pulumi:pulumi:Stack::todo-prod";
        expect(policyProblems(policyReport([summary(stackResource, ["a"])], "pack"), ["a"], [])).toEqual(["policy a passed on no Kubernetes object"]);
    });

    test("the preview exemptions file lists entries with a policy, an object and a reason", () => {
        expect(readPreviewExemptions(path.join(PROJECT_ROOT, "policy", "preview-exemptions.yaml")).map((entry) => `${entry.policy} on ${entry.object}`)).toEqual([
            "pinned-images on kubernetes:apps/v1:Deployment::backend",
            "pinned-images on kubernetes:batch/v1:Job::migrate",
        ]);
        const dir = mkdtempSync(path.join(tmpdir(), "exemptions-"));
        writeFileSync(path.join(dir, "bad.yaml"), "- policy: pinned-images\n  object: kubernetes:apps/v1:Deployment::backend\n");
        expect(() => readPreviewExemptions(path.join(dir, "bad.yaml"))).toThrow(/needs a policy, an object \(type::name\) and a reason/);
    });
});
