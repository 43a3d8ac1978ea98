// Each pushed image signed with cosign, and its SBOM (CycloneDX, made by syft from the pushed
// image itself) attached beside it as a signed attestation, both stored in the registry under the
// image's digest. Done by `pulumi up` after the push, only when the digest (or the key) changed.
// A dynamic provider, run by the Node.js runtime itself: no provider plugin to build, and the key
// reaches cosign through its environment, never a file or a command line.
import * as childProcess from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import * as pulumi from "@pulumi/pulumi";

import { type SyncRunner, systemSyncRunner } from "./commands";
import { dockerConfigJson } from "./registry";

/** The type token Pulumi records it under. */
export const IMAGE_SIGNATURE_TYPE = "pulumi-nodejs:dynamic/todo:ImageSignature";
/** The tools a signing `pulumi up` runs, from PATH. */
export const SIGNING_TOOLS = ["cosign", "syft"] as const;
/** The in-toto predicate type cosign gives a CycloneDX SBOM (`--type cyclonedx`). */
export const SBOM_PREDICATE_TYPE = "https://cyclonedx.org/bom";
/** How long one tool run may take: syft reads every layer of the image from the registry. */
const TOOL_TIMEOUT_MS = 600_000;
const DIGEST_REFERENCE = /^([^@\s]+)@(sha256:[0-9a-f]{64})$/;

/** The image's `<repository>@<digest>` from a `<repository>[:tag]@<digest>` reference. */
export function digestReference(image: string): string {
    const match = DIGEST_REFERENCE.exec(image);
    const [, named = "", digest = ""] = match ?? [];
    if (!match) {
        throw new Error(`image ${JSON.stringify(image)}: accepted: <repository>[:tag]@sha256:<64 hex digits>`);
    }
    // A colon after the last slash starts the tag; one before it is the registry's port.
    const tagStart = named.lastIndexOf(":");
    const repository = tagStart > named.lastIndexOf("/") ? named.slice(0, tagStart) : named;
    return `${repository}@${digest}`;
}

/** Registries on the machine itself are spoken to over plain HTTP (as Docker treats 127.0.0.0/8). */
export function isLoopbackRegistry(address: string): boolean {
    const host = address.replace(/:\d+$/, "");
    return host === "localhost" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The signing key and its password, as `cosign generate-key-pair` makes them. */
export interface SigningKey {
    /** PEM of the encrypted private key (`-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----`). */
    privateKey: pulumi.Input<string>;
    /** The password it was encrypted with (COSIGN_PASSWORD when it was made). */
    password: pulumi.Input<string>;
}

interface SignatureInputs {
    /** `<repository>[:tag]@<digest>` as pushed. */
    image: string;
    registryAddress: string;
    registryUsername: string;
    registryPassword: string;
    privateKey: string;
    keyPassword: string;
}

const SIGNATURE_INPUTS = ["image", "registryAddress", "registryUsername", "registryPassword", "privateKey", "keyPassword"] as const satisfies readonly (keyof SignatureInputs)[];

interface SignatureOutputs extends SignatureInputs {
    /** `<repository>@<digest>`: what was signed. */
    signed: string;
    /** PEM of the public key that verifies the signature and the SBOM's attestation. */
    publicKey: string;
    /** Components the SBOM lists (packages of the OS and of the app). */
    sbomComponents: number;
    /** sha256 of the SBOM document as attested. */
    sbomSha256: string;
}

/** One run of cosign or syft: argv and the environment entries added to the program's. */
export interface ToolRun {
    command: (typeof SIGNING_TOOLS)[number];
    args: string[];
    env: Record<string, string>;
}

/**
 * The three runs that sign an image: the SBOM from the pushed image, attested with the key, then
 * the image signed. No transparency log or Sigstore service is asked: the key alone is the trust.
 */
export function signingRuns(inputs: SignatureInputs, workDir: string): ToolRun[] {
    const reference = digestReference(inputs.image);
    const http = isLoopbackRegistry(inputs.registryAddress);
    // Both tools read registry credentials from a Docker config (its folder is workDir).
    const registryEnv = { DOCKER_CONFIG: workDir };
    const sbomFile = path.join(workDir, "sbom.cdx.json");
    const cosignFlags = ["--key", "env://TODO_SIGNING_KEY", "--use-signing-config=false", "--tlog-upload=false", "--yes", ...(http ? ["--allow-http-registry"] : [])];
    const cosignEnv = { ...registryEnv, TODO_SIGNING_KEY: inputs.privateKey, COSIGN_PASSWORD: inputs.keyPassword };
    return [
        {
            command: "syft",
            args: ["scan", `registry:${reference}`, "--output", `cyclonedx-json=${sbomFile}`, "--quiet"],
            // Packages only: a file list would make the attestation of a 350 MB image 2 MB.
            env: { ...registryEnv, SYFT_FILE_METADATA_SELECTION: "none", SYFT_CHECK_FOR_APP_UPDATE: "false", ...(http ? { SYFT_REGISTRY_INSECURE_USE_HTTP: "true" } : {}) },
        },
        { command: "cosign", args: ["attest", ...cosignFlags, "--type", "cyclonedx", "--predicate", sbomFile, reference], env: cosignEnv },
        { command: "cosign", args: ["sign", ...cosignFlags, reference], env: cosignEnv },
    ];
}

/** Runs one tool and returns what it printed; throws with its first line of error when it fails. */
function runTool(run: ToolRun): string {
    const result = childProcess.spawnSync(run.command, run.args, { env: { ...process.env, ...run.env }, encoding: "utf8", timeout: TOOL_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
    if (result.error || result.status !== 0) {
        const said = result.error ? result.error.message : `${result.stderr}\n${result.stdout}`.trim().split("\n").slice(-3).join(" / ");
        throw new Error(`${run.command} ${run.args[0] ?? ""} failed (exit ${result.status ?? "none"}): ${said}`);
    }
    return result.stdout;
}

/** Signs and attests in a private temporary folder that goes whatever happens. */
function sign(inputs: SignatureInputs): SignatureOutputs {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "todo-signing-"));
    try {
        fs.writeFileSync(path.join(workDir, "config.json"), dockerConfigJson(inputs.registryAddress, inputs.registryUsername, inputs.registryPassword), { mode: 0o600 });
        const runs = signingRuns(inputs, workDir);
        for (const run of runs) {
            runTool(run);
        }
        const sbom = fs.readFileSync(path.join(workDir, "sbom.cdx.json"));
        const components = (JSON.parse(sbom.toString("utf8")) as { components?: unknown[] }).components ?? [];
        const publicKey = runTool({ command: "cosign", args: ["public-key", "--key", "env://TODO_SIGNING_KEY"], env: { TODO_SIGNING_KEY: inputs.privateKey, COSIGN_PASSWORD: inputs.keyPassword } });
        return { ...inputs, signed: digestReference(inputs.image), publicKey: publicKey.trim(), sbomComponents: components.length, sbomSha256: createHash("sha256").update(sbom).digest("hex") };
    } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
    }
}

/** Sign again only for another digest or another key; new registry credentials change nothing. */
export function needsSigning(olds: SignatureInputs, news: SignatureInputs): boolean {
    return digestReference(olds.image) !== digestReference(news.image) || olds.privateKey !== news.privateKey || olds.keyPassword !== news.keyPassword;
}

const provider: pulumi.dynamic.ResourceProvider<SignatureInputs, SignatureOutputs> = {
    // eslint-disable-next-line @typescript-eslint/require-await -- the interface is asynchronous
    async create(inputs) {
        const outs = sign(inputs);
        return { id: outs.signed, outs };
    },
    // eslint-disable-next-line @typescript-eslint/require-await -- the interface is asynchronous
    async diff(_id, olds, news) {
        return { changes: SIGNATURE_INPUTS.some((name) => olds[name] !== news[name]) };
    },
    // eslint-disable-next-line @typescript-eslint/require-await -- the interface is asynchronous
    async update(_id, olds, news) {
        // The same digest under another tag, or new credentials: the signature stands.
        return { outs: needsSigning(olds, news) ? sign(news) : { ...olds, ...news } };
    },
    // Signatures and SBOMs stay in the registry beside the image they describe, as the image does.
};

export interface ImageSignatureArgs {
    /** The pushed image, `<repository>[:tag]@sha256:<digest>` (docker-build's `ref`). */
    image: pulumi.Input<string>;
    /** The registry it was pushed to and the credentials that wrote it. */
    registry: { address: string; username: string; password: pulumi.Input<string> };
    /** The cosign key that signs it (todo:signingKey, todo:signingKeyPassword). */
    key: SigningKey;
}

/** The cosign signature and the attested SBOM of one pushed image. */
export class ImageSignature extends pulumi.dynamic.Resource {
    /** `<repository>@<digest>` that was signed; known once the signature is in the registry. */
    declare readonly signed: pulumi.Output<string>;
    /** The image reference as given, resolved after signing: what a Deployment should wait for. */
    declare readonly image: pulumi.Output<string>;
    declare readonly publicKey: pulumi.Output<string>;
    declare readonly sbomComponents: pulumi.Output<number>;
    declare readonly sbomSha256: pulumi.Output<string>;

    constructor(name: string, args: ImageSignatureArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            provider,
            name,
            {
                image: args.image,
                registryAddress: args.registry.address,
                registryUsername: args.registry.username,
                registryPassword: pulumi.secret(args.registry.password),
                privateKey: pulumi.secret(args.key.privateKey),
                keyPassword: pulumi.secret(args.key.password),
                signed: undefined,
                publicKey: undefined,
                sbomComponents: undefined,
                sbomSha256: undefined,
            },
            { ...opts, additionalSecretOutputs: ["registryPassword", "privateKey", "keyPassword"] },
            "todo",
            "ImageSignature",
        );
    }
}

/**
 * Why signing cannot run here, or undefined: each tool a signing `pulumi up` needs and PATH lacks,
 * with where to get it. Asked before any resource is registered.
 */
export function signingToolsProblem(runner: SyncRunner): string | undefined {
    const missing = SIGNING_TOOLS.filter((tool) => {
        const result = runner(tool, ["version"]);
        return result.missing || result.status !== 0;
    });
    if (missing.length === 0) {
        return undefined;
    }
    return `todo:signingKey is set, so pulumi up signs the pushed images and attaches their SBOMs, which needs ${missing.join(" and ")} on PATH; build them with: local-cluster/toolchain cosign syft (then add ~/.cache/todo-k8s/toolchain/bin to PATH), or install their releases (sigstore/cosign, anchore/syft)`;
}

/** Stops the program before it registers anything when a signing tool is missing. */
export function requireSigningTools(runner: SyncRunner = systemSyncRunner()): void {
    const problem = signingToolsProblem(runner);
    if (problem !== undefined) {
        throw new pulumi.RunError(problem);
    }
}
