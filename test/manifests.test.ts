// Every manifest either stack produces is valid against the Kubernetes OpenAPI schema (offline,
// through kubernetes-models) and passes the project's policies.
import { findManifest, type Inputs, manifests, type ProgramRun, runProgram } from "./harness";
import { checkPolicies, pinnedImages, restrictedPodSecurity } from "./policies";

interface Validatable {
    validate(): void;
}
type ModelClass = new (data: Inputs) => Validatable;

/** The kubernetes-models class for a manifest's apiVersion and kind (core kinds live under v1/). */
function modelFor(manifest: Inputs): ModelClass {
    const apiVersion = String(manifest.apiVersion);
    const kind = String(manifest.kind);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module path is computed from the manifest
    const module = require(`kubernetes-models/${apiVersion}/${kind}`) as Record<string, ModelClass>;
    const model = module[kind];
    if (!model) {
        throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
    }
    return model;
}

const runs: Record<string, ProgramRun> = {};

beforeAll(async () => {
    runs.dev = await runProgram("dev");
    runs.prod = await runProgram("prod", {
        config: { imageRepository: "ghcr.io/acme", registryUsername: "acme", registryPassword: "ghp_token", databaseUrl: "postgresql://u:p@db.example.com/todo", jwtSecret: "x".repeat(40), imagePullSecret: "true", ingressHost: "todo.example.com" },
        secretKeys: ["registryPassword", "databaseUrl", "jwtSecret"],
    });
});

describe.each(["dev", "prod"])("%s manifests", (stack) => {
    test("validate against the Kubernetes OpenAPI schema", () => {
        const all = manifests(runs[stack] as ProgramRun);
        expect(all.length).toBeGreaterThan(15);
        for (const manifest of all) {
            const Model = modelFor(manifest);
            expect(() => {
                new Model(manifest).validate();
            }).not.toThrow();
        }
    });

    test("pass every policy (restricted pods, hardening, bounds, pinned images, probes)", () => {
        expect(checkPolicies(manifests(runs[stack] as ProgramRun))).toEqual([]);
    });
});

describe("the checks can fail", () => {
    test("schema validation refuses a Deployment with a string where an integer belongs", () => {
        const deployment = structuredClone(findManifest(runs.dev as ProgramRun, "Deployment", "backend")) as { spec: { revisionHistoryLimit: unknown } };
        deployment.spec.revisionHistoryLimit = "ten";
        const Model = modelFor(deployment);
        expect(() => {
            new Model(deployment).validate();
        }).toThrow();
    });

    test("policies flag a root, privileged pod with a :latest image", () => {
        const bad = {
            kind: "Pod",
            metadata: { name: "bad" },
            spec: { securityContext: { runAsUser: 0 }, containers: [{ name: "app", image: "todo-backend:latest", imagePullPolicy: "Always", securityContext: { privileged: true } }] },
        };
        expect(restrictedPodSecurity(bad)).toEqual([
            "Pod/bad: pod must set runAsNonRoot: true",
            "Pod/bad: pod must not run as UID 0",
            "Pod/bad: pod must use the RuntimeDefault seccomp profile",
            "Pod/bad container app: must set allowPrivilegeEscalation: false",
            "Pod/bad container app: must not be privileged",
            "Pod/bad container app: must drop ALL capabilities",
        ]);
        expect(pinnedImages(bad)).toEqual([
            'Pod/bad container app: image "todo-backend:latest" is not pinned by tag or digest',
            "Pod/bad container app: imagePullPolicy Always defeats pinning and local images",
        ]);
        expect(checkPolicies([bad]).length).toBeGreaterThan(8);
    });
});
