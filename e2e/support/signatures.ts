// Signed images, read back as a person checking a registry would: `cosign verify` of the digest a
// pod runs against the stack's public key, and `cosign verify-attestation` of its CycloneDX SBOM,
// whose signed statement must name that same digest.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { isLoopbackRegistry, SBOM_PREDICATE_TYPE } from "../../components/image-signing";
import { dockerConfigJson } from "../../components/registry";
import { useToolchain } from "../../local-cluster/local-cluster";
import { output, run } from "../../local-cluster/shell";
import { pods } from "./kube";

/** A registry and the `user:password` that reads it (none: anonymous). */
export interface RegistryAccess {
    address: string;
    credentials?: string;
}

/** What the registry holds for one digest, verified. */
export interface VerifiedImage {
    /** `<repository>@<digest>` checked. */
    reference: string;
    /** Names of the SBOM's components (packages of the OS and of the app). */
    sbomComponents: string[];
}

interface InTotoStatement {
    predicateType?: string;
    subject?: { name?: string; digest?: { sha256?: string } }[];
    predicate?: { bomFormat?: string; components?: { name?: string }[] };
}

/** cosign's flags for this registry and key; its Docker config in `dir`. */
function cosignCall(access: RegistryAccess, dir: string): { flags: string[]; env: NodeJS.ProcessEnv } {
    const [user = "", ...password] = (access.credentials ?? "").split(":");
    if (user !== "") writeFileSync(join(dir, "config.json"), dockerConfigJson(access.address, user, password.join(":")), { mode: 0o600 });
    return { flags: ["--insecure-ignore-tlog", ...(isLoopbackRegistry(access.address) ? ["--allow-http-registry"] : [])], env: { DOCKER_CONFIG: dir } };
}

/** The claim type of a `cosign sign` signature (an attestation's claim carries its predicate type). */
const SIGNATURE_CLAIM_TYPE = "https://sigstore.dev/cosign/sign/v1";

interface SignedClaim {
    critical?: { type?: string; image?: { "docker-manifest-digest"?: string } };
}

/**
 * Why `reference` (`<repository>@<digest>`, or a tag) has no signature by this key, or undefined
 * when it has one. cosign verify accepts any bundle the key made, an SBOM attestation too, so the
 * verified claims must include a signature's, for this digest.
 */
async function signatureProblem(reference: string, publicKeyFile: string, access: RegistryAccess, dir: string): Promise<string | undefined> {
    const { flags, env } = cosignCall(access, dir);
    const result = await run("cosign", ["verify", "--key", publicKeyFile, "--output", "json", ...flags, reference], { env, timeoutSeconds: 60 });
    if (result.status !== 0) {
        return result.stderr.split("\n").find((line) => line.startsWith("Error:")) ?? result.stderr.trim().split("\n").pop() ?? `exit ${result.status ?? "signal"}`;
    }
    const claims = JSON.parse(result.stdout) as SignedClaim[];
    const digest = reference.includes("@") ? reference.slice(reference.indexOf("@") + 1) : undefined;
    const signatures = claims.filter((claim) => claim.critical?.type === SIGNATURE_CLAIM_TYPE && (digest === undefined || claim.critical.image?.["docker-manifest-digest"] === digest));
    return signatures.length > 0 ? undefined : `cosign verified only claims of types ${JSON.stringify(claims.map((claim) => claim.critical?.type))}: no signature of this digest`;
}

/**
 * Verifies the signature and the SBOM attestation of `reference` (`<repository>@<digest>`) with
 * the public key in `publicKeyFile`; throws with cosign's words when either is missing or made
 * with another key.
 */
export async function verifyImage(reference: string, publicKeyFile: string, access: RegistryAccess): Promise<VerifiedImage> {
    const dir = mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "todo-verify-"));
    try {
        const problem = await signatureProblem(reference, publicKeyFile, access, dir);
        if (problem !== undefined) throw new Error(`${reference}: signature not verified: ${problem}`);
        const { flags, env } = cosignCall(access, dir);
        const attestations = await output("cosign", ["verify-attestation", "--key", publicKeyFile, "--type", "cyclonedx", ...flags, reference], { env, timeoutSeconds: 60 });
        const digest = reference.split("@sha256:")[1] ?? "";
        const statements = attestations
            .split("\n")
            .filter((line) => line.trim() !== "")
            .map((line) => JSON.parse(Buffer.from((JSON.parse(line) as { payload: string }).payload, "base64").toString("utf8")) as InTotoStatement);
        const sbom = statements.find((statement) => statement.predicateType === SBOM_PREDICATE_TYPE && statement.subject?.some((subject) => subject.digest?.sha256 === digest));
        if (!sbom?.predicate) {
            throw new Error(`${reference}: no verified CycloneDX attestation names this digest (statements: ${JSON.stringify(statements.map((s) => s.predicateType))})`);
        }
        if (sbom.predicate.bomFormat !== "CycloneDX") throw new Error(`${reference}: the attested SBOM is ${String(sbom.predicate.bomFormat)}, not CycloneDX`);
        return { reference, sbomComponents: (sbom.predicate.components ?? []).map((component) => component.name ?? "") };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** Why `reference` has no signature by this key (cosign's words), or undefined when it has one. */
export async function verificationRefusal(reference: string, publicKeyFile: string, access: RegistryAccess): Promise<string | undefined> {
    const dir = mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "todo-verify-"));
    try {
        return await signatureProblem(reference, publicKeyFile, access, dir);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** cosign and syft, which `pulumi up` signs with: the ones on PATH, else the offline toolchain's (built once). */
export async function provideSigningTools(): Promise<void> {
    const missing = await Promise.all(["cosign", "syft"].map(async (tool) => (await run("sh", ["-c", `command -v ${tool}`])).status !== 0));
    if (missing.some(Boolean)) await useToolchain({ components: ["cosign", "syft"] });
}

/** `cosign generate-key-pair` in `dir`: the private key's PEM, its password and the public key's file. */
export async function generateKeyPair(dir: string, password: string): Promise<{ privateKey: string; publicKeyFile: string }> {
    await output("cosign", ["generate-key-pair", "--output-key-prefix", join(dir, "cosign")], { env: { COSIGN_PASSWORD: password }, timeoutSeconds: 60 });
    return { privateKey: readFileSync(join(dir, "cosign.key"), "utf8"), publicKeyFile: join(dir, "cosign.pub") };
}

/** Every image digest the pods of a namespace run (containers, init containers), `<repository>@<digest>`. */
export async function runningDigests(namespace: string): Promise<string[]> {
    const ids = (await pods(namespace)).flatMap((pod) => [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].map((status) => status.imageID));
    return [...new Set(ids.filter((id) => id !== "").map((id) => id.replace(/^docker-pullable:\/\//, "")))].sort();
}

/** Writes a public key PEM to a file for cosign. */
export function publicKeyFile(dir: string, name: string, pem: string): string {
    const file = join(dir, `${name}.pub`);
    writeFileSync(file, pem.endsWith("\n") ? pem : `${pem}\n`);
    return file;
}
