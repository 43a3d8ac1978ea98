// The prod path: Pulumi.prod.yaml's settings, with a password-protected registry (on the offline
// cluster its own) standing in for Docker Hub and a TLS Postgres in its own namespace for Neon.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { afterAll, expect } from "@jest/globals";

import { PULL_SECRET_NAME } from "../../components/registry";
import { type Account, signUpAndAddTodo, uniqueTitle } from "../support/browser";
import {
    deploymentsReady,
    everyContainerNonRoot,
    migrationJobCompleted,
    namespaceEnforcesRestricted,
    namespacesFree,
    podSecurityRefuses,
    registerNoDriftChecks,
    registerTeardown,
    WORKLOAD_NAMES,
} from "../support/checks";
import { postgresIn } from "../support/database";
import { activePods, deployment, deploymentImage, kubectl, kubectlJson, waitForRollout } from "../support/kube";
import { E2ePath } from "../support/path";
import { PortForward } from "../support/port-forward";
import { readRunInfo } from "../support/run";
import { registerNetworkPolicyChecks } from "../support/network-policies";
import { registerRolledBackReleaseWorks, registerRolledForwardReleaseReads, registerRolloutChecks, rollBack, rollForward, type RolloutSubject } from "../support/rollout-checks";
import { registerScalingChecks } from "../support/scaling-checks";
import { eventually, run } from "../../local-cluster/shell";
import { TestStack, UP_TIMEOUT_SECONDS } from "../support/stack";
import { generateKeyPair, provideSigningTools, publicKeyFile, runningDigests, verificationRefusal, verifyImage, type RegistryAccess } from "../support/signatures";
import { selfSignedTlsSecret } from "../support/tls";
import { plannedImage, plannedInputs, policyProblems, policyReport, readPreviewExemptions, runWorkflowStep, type WorkflowRun } from "../support/workflows";
import { POLICY_PACK_NAME, policies } from "../../policy/policies";

const NAMESPACE = "todo-prod";
const LOCAL_PORT = 18080;
const NEON = { namespace: "neon-standin", host: "postgres.neon-standin.svc.cluster.local", user: "neon", database: "neondb" };
const INGRESS = { host: "todo.e2e.test", tlsSecret: "todo-tls" };
const BACKEND_MAX_REPLICAS = 3;

const ingress = readRunInfo().target.ingress;
// One check fewer on a target without an ingress controller.
const path = new E2ePath("prod", ingress ? 56 : 55);
path.namespaces.push(NAMESPACE, NEON.namespace);
const { target, workDir } = path.run;
const { projectDir } = path;
let neonUrl = "";
// The backend may reach the database's address only (todo:databaseEgressCidrs), as a user would set Neon's.
let neonCidr = "";
let madeNeonNamespace = false;
let forward: PortForward | undefined;
let account: Account | undefined;
const titleBefore = uniqueTitle("Deployed by Pulumi");
const frontendUrl = `http://127.0.0.1:${LOCAL_PORT}`;
const neonDatabase = postgresIn(NEON.namespace, "deployment/postgres", NEON.user, NEON.database);
// The stack's cosign key, made for the run as a user makes theirs (README: Signed images).
const signingKeyPassword = randomBytes(16).toString("hex");
let signingKey = "";
let firstBackendSigned: string | undefined;
const hub = (): RegistryAccess => ({ address: (target.prodRepository ?? "").split("/")[0] ?? "", credentials: readFileSync(target.prodCredentialsFile ?? "", "utf8").trim() });

afterAll(async () => {
    forward?.close();
    // Only a stand-in this run made.
    if (madeNeonNamespace) await run("kubectl", ["delete", "namespace", NEON.namespace, "--ignore-not-found", "--wait=false"]);
});

path.require("its namespaces do not exist yet", () => namespacesFree([NAMESPACE, NEON.namespace]));

path.require("a TLS Postgres stands in for Neon, logging every connection", async () => {
    const password = randomBytes(16).toString("hex");
    await kubectl(["create", "namespace", NEON.namespace]);
    madeNeonNamespace = true;
    await selfSignedTlsSecret(NEON.namespace, "postgres-tls", NEON.host, join(workDir, "neon"));
    await kubectl(["-n", NEON.namespace, "create", "secret", "generic", "postgres-password", `--from-literal=password=${password}`]);
    await kubectl(["-n", NEON.namespace, "apply", "-f", "-"], JSON.stringify(neonStandIn(target.postgresImage)));
    await waitForRollout(NEON.namespace, "postgres", 120);
    const [neonPod] = (await kubectlJson<{ items: { status?: { podIP?: string } }[] }>(["-n", NEON.namespace, "get", "pods", "-l", "app=postgres"])).items;
    if (!neonPod?.status?.podIP) throw new Error("the Neon stand-in's pod has no address");
    neonCidr = `${neonPod.status.podIP}/32`;
    path.say(`Neon stand-in at ${neonCidr}`);
    // The form Neon's console hands out: no port, sslmode=require.
    neonUrl = `postgresql://${NEON.user}:${password}@${NEON.host}/${NEON.database}?sslmode=require`;
});

// The pack's policies, and the name and version every run of it must report: the version of
// policy/package.json, which a pack started in its own folder (as released hosts start it) reads.
const POLICY_NAMES = policies.map((policy) => policy.name);
const POLICY_PACK = `${POLICY_PACK_NAME}@v${(JSON.parse(readFileSync(join(path.projectDir, "policy", "package.json"), "utf8")) as { version: string }).version}`;
let deployRun: WorkflowRun | undefined;

// cosign and syft are built here on a cold machine (minutes, once) unless a run built them before.
path.require(
    "a cosign key pair for the stack (cosign generate-key-pair)",
    async () => {
        await provideSigningTools();
        signingKey = (await generateKeyPair(workDir, signingKeyPassword)).privateKey;
    },
    { timeoutSeconds: 1800 },
);

path.require("pulumi up as deploy.yml runs it (the policy pack on) pushes both images, signs them and deploys with the prod settings", async () => {
    const credentials = readFileSync(target.prodCredentialsFile ?? "", "utf8").trim();
    const separator = credentials.indexOf(":");
    path.useStack(await TestStack.create(projectDir, "prod", {
        ...target.stackSettings,
        "todo:namespace": NAMESPACE,
        "todo:imageRepository": target.prodRepository ?? "",
        "todo:registryUsername": credentials.slice(0, separator),
        "todo:registryPassword": { secret: credentials.slice(separator + 1) },
        "todo:imagePullSecret": "true",
        "todo:signingKey": { secret: signingKey },
        "todo:signingKeyPassword": { secret: signingKeyPassword },
        "todo:databaseUrl": { secret: neonUrl },
        "todo:databaseEgressCidrs[0]": neonCidr,
        "todo:jwtSecret": { secret: randomBytes(48).toString("base64") },
        // A maximum the CPU load reaches quickly, where the HPA then holds the backend steady.
        "todo:backendMaxReplicas": String(BACKEND_MAX_REPLICAS),
        ...(ingress ? { "todo:ingressHost": INGRESS.host, "todo:ingressClassName": ingress.className, "todo:ingressTlsSecret": INGRESS.tlsSecret } : {}),
    }));
    deployRun = await path.time("up", () => runWorkflowStep(projectDir, "deploy.yml", UP_TIMEOUT_SECONDS));
    if (deployRun.status !== 0) throw new Error(`${deployRun.commandLine} exited with ${deployRun.status}`);
}, { timeoutSeconds: 2400 });

path.check("every policy of the pack ran on that update and passed; pinned-images saw the pushed images by digest", () => {
    const report = policyReport(deployRun?.events ?? [], POLICY_PACK_NAME);
    path.say(`packs: ${report.packs.join(" ")}; pinned-images passed on: ${(report.passed.get("pinned-images") ?? []).join(" ")}`);
    expect(report.packs).toEqual([POLICY_PACK]);
    expect(policyProblems(report, POLICY_NAMES, [])).toEqual([]);
    for (const name of WORKLOAD_NAMES) {
        const object = `kubernetes:apps/v1:Deployment::${name}`;
        expect(report.passed.get("pinned-images")).toContain(object);
        expect(plannedImage(deployRun?.events ?? [], object, name)).toMatch(new RegExp(`^${escapeRegExp(target.prodRepository ?? "")}/todo-${name}:[0-9a-f]{12}@sha256:[0-9a-f]{64}$`));
    }
});

registerNoDriftChecks(path, "the first up", NAMESPACE);

path.check("the migration Job completed", async () => migrationJobCompleted(path, NAMESPACE, await path.stack().output("migrationJob")));

// The Deployments leave their replica count to the HPAs, which raise it to the minimum of 2 on
// their first sync after the create.
path.check("backend and frontend reach 2 ready replicas (the HPAs' minimum)", async () => {
    await eventually(90, "2 ready replicas each", async () => {
        await deploymentsReady(path, NAMESPACE, 2);
        return true;
    });
});

path.check("both images are pulled by digest from the registry", async () => {
    for (const name of WORKLOAD_NAMES) {
        const image = await deploymentImage(NAMESPACE, name);
        path.say(`${name} image: ${image}`);
        expect(image).toBe(await path.stack().output(`${name}Image`));
        const digest = new RegExp(`^${escapeRegExp(target.prodRepository ?? "")}/todo-${name}:[^@]+@(sha256:[0-9a-f]{64})$`).exec(image)?.[1];
        expect(digest).toBeDefined();
        const ids = (await activePods(NAMESPACE, name)).map((pod) => pod.status?.containerStatuses?.[0]?.imageID ?? "");
        path.say(`${name} pods' image IDs: ${ids.join(" ")}`);
        expect(ids.length).toBeGreaterThan(0);
        for (const id of ids) expect(id.endsWith(`@${digest}`)).toBe(true);
    }
});

/** The stack's imageSupplyChain output: per image, the digest signed and its SBOM's size. */
async function stackSupplyChain(): Promise<Partial<Record<string, { signed: string; sbom: { components: number } }>>> {
    const value = await path.stack().outputValue("imageSupplyChain");
    if (value === null || typeof value !== "object") throw new Error(`stack output imageSupplyChain is ${JSON.stringify(value)}`);
    return value;
}

/** Verifies every digest the namespace's pods run with the stack's key; returns them by component. */
async function verifyRunningImages(): Promise<Map<string, string[]>> {
    const keyFile = publicKeyFile(workDir, "stack", await path.stack().output("signingPublicKey"));
    const digests = await runningDigests(NAMESPACE);
    const records = await stackSupplyChain();
    const byComponent = new Map<string, string[]>();
    expect(digests.length).toBeGreaterThan(0);
    for (const reference of digests) {
        const component = WORKLOAD_NAMES.find((name) => reference.includes(`/todo-${name}@`));
        if (!component) throw new Error(`a pod of ${NAMESPACE} runs ${reference}, which is not one of the app's images`);
        const verified = await verifyImage(reference, keyFile, hub());
        path.say(`${reference}: signature verified; SBOM attested, ${verified.sbomComponents.length} components`);
        byComponent.set(component, [...(byComponent.get(component) ?? []), reference]);
        const expected = component === "backend" ? ["fastapi", "uvicorn", "sqlalchemy"] : ["next", "react"];
        expect(verified.sbomComponents).toEqual(expect.arrayContaining(expected));
        if (records[component]?.signed === reference) {
            expect(verified.sbomComponents).toHaveLength(records[component].sbom.components);
        }
    }
    return byComponent;
}

path.check("every image the pods run has a signature by the stack's key and a signed CycloneDX SBOM in the registry", async () => {
    const verified = await verifyRunningImages();
    const records = await stackSupplyChain();
    for (const name of WORKLOAD_NAMES) {
        expect(verified.get(name)).toEqual([records[name]?.signed]);
    }
    firstBackendSigned = records.backend?.signed;
});

path.check("the same check refuses an unsigned image and the app's image under another key", async () => {
    const otherKeyDir = join(workDir, "other-key");
    mkdirSync(otherKeyDir, { recursive: true });
    const otherKey = (await generateKeyPair(otherKeyDir, "other")).publicKeyFile;
    const [backend] = (await runningDigests(NAMESPACE)).filter((reference) => reference.includes("/todo-backend@"));
    if (!backend) throw new Error("no backend pod runs");
    const otherRefusal = await verificationRefusal(backend, otherKey, hub());
    path.say(`${backend} with another key: ${otherRefusal ?? "ACCEPTED"}`);
    expect(otherRefusal).toBeDefined();
    await expect(verifyImage(backend, otherKey, hub())).rejects.toThrow(/signature not verified: Error: .*accepted signatures do not match threshold/);
    // The backend's base image: in a registry, pulled by every build, signed by nobody.
    const unsigned = target.stackSettings["todo:pythonImage"] ?? "python:3.12-alpine";
    const keyFile = publicKeyFile(workDir, "stack", await path.stack().output("signingPublicKey"));
    const unsignedRefusal = await verificationRefusal(unsigned, keyFile, { address: unsigned.includes("/") && /[.:]/.test(unsigned.split("/")[0] ?? "") ? (unsigned.split("/")[0] ?? "") : "docker.io" });
    path.say(`${unsigned} (unsigned): ${unsignedRefusal ?? "ACCEPTED"}`);
    expect(unsignedRefusal).toMatch(/no (matching )?signatures/i);
});

path.check("the registry refuses anonymous pulls; the pods pull with the image pull Secret", async () => {
    const image = await deploymentImage(NAMESPACE, "backend");
    const registry = (target.prodRepository ?? "").split("/")[0] ?? "";
    const scheme = /^(127\.0\.0\.1|localhost):/.test(registry) ? "http" : "https";
    const repository = image.slice(registry.length + 1).split(":")[0];
    const url = `${scheme}://${registry}/v2/${repository}/manifests/${image.split("@")[1]}`;
    const accept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
    const anonymous = (await fetch(url, { method: "HEAD", headers: { accept } })).status;
    const credentials = Buffer.from(readFileSync(target.prodCredentialsFile ?? "", "utf8").trim()).toString("base64");
    const authorised = (await fetch(url, { method: "HEAD", headers: { accept, authorization: `Basic ${credentials}` } })).status;
    const secrets = (await deployment(NAMESPACE, "backend")).spec?.template.spec?.imagePullSecrets?.map((s) => s.name) ?? [];
    path.say(`manifest without credentials: ${anonymous}, with: ${authorised}; pods' pull Secrets: ${secrets.join(" ") || "none"}`);
    expect([anonymous, authorised]).toEqual([401, 200]);
    expect(secrets).toEqual([PULL_SECRET_NAME]);
    const type = (await kubectlJson<{ type?: string }>(["-n", NAMESPACE, "get", "secret", PULL_SECRET_NAME])).type;
    path.say(`Secret ${PULL_SECRET_NAME}: ${type}`);
    expect(type).toBe("kubernetes.io/dockerconfigjson");
});

path.check("the frontend Service is ClusterIP", async () => {
    const type = (await kubectlJson<{ spec?: { type?: string } }>(["-n", NAMESPACE, "get", "service", "frontend"])).spec?.type;
    path.say(`frontend Service: ${type}`);
    expect(type).toBe("ClusterIP");
});

if (ingress) {
    path.check("the Ingress serves the app over https with its TLS Secret", async () => {
        const found = await kubectlJson<{ spec?: { ingressClassName?: string }; status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } }>(["-n", NAMESPACE, "get", "ingress", "todo"]);
        const address = found.status?.loadBalancer?.ingress?.[0];
        path.say(`Ingress todo: class ${found.spec?.ingressClassName}, address ${address?.ip ?? address?.hostname}`);
        expect(found.spec?.ingressClassName).toBe(ingress.className);
        expect(address?.ip ?? address?.hostname).toBeTruthy();
        const { certificate } = await selfSignedTlsSecret(NAMESPACE, INGRESS.tlsSecret, INGRESS.host, join(workDir, "ingress-tls"));
        const [host, port] = [ingress.address.slice(0, ingress.address.lastIndexOf(":")), ingress.address.slice(ingress.address.lastIndexOf(":") + 1)];
        // curl: it can resolve the Ingress host to the controller's address and trust just one certificate.
        const curl = (urlPath: string) =>
            run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", certificate, "--resolve", `${INGRESS.host}:${port}:${host}`, `https://${INGRESS.host}:${port}${urlPath}`]);
        await eventually(60, "the Ingress answering with the Secret's certificate", async () => ((await curl("/api/health")).stdout === "200" ? true : undefined));
        const ready = (await curl("/api/ready")).stdout;
        path.say(`https://${INGRESS.host}:${port}/api/ready via ${ingress.address}, trusting only the Secret's certificate: ${ready}`);
        expect(ready).toBe("200");
    });
}

path.check("the migration Job connected to the database over TLS", async () => {
    const job = await path.stack().output("migrationJob");
    const jobPods = (await kubectlJson<{ items: { status?: { podIP?: string } }[] }>(["-n", NAMESPACE, "get", "pods", "-l", `job-name=${job}`])).items;
    const addresses = jobPods.map((pod) => pod.status?.podIP).filter((ip): ip is string => Boolean(ip));
    path.say(`Job ${job} pods' addresses: ${addresses.join(" ") || "none"}`);
    expect(addresses.length).toBeGreaterThan(0);
    // log_line_prefix puts the client's address first: "<host> connection authorized: ... SSL enabled (...)".
    const logs = await kubectl(["-n", NEON.namespace, "logs", "deployment/postgres", "--tail=-1"]);
    const authorised = logs.split("\n").filter((line) => line.includes("connection authorized") && addresses.some((ip) => line.startsWith(`${ip} `)));
    for (const line of authorised) path.say(`  ${line}`);
    expect(authorised.length).toBeGreaterThan(0);
    expect(authorised.filter((line) => !line.includes("SSL enabled"))).toEqual([]);
});

path.check("the namespace enforces PSA restricted", () => namespaceEnforcesRestricted(path, NAMESPACE));

path.check("admission refuses a privileged pod and a root pod in the namespace", async () =>
    podSecurityRefuses(path, NAMESPACE, await deploymentImage(NAMESPACE, "frontend")),
);

// The Neon stand-in's database too: the suite deploys it, and the app's data lives in it.
path.check("every container of every pod (Job and init containers included) runs as non-root", () =>
    everyContainerNonRoot(path, [NAMESPACE, NEON.namespace], { jobPodExpected: true }),
);

path.require("the frontend answers through a port-forward on 127.0.0.1", async () => {
    forward = await PortForward.open(NAMESPACE, "service/frontend", LOCAL_PORT, "http");
});

path.require("sign up, add a todo and list it", async () => {
    account = await signUpAndAddTodo(frontendUrl, titleBefore, path.say);
});

path.check("every network connection of the app to the database is encrypted (pg_stat_ssl, after user traffic)", async () => {
    const counts = await neonDatabase.query(
        "SELECT count(*) FILTER (WHERE s.ssl) || '|' || count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = :'user' AND a.client_addr IS NOT NULL",
        { user: NEON.user },
    );
    path.say(`network connections of ${NEON.user} (TLS|all): ${counts}`);
    const [tls, all] = counts.split("|").map(Number);
    expect(all).toBeGreaterThan(0);
    expect(tls).toBe(all);
});

path.check("a second pulumi up changes nothing (--expect-no-changes)", () => path.time("second up", () => path.stack().up({ expectNoChanges: true })));

registerNetworkPolicyChecks(path, {
    namespace: NAMESPACE,
    frontendUrl: () => frontendUrl,
    database: () => ({ host: NEON.host, port: 5432, inCluster: false }),
    backendService: `backend.${NAMESPACE}.svc.cluster.local`,
});

registerScalingChecks(path, NAMESPACE);

const subject: RolloutSubject = {
    namespace: NAMESPACE,
    database: () => neonDatabase,
    frontendUrl: () => frontendUrl,
    account: () => {
        if (!account) throw new Error("no account was made");
        return account;
    },
    titleBefore: () => titleBefore,
    registerBeforeRollout: registerPullRequestChecks,
};
const rollout = registerRolloutChecks(path, subject);

path.check("kubectl rollout undo restores the previous backend image", async () => {
    await rollBack(path, NAMESPACE, rollout, () => kubectl(["-n", NAMESPACE, "rollout", "undo", "deployment/backend"]));
});

registerRolledBackReleaseWorks(path, subject, rollout);

// Rolling forward again: undoing the undo brings back the Deployment's previous revision, the
// new release's (a `pulumi up` would change nothing: it compares the program with its state,
// which still holds the new release).
path.check("kubectl rollout undo, once more, rolls the new backend image forward again", async () => {
    await rollForward(path, NAMESPACE, rollout, () => kubectl(["-n", NAMESPACE, "rollout", "undo", "deployment/backend"]));
});

registerRolledForwardReleaseReads(path, subject, rollout);

// The rollout pushed a new backend digest: pulumi up signed it as it deployed it.
path.check("the rolled-out release's image is signed and has its SBOM too", async () => {
    const verified = await verifyRunningImages();
    const signed = (await stackSupplyChain()).backend?.signed;
    path.say(`backend signed at the first up: ${firstBackendSigned ?? "none"}; now: ${signed ?? "none"}`);
    expect(signed).not.toBe(firstBackendSigned);
    expect(verified.get("backend")).toContain(signed);
});

registerTeardown(path, NAMESPACE);

/** The pull request of the backend change, previewed as .github/workflows/preview.yml runs it. */
function registerPullRequestChecks(): void {
    const previewTimeoutSeconds = 900;
    path.check("the pull request's preview, as preview.yml runs it: every policy runs (or is listed), none is violated, the new backend build checked by its content tag", async () => {
        const preview = await path.time("workflow preview", () => runWorkflowStep(projectDir, "preview.yml", previewTimeoutSeconds));
        expect(preview.status).toBe(0);
        const report = policyReport(preview.events, POLICY_PACK_NAME);
        const exemptions = readPreviewExemptions(join(projectDir, "policy", "preview-exemptions.yaml"));
        path.say(`packs: ${report.packs.join(" ")}; could not run: ${report.couldNotRun.map((entry) => `${entry.policy} on ${entry.object}`).join(", ") || "none"}`);
        expect(report.packs).toEqual([POLICY_PACK]);
        expect(policyProblems(report, POLICY_NAMES, exemptions)).toEqual([]);
        // The changed backend gets a new content tag, which pinned-images passed on its build;
        // the reference the Deployment will run waits for the push's digest (the exemptions).
        const build = "docker-build:index:Image::backend";
        const tags = (plannedInputs(preview.events, build)?.tags as string[] | undefined) ?? [];
        path.say(`planned backend build: ${tags.join(" ")}; running: ${await deploymentImage(NAMESPACE, "backend")}`);
        expect(tags).toEqual([expect.stringMatching(new RegExp(`^${escapeRegExp(target.prodRepository ?? "")}/todo-backend:[0-9a-f]{12}$`))]);
        expect((await deploymentImage(NAMESPACE, "backend")).startsWith(`${tags[0]}@`)).toBe(false);
        expect(report.passed.get("pinned-images")).toContain(build);
    }, { timeoutSeconds: previewTimeoutSeconds + 60 });

    path.check("the same pull request with a LoadBalancer frontend fails that preview, naming the policy and the object", async () => {
        const preview = await path.stack().withSetting("todo:frontendServiceType", "LoadBalancer", () =>
            path.time("workflow preview with a violation", () => runWorkflowStep(projectDir, "preview.yml", previewTimeoutSeconds)),
        );
        expect(preview.status).not.toBe(0);
        const report = policyReport(preview.events, POLICY_PACK_NAME);
        expect(report.violations).toEqual([
            { policy: "no-load-balancer", object: "kubernetes:core/v1:Service::frontend", level: "mandatory", message: expect.stringMatching(/Service\/frontend: type LoadBalancer is not allowed/) },
        ]);
        expect(preview.output).toMatch(/\[mandatory\]\s+no-load-balancer\s+\(kubernetes:core\/v1:Service: frontend\)/);
    }, { timeoutSeconds: previewTimeoutSeconds + 60 });
}

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Postgres with TLS on (a self-signed certificate: sslmode=require does not verify it), the app's restricted security context, every connection logged with the client's address first. */
function neonStandIn(image: string): object {
    const labels = { app: "postgres" };
    return {
        apiVersion: "v1",
        kind: "List",
        items: [
            {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "postgres" },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: labels },
                    template: {
                        metadata: { labels },
                        spec: {
                            securityContext: { runAsNonRoot: true, runAsUser: 70, runAsGroup: 70, fsGroup: 70, seccompProfile: { type: "RuntimeDefault" } },
                            containers: [
                                {
                                    name: "postgres",
                                    image,
                                    command: ["docker-entrypoint.sh"],
                                    args: ["-c", "ssl=on", "-c", "ssl_cert_file=/tls/tls.crt", "-c", "ssl_key_file=/tls/tls.key", "-c", "log_connections=on", "-c", "log_line_prefix=%h "],
                                    env: [
                                        { name: "POSTGRES_USER", value: NEON.user },
                                        { name: "POSTGRES_DB", value: NEON.database },
                                        { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
                                        { name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: "postgres-password", key: "password" } } },
                                    ],
                                    ports: [{ name: "postgres", containerPort: 5432 }],
                                    readinessProbe: { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-U", NEON.user, "-d", NEON.database] }, periodSeconds: 2 },
                                    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                                    volumeMounts: [
                                        { name: "data", mountPath: "/var/lib/postgresql/data" },
                                        { name: "run", mountPath: "/var/run/postgresql" },
                                        { name: "tls", mountPath: "/tls", readOnly: true },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "data", emptyDir: {} },
                                { name: "run", emptyDir: {} },
                                // Owned by root, group 70 (fsGroup), no access for others: what Postgres accepts for a key.
                                { name: "tls", secret: { secretName: "postgres-tls", defaultMode: 0o440 } },
                            ],
                        },
                    },
                },
            },
            { apiVersion: "v1", kind: "Service", metadata: { name: "postgres" }, spec: { selector: labels, ports: [{ name: "postgres", port: 5432, targetPort: "postgres" }] } },
        ],
    };
}

