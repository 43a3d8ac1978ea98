// The shared Go build cache (local-cluster/lib/go-build.sh) and the toolchain's plan: .ci/run builds
// every Go tool in one background queue while npm test asks for its tools, so a cache entry asked
// for twice at once must be built once, and an interrupted build must never look complete. The
// plan's estimate comes from the committed cold figures (docs/results/local-cluster.json).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const GO_BUILD = path.join(ROOT, "local-cluster", "lib", "go-build.sh");

let cacheDir = "";
beforeEach(() => {
    cacheDir = mkdtempSync(path.join(tmpdir(), "todo-build-queue-"));
});
afterEach(() => {
    rmSync(cacheDir, { recursive: true, force: true });
});

/** A bash process that asks for cache entry "tool-v1" with a build that counts its runs and takes a second. */
function askForTool(build = "sleep 1; echo run >> \"$TODO_CACHE_DIR/runs\"; touch \"$1/tool\""): Promise<{ status: number | null; stderr: string }> {
    const script = `set -euo pipefail; source "${GO_BUILD}"; fake_build() { ${build}; }; cached_build test "$TOOLCHAIN_DIR/tool-v1" tool fake_build`;
    return new Promise((resolve) => {
        const child = spawn("bash", ["-c", script], { env: { ...process.env, TODO_CACHE_DIR: cacheDir } });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
        });
        child.on("close", (status) => {
            resolve({ status, stderr });
        });
    });
}

describe("cached_build, the shared Go build cache", () => {
    test("two processes asking for the same entry at once: one builds it, the other waits for it", async () => {
        const [first, second] = await Promise.all([askForTool(), askForTool()]);
        expect([first.status, second.status]).toEqual([0, 0]);
        expect(readFileSync(path.join(cacheDir, "runs"), "utf8")).toBe("run\n");
        expect(`${first.stderr}${second.stderr}`).toContain("[test] waiting: another process is building tool-v1");
        expect(existsSync(path.join(cacheDir, "toolchain", "tool-v1", "tool"))).toBe(true);
    });

    test("the entry records how long its build took, the figure npm run bench:cluster reports", async () => {
        await askForTool();
        expect(Number(readFileSync(path.join(cacheDir, "toolchain", "tool-v1", ".build-seconds"), "utf8"))).toBeGreaterThanOrEqual(1);
    });

    test("a failed build fails the caller and leaves no entry that looks complete; the next ask builds it", async () => {
        const failed = await askForTool('touch "$1/tool"; exit 3');
        expect(failed.status).toBe(3);
        expect(failed.stderr).toContain("[test] FAILED: tool-v1 (exit status 3)");
        expect(readdirSync(path.join(cacheDir, "toolchain")).filter((entry) => entry.startsWith("tool-v1") && !entry.endsWith(".lock"))).toEqual([]);
        const retried = await askForTool();
        expect(retried.status).toBe(0);
        expect(readFileSync(path.join(cacheDir, "runs"), "utf8")).toBe("run\n");
    });

    test("a cached entry is not built again", async () => {
        await askForTool();
        const again = await askForTool();
        expect(again.stderr).toBe("");
        expect(readFileSync(path.join(cacheDir, "runs"), "utf8")).toBe("run\n");
    });
});

describe("local-cluster/toolchain --plan on an empty cache", () => {
    test("lists every component and estimates the whole build from the committed cold figures", () => {
        const plan = spawnSync("bash", [path.join(ROOT, "local-cluster", "toolchain"), "--plan"], { env: { ...process.env, TODO_CACHE_DIR: cacheDir }, encoding: "utf8" });
        expect(plan.status).toBe(0);
        const figures = JSON.parse(readFileSync(path.join(ROOT, "docs", "results", "local-cluster.json"), "utf8")) as {
            runs: { figures: { toolchain: { component: string; seconds: number }[] } }[];
        };
        const measured = figures.runs[0]?.figures.toolchain ?? [];
        const lines = plan.stdout.trim().split("\n");
        const components = /^toolchain: (\d+) components to build: (.+)$/.exec(lines[0] ?? "");
        expect(components?.[2]?.split(" ")).toContain("kubernetes");
        const toBuild = components?.[2]?.split(" ") ?? [];
        const seconds = toBuild.reduce((sum, name) => sum + (measured.find((build) => new RegExp(`^${name}-v?[0-9]`).test(build.component))?.seconds ?? 0), 0);
        expect(seconds).toBeGreaterThan(0);
        expect(lines[1]).toMatch(new RegExp(`^toolchain: about ${Math.ceil(seconds / 60)} min on 2 cores, one after another, as last measured cold here \\(docs/results/local-cluster\\.json`));
        expect(readdirSync(path.join(cacheDir, "toolchain")).filter((entry) => !["bin", "logs", "go"].includes(entry))).toEqual([]);
    });
});
