// Unit tests of components/chart.ts: image references split for the chart's values, and the
// values computed from a stack's configuration.
import { chartValues, splitImageRef } from "../components/chart-app";
import { parseStackConfig } from "../stacks/config";

const DIGEST = `sha256:${"c0ffee".repeat(10)}abcd`;

describe("splitImageRef", () => {
    test.each([
        ["todo-backend:3f2a9c1d", { repository: "todo-backend", tag: "3f2a9c1d", digest: "" }],
        ["postgres", { repository: "postgres", tag: "", digest: "" }],
        [`ghcr.io/acme/todo-backend:3f2a9c1d@${DIGEST}`, { repository: "ghcr.io/acme/todo-backend", tag: "3f2a9c1d", digest: DIGEST }],
        [`docker.io/alice/todo-frontend@${DIGEST}`, { repository: "docker.io/alice/todo-frontend", tag: "", digest: DIGEST }],
        // The port of a registry is not a tag.
        ["127.0.0.1:5000/todo/backend", { repository: "127.0.0.1:5000/todo/backend", tag: "", digest: "" }],
        [`127.0.0.1:5000/todo/backend:v1@${DIGEST}`, { repository: "127.0.0.1:5000/todo/backend", tag: "v1", digest: DIGEST }],
    ])("%s", (ref, expected) => {
        expect(splitImageRef(ref)).toEqual(expected);
    });
});

describe("chartValues", () => {
    const image = { repository: "todo-backend", tag: "abc", digest: "" };
    const dev = parseStackConfig({}, () => false);
    const prod = parseStackConfig(
        {
            environment: "prod",
            databaseMode: "external",
            databaseUrl: "postgresql://u:p@db.example.com/todo",
            databaseEgressCidrs: JSON.stringify(["10.0.0.0/8"]),
            jwtSecret: "x".repeat(40),
            backendMinReplicas: "2",
            frontendServiceType: "ClusterIP",
        },
        () => true,
    );

    test("the in-cluster database needs its password", () => {
        expect(() => chartValues({ settings: dev, images: { backend: image, frontend: image }, appSecret: { name: "todo-secrets", checksum: "c0ffee" }, imagePullSecrets: [] })).toThrow(
            /in-cluster database .* needs postgresPassword/,
        );
    });

    test("dev: in-cluster PostgreSQL from the stack's image and storage, NodePort 30000, no ingress", () => {
        const values = chartValues({ settings: dev, images: { backend: image, frontend: image }, appSecret: { name: "todo-secrets", checksum: "c0ffee" }, postgresPassword: "p".repeat(32), imagePullSecrets: [] });
        expect(values.database).toEqual({
            inCluster: { enabled: true, image: { repository: "postgres", tag: "16-alpine", digest: "" }, password: "p".repeat(32), storage: { size: "1Gi", storageClassName: "" } },
        });
        expect(values.frontend.service).toEqual({ type: "NodePort", nodePort: 30000 });
        expect(values.ingress).toEqual({ enabled: false });
        expect(values.secrets).toEqual({ existingSecret: "todo-secrets", checksum: "c0ffee" });
        expect(values.backend.autoscaling).toEqual({ minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 70 });
    });

    test("prod: external database reached through the configured CIDRs, the Secret by name, no credential in the values", () => {
        const values = chartValues({ settings: prod, images: { backend: image, frontend: image }, appSecret: { name: "todo-secrets", checksum: "c0ffee" }, imagePullSecrets: ["registry-credentials"] });
        expect(values.database).toEqual({ inCluster: { enabled: false }, egressCidrs: ["10.0.0.0/8"] });
        expect(values.imagePullSecrets).toEqual(["registry-credentials"]);
        expect(values.backend.autoscaling.minReplicas).toBe(2);
        expect(JSON.stringify(values)).not.toMatch(/postgresql:|x{40}/);
    });
});
