// The NetworkPolicies of a deployed app, tested by connecting: a canary first proves that the
// cluster enforces policies at all, then a matrix of connections from throwaway probe pods (the
// app's labels in its namespace, none in another) shows that the app's policies allow what the
// app needs and refuse the rest. A row passes as refused only on the failure a policy causes
// (policyRefusals), never on a name that does not resolve or any other error; and every probe
// must have reached something in the same run, or its refused rows prove nothing. Probe pods run
// the backend's image (Python is all they need), non-root under the restricted Pod Security
// profile, and end by themselves.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { IPod } from "kubernetes-models/v1/Pod";

import { selectorLabels, WORKLOAD_FACTS } from "../../components/contract";
import { signUpAndAddTodo, uniqueTitle } from "./browser";
import type { E2ePath } from "./path";
import { activePods, deployment, deploymentImage, kubectl, kubectlJson } from "./kube";
import { eventually, run } from "../../local-cluster/shell";

/**
 * What a probe does: listen on ports, connect with a deadline, or resolve a name. One JSON line per
 * action, naming the stage it reached ("resolve" or "connect"), the address it used, and for a
 * failure the exception's class, its errno by name (errno.errorcode, or the EAI_* name of a
 * resolver error) and its message. A connect resolves first, on its own: a name that does not
 * resolve is never taken for a connection that failed.
 */
export const PROBE_SCRIPT = `
import errno, json, os, socket, sys, threading, time
def serve(address, port):
    server = socket.create_server((address, port))
    while True:
        server.accept()[0].close()
def errno_name(error):
    number = getattr(error, "errno", None)
    if not isinstance(number, int):
        return None
    if isinstance(error, socket.gaierror):
        return next((name for name in dir(socket) if name.startswith("EAI_") and getattr(socket, name) == number), str(number))
    return errno.errorcode.get(number, str(number))
def report(stage, started, address=None, error=None):
    print(json.dumps({
        "stage": stage,
        "address": address,
        "error": None if error is None else type(error).__name__,
        "errno": None if error is None else errno_name(error),
        "message": None if error is None else str(error),
        "ms": round((time.monotonic() - started) * 1000),
    }))
mode, args = sys.argv[1], sys.argv[2:]
started = time.monotonic()
if mode == "listen":
    # A host-network listener binds the node's address only, never every interface of the node.
    address = os.environ.get("LISTEN_ADDRESS", "")
    for port in args[1:]:
        threading.Thread(target=serve, args=(address, int(port)), daemon=True).start()
    time.sleep(float(args[0]))
elif mode == "connect":
    host, port, deadline = args[0], int(args[1]), float(args[2])
    try:
        candidates = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        report("resolve", started, None, error)
        sys.exit(0)
    result = (None, None)
    for family, kind, proto, _, address in candidates:
        with socket.socket(family, kind, proto) as client:
            client.settimeout(deadline)
            try:
                client.connect(address)
                result = (address[0], None)
                break
            except OSError as error:
                result = (address[0], error)
    report("connect", started, *result)
elif mode == "resolve":
    try:
        report("resolve", started, socket.getaddrinfo(args[0], None, type=socket.SOCK_STREAM)[0][4][0])
    except OSError as error:
        report("resolve", started, None, error)
`;

const CONNECT_TIMEOUT_SECONDS = 3;
/** Probe pods stop by themselves after this long, whatever happens to the suite. */
const PROBE_LIFETIME_SECONDS = 900;
/** How long a new policy may take to be enforced before the canary calls the cluster non-enforcing. */
const ENFORCEMENT_WAIT_SECONDS = 30;
// Probe pods carry the app's selector labels, so they must never join a Service: this
// readiness gate is never set, so they stay unready and out of every EndpointSlice.
const NEVER_READY = "e2e.todo.test/never-ready";
const PROBE_LABEL = "e2e.todo.test/probe";
const BACKEND_PORT = WORKLOAD_FACTS.backend.port;
const FRONTEND_PORT = WORKLOAD_FACTS.frontend.port;
const OTHER_PORT = 9000;
const NODE_PORT = 15432;
const DNS_NAME = "kubernetes.default.svc.cluster.local";

export type Expectation = "allowed" | "refused";

/** One line of the probe script, as printed. */
export interface RawProbeAnswer {
    stage: "resolve" | "connect";
    address: string | null;
    error: string | null;
    errno: string | null;
    message: string | null;
    ms: number;
}

/**
 * What a row found. Reached: "connected" (a TCP handshake completed), "resolved" (the name has an
 * address), "answered" (this machine's HTTP request got 200). Failed: "refused" (ECONNREFUSED: a
 * TCP RST or an ICMP port unreachable, which is what an iptables REJECT sends), "timed out" (no
 * answer to the SYN before the deadline: socket.timeout, TimeoutError since Python 3.10, or the
 * kernel's ETIMEDOUT; what a DROP leaves), "unresolved" (the name did not resolve:
 * socket.gaierror, EAI_NONAME or EAI_AGAIN), "error" (anything else: EHOSTUNREACH, ENETUNREACH,
 * an HTTP status other than 200, ...).
 */
export type Outcome = "connected" | "resolved" | "answered" | "refused" | "timed out" | "unresolved" | "error";

export interface Answer {
    outcome: Outcome;
    /** What happened, in the probe's words (exception, errno, message, address). */
    detail: string;
    ms: number;
}

const REACHED: readonly Outcome[] = ["connected", "resolved", "answered"];

/** Sorts the probe script's answer into an outcome; only an ECONNREFUSED or a connect timeout counts as refused or timed out. */
export function classifyAnswer(raw: RawProbeAnswer): Answer {
    const { ms } = raw;
    const where = raw.address ? ` (${raw.address})` : "";
    if (raw.error === null) return { outcome: raw.stage === "connect" ? "connected" : "resolved", detail: `${raw.stage === "connect" ? "connected to" : "resolved to"} ${raw.address ?? "?"}`, ms };
    const detail = `${raw.stage} failed${where}: ${raw.error}${raw.errno ? ` ${raw.errno}` : ""}: ${raw.message ?? ""}`;
    if (raw.stage === "resolve") return { outcome: "unresolved", detail, ms };
    if (raw.errno === "ECONNREFUSED") return { outcome: "refused", detail, ms };
    if (raw.error === "TimeoutError" || raw.error === "timeout" || raw.errno === "ETIMEDOUT") return { outcome: "timed out", detail, ms };
    return { outcome: "error", detail, ms };
}

/**
 * The outcomes a NetworkPolicy's refusal produces on a target. kube-router (the offline cluster,
 * v2.1.0, pkg/controllers/netpol/pod.go) ends every pod firewall chain with a plain `-j REJECT`,
 * i.e. an ICMP port unreachable, which Linux hands to a TCP connect as ECONNREFUSED at once: there a
 * refusal is "refused" and nothing else. Other implementations a --context cluster may run (Calico,
 * Cilium) DROP instead, which a connect sees as its deadline passing: there "timed out" counts too.
 */
export function policyRefusals(target: "offline" | "context"): readonly Outcome[] {
    return target === "offline" ? ["refused"] : ["refused", "timed out"];
}

/** Whether a row found what it expected: allowed rows must reach, refused rows must fail as a policy makes them fail. */
export function rowPasses(expected: Expectation, outcome: Outcome, refusals: readonly Outcome[]): boolean {
    return expected === "allowed" ? REACHED.includes(outcome) : refusals.includes(outcome);
}

/** Why a row failed, in words: what it expected and what it found. */
export function rowFailure(expected: Expectation, answer: Answer, refusals: readonly Outcome[]): string {
    if (expected === "allowed") return `expected allowed, found ${answer.outcome}: ${answer.detail}`;
    if (answer.outcome === "unresolved") return `expected refused, but the name did not resolve, so no policy was tested: ${answer.detail}`;
    if (REACHED.includes(answer.outcome)) return `expected refused, found ${answer.outcome}: ${answer.detail}`;
    return `expected refused (${refusals.join(" or ")}, as a policy refuses here), found ${answer.outcome}: ${answer.detail}`;
}

/** The probes none of whose allowed rows passed: their refused rows prove nothing (a probe that reaches nothing is refused everywhere). */
export function probesWithoutPassedAllowedRow(probes: readonly string[], results: readonly { by: string; expected: Expectation; passed: boolean }[]): string[] {
    return probes.filter((probe) => !results.some((result) => result.by === probe && result.expected === "allowed" && result.passed));
}

interface Probe {
    name: string;
    namespace: string;
}

interface ProbeSpec extends Probe {
    labels: Record<string, string>;
    /** Ports it listens on (none: it only connects). */
    listens?: number[];
    /** Listen on the node's address, in the node's network (a host outside the pod network). */
    hostNetwork?: boolean;
}

/** Where the probes' pods run and what they run: the backend's node and image (already pulled there). */
interface ProbeRuntime {
    image: string;
    nodeName: string;
    pullSecrets: { name: string }[];
}

/** The deployed app the matrix is about. */
export interface PolicySubject {
    namespace: string;
    /** Where this machine reaches the frontend (NodePort, Ingress or port-forward). */
    frontendUrl: () => string;
    /** The database the backend uses: host and port, and whether it is the app's own Postgres pod. */
    database: () => { host: string; port: number; inCluster: boolean };
    /** The backend's Service, as the frontend reaches it. */
    backendService: string;
}

/** The probes that connect: each must have an allowed row that passed. */
type ProbeName = "frontend" | "backend" | "migration" | "postgres" | "stranger";

interface Row {
    /** The probe that connects, or this machine. */
    by: ProbeName | "this machine";
    from: string;
    to: string;
    expected: Expectation;
    probe: () => Promise<Answer>;
}

function probePod(spec: ProbeSpec, runtime: ProbeRuntime): object {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: spec.name, namespace: spec.namespace, labels: { ...spec.labels, [PROBE_LABEL]: "true" } },
        spec: {
            nodeName: runtime.nodeName,
            imagePullSecrets: runtime.pullSecrets,
            hostNetwork: spec.hostNetwork ?? false,
            readinessGates: [{ conditionType: NEVER_READY }],
            activeDeadlineSeconds: PROBE_LIFETIME_SECONDS,
            restartPolicy: "Never",
            terminationGracePeriodSeconds: 0,
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: "probe",
                    image: runtime.image,
                    imagePullPolicy: "IfNotPresent",
                    command: ["python", "-c", PROBE_SCRIPT, "listen", String(PROBE_LIFETIME_SECONDS), ...(spec.listens ?? []).map(String)],
                    env: spec.hostNetwork ? [{ name: "LISTEN_ADDRESS", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } }] : [],
                    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                },
            ],
        },
    };
}

async function probeRuntime(namespace: string): Promise<ProbeRuntime> {
    const [backend] = (await activePods(namespace, "backend")).filter((pod) => !pod.metadata?.labels?.[PROBE_LABEL]);
    const nodeName = backend?.spec?.nodeName;
    if (!nodeName) throw new Error(`no scheduled backend pod in ${namespace} to place the probes beside`);
    const pullSecrets = (await deployment(namespace, "backend")).spec?.template.spec?.imagePullSecrets ?? [];
    return { image: await deploymentImage(namespace, "backend"), nodeName, pullSecrets: pullSecrets.map((secret) => ({ name: secret.name ?? "" })) };
}

async function exec(probe: Probe, args: string[]): Promise<Answer> {
    const result = await run("kubectl", ["-n", probe.namespace, "exec", probe.name, "--", "python", "-c", PROBE_SCRIPT, ...args], { timeoutSeconds: 60 });
    const line = result.stdout.trim().split("\n").at(-1) ?? "";
    if (result.status !== 0 || !line.startsWith("{")) throw new Error(`${result.command}: ${(result.stderr || result.stdout).trim()}`);
    const raw = JSON.parse(line) as { stage?: unknown };
    if (raw.stage !== "resolve" && raw.stage !== "connect") throw new Error(`${result.command}: not a probe answer: ${line}`);
    return classifyAnswer(raw as RawProbeAnswer);
}

const connect = (from: Probe, host: string, port: number) => exec(from, ["connect", host, String(port), String(CONNECT_TIMEOUT_SECONDS)]);
const resolve = (from: Probe, name: string) => exec(from, ["resolve", name]);

/** Starts the probes and waits until each one's listeners accept (from inside the pod: no policy applies there). */
async function startProbes(specs: ProbeSpec[], runtime: ProbeRuntime): Promise<Map<string, IPod>> {
    await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: specs.map((spec) => probePod(spec, runtime)) }));
    const started = new Map<string, IPod>();
    for (const spec of specs) {
        const pod = await eventually(120, `probe ${spec.namespace}/${spec.name} running`, async () => {
            const found = await kubectlJson<IPod>(["-n", spec.namespace, "get", "pod", spec.name]);
            return found.status?.phase === "Running" && found.status.podIP ? found : undefined;
        });
        const address = spec.hostNetwork ? (pod.status?.hostIP ?? "") : "127.0.0.1";
        for (const port of spec.listens ?? []) {
            await eventually(30, `probe ${spec.name} listening on ${port}`, async () => ((await connect(spec, address, port)).outcome === "connected" ? true : undefined));
        }
        started.set(spec.name, pod);
    }
    return started;
}

async function deleteProbes(namespace: string): Promise<void> {
    await run("kubectl", ["-n", namespace, "delete", "pods", "-l", `${PROBE_LABEL}=true`, "--ignore-not-found", "--wait=true", "--timeout=60s"], { timeoutSeconds: 90 });
}

async function makeNamespace(prefix: string, level: "restricted" | "privileged"): Promise<string> {
    const name = `${prefix}-${randomBytes(3).toString("hex")}`;
    await kubectl(["create", "namespace", name]);
    await kubectl(["label", "namespace", name, `pod-security.kubernetes.io/enforce=${level}`]);
    return name;
}

const dropNamespace = (name: string) => run("kubectl", ["delete", "namespace", name, "--ignore-not-found", "--wait=false"]);

/**
 * The canary: a client reaches a listener, then a deny-all ingress policy on the listener must
 * refuse the same connection within ENFORCEMENT_WAIT_SECONDS, the way a policy refuses on this
 * target (REFUSALS). Returns the seconds it took, or undefined when the cluster kept the
 * connection open (it does not enforce policies). Any other failure throws: it is no enforcement.
 */
async function enforcementCanary(path: E2ePath, runtime: ProbeRuntime, refusals: readonly Outcome[]): Promise<number | undefined> {
    const namespace = await makeNamespace("e2e-netpol-canary", "restricted");
    try {
        // The backend's pull Secret lives in the app's namespace only; the image is on the node already.
        const local = { ...runtime, pullSecrets: [] };
        const listener = { name: "listener", namespace, labels: { role: "listener" }, listens: [8080] };
        const client = { name: "client", namespace, labels: { role: "client" } };
        const pods = await startProbes([listener, client], local);
        const address = pods.get("listener")?.status?.podIP ?? "";
        const before = await connect(client, address, 8080);
        path.say(`canary: client -> listener:8080 without a policy: ${before.outcome}, ${before.detail} (${before.ms} ms)`);
        if (before.outcome !== "connected") throw new Error(`the canary cannot connect even without a policy: ${before.outcome}: ${before.detail}`);
        await kubectl(["-n", namespace, "apply", "-f", "-"], JSON.stringify({
            apiVersion: "networking.k8s.io/v1",
            kind: "NetworkPolicy",
            metadata: { name: "deny-listener-ingress" },
            spec: { podSelector: { matchLabels: { role: "listener" } }, policyTypes: ["Ingress"] },
        }));
        const applied = Date.now();
        for (;;) {
            const after = await connect(client, address, 8080);
            const seconds = Math.round((Date.now() - applied) / 100) / 10;
            if (refusals.includes(after.outcome)) {
                path.say(`canary: with a deny-all ingress policy: ${after.outcome} after ${seconds} s: ${after.detail}`);
                return seconds;
            }
            if (after.outcome !== "connected") {
                throw new Error(`the canary's connection failed as no policy refuses here (expected ${refusals.join(" or ")}): ${after.outcome}: ${after.detail}`);
            }
            if (seconds >= ENFORCEMENT_WAIT_SECONDS) {
                path.say(`canary: with a deny-all ingress policy: still ${after.outcome} after ${seconds} s`);
                return undefined;
            }
        }
    } finally {
        await dropNamespace(namespace);
    }
}

/** Where the rows connect to, beside the app's own names. */
interface Addresses {
    /** The backend probe's pod address (it listens on OTHER_PORT as well). */
    otherPortBackend: string;
    /** A pod outside the app, in the stranger's namespace, listening on the backend's and the database's ports. */
    outside: string;
    /** The node's address, where a host-network pod listens on NODE_PORT. */
    node: string;
}

/** The rows of the matrix for SUBJECT, given the probes and the addresses they found. */
function matrixRows(subject: PolicySubject, probes: Partial<Record<ProbeName, Probe>>, addresses: Addresses): Row[] {
    const database = subject.database();
    const need = (name: ProbeName): Probe => {
        const found = probes[name];
        if (!found) throw new Error(`no ${name} probe`);
        return found;
    };
    const frontend = need("frontend");
    const backend = need("backend");
    const migration = need("migration");
    const stranger = need("stranger");
    const frontendService = `frontend.${subject.namespace}.svc.cluster.local`;
    const dbLabel = database.inCluster ? `postgres:${database.port}` : `the database ${database.host}:${database.port}`;
    const row = (by: Row["by"], from: string, to: string, expected: Expectation, probe: () => Promise<Answer>): Row => ({ by, from, to, expected, probe });
    const rows: Row[] = [
        row("frontend", "frontend", `backend:${BACKEND_PORT} (${subject.backendService})`, "allowed", () => connect(frontend, subject.backendService, BACKEND_PORT)),
        row("backend", "backend", dbLabel, "allowed", () => connect(backend, database.host, database.port)),
        row("migration", "migration Job", dbLabel, "allowed", () => connect(migration, database.host, database.port)),
        row("frontend", "frontend", "cluster DNS", "allowed", () => resolve(frontend, DNS_NAME)),
        row("backend", "backend", "cluster DNS", "allowed", () => resolve(backend, DNS_NAME)),
        row("migration", "migration Job", "cluster DNS", "allowed", () => resolve(migration, DNS_NAME)),
        row("this machine", "this machine", `frontend:${FRONTEND_PORT} (${subject.frontendUrl()})`, "allowed", async () => {
            const started = Date.now();
            const answer = await fetch(`${subject.frontendUrl()}/api/health`, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_SECONDS * 1000) }).then(
                (response): Pick<Answer, "outcome" | "detail"> => ({ outcome: response.status === 200 ? "answered" : "error", detail: `http ${response.status}` }),
                (error: unknown): Pick<Answer, "outcome" | "detail"> => ({ outcome: "error", detail: `fetch failed: ${String(error)}` }),
            );
            return { ...answer, ms: Date.now() - started };
        }),
        // The frontend's ingress rule names ports and no peer: every source may reach its port, a
        // pod of another namespace too (an ingress controller's, say). See e2e/README.md.
        row("stranger", "another namespace", `frontend:${FRONTEND_PORT} (${frontendService})`, "allowed", () => connect(stranger, frontendService, FRONTEND_PORT)),
        // The stranger and the listeners, reached where no policy applies: the probe can connect,
        // and the listeners the refused rows aim at answer over the network.
        row("stranger", "another namespace", "cluster DNS", "allowed", () => resolve(stranger, DNS_NAME)),
        row("stranger", "another namespace", `a pod of its own namespace, port ${BACKEND_PORT}`, "allowed", () => connect(stranger, addresses.outside, BACKEND_PORT)),
        row("stranger", "another namespace", `a pod of its own namespace, port ${database.port}`, "allowed", () => connect(stranger, addresses.outside, database.port)),
        row("stranger", "another namespace", `the node's address, port ${NODE_PORT}`, "allowed", () => connect(stranger, addresses.node, NODE_PORT)),
        row("frontend", "frontend", dbLabel, "refused", () => connect(frontend, database.host, database.port)),
        row("frontend", "frontend", `a backend pod on ${OTHER_PORT}`, "refused", () => connect(frontend, addresses.otherPortBackend, OTHER_PORT)),
        row("stranger", "another namespace", `backend:${BACKEND_PORT} (${subject.backendService})`, "refused", () => connect(stranger, subject.backendService, BACKEND_PORT)),
        // The ports the rules open, to a peer they do not name: the peer restriction is what refuses.
        row("backend", "backend", `a host outside the database's addresses, port ${database.port}`, "refused", () => connect(backend, addresses.outside, database.port)),
        row("frontend", "frontend", `a pod outside the app, port ${BACKEND_PORT}`, "refused", () => connect(frontend, addresses.outside, BACKEND_PORT)),
        row("frontend", "frontend", `a host outside the cluster (the node's address), port ${NODE_PORT}`, "refused", () => connect(frontend, addresses.node, NODE_PORT)),
    ];
    const { postgres } = probes;
    if (postgres) {
        rows.push(
            // allow-dns selects every pod named todo-app, Postgres's too; its own policy opens ingress only.
            row("postgres", "postgres", "cluster DNS", "allowed", () => resolve(postgres, DNS_NAME)),
            row("stranger", "another namespace", dbLabel, "refused", () => connect(stranger, database.host, database.port)),
            row("postgres", "postgres", `a host outside the app, port ${database.port}`, "refused", () => connect(postgres, addresses.outside, database.port)),
            row("postgres", "postgres", `backend:${BACKEND_PORT} (${subject.backendService})`, "refused", () => connect(postgres, subject.backendService, BACKEND_PORT)),
        );
    }
    return rows;
}

/**
 * The NetworkPolicy checks of a path: the canary, the matrix, and the app used through the
 * browser afterwards. On the offline cluster enforcement is required; against a user's cluster
 * that does not enforce policies the matrix is reported as skipped, with the canary's finding.
 */
export function registerNetworkPolicyChecks(path: E2ePath, subject: PolicySubject): void {
    let notEnforced: string | undefined;
    const refusals = policyRefusals(path.run.target.kind);
    path.check("a canary NetworkPolicy is enforced: it refuses a connection allowed a moment before", async () => {
        const seconds = await enforcementCanary(path, await probeRuntime(subject.namespace), refusals);
        if (seconds !== undefined) return;
        notEnforced = `the cluster does not enforce NetworkPolicies (a deny-all policy left the canary's connection open for ${ENFORCEMENT_WAIT_SECONDS} s)`;
        if (path.run.target.kind === "offline") throw new Error(`${notEnforced}: is kube-router running? (local-cluster/cluster status)`);
        path.skip(notEnforced);
    }, { timeoutSeconds: 240 });
    path.check("the connectivity matrix: the app's policies allow what it needs and refuse the rest", async () => {
        if (notEnforced !== undefined && path.run.target.kind === "context") path.skip(notEnforced);
        await runMatrix(path, subject, refusals);
    }, { timeoutSeconds: 420 });
    path.check("the app works after the matrix: sign up and add a todo through the browser", async () => {
        await signUpAndAddTodo(subject.frontendUrl(), uniqueTitle("After the policy matrix"), path.say);
    });
}

async function runMatrix(path: E2ePath, subject: PolicySubject, refusals: readonly Outcome[]): Promise<void> {
    const { namespace } = subject;
    const runtime = await probeRuntime(namespace);
    const database = subject.database();
    const stranger = await makeNamespace("e2e-netpol-stranger", "restricted");
    // A host outside the pod network: a listener in the node's own network namespace.
    const outside = await makeNamespace("e2e-netpol-outside", "privileged");
    const started = Date.now();
    try {
        const specs: ProbeSpec[] = [
            { name: "probe-frontend", namespace, labels: selectorLabels("frontend") },
            { name: "probe-backend", namespace, labels: selectorLabels("backend"), listens: [BACKEND_PORT, OTHER_PORT] },
            { name: "probe-migration", namespace, labels: selectorLabels("migration") },
            ...(database.inCluster ? [{ name: "probe-postgres", namespace, labels: selectorLabels("database") }] : []),
            { name: "probe-stranger", namespace: stranger, labels: { role: "stranger" } },
            { name: "listener-outside", namespace: stranger, labels: { role: "listener" }, listens: [BACKEND_PORT, database.port] },
            { name: "listener-node", namespace: outside, labels: { role: "listener" }, listens: [NODE_PORT], hostNetwork: true },
        ];
        const pods = await path.time("probe pods ready", () => startProbes(specs, runtime));
        const probe = (name: string): Probe => {
            const spec = specs.find((candidate) => candidate.name === name);
            if (!spec) throw new Error(`no probe ${name}`);
            return spec;
        };
        const ip = (name: string) => pods.get(name)?.status?.podIP ?? "";
        const probes: Partial<Record<ProbeName, Probe>> = {
            frontend: probe("probe-frontend"),
            backend: probe("probe-backend"),
            migration: probe("probe-migration"),
            stranger: probe("probe-stranger"),
            ...(database.inCluster ? { postgres: probe("probe-postgres") } : {}),
        };
        const rows = matrixRows(subject, probes, { otherPortBackend: ip("probe-backend"), outside: ip("listener-outside"), node: pods.get("listener-node")?.status?.hostIP ?? "" });
        path.say(`a refusal counts as one when it is: ${refusals.join(" or ")} (${path.run.target.kind} cluster)`);
        const report: { by: string; from: string; to: string; expected: Expectation; outcome: Outcome; passed: boolean; detail: string; ms: number }[] = [];
        const wrong: string[] = [];
        for (const row of rows) {
            const answer = await row.probe();
            const passed = rowPasses(row.expected, answer.outcome, refusals);
            report.push({ by: row.by, from: row.from, to: row.to, expected: row.expected, outcome: answer.outcome, passed, detail: answer.detail, ms: answer.ms });
            path.say(`${passed ? "as expected" : "WRONG      "}  ${answer.outcome.padEnd(10)} (expected ${row.expected.padEnd(7)}) ${String(answer.ms).padStart(5)} ms  ${row.from} -> ${row.to}: ${answer.detail}`);
            if (!passed) wrong.push(`${row.from} -> ${row.to}: ${rowFailure(row.expected, answer, refusals)}`);
        }
        const seconds = Math.round((Date.now() - started) / 1000);
        path.say(`matrix: ${report.length} rows in ${seconds} s (probe pods included)`);
        const folder = path.run.resultsDir;
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, `${path.name}-network-matrix.json`), JSON.stringify({ namespace, seconds, refusals, rows: report }, null, 2));
        // A probe that reaches nothing is "refused" everywhere: its refused rows count only once it reached something.
        const unproven = probesWithoutPassedAllowedRow(Object.keys(probes), report);
        const problems = [
            ...(wrong.length > 0 ? [`${wrong.length} of ${report.length} connections not as expected: ${wrong.join("; ")}`] : []),
            ...(unproven.length > 0 ? [`no allowed row passed for the probe(s) ${unproven.join(", ")}: their refused rows prove nothing`] : []),
        ];
        if (problems.length > 0) throw new Error(problems.join(". "));
    } finally {
        await deleteProbes(namespace);
        await dropNamespace(stranger);
        await dropNamespace(outside);
    }
}
