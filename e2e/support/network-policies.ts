// The NetworkPolicies of a deployed app, tested by connecting: a canary first proves that the
// cluster enforces policies at all, then a matrix of connections from throwaway probe pods (the
// app's labels in its namespace, none in another) shows that the app's policies allow what the
// app needs and refuse the rest. Probe pods run the backend's image (Python is all they need),
// non-root under the restricted Pod Security profile, and end by themselves.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { IPod } from "kubernetes-models/v1/Pod";

import { selectorLabels, WORKLOAD_FACTS } from "../../components/contract";
import { signUpAndAddTodo, uniqueTitle } from "./browser";
import type { E2ePath } from "./path";
import { activePods, deployment, deploymentImage, kubectl, kubectlJson } from "./kube";
import { eventually, run } from "../../local-cluster/shell";

/** What a probe does: listen on ports, connect with a deadline, or resolve a name. One JSON line per action. */
const PROBE_SCRIPT = `
import json, os, socket, sys, threading, time
def serve(address, port):
    server = socket.create_server((address, port))
    while True:
        server.accept()[0].close()
def report(result, started):
    print(json.dumps({"result": result, "ms": round((time.monotonic() - started) * 1000)}))
mode, args = sys.argv[1], sys.argv[2:]
started = time.monotonic()
if mode == "listen":
    # A host-network listener binds the node's address only, never every interface of the node.
    address = os.environ.get("LISTEN_ADDRESS", "")
    for port in args[1:]:
        threading.Thread(target=serve, args=(address, int(port)), daemon=True).start()
    time.sleep(float(args[0]))
elif mode == "connect":
    try:
        socket.create_connection((args[0], int(args[1])), timeout=float(args[2])).close()
        report("connected", started)
    except ConnectionRefusedError:
        report("refused", started)
    except (socket.timeout, TimeoutError):
        report("timed out", started)
    except OSError as error:
        report("failed: " + str(error), started)
elif mode == "resolve":
    socket.setdefaulttimeout(float(args[1]))
    try:
        report("resolved " + socket.gethostbyname(args[0]), started)
    except OSError as error:
        report("failed: " + str(error), started)
`;

const CONNECT_TIMEOUT_SECONDS = 3;
/** Probe pods stop by themselves after this long, whatever happens to the suite. */
const PROBE_LIFETIME_SECONDS = 900;
/** How long a new policy may take to be enforced before the canary calls the cluster non-enforcing. */
const ENFORCEMENT_WAIT_SECONDS = 30;
// Probe pods carry the app's selector labels, so they must never join a Service: this
// readiness gate is never set, so they stay unready and out of every EndpointSlice.
const NEVER_READY = "e2e.todo.test/never-ready";
const BACKEND_PORT = WORKLOAD_FACTS.backend.port;
const FRONTEND_PORT = WORKLOAD_FACTS.frontend.port;
const OTHER_PORT = 9000;
const NODE_PORT = 15432;

type Expectation = "allowed" | "refused";

interface ProbeAnswer {
    result: string;
    ms: number;
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

interface Row {
    from: string;
    to: string;
    expected: Expectation;
    probe: () => Promise<ProbeAnswer>;
}

const isAllowed = (answer: ProbeAnswer): boolean => answer.result === "connected" || answer.result.startsWith("resolved") || answer.result === "http 200";

function probePod(spec: ProbeSpec, runtime: ProbeRuntime): object {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: spec.name, namespace: spec.namespace, labels: { ...spec.labels, "e2e.todo.test/probe": "true" } },
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
    const [backend] = await activePods(namespace, "backend");
    const nodeName = backend?.spec?.nodeName;
    if (!nodeName) throw new Error(`no scheduled backend pod in ${namespace} to place the probes beside`);
    const pullSecrets = (await deployment(namespace, "backend")).spec?.template.spec?.imagePullSecrets ?? [];
    return { image: await deploymentImage(namespace, "backend"), nodeName, pullSecrets: pullSecrets.map((secret) => ({ name: secret.name ?? "" })) };
}

async function exec(probe: Probe, args: string[]): Promise<ProbeAnswer> {
    const result = await run("kubectl", ["-n", probe.namespace, "exec", probe.name, "--", "python", "-c", PROBE_SCRIPT, ...args], { timeoutSeconds: 60 });
    const line = result.stdout.trim().split("\n").at(-1) ?? "";
    if (result.status !== 0 || !line.startsWith("{")) throw new Error(`${result.command}: ${(result.stderr || result.stdout).trim()}`);
    return JSON.parse(line) as ProbeAnswer;
}

const connect = (from: Probe, host: string, port: number) => exec(from, ["connect", host, String(port), String(CONNECT_TIMEOUT_SECONDS)]);
const resolve = (from: Probe, name: string) => exec(from, ["resolve", name, String(CONNECT_TIMEOUT_SECONDS)]);

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
            await eventually(30, `probe ${spec.name} listening on ${port}`, async () => ((await connect(spec, address, port)).result === "connected" ? true : undefined));
        }
        started.set(spec.name, pod);
    }
    return started;
}

async function deleteProbes(namespace: string): Promise<void> {
    await run("kubectl", ["-n", namespace, "delete", "pods", "-l", "e2e.todo.test/probe=true", "--ignore-not-found", "--wait=true", "--timeout=60s"], { timeoutSeconds: 90 });
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
 * refuse the same connection within ENFORCEMENT_WAIT_SECONDS. Returns the seconds it took, or
 * undefined when the cluster kept the connection open (it does not enforce policies).
 */
async function enforcementCanary(path: E2ePath, runtime: ProbeRuntime): Promise<number | undefined> {
    const namespace = await makeNamespace("e2e-netpol-canary", "restricted");
    try {
        // The backend's pull Secret lives in the app's namespace only; the image is on the node already.
        const local = { ...runtime, pullSecrets: [] };
        const listener = { name: "listener", namespace, labels: { role: "listener" }, listens: [8080] };
        const client = { name: "client", namespace, labels: { role: "client" } };
        const pods = await startProbes([listener, client], local);
        const address = pods.get("listener")?.status?.podIP ?? "";
        const before = await connect(client, address, 8080);
        path.say(`canary: client -> listener:8080 without a policy: ${before.result} (${before.ms} ms)`);
        if (before.result !== "connected") throw new Error(`the canary cannot connect even without a policy: ${before.result}`);
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
            if (!isAllowed(after)) {
                path.say(`canary: with a deny-all ingress policy: ${after.result} after ${seconds} s`);
                return seconds;
            }
            if (seconds >= ENFORCEMENT_WAIT_SECONDS) {
                path.say(`canary: with a deny-all ingress policy: still ${after.result} after ${seconds} s`);
                return undefined;
            }
        }
    } finally {
        await dropNamespace(namespace);
    }
}

/** The rows of the matrix for SUBJECT, given the probes and the addresses they found. */
function matrixRows(subject: PolicySubject, probes: Record<string, Probe>, addresses: { otherPortBackend: string; outside: string; node: string }): Row[] {
    const database = subject.database();
    const { frontend, backend, migration, postgres, stranger } = probes as Record<"frontend" | "backend" | "migration" | "stranger", Probe> & { postgres?: Probe };
    const dnsName = `kubernetes.default.svc.cluster.local`;
    const dbLabel = database.inCluster ? `postgres:${database.port}` : `the database ${database.host}:${database.port}`;
    const rows: Row[] = [
        { from: "frontend", to: `backend:${BACKEND_PORT} (${subject.backendService})`, expected: "allowed", probe: () => connect(frontend, subject.backendService, BACKEND_PORT) },
        { from: "backend", to: dbLabel, expected: "allowed", probe: () => connect(backend, database.host, database.port) },
        { from: "migration Job", to: dbLabel, expected: "allowed", probe: () => connect(migration, database.host, database.port) },
        { from: "frontend", to: "cluster DNS", expected: "allowed", probe: () => resolve(frontend, dnsName) },
        { from: "backend", to: "cluster DNS", expected: "allowed", probe: () => resolve(backend, dnsName) },
        { from: "migration Job", to: "cluster DNS", expected: "allowed", probe: () => resolve(migration, dnsName) },
        {
            from: "this machine",
            to: `frontend:${FRONTEND_PORT} (${subject.frontendUrl()})`,
            expected: "allowed",
            probe: async () => {
                const started = Date.now();
                const status = await fetch(`${subject.frontendUrl()}/api/health`, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_SECONDS * 1000) }).then((response) => `http ${response.status}`, (error: unknown) => `failed: ${String(error)}`);
                return { result: status, ms: Date.now() - started };
            },
        },
        { from: "frontend", to: dbLabel, expected: "refused", probe: () => connect(frontend, database.host, database.port) },
        { from: "frontend", to: `a backend pod on ${OTHER_PORT}`, expected: "refused", probe: () => connect(frontend, addresses.otherPortBackend, OTHER_PORT) },
        { from: "another namespace", to: `backend:${BACKEND_PORT} (${subject.backendService})`, expected: "refused", probe: () => connect(stranger, subject.backendService, BACKEND_PORT) },
        // The ports the rules open, to a peer they do not name: the peer restriction is what refuses.
        { from: "backend", to: `a host outside the database's addresses, port ${database.port}`, expected: "refused", probe: () => connect(backend, addresses.outside, database.port) },
        { from: "frontend", to: `a pod outside the app, port ${BACKEND_PORT}`, expected: "refused", probe: () => connect(frontend, addresses.outside, BACKEND_PORT) },
        { from: "frontend", to: `a host outside the cluster (the node's address), port ${NODE_PORT}`, expected: "refused", probe: () => connect(frontend, addresses.node, NODE_PORT) },
    ];
    if (postgres) {
        rows.push(
            { from: "another namespace", to: dbLabel, expected: "refused", probe: () => connect(stranger, database.host, database.port) },
            { from: "postgres", to: `a host outside the app, port ${database.port}`, expected: "refused", probe: () => connect(postgres, addresses.outside, database.port) },
            { from: "postgres", to: `backend:${BACKEND_PORT} (${subject.backendService})`, expected: "refused", probe: () => connect(postgres, subject.backendService, BACKEND_PORT) },
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
    path.check("a canary NetworkPolicy is enforced: it refuses a connection allowed a moment before", async () => {
        const seconds = await enforcementCanary(path, await probeRuntime(subject.namespace));
        if (seconds !== undefined) return;
        notEnforced = `the cluster does not enforce NetworkPolicies (a deny-all policy left the canary's connection open for ${ENFORCEMENT_WAIT_SECONDS} s)`;
        if (path.run.target.kind === "offline") throw new Error(`${notEnforced}: is kube-router running? (local-cluster/cluster status)`);
        path.skip(notEnforced);
    }, { timeoutSeconds: 240 });
    path.check("the connectivity matrix: the app's policies allow what it needs and refuse the rest", async () => {
        if (notEnforced !== undefined && path.run.target.kind === "context") path.skip(notEnforced);
        await runMatrix(path, subject);
    }, { timeoutSeconds: 360 });
    path.check("the app works after the matrix: sign up and add a todo through the browser", async () => {
        await signUpAndAddTodo(subject.frontendUrl(), uniqueTitle("After the policy matrix"), path.say);
    });
}

async function runMatrix(path: E2ePath, subject: PolicySubject): Promise<void> {
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
        const rows = matrixRows(
            subject,
            {
                frontend: probe("probe-frontend"),
                backend: probe("probe-backend"),
                migration: probe("probe-migration"),
                stranger: probe("probe-stranger"),
                ...(database.inCluster ? { postgres: probe("probe-postgres") } : {}),
            },
            { otherPortBackend: ip("probe-backend"), outside: ip("listener-outside"), node: pods.get("listener-node")?.status?.hostIP ?? "" },
        );
        const report: { from: string; to: string; expected: Expectation; found: Expectation; result: string; ms: number }[] = [];
        for (const row of rows) {
            const answer = await row.probe();
            const found: Expectation = isAllowed(answer) ? "allowed" : "refused";
            report.push({ from: row.from, to: row.to, expected: row.expected, found, result: answer.result, ms: answer.ms });
            path.say(`${found === row.expected ? "as expected" : "WRONG      "}  ${found.padEnd(7)} (expected ${row.expected.padEnd(7)}) ${String(answer.ms).padStart(5)} ms  ${row.from} -> ${row.to}: ${answer.result}`);
        }
        const seconds = Math.round((Date.now() - started) / 1000);
        path.say(`matrix: ${report.length} rows in ${seconds} s (probe pods included)`);
        const folder = path.run.resultsDir;
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, `${path.name}-network-matrix.json`), JSON.stringify({ namespace, seconds, rows: report }, null, 2));
        const wrong = report.filter((row) => row.found !== row.expected);
        if (wrong.length > 0) throw new Error(`${wrong.length} of ${report.length} connections not as expected: ${wrong.map((row) => `${row.from} -> ${row.to} ${row.found} (${row.result}), expected ${row.expected}`).join("; ")}`);
    } finally {
        await deleteProbes(namespace);
        await dropNamespace(stranger);
        await dropNamespace(outside);
    }
}
