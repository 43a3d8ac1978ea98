// The command line of `npm run up:dev` / `down:dev`: what reaches Pulumi, what the main job keeps.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import { configArguments, parseMainJobArgs, UsageError } from "../launcher/args";
import { PROJECT_ROOT } from "./harness";

describe("npm run up:dev's arguments", () => {
    test("--context is the main job's; the rest goes to pulumi", () => {
        expect(parseMainJobArgs(["up", "--context", "minikube", "--yes", "--skip-preview"], "todo")).toEqual({
            action: "up",
            context: "minikube",
            pulumiArgs: ["--yes", "--skip-preview"],
            config: { settings: {}, rest: ["--yes", "--skip-preview"] },
        });
        expect(parseMainJobArgs(["down", "--context=kind-dev"], "todo")).toEqual({ action: "down", context: "kind-dev", pulumiArgs: [], config: { settings: {}, rest: [] } });
    });

    test("an unknown action or a --context without a name is refused with what to write", () => {
        expect(() => parseMainJobArgs(["deploy"], "todo")).toThrow(new UsageError("unknown action 'deploy'; accepted: up, down"));
        expect(() => parseMainJobArgs(["up", "--context"], "todo")).toThrow("--context needs the name of a kube context");
    });

    test("--config settings are split from pulumi's other arguments, keys without a namespace in the project's", () => {
        expect(configArguments(["--yes", "--config", "todo:pythonImage=127.0.0.1:5000/python:3.12@sha256:ab", "-c", "backendMinReplicas=2", "--config=todo:namespace=todo-a=b", "--skip-preview"], "todo")).toEqual({
            settings: { "todo:pythonImage": "127.0.0.1:5000/python:3.12@sha256:ab", "todo:backendMinReplicas": "2", "todo:namespace": "todo-a=b" },
            rest: ["--yes", "--skip-preview"],
        });
        expect(configArguments(["--yes"], "todo")).toEqual({ settings: {}, rest: ["--yes"] });
    });

    test("the command line keeps its --config settings for the project's own cluster, and pulumi's arguments as given", () => {
        expect(parseMainJobArgs(["up", "--yes", "-c", "backendMinReplicas=2"], "todo")).toEqual({
            action: "up",
            context: undefined,
            pulumiArgs: ["--yes", "-c", "backendMinReplicas=2"],
            config: { settings: { "todo:backendMinReplicas": "2" }, rest: ["--yes"] },
        });
        expect(() => parseMainJobArgs(["up", "--config", "todo:pythonImage"], "todo")).toThrow(UsageError);
    });

    test("a --config that is not KEY=VALUE is refused with an example", () => {
        expect(() => configArguments(["--config", "todo:pythonImage"], "todo")).toThrow("--config todo:pythonImage: accepted: KEY=VALUE, e.g. --config todo:backendMinReplicas=2");
        expect(() => configArguments(["-c"], "todo")).toThrow("-c needs KEY=VALUE, e.g. -c todo:backendMinReplicas=2");
        expect(() => configArguments(["--config", "=2"], "todo")).toThrow("accepted: KEY=VALUE");
    });
});

describe("npm run down:dev with nothing deployed", () => {
    const tsx = path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx");

    /** down:dev on a machine whose HOME and cache are empty, with PATH holding Node.js and `tools` only. */
    function downDev(tools: Record<string, string>): { status: number | null; stderr: string; seconds: number; home: string; calls: string } {
        const home = mkdtempSync(path.join(tmpdir(), "todo-down-dev-"));
        const bin = path.join(home, "bin");
        mkdirSync(bin);
        mkdirSync(path.join(home, "tmp"));
        const log = path.join(home, "calls.log");
        for (const [name, answer] of Object.entries(tools)) {
            writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n${answer}\n`, { mode: 0o755 });
        }
        const started = Date.now();
        const result = spawnSync(tsx, [path.join(PROJECT_ROOT, "launcher", "main-job.ts"), "down"], {
            cwd: PROJECT_ROOT,
            encoding: "utf8",
            timeout: 60_000,
            env: { HOME: home, TODO_CACHE_DIR: path.join(home, "cache"), PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}`, TMPDIR: path.join(home, "tmp") },
        });
        const calls = existsSync(log) ? readFileSync(log, "utf8") : "";
        return { status: result.status, stderr: result.stderr, seconds: (Date.now() - started) / 1000, home, calls };
    }

    /** What down:dev left in its empty HOME and its temporary folder (tsx's compile cache aside). */
    const leftovers = (home: string): string[] => [
        ...readdirSync(home).filter((name) => !["bin", "calls.log", "tmp"].includes(name)),
        ...readdirSync(path.join(home, "tmp")).filter((name) => !name.startsWith("tsx-")),
    ];

    test("without a Pulumi CLI: it says so and exits 0 within 5 s, asking nothing, building and starting nothing", () => {
        const down = downDev({ kubectl: "exit 1", minikube: "exit 1", docker: "exit 1" });
        expect(down.stderr).toContain("down:dev: nothing to remove: no Pulumi CLI on this machine, so no dev stack was deployed from it");
        expect(down.status).toBe(0);
        expect(down.seconds).toBeLessThan(5);
        expect(down.calls).toBe("");
        expect(leftovers(down.home)).toEqual([]);
        rmSync(down.home, { recursive: true, force: true });
    });

    test("with a Pulumi CLI that lists no dev stack: only `pulumi stack ls` is asked", () => {
        const down = downDev({ pulumi: `echo '[{"name":"prod","resourceCount":12}]'`, kubectl: "exit 1", minikube: "exit 1", docker: "exit 1" });
        expect(down.stderr).toContain("down:dev: nothing to remove: no dev stack exists (pulumi stack ls)");
        expect(down.status).toBe(0);
        expect(down.seconds).toBeLessThan(5);
        expect(down.calls).toBe("pulumi stack ls --json\n");
        expect(leftovers(down.home)).toEqual([]);
        rmSync(down.home, { recursive: true, force: true });
    });

    test("a dev stack with resources goes on to the preflight; when that fails, its temporary files go too", () => {
        const down = downDev({ pulumi: `echo '[{"name":"dev","resourceCount":30}]'`, kubectl: "exit 1", minikube: "exit 1", docker: "exit 1" });
        expect(down.stderr).not.toContain("nothing to remove");
        expect(down.calls).toMatch(/^pulumi stack ls --json\n(.|\n)*(kubectl|minikube|docker) /);
        expect(down.status).toBe(1);
        expect(leftovers(down.home)).toEqual([]);
        rmSync(down.home, { recursive: true, force: true });
    });
});
