// What a component refuses, it refuses as a Pulumi RunError (the CLI prints the message alone,
// without a stack trace), naming the input and what it accepts, before it registers anything.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import * as pulumi from "@pulumi/pulumi";

import { ChartApp, chartValues } from "../components/chart-app";
import { GeneratedSecret } from "../components/generated-secret";
import { Images } from "../components/images";
import { NativeApp, type NativeAppArgs } from "../components/native-app";
import { parseStackConfig } from "../stacks/config";

const registered: string[] = [];

beforeAll(async () => {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered.push(`${args.type}::${args.name}`);
                return { id: `${args.name}-id`, state: args.inputs as Record<string, unknown> };
            },
            call: (args) => args.inputs as Record<string, unknown>,
        },
        "todo",
        "dev",
        false,
    );
});

beforeEach(() => {
    registered.length = 0;
});

/** The error `create` throws; fails the test when it throws none. */
function refusal(create: () => unknown): Error {
    try {
        create();
    } catch (error) {
        return error as Error;
    }
    throw new Error("the input was accepted");
}

/** Lets any registration the component started reach the mocks. */
async function settled(): Promise<void> {
    const settings = (await import("@pulumi/pulumi/runtime/settings")) as { waitForRPCs?: () => Promise<void> };
    await settings.waitForRPCs?.();
}

const dev = parseStackConfig({}, () => false);
const workload = (minReplicas: number, maxReplicas: number) => ({ ...dev.backend, minReplicas, maxReplicas });
const appArgs = {
    namespace: "todo-app",
    images: { backend: "todo-backend:abc", frontend: "todo-frontend:abc" },
    jwtSecret: pulumi.secret("x".repeat(48)),
    forwardedAddressSecret: pulumi.secret("y".repeat(48)),
};
const nativeApp = (settings: Partial<NativeAppArgs["settings"]>): NativeAppArgs => ({
    ...appArgs,
    settings: { ...dev, ...settings },
    database: { url: pulumi.secret("postgresql://todo:p@postgres/todo"), ready: [] },
});

test.each([
    [
        "NativeApp: min replicas above max",
        () => new NativeApp("todo", nativeApp({ backend: workload(4, 3) })),
        "NativeApp: todo:backendMinReplicas: 4 is above todo:backendMaxReplicas 3; accepted: min <= max",
    ],
    [
        "NativeApp: a node port outside the NodePort range",
        () => new NativeApp("todo", nativeApp({ frontendService: { type: "NodePort", nodePort: 8080 } })),
        "NativeApp: todo:frontendNodePort: got 8080; accepted: an integer from 30000 to 32767",
    ],
    [
        "ChartApp: a Helm timeout too short for the migration hook",
        () => new ChartApp("todo", { ...appArgs, settings: dev, timeoutSeconds: 30 }),
        "ChartApp timeoutSeconds 30; accepted: an integer number of seconds, at least 60",
    ],
    [
        "GeneratedSecret: a length outside 16..256",
        () => new GeneratedSecret("jwt-secret", { length: 8 }),
        "GeneratedSecret jwt-secret: length 8; accepted: an integer from 16 to 256",
    ],
])("%s", async (_case, create, message) => {
    const error = refusal(create);
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect(error.message).toBe(message);
    await settled();
    expect(registered).toEqual([]);
});

test("chartValues: the in-cluster database without its password", () => {
    const error = refusal(() => chartValues({ settings: dev, images: { backend: { repository: "b", tag: "1", digest: "" }, frontend: { repository: "f", tag: "1", digest: "" } }, appSecret: { name: "todo-secrets", checksum: "0" }, imagePullSecrets: [] }));
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect(error.message).toBe("chartValues: the in-cluster database (todo:databaseMode in-cluster) needs postgresPassword");
});

test("Images: a build context without a Dockerfile", async () => {
    const context = mkdtempSync(path.join(tmpdir(), "todo-no-dockerfile-"));
    try {
        const error = refusal(() => new Images("images", { settings: dev.images, backend: { name: "todo-backend", context, buildArgs: {} } }));
        expect(pulumi.RunError.isInstance(error)).toBe(true);
        expect(error.message).toBe(`backend image: no Dockerfile at ${path.join(context, "Dockerfile")}; accepted: a build context directory that holds a Dockerfile`);
        await settled();
        expect(registered).toEqual([]);
    } finally {
        rmSync(context, { recursive: true, force: true });
    }
});
