// Runs the whole Pulumi program (index.ts) under pulumi.runtime.setMocks with the configuration
// of a stack file, and returns every resource it registered with its inputs, plus its exports.
// The mocks stand in for the providers only: the program, its config handling and its
// components run as they do under `pulumi up`.
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import type * as pulumiType from "@pulumi/pulumi";
import * as yaml from "js-yaml";

import { CLUSTER_CHECK_TYPE } from "../components/cluster";
import { GENERATED_SECRET_TYPE } from "../components/generated-secret";
import { digestReference, IMAGE_SIGNATURE_TYPE, SIGNING_TOOLS } from "../components/image-signing";
import { MONITORING_API } from "../components/cluster";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
export const PROJECT = "todo";

export type StackName = "dev" | "prod";

/** A Kubernetes manifest or any other resource's inputs as the program passed them. */
 
export type Inputs = Record<string, any>;

export interface CapturedResource {
    /** Pulumi type token, e.g. kubernetes:apps/v1:Deployment. */
    type: string;
    /** Logical (URN) name. */
    name: string;
    /** Inputs with secret values unwrapped; a value unknown during a preview is UNKNOWN. */
    inputs: Inputs;
    /**
     * Dotted paths of the inputs the program passed as secrets, e.g. "stringData.DATABASE_URL".
     * For a Kubernetes Secret, whose SDK class marks all its data secret whatever it is given,
     * the paths are those of the values the program itself marked.
     */
    secretPaths: string[];
}

export interface ProgramRun {
    resources: CapturedResource[];
    /** Stack exports, resolved. */
    outputs: Record<string, unknown>;
    /** Names of exports Pulumi marks as secret. */
    secretOutputs: string[];
}

export interface RunOptions {
    /** Extra `todo:*` values (keys without the namespace), as `pulumi config set` would store them. */
    config?: Record<string, string>;
    /** Keys of `config` that were set with --secret. */
    secretKeys?: string[];
    /** Run as a preview (`pulumi preview`) instead of an update. */
    preview?: boolean;
    /** Answer the registrations of this type only once `until` settles, as a provider still at work. */
    hold?: { type: string; until: Promise<void> };
    /** Told of each resource as it reaches the provider mocks, in order. */
    onRegister?: (resource: CapturedResource) => void;
    /**
     * Whether the cluster serves the Prometheus operator's API, which the program asks kubectl
     * with todo:monitoring on: a stand-in kubectl on PATH answers. Default: it does.
     */
    monitoringApi?: "served" | "absent";
    /**
     * Whether cosign and syft answer on PATH, which the program asks with todo:signingKey set:
     * stand-ins answer `version` (or fail it). Default: they do.
     */
    signingTools?: "present" | "absent";
}

interface ProjectConfigDeclaration {
    type: string;
    description?: string;
    default?: unknown;
}

/** Pulumi.yaml's config declarations, keyed by full key (todo:namespace). */
export function projectConfigDeclarations(): Record<string, ProjectConfigDeclaration> {
    const project = yaml.load(readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8")) as { config?: Record<string, ProjectConfigDeclaration> };
    return project.config ?? {};
}

/** A config value as the engine hands it to the program: strings, and JSON for lists and objects. */
function configString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/** The configuration the engine would give the program for a stack: project defaults, then the stack file. */
export function stackConfig(stack: StackName): Record<string, string> {
    const values: Record<string, string> = {};
    for (const [key, declaration] of Object.entries(projectConfigDeclarations())) {
        if (declaration.default !== undefined) {
            values[key] = configString(declaration.default);
        }
    }
    const stackFile = yaml.load(readFileSync(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
    for (const [key, value] of Object.entries(stackFile.config ?? {})) {
        values[key] = configString(value);
    }
    return values;
}

/** The wire format marks a secret value with this signature key (sdk/nodejs/runtime/rpc.ts). */
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";
const SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";

/** A value with its secret wrappers removed, and the paths where they were. */
function unwrapSecrets(value: unknown, at: string, secretPaths: string[]): unknown {
    if (Array.isArray(value)) {
        return value.map((item, index) => unwrapSecrets(item, `${at}[${String(index)}]`, secretPaths));
    }
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SIGNATURE_KEY] === SECRET_SIGNATURE) {
            secretPaths.push(at);
            return unwrapSecrets(record.value, at, []);
        }
        return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, unwrapSecrets(item, at === "" ? key : `${at}.${key}`, secretPaths)]));
    }
    return value;
}

/** What the harness records for a value the engine does not know yet (a preview's computed outputs). */
export const UNKNOWN = "<unknown>";
/** The wire format's unknown value (sdk/nodejs/runtime/rpc.ts). */
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The inputs as recorded: secrets unwrapped, unknowns replaced by UNKNOWN. */
function recorded(value: unknown): unknown {
    if (value === UNKNOWN_VALUE || (value !== null && typeof value === "object" && value.constructor.name === "Unknown")) {
        return UNKNOWN;
    }
    if (Array.isArray(value)) {
        return value.map(recorded);
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, recorded(item)]));
    }
    return value;
}

/** The public key the stand-in signature reports. */
export const STAND_IN_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nstand-in\n-----END PUBLIC KEY-----";

const fakeDigest = (seed: string): string => `sha256:${createHash("sha256").update(seed).digest("hex")}`;

/** Provider outputs the mocks compute from inputs, the way the real providers would. */
function mockState(type: string, name: string, inputs: Inputs): Inputs {
    switch (type) {
        case "docker-build:index:Image": {
            const tags = inputs.tags as string[];
            const digest = fakeDigest(JSON.stringify(inputs));
            // The provider pushes for push: true or a registry export.
            const pushed = inputs.push === true || ((inputs.exports ?? []) as { raw?: string }[]).some((entry) => entry.raw === "type=registry");
            return { ...inputs, digest: pushed ? digest : "", ref: pushed ? `${tags[0] ?? ""}@${digest}` : (tags[0] ?? ""), contextHash: fakeDigest(`context:${name}`) };
        }
        case IMAGE_SIGNATURE_TYPE: {
            // What create() returns: the digest signed, the key's public half, the SBOM's figures.
            // (A preview's image is unknown; previewState hides these then.)
            const image = String(inputs.image);
            return { ...inputs, signed: image === UNKNOWN ? UNKNOWN : digestReference(image), publicKey: STAND_IN_PUBLIC_KEY, sbomComponents: 180, sbomSha256: fakeDigest(`sbom:${String(inputs.image)}`).slice(7) };
        }
        case GENERATED_SECRET_TYPE: {
            // GeneratedSecret: a value of the asked length, as its create() makes, secret as the
            // engine makes it (additionalSecretOutputs).
            const length = Number(inputs.length);
            const value = `generated${name.replace(/[^a-z0-9]/gi, "")}`.padEnd(length, "x").slice(0, length);
            return { ...inputs, value: { [SIGNATURE_KEY]: SECRET_SIGNATURE, value } };
        }
        default:
            return inputs;
    }
}

/**
 * During a preview the engine knows a new resource's inputs only: every output its provider
 * computes is unknown, as the program sees it in `pulumi preview`.
 */
function previewState(inputs: Inputs, state: Inputs): Inputs {
    return Object.fromEntries(Object.entries(state).map(([key, value]) => [key, key in inputs ? value : UNKNOWN_VALUE]));
}

type SecretClass = new (name: string, args: { data?: unknown; stringData?: unknown }, opts?: unknown) => object;

/**
 * Makes the Kubernetes Secret class report which of its values the program passed as secrets,
 * before the class marks all of them secret itself (else no test could see a plain credential).
 */
async function watchSecretValues(pulumi: typeof pulumiType, programSecretPaths: Map<string, Promise<string[]>>): Promise<void> {
    const module = (await import("@pulumi/kubernetes/core/v1/secret")) as { Secret: SecretClass };
    const Original = module.Secret;
    module.Secret = class extends Original {
        constructor(name: string, args: { data?: unknown; stringData?: unknown }, opts?: unknown) {
            super(name, args, opts);
            const paths = (["data", "stringData"] as const).flatMap((field) =>
                Object.entries((args[field] ?? {}) as Record<string, unknown>).map(async ([key, value]) =>
                    (await pulumi.isSecret(pulumi.output(value))) ? [`${field}.${key}`] : [],
                ),
            );
            programSecretPaths.set(name, Promise.all(paths).then((found) => found.flat()));
        }
    };
}

/**
 * A folder with a stand-in kubectl that answers the discovery of the Prometheus operator's API
 * as a cluster with (or without) kube-prometheus-stack's CRDs does, and refuses anything else;
 * and stand-in signing tools that answer `version` only when present.
 */
function standInTools(monitoringApi: "served" | "absent", signingTools: "present" | "absent"): string {
    const dir = mkdtempSync(path.join(tmpdir(), "todo-kubectl-"));
    const list = { kind: "APIResourceList", groupVersion: MONITORING_API.groupVersion, resources: MONITORING_API.resources.map((name) => ({ name, namespaced: true })) };
    const answer =
        monitoringApi === "served"
            ? `printf '%s\\n' '${JSON.stringify(list)}'`
            : "echo 'Error from server (NotFound): the server could not find the requested resource' >&2; exit 1";
    const script = `#!/bin/sh\ncase "$*" in\n  *"get --raw /apis/${MONITORING_API.groupVersion}") ${answer} ;;\n  *) echo "stand-in kubectl: unexpected call: $*" >&2; exit 1 ;;\nesac\n`;
    writeFileSync(path.join(dir, "kubectl"), script);
    chmodSync(path.join(dir, "kubectl"), 0o755);
    for (const tool of SIGNING_TOOLS) {
        const version = signingTools === "present" ? `echo "${tool} stand-in"` : `echo "${tool}: not installed here" >&2; exit 127`;
        writeFileSync(path.join(dir, tool), `#!/bin/sh\ncase "$1" in\n  version) ${version} ;;\n  *) echo "stand-in ${tool}: unexpected call: $*" >&2; exit 1 ;;\nesac\n`);
        chmodSync(path.join(dir, tool), 0o755);
    }
    return dir;
}

/** Runs index.ts for a stack, in a fresh module registry so runs don't share state. */
export async function runProgram(stack: StackName, options: RunOptions = {}): Promise<ProgramRun> {
    const toolsDir = standInTools(options.monitoringApi ?? "served", options.signingTools ?? "present");
    const savedPath = process.env.PATH;
    process.env.PATH = `${toolsDir}${path.delimiter}${savedPath ?? ""}`;
    try {
        return await runProgramOnce(stack, options);
    } finally {
        process.env.PATH = savedPath;
        rmSync(toolsDir, { recursive: true, force: true });
    }
}

async function runProgramOnce(stack: StackName, options: RunOptions): Promise<ProgramRun> {
    const resources: CapturedResource[] = [];
    const config: Record<string, string> = stackConfig(stack);
    for (const [key, value] of Object.entries(options.config ?? {})) {
        config[`${PROJECT}:${key}`] = value;
    }
    const secretKeys = (options.secretKeys ?? []).map((key) => `${PROJECT}:${key}`);
    let run: ProgramRun | undefined;
    await jest.isolateModulesAsync(async () => {
        // The engine tells the program which keys are secret through this variable.
        process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(secretKeys);
        const pulumi = (await import("@pulumi/pulumi")) as typeof pulumiType;
        pulumi.runtime.setAllConfig(config, secretKeys);
        const programSecretPaths = new Map<string, Promise<string[]>>();
        await watchSecretValues(pulumi, programSecretPaths);
        await pulumi.runtime.setMocks(
            {
                newResource: async (args) => {
                    const sdkSecretPaths: string[] = [];
                    const inputs = unwrapSecrets(recorded(args.inputs), "", sdkSecretPaths) as Inputs;
                    const computed = mockState(args.type, args.name, inputs);
                    const state = options.preview ? previewState(inputs, computed) : computed;
                    const secretPaths = args.type === "kubernetes:core/v1:Secret" ? ((await programSecretPaths.get(args.name)) ?? []) : sdkSecretPaths;
                    const resource = { type: args.type, name: args.name, inputs, secretPaths };
                    resources.push(resource);
                    options.onRegister?.(resource);
                    if (args.type === options.hold?.type) {
                        await options.hold.until;
                    }
                    const metadata = state.metadata as { name?: string } | undefined;
                    return { id: metadata?.name ?? `${args.name}-id`, state };
                },
                call: (args) => args.inputs as Record<string, unknown>,
            },
            PROJECT,
            stack,
            options.preview ?? false,
        );
        const program = (await import("../index")) as Record<string, unknown>;
        const outputs: Record<string, unknown> = {};
        const secretOutputs: string[] = [];
        for (const [name, value] of Object.entries(program)) {
            if (pulumi.Output.isInstance(value)) {
                if (await pulumi.isSecret(value)) {
                    secretOutputs.push(name);
                }
                // Not part of the SDK's typings, but how it tells a preview's unknowns apart.
                const known = await (value as unknown as { isKnown: Promise<boolean> }).isKnown;
                outputs[name] = known ? await new Promise((resolve) => value.apply(resolve)) : UNKNOWN;
            } else {
                outputs[name] = value;
            }
        }
        // Let every pending registration reach the mocks.
        const settings = (await import("@pulumi/pulumi/runtime/settings")) as { waitForRPCs?: () => Promise<void> };
        await settings.waitForRPCs?.();
        run = { resources, outputs, secretOutputs };
    });
    if (!run) {
        throw new Error(`the ${stack} program did not run`);
    }
    return run;
}

/** Kubernetes resources that are not objects in the cluster: a Helm release, the ConfigGroup of the cluster check. */
const NOT_OBJECTS = ["kubernetes:helm.sh/v3:Release", CLUSTER_CHECK_TYPE];

/** Kubernetes objects among the captured resources (the provider's type tokens start with kubernetes:). */
export function manifests(run: ProgramRun): Inputs[] {
    return run.resources.filter((resource) => resource.type.startsWith("kubernetes:") && !NOT_OBJECTS.includes(resource.type)).map((resource) => resource.inputs);
}

export function findManifest(run: ProgramRun, kind: string, name: string): Inputs {
    const found = manifests(run).find((manifest) => manifest.kind === kind && (manifest.metadata as { name?: string } | undefined)?.name === name);
    if (!found) {
        throw new Error(`no ${kind} named ${name}; have: ${manifests(run).map((m) => `${String(m.kind)}/${String((m.metadata as { name?: string }).name)}`).join(", ")}`);
    }
    return found;
}
