// The GitHub Actions workflows pass actionlint (built from the Go module proxy, cached), and
// do what the README promises: preview on pull requests, up on main, destroy on demand.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import * as yaml from "js-yaml";

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

test("the pull request's preview runs the project's policy pack", () => {
    expect(pulumiStep("preview.yml").with).toMatchObject({ command: "preview", policyPacks: "policy" });
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
