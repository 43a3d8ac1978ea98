// The frontend and backend images. Each is tagged by the content of its build context, so a
// Deployment changes only when code does and a second `pulumi up` with no code change is a no-op.
//   dev:  built into the Docker daemon that DOCKER_HOST points to (`eval $(minikube docker-env)`),
//         deployed by that local content tag with imagePullPolicy IfNotPresent;
//   prod: pushed to the registry and deployed as <repository>:<tag>@<digest>; with a signing key,
//         signed and given a signed SBOM in the registry before anything deploys it.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

import dockerignore from "@balena/dockerignore";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";

import type { ImageSettings } from "../stacks/config";
import { APP_IMAGE_REPOSITORIES, CONTENT_TAG_LENGTH } from "./image-names";
import { ImageSignature } from "./image-signing";

/**
 * A stable hash of everything that goes into a build: the files of the context that
 * .dockerignore keeps (path, executable bit, content), the Dockerfile (which a .dockerignore
 * may exclude from the context, yet it decides the image) and the build args.
 */
export function contentTag(contextDir: string, buildArgs: Readonly<Record<string, string>>): string {
    const ignorePath = path.join(contextDir, ".dockerignore");
    const patterns = existsSync(ignorePath) ? readFileSync(ignorePath, "utf8").split(/\r?\n/) : [];
    const ignore = dockerignore().add(patterns);
    // Exceptions ("!src/app/**") can bring back files under an excluded directory. Like Docker,
    // walk into an excluded directory only when an exception's path starts with it.
    const exceptions = patterns
        .map((line) => line.trim())
        .filter((line) => line.startsWith("!"))
        .map((line) => `${path.posix.normalize(line.slice(1).trim().replace(/^\/+/, ""))}/`);
    const mayHoldExceptions = (relativeDir: string): boolean => exceptions.some((exception) => exception.startsWith(`${relativeDir}/`));
    const hash = createHash("sha256");
    const visit = (relativeDir: string): void => {
        const entries = readdirSync(path.join(contextDir, relativeDir), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
        for (const entry of entries) {
            const relativePath = relativeDir === "" ? entry.name : `${relativeDir}/${entry.name}`;
            if (ignore.ignores(relativePath)) {
                if (entry.isDirectory() && mayHoldExceptions(relativePath)) {
                    visit(relativePath);
                }
                continue;
            }
            const absolutePath = path.join(contextDir, relativePath);
            const stat = lstatSync(absolutePath);
            if (stat.isDirectory()) {
                visit(relativePath);
            } else if (stat.isSymbolicLink()) {
                hash.update(`link\0${relativePath}\0${readlinkSync(absolutePath)}\0`);
            } else if (stat.isFile()) {
                hash.update(`file\0${relativePath}\0${stat.mode & 0o111 ? "x" : "-"}\0`);
                hash.update(readFileSync(absolutePath));
            }
        }
    };
    visit("");
    hash.update("dockerfile\0");
    hash.update(readFileSync(path.join(contextDir, "Dockerfile")));
    for (const name of Object.keys(buildArgs).sort()) {
        hash.update(`arg\0${name}=${buildArgs[name]}\0`);
    }
    return hash.digest("hex").slice(0, CONTENT_TAG_LENGTH);
}

/** One application image to build. */
export interface AppImageSpec {
    /** Repository name without registry, e.g. "todo-backend". */
    name: string;
    /** Build context directory; must hold a Dockerfile. */
    context: string;
    /** Docker build args, e.g. the base image. */
    buildArgs: Record<string, string>;
}

export interface ImagesArgs {
    /** How images are built and where they go (from the stack config). */
    settings: ImageSettings;
    /** Backend build; default: apps/backend with PYTHON_IMAGE from settings. */
    backend?: AppImageSpec;
    /** Frontend build; default: apps/frontend with NODE_IMAGE from settings. */
    frontend?: AppImageSpec;
}

/** How long `docker version` may take before no daemon counts as answering. */
const DAEMON_PROBE_TIMEOUT_MS = 15_000;

/**
 * Why no Docker daemon can build here, or undefined when one answers. Asks the docker CLI, which
 * finds the daemon (DOCKER_HOST, docker contexts) the way the docker-build provider does.
 */
export async function dockerDaemonProblem(): Promise<string | undefined> {
    try {
        // process.env given explicitly: a test runner's sandboxed environment must reach the CLI too.
        await promisify(execFile)("docker", ["version", "--format", "{{.Server.Version}}"], { env: process.env, timeout: DAEMON_PROBE_TIMEOUT_MS });
        return undefined;
    } catch (error) {
        const failure = error as { code?: unknown; killed?: boolean; stderr?: string };
        if (failure.code === "ENOENT") {
            return "no docker command on PATH";
        }
        if (failure.killed === true) {
            return `no Docker daemon answered within ${DAEMON_PROBE_TIMEOUT_MS / 1000} s`;
        }
        return (failure.stderr ?? "").split("\n").map((line) => line.trim()).find((line) => line !== "") ?? String(error);
    }
}

const dockerfileOf = (spec: AppImageSpec): string => path.join(spec.context, "Dockerfile");

/** The default build of each image, or the spec given; refused when its context has no Dockerfile. */
function imageSpecs(args: ImagesArgs): Record<"backend" | "frontend", AppImageSpec> {
    const root = path.resolve(__dirname, "..");
    const specs = {
        backend: args.backend ?? { name: APP_IMAGE_REPOSITORIES.backend, context: path.join(root, "apps/backend"), buildArgs: { PYTHON_IMAGE: args.settings.pythonImage } },
        frontend: args.frontend ?? { name: APP_IMAGE_REPOSITORIES.frontend, context: path.join(root, "apps/frontend"), buildArgs: { NODE_IMAGE: args.settings.nodeImage } },
    };
    for (const [component, spec] of Object.entries(specs)) {
        if (!existsSync(dockerfileOf(spec))) {
            throw new pulumi.RunError(`${component} image: no Dockerfile at ${dockerfileOf(spec)}; accepted: a build context directory that holds a Dockerfile`);
        }
    }
    return specs;
}

/** Where a signed image's signature and SBOM are, and how to check them. */
export interface SupplyChainRecord {
    /** `<repository>@<digest>` signed; its signature and SBOM attestation are stored under that digest. */
    signed: string;
    /** The SBOM: CycloneDX JSON made by syft, attested as predicate type https://cyclonedx.org/bom. */
    sbom: { components: number; sha256: string };
}

const supplyChainRecord = (signature: ImageSignature): pulumi.Output<SupplyChainRecord> =>
    pulumi.output({ signed: signature.signed, sbom: { components: signature.sbomComponents, sha256: signature.sbomSha256 } });

/** Builds (and in prod pushes) both application images; exposes the references to deploy. */
export class Images extends pulumi.ComponentResource {
    /** Reference the backend Deployment and migration Job run: a local content tag, or tag@digest. */
    readonly backendRef: pulumi.Output<string>;
    readonly frontendRef: pulumi.Output<string>;
    /** What was signed and the SBOM attested for each image, when the stack signs. */
    readonly supplyChain: pulumi.Output<Record<"backend" | "frontend", SupplyChainRecord>> | undefined;
    /** PEM of the public key that verifies them (`cosign verify --key`), when the stack signs. */
    readonly signingPublicKey: pulumi.Output<string> | undefined;
    private readonly signatures: Partial<Record<"backend" | "frontend", ImageSignature>> = {};

    constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        const specs = imageSpecs(args);
        super("todo:components:Images", name, {}, opts);
        const buildOnPreview = this.canBuildInPreview();
        this.backendRef = this.build("backend", specs.backend, args.settings, buildOnPreview);
        this.frontendRef = this.build("frontend", specs.frontend, args.settings, buildOnPreview);
        const { backend, frontend } = this.signatures;
        this.supplyChain = backend && frontend ? pulumi.output({ backend: supplyChainRecord(backend), frontend: supplyChainRecord(frontend) }) : undefined;
        this.signingPublicKey = backend?.publicKey;
        this.registerOutputs({ backendRef: this.backendRef, frontendRef: this.frontendRef, supplyChain: this.supplyChain, signingPublicKey: this.signingPublicKey });
    }

    /**
     * A preview builds both images, so a broken Dockerfile or dependency fails it. Without a
     * Docker daemon it cannot: it says so once, and plans new images without building them.
     */
    private async canBuildInPreview(): Promise<boolean> {
        if (!pulumi.runtime.isDryRun()) {
            return true;
        }
        const problem = await dockerDaemonProblem();
        if (problem === undefined) {
            return true;
        }
        await pulumi.log.warn(
            `this preview cannot build the images, no Docker daemon answers: ${problem} Set DOCKER_HOST to a running Docker daemon (dev: eval $(minikube docker-env)).`,
            this,
        );
        return false;
    }

    private build(component: "backend" | "frontend", spec: AppImageSpec, settings: ImageSettings, buildOnPreview: Promise<boolean>): pulumi.Output<string> {
        const tag = contentTag(spec.context, spec.buildArgs);
        const repository = settings.push ? `${settings.repositoryPrefix}/${spec.name}` : spec.name;
        const cacheRef = `${repository}:buildcache`;
        const useRegistryCache = settings.push && settings.registryCache;
        const image = new dockerBuild.Image(
            component,
            {
                context: { location: spec.context },
                dockerfile: { location: dockerfileOf(spec) },
                buildArgs: spec.buildArgs,
                tags: [`${repository}:${tag}`],
                // The exports that push and load stand for, spelt out: docker-build 0.0.22 takes
                // the ones it derives from push/load for unknown inputs and skips every preview
                // build (pulumi/pulumi-docker-build#252). type=docker loads a local build into the
                // daemon the cluster's node reads images from; type=registry pushes.
                exports: [{ raw: settings.push ? "type=registry" : "type=docker" }],
                push: false,
                buildOnPreview,
                registries: settings.push && settings.registry ? [settings.registry] : undefined,
                cacheFrom: useRegistryCache ? [{ registry: { ref: cacheRef } }] : undefined,
                cacheTo: useRegistryCache ? [{ registry: { ref: cacheRef, mode: dockerBuild.CacheMode.Max, imageManifest: true, ociMediaTypes: true } }] : undefined,
            },
            // Only previews read buildOnPreview, so its value is no change to the image: a preview
            // without a daemon must not plan an update (an image that did change keeps the stored
            // true, and its build fails on the missing daemon).
            { parent: this, ignoreChanges: ["buildOnPreview"] },
        );
        // A pushed image is pulled by digest; a local one only has its content tag. Deriving the
        // local reference from the image's URN keeps it known in previews while making every
        // consumer wait for the build.
        if (!settings.push) {
            return image.urn.apply(() => `${repository}:${tag}`);
        }
        if (!settings.signing || !settings.registry) {
            return image.ref;
        }
        const signature = new ImageSignature(`${component}-signature`, { image: image.ref, registry: settings.registry, key: settings.signing }, { parent: this });
        this.signatures[component] = signature;
        // The reference as pushed, known only once it is signed: nothing runs an unsigned digest.
        return signature.image;
    }
}
