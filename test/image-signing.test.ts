// Signed images: the settings a prod stack signs with, what the program registers for them, the
// command lines that sign (no secret on any of them), and what a machine without the tools gets.
import * as pulumi from "@pulumi/pulumi";

import { digestReference, IMAGE_SIGNATURE_TYPE, isLoopbackRegistry, needsSigning, signingRuns } from "../components/image-signing";
import { ConfigError, parseStackConfig } from "../stacks/config";
import { type ConfigKey, SECRET_KEYS } from "../stacks/schema";
import { findManifest, PROJECT, runProgram, STAND_IN_PUBLIC_KEY, stackConfig, UNKNOWN } from "./harness";

const SIGNING_KEY = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnsibmFtZSI6InNjcnlwdCJ9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
const KEY_PASSWORD = "key-password-in-the-stack";
const REGISTRY_TOKEN = "dckr_pat_registry-token-value";
const DIGEST = `sha256:${"ab".repeat(32)}`;

const PROD = {
    imageRepository: "docker.io/alice",
    registryUsername: "alice",
    registryPassword: REGISTRY_TOKEN,
    databaseUrl: "postgresql://alice:s3cret@ep-cool-name-123456.eu-central-1.aws.neon.tech/todo",
    jwtSecret: "a-jwt-signing-key-that-is-long-enough-1234",
};
const SIGNING = { signingKey: SIGNING_KEY, signingKeyPassword: KEY_PASSWORD };
const SECRETS = ["registryPassword", "databaseUrl", "jwtSecret", "signingKey", "signingKeyPassword"];

/** The prod stack's values with these set, as the program reads them. */
function prodValues(overrides: Partial<Record<ConfigKey, string>>): Partial<Record<ConfigKey, string>> {
    const values: Partial<Record<ConfigKey, string>> = {};
    for (const [key, value] of Object.entries(stackConfig("prod"))) {
        values[key.slice(PROJECT.length + 1) as ConfigKey] = value;
    }
    return { ...values, ...PROD, ...overrides };
}

function problems(values: Partial<Record<ConfigKey, string>>, isSecret: (name: ConfigKey) => boolean = (name) => (SECRET_KEYS as readonly string[]).includes(name)): string[] {
    try {
        parseStackConfig(values, isSecret);
    } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
    }
    throw new Error("configuration was accepted");
}

describe("signing settings", () => {
    test("a key and its password are taken as secrets", async () => {
        const signing = parseStackConfig(prodValues(SIGNING), () => true).images.signing;
        if (!signing) throw new Error("no signing settings");
        expect(await pulumi.isSecret(signing.privateKey)).toBe(true);
        expect(await pulumi.isSecret(signing.password)).toBe(true);
    });

    test("no key: the stack pushes unsigned images, as before", () => {
        expect(parseStackConfig(prodValues({}), () => true).images.signing).toBeUndefined();
    });

    test("a value that is not a cosign private key names the key and the form it takes", () => {
        expect(problems(prodValues({ signingKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }))).toEqual([
            "todo:signingKey: is not a cosign private key; accepted: the PEM of cosign.key (-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----), set with: pulumi config set --secret todo:signingKey < cosign.key",
        ]);
    });

    test("a key kept in plain text is refused, as every credential is", () => {
        expect(problems(prodValues(SIGNING), (name) => name !== "signingKey" && (SECRET_KEYS as readonly string[]).includes(name))).toEqual([
            "todo:signingKey: is stored in plain text; set it with: pulumi config set --secret todo:signingKey <value>",
        ]);
    });

    test("a key on a stack that pushes nothing, and a password without a key", () => {
        expect(problems({ signingKey: SIGNING_KEY })).toEqual(["todo:signingKey: needs todo:pushImages true: only pushed images are signed"]);
        expect(problems(prodValues({ signingKeyPassword: KEY_PASSWORD }))).toEqual(["todo:signingKeyPassword: needs todo:signingKey; accepted: set both, or neither"]);
    });
});

describe("a prod stack with a signing key", () => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    beforeAll(async () => {
        run = await runProgram("prod", { config: { ...PROD, ...SIGNING }, secretKeys: SECRETS });
    });

    test("signs each pushed image by its digest, the key, its password and the registry token as secrets", () => {
        const signatures = run.resources.filter((resource) => resource.type === IMAGE_SIGNATURE_TYPE);
        expect(signatures.map((signature) => signature.name).sort()).toEqual(["backend-signature", "frontend-signature"]);
        for (const signature of signatures) {
            const component = signature.name.replace("-signature", "");
            const image = run.resources.find((resource) => resource.type === "docker-build:index:Image" && resource.name === component);
            expect(signature.inputs).toMatchObject({ registryAddress: "docker.io", registryUsername: "alice", registryPassword: REGISTRY_TOKEN, privateKey: SIGNING_KEY.trim(), keyPassword: KEY_PASSWORD });
            expect(signature.inputs.image).toMatch(new RegExp(`^docker\\.io/alice/todo-${component}:[0-9a-f]{12}@sha256:[0-9a-f]{64}$`));
            expect(signature.inputs.image).toBe(`${String(image?.inputs.tags[0])}@${signature.inputs.image.split("@")[1]}`);
            expect(signature.secretPaths.sort()).toEqual(["keyPassword", "privateKey", "registryPassword"]);
        }
    });

    test("deploys the signed reference and exports where its signature and SBOM are, and the public key", () => {
        for (const component of ["backend", "frontend"]) {
            const signed = run.resources.find((resource) => resource.name === `${component}-signature`)?.inputs.image as string;
            expect(findManifest(run, "Deployment", component).spec.template.spec.containers[0].image).toBe(signed);
            expect((run.outputs.imageSupplyChain as Record<string, unknown>)[component]).toEqual({
                signed: digestReference(signed),
                sbom: { components: 180, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
            });
        }
        expect(run.outputs.signingPublicKey).toBe(STAND_IN_PUBLIC_KEY);
    });

    test("a preview plans the signatures with the digests unknown, and needs neither tool", async () => {
        const preview = await runProgram("prod", { config: { ...PROD, ...SIGNING }, secretKeys: SECRETS, preview: true, signingTools: "absent" });
        expect(preview.resources.filter((resource) => resource.type === IMAGE_SIGNATURE_TYPE).map((resource) => resource.inputs.image)).toEqual([UNKNOWN, UNKNOWN]);
    });

    test("without the key nothing is signed and no supply-chain output exists", async () => {
        const unsigned = await runProgram("prod", { config: PROD, secretKeys: SECRETS });
        expect(unsigned.resources.filter((resource) => resource.type === IMAGE_SIGNATURE_TYPE)).toEqual([]);
        expect(unsigned.outputs.imageSupplyChain).toBeUndefined();
        expect(unsigned.outputs.signingPublicKey).toBeUndefined();
    });

    test("without cosign and syft on PATH the program stops before registering anything, naming both", async () => {
        const registered: string[] = [];
        const failure: unknown = await runProgram("prod", { config: { ...PROD, ...SIGNING }, secretKeys: SECRETS, signingTools: "absent", onRegister: (resource) => registered.push(resource.type) }).then(
            () => undefined,
            (error: unknown) => error,
        );
        expect(pulumi.RunError.isInstance(failure)).toBe(true);
        expect((failure as Error).message).toBe(
            "todo:signingKey is set, so pulumi up signs the pushed images and attaches their SBOMs, which needs cosign and syft on PATH; build them with: local-cluster/toolchain cosign syft (then add ~/.cache/todo-k8s/toolchain/bin to PATH), or install their releases (sigstore/cosign, anchore/syft)",
        );
        expect(registered).toEqual([]);
    });
});

describe("the signing runs", () => {
    const inputs = (registryAddress: string, image: string) => ({ image, registryAddress, registryUsername: "alice", registryPassword: REGISTRY_TOKEN, privateKey: SIGNING_KEY, keyPassword: KEY_PASSWORD });

    test("SBOM from the pushed digest, attested as CycloneDX, then the signature; no transparency log", () => {
        const runs = signingRuns(inputs("docker.io", `docker.io/alice/todo-backend:0123456789ab@${DIGEST}`), "/tmp/work");
        const reference = `docker.io/alice/todo-backend@${DIGEST}`;
        expect(runs.map((run) => [run.command, ...run.args])).toEqual([
            ["syft", "scan", `registry:${reference}`, "--output", "cyclonedx-json=/tmp/work/sbom.cdx.json", "--quiet"],
            ["cosign", "attest", "--key", "env://TODO_SIGNING_KEY", "--use-signing-config=false", "--tlog-upload=false", "--yes", "--type", "cyclonedx", "--predicate", "/tmp/work/sbom.cdx.json", reference],
            ["cosign", "sign", "--key", "env://TODO_SIGNING_KEY", "--use-signing-config=false", "--tlog-upload=false", "--yes", reference],
        ]);
        // syft lists packages only: the files of a 350 MB image would make a 2 MB attestation.
        expect(runs[0]?.env).toMatchObject({ DOCKER_CONFIG: "/tmp/work", SYFT_FILE_METADATA_SELECTION: "none" });
        expect(runs[1]?.env).toEqual({ DOCKER_CONFIG: "/tmp/work", TODO_SIGNING_KEY: SIGNING_KEY, COSIGN_PASSWORD: KEY_PASSWORD });
    });

    test("no secret is ever on a command line: the key and its password go by environment, the token by a Docker config", () => {
        const argv = signingRuns(inputs("docker.io", `docker.io/alice/todo-backend@${DIGEST}`), "/tmp/work").flatMap((run) => run.args).join(" ");
        for (const secret of [SIGNING_KEY.trim(), KEY_PASSWORD, REGISTRY_TOKEN]) {
            expect(argv).not.toContain(secret);
        }
    });

    test("plain HTTP only for a registry on the machine itself", () => {
        const local = signingRuns(inputs("127.0.0.1:5001", `127.0.0.1:5001/todo/todo-backend@${DIGEST}`), "/tmp/work");
        expect(local[0]?.env.SYFT_REGISTRY_INSECURE_USE_HTTP).toBe("true");
        expect(local[2]?.args).toContain("--allow-http-registry");
        const remote = signingRuns(inputs("ghcr.io", `ghcr.io/acme/todo-backend@${DIGEST}`), "/tmp/work");
        expect(remote[0]?.env.SYFT_REGISTRY_INSECURE_USE_HTTP).toBeUndefined();
        expect(remote[2]?.args).not.toContain("--allow-http-registry");
        expect(["localhost:5000", "127.0.0.1", "127.1.2.3:80"].map(isLoopbackRegistry)).toEqual([true, true, true]);
        expect(["docker.io", "127.example.com", "10.0.0.1:5000"].map(isLoopbackRegistry)).toEqual([false, false, false]);
    });

    test("the digest reference drops the tag, keeps a registry port, refuses a reference without a digest", () => {
        expect(digestReference(`127.0.0.1:5001/todo/todo-backend:0123456789ab@${DIGEST}`)).toBe(`127.0.0.1:5001/todo/todo-backend@${DIGEST}`);
        expect(digestReference(`127.0.0.1:5001/todo/todo-backend@${DIGEST}`)).toBe(`127.0.0.1:5001/todo/todo-backend@${DIGEST}`);
        expect(() => digestReference("docker.io/alice/todo-backend:0123456789ab")).toThrow("accepted: <repository>[:tag]@sha256:<64 hex digits>");
    });

    test("signs again for another digest or key, not for new registry credentials or another tag", () => {
        const before = inputs("docker.io", `docker.io/alice/todo-backend:aaaaaaaaaaaa@${DIGEST}`);
        expect(needsSigning(before, { ...before, registryPassword: "rotated" })).toBe(false);
        expect(needsSigning(before, { ...before, image: `docker.io/alice/todo-backend:bbbbbbbbbbbb@${DIGEST}` })).toBe(false);
        expect(needsSigning(before, { ...before, image: `docker.io/alice/todo-backend:aaaaaaaaaaaa@sha256:${"cd".repeat(32)}` })).toBe(true);
        expect(needsSigning(before, { ...before, privateKey: SIGNING_KEY.replace("eyJ", "eyK") })).toBe(true);
    });
});
