// What `pulumi preview` does: it builds the images when a Docker daemon answers, so a broken
// Dockerfile fails the preview of a pull request (without one it says so once, and plans); and it
// plans nothing in a cluster the Kubernetes provider cannot reach.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import * as path from "node:path";

import { CLUSTER_CHECK_TYPE } from "../components/cluster";
import { dockerDaemonProblem } from "../components/images";
import { manifests, type ProgramRun, runProgram } from "./harness";

const PROD_SETTINGS = {
    config: { imageRepository: "docker.io/alice", registryUsername: "alice", registryPassword: "dckr_pat_token", databaseUrl: "postgresql://u:p@db.example.com/todo", jwtSecret: "j".repeat(40) },
    secretKeys: ["registryPassword", "databaseUrl", "jwtSecret"],
};

const images = (run: ProgramRun) => run.resources.filter((resource) => resource.type === "docker-build:index:Image");

let scratch: string;
let savedDockerHost: string | undefined;
let warnings: string[];

beforeEach(() => {
    scratch = mkdtempSync(path.join(tmpdir(), "todo-preview-"));
    savedDockerHost = process.env.DOCKER_HOST;
    // No daemon unless a test starts one: the machine's own must not decide what a test sees.
    process.env.DOCKER_HOST = `unix://${path.join(scratch, "no-daemon.sock")}`;
    warnings = [];
    // Without an engine (under mocks) the SDK prints log.warn messages with console.warn.
    jest.spyOn(console, "warn").mockImplementation((message: unknown) => {
        warnings.push(String(message));
    });
});

afterEach(() => {
    jest.restoreAllMocks();
    if (savedDockerHost === undefined) {
        delete process.env.DOCKER_HOST;
    } else {
        process.env.DOCKER_HOST = savedDockerHost;
    }
    rmSync(scratch, { recursive: true, force: true });
});

/**
 * Stands in for a Docker daemon on a Unix socket, answering the two requests `docker version`
 * makes (no daemon may run on a test machine). Resolves with the socket's DOCKER_HOST.
 */
async function answeringDaemon(): Promise<{ host: string; server: Server }> {
    const socket = path.join(scratch, "docker.sock");
    const server = createServer((request, response) => {
        if (request.url?.endsWith("/_ping")) {
            response.setHeader("Api-Version", "1.47");
            response.end("OK");
            return;
        }
        response.setHeader("Content-Type", "application/json");
        response.end(JSON.stringify({ Version: "27.5.1", ApiVersion: "1.47", MinAPIVersion: "1.24", Os: "linux", Arch: "amd64" }));
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return { host: `unix://${socket}`, server };
}

test.each([
    ["dev", {}],
    ["prod", PROD_SETTINGS],
] as const)("%s: every image can be built by a preview (exports spelt out: the push/load shorthand makes docker-build skip it)", async (stack, settings) => {
    const run = await runProgram(stack, settings);
    expect(images(run)).toHaveLength(2);
    for (const image of images(run)) {
        expect([image.name, image.inputs.push, image.inputs.load, image.inputs.exports]).toEqual([image.name, false, undefined, [{ raw: stack === "dev" ? "type=docker" : "type=registry" }]]);
    }
});

test("a preview without a Docker daemon plans without building and says so once, with what to set", async () => {
    const socket = path.join(scratch, "no-daemon.sock");
    const run = await runProgram("dev", { preview: true });
    expect(images(run).map((image) => image.inputs.buildOnPreview)).toEqual([false, false]);
    const notices = warnings.filter((warning) => warning.includes("cannot build"));
    expect(notices).toEqual([
        `warning: [runtime] this preview cannot build the images, no Docker daemon answers: Cannot connect to the Docker daemon at unix://${socket}. Is the docker daemon running? Set DOCKER_HOST to a running Docker daemon (dev: eval $(minikube docker-env)).`,
    ]);
});

test("a preview with a Docker daemon builds both images", async () => {
    const daemon = await answeringDaemon();
    try {
        process.env.DOCKER_HOST = daemon.host;
        const run = await runProgram("prod", { ...PROD_SETTINGS, preview: true });
        expect(images(run).map((image) => image.inputs.buildOnPreview)).toEqual([true, true]);
        expect(warnings.filter((warning) => warning.includes("cannot build"))).toEqual([]);
    } finally {
        daemon.server.close();
    }
});

test("without the docker CLI, the warning says so instead of a daemon's error", async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = scratch;
    try {
        expect(await dockerDaemonProblem()).toBe("no docker command on PATH");
    } finally {
        process.env.PATH = savedPath;
    }
});

test("pulumi up builds whatever answers; previews alone are told apart", async () => {
    const run = await runProgram("dev");
    expect(images(run).map((image) => image.inputs.buildOnPreview)).toEqual([true, true]);
    expect(warnings.filter((warning) => warning.includes("cannot build"))).toEqual([]);
});

describe("a cluster the Kubernetes provider cannot reach", () => {
    test("the check goes first and creates nothing; every other Kubernetes resource waits for its answer", async () => {
        let answer: () => void = () => undefined;
        const answered = new Promise<void>((resolve) => (answer = resolve));
        let checkAsked: () => void = () => undefined;
        const asked = new Promise<void>((resolve) => (checkAsked = resolve));
        const registered: string[] = [];
        const run = runProgram("dev", {
            preview: true,
            hold: { type: CLUSTER_CHECK_TYPE, until: answered },
            onRegister: (resource) => {
                registered.push(resource.type);
                if (resource.type === CLUSTER_CHECK_TYPE) {
                    checkAsked();
                }
            },
        });
        await asked;
        // The program has run by then: had nothing waited, the rest would register within milliseconds.
        await new Promise((resolve) => setTimeout(resolve, 2000));
        // Only the images may go ahead: they need no cluster.
        const needNoCluster = [CLUSTER_CHECK_TYPE, "todo:components:Images", "docker-build:index:Image"];
        expect(registered.filter((type) => !needNoCluster.includes(type))).toEqual([]);
        answer();
        const done = await run;
        expect(done.resources.find((resource) => resource.type === CLUSTER_CHECK_TYPE)?.inputs).toEqual({ objs: [] });
        expect(manifests(done).length).toBeGreaterThan(20);
    });
});
