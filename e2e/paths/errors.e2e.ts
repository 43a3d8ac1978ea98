// The errors path: what a user reads when something is wrong, from the real CLI (`pulumi preview`,
// as a person or a pull request runs it): a configuration that cannot deploy, a Dockerfile that
// cannot build, a cluster out of reach. Nothing is deployed; the stacks live in a project copy
// and a state folder of their own, since the README's example names its stack `prod`.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { expect } from "@jest/globals";

import { E2ePath } from "../support/path";
import { copyProject } from "../support/project";
import { run } from "../../local-cluster/shell";
import { type Setting, TestStack } from "../support/stack";

const path = new E2ePath("errors", 5);
const { rootDir, workDir, target } = path.run;
const { projectDir } = path;
const brokenProjectDir = join(workDir, "errors-broken-dockerfile");
process.env.PULUMI_BACKEND_URL = `file://${join(workDir, "errors-state")}`;
mkdirSync(join(workDir, "errors-state"), { recursive: true });
copyProject(rootDir, brokenProjectDir);

// What must never reach a user: ANSI colour codes, a Node.js stack frame, an object dump.
const STACK_FRAME = /^\s+at .+:\d+:\d+/m;
const ESCAPE = "\u001b[";
const DUMP_MARKERS = ["unhandled exception", "ConfigError:", "problems: ["];

const devSettings: Record<string, Setting> = { ...target.stackSettings, "todo:postgresImage": target.postgresImage, "todo:namespace": "todo-errors" };

// The offline toolchain's plugins are found on PATH, not installed beside the CLI, and the CLI
// says so in a warning of its own on every command; a user's installation prints none.
const TOOLCHAIN_PLUGIN_WARNING = /^.*warning: using pulumi-[\w-]+ from \$PATH at .*$\n?/gm;

/** `pulumi preview` as a user runs it, with what it printed (the toolchain's own warnings left out). */
async function preview(dir: string, stack: string, env: Record<string, string> = {}): Promise<{ status: number | null; output: string }> {
    const result = await run("pulumi", ["preview", "--stack", stack, "--non-interactive", "--cwd", dir], { env, timeoutSeconds: 1800 });
    const output = `${result.stdout}${result.stderr}`.replace(TOOLCHAIN_PLUGIN_WARNING, "");
    path.say(`pulumi preview --stack ${stack}: exit ${result.status}; it printed:\n${output.trimEnd()}`);
    return { status: result.status, output };
}

/** The Diagnostics section of a preview's output, where each message is shown once. */
function diagnostics(output: string): string {
    const section = /^Diagnostics:\n([\s\S]*?)^Resources:/m.exec(output)?.[1];
    if (section === undefined) throw new Error("the preview printed no Diagnostics section");
    return section;
}

/** The configuration problems the output lists (the "  - todo:..." lines), after checking it is clean. */
function cleanProblems(output: string): string[] {
    expect(output.includes(ESCAPE)).toBe(false);
    expect(output).not.toMatch(STACK_FRAME);
    for (const marker of DUMP_MARKERS) expect(output).not.toContain(marker);
    const problems = output
        .split("\n")
        .filter((line) => /^\s+- todo:/.test(line))
        .map((line) => line.trim());
    // Each once: a dump of the error object used to print every problem a second time.
    expect(problems).toEqual([...new Set(problems)]);
    return problems;
}

/** The block the README shows for a broken prod configuration. */
function readmeExample(): string {
    const readme = readFileSync(join(rootDir, "README.md"), "utf8");
    const block = /A mistake is reported before anything is created[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1];
    if (!block) throw new Error("README.md has no example of a broken configuration");
    return block;
}

const trimLines = (text: string): string =>
    text
        .split("\n")
        .map((line) => line.trimEnd())
        .join("\n");

path.check("a prod stack with nothing set: the preview fails with each missing setting once, no stack trace, no colour codes", async () => {
    await TestStack.create(projectDir, "prod", {});
    const { status, output } = await preview(projectDir, "prod");
    expect(status).not.toBe(0);
    const keys = cleanProblems(output).map((line) => /^- (\S+): /.exec(line)?.[1]);
    expect(keys.sort()).toEqual(["todo:databaseUrl", "todo:imageRepository", "todo:jwtSecret", "todo:registryUsername/todo:registryPassword"]);
});

path.check("the README's broken prod configuration: the preview prints the README's block, each problem once", async () => {
    // The stack of the check before, when it ran.
    const stack = (await TestStack.existing(projectDir, "prod")) ?? (await TestStack.create(projectDir, "prod", {}));
    await stack.stack.setAllConfig({
        "todo:imageRepository": { value: "docker.io/alice" },
        "todo:registryUsername": { value: "alice" },
        "todo:registryPassword": { value: "a-registry-token", secret: true },
        "todo:jwtSecret": { value: "j".repeat(64), secret: true },
        // In plain text, on purpose: the program must refuse it.
        "todo:databaseUrl": { value: "postgresql://alice:s3cret@ep-cool-name-123456.eu-central-1.aws.neon.tech/todo?sslmode=disable" },
        "todo:backendMinReplicas": { value: "9" },
    });
    const { status, output } = await preview(projectDir, "prod");
    expect(status).not.toBe(0);
    expect(cleanProblems(output)).toHaveLength(3);
    expect(trimLines(output)).toContain(trimLines(readmeExample()));
});

path.check("the intact dev stack's preview builds both images (nothing skipped)", async () => {
    await TestStack.create(projectDir, "dev", devSettings);
    const { status, output } = await preview(projectDir, "dev");
    expect(status).toBe(0);
    expect(output).not.toContain("Skipping preview build");
    expect(output).not.toContain("cannot build the images");
}, { timeoutSeconds: 1800 });

path.check("a preview of a stack whose backend Dockerfile fails to build fails, naming the image", async () => {
    appendFileSync(join(brokenProjectDir, "apps", "backend", "Dockerfile"), "\n# e2e: a build step that fails\nRUN false\n");
    await TestStack.create(brokenProjectDir, "broken", devSettings);
    const { status, output } = await preview(brokenProjectDir, "broken");
    expect(status).not.toBe(0);
    expect(output).toMatch(/docker-build:index:Image \(backend\):\s*\n\s*error:/);
    expect(output).not.toContain("Skipping preview build");
}, { timeoutSeconds: 1800 });

path.check("with the cluster out of reach, the preview stops in one line with the provider's reason", async () => {
    const kubeconfig = join(workDir, "errors-unreachable.kubeconfig");
    writeFileSync(
        kubeconfig,
        JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "gone", cluster: { server: "https://127.0.0.1:1", "insecure-skip-tls-verify": true } }],
            users: [{ name: "gone", user: { token: "none" } }],
            contexts: [{ name: "gone", context: { cluster: "gone", user: "gone" } }],
            "current-context": "gone",
        }),
    );
    await TestStack.create(projectDir, "unreachable", devSettings);
    const { status, output } = await preview(projectDir, "unreachable", { KUBECONFIG: kubeconfig });
    expect(status).not.toBe(0);
    const reasons = diagnostics(output)
        .split("\n")
        .filter((line) => line.includes("configured Kubernetes cluster is unreachable"));
    expect(reasons).toHaveLength(1);
    // Nothing of the app is planned against a cluster that is not there.
    expect(output).not.toMatch(/kubernetes:(core|apps|batch|networking\.k8s\.io|autoscaling|policy)\//);
}, { timeoutSeconds: 1800 });
