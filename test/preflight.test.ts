// The main job's preflight: every branch on a fake machine (commands answered from a table),
// then `npm run up:dev` itself on a machine with nothing on PATH. And the program's own question
// to the cluster with todo:monitoring: does it serve the Prometheus operator's API?
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import * as pulumi from "@pulumi/pulumi";

import { checkMonitoringApi, monitoringApiMissing, requireMonitoringApi } from "../components/cluster";
import { type CommandResult, type SyncRunner, systemSyncRunner } from "../components/commands";
import { DISK_NEEDED, hostRequirements, MEMORY_NEEDED, minimumGoVersion, minimumPulumiVersion, parseDockerEnv, type Preflight, preflightDev, type Probe } from "../launcher/preflight";

/** What `df -Pk` prints for a filesystem with this many KiB available. */
function refused(stderr: string): Partial<CommandResult> {
    return { status: 1, stderr };
}

function dfOutput(availableKib: number): string {
    return `Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/vda         263174212  60000000 ${availableKib}      23% /\n`;
}

const meminfo = (availableKib: number): string => `MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   ${availableKib} kB\n`;

const MINIKUBE_DOCKER_ENV = 'export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp://192.168.49.2:2376"\nexport MINIKUBE_ACTIVE_DOCKERD="minikube"\n';

/** A healthy Minikube machine; each test overrides what it breaks. Keys are command-line prefixes. */
const HEALTHY: Record<string, Partial<CommandResult> | undefined> = {
    "pulumi version": { stdout: `v${minimumPulumiVersion()}\n` },
    "minikube status": { stdout: "Running\n" },
    "minikube docker-env": { stdout: MINIKUBE_DOCKER_ENV },
    "docker version": { stdout: "28.0.4\n" },
    "kubectl config current-context": { stdout: "minikube\n" },
    "kubectl --context minikube --request-timeout=10s get --raw /readyz": { stdout: "ok" },
    "kubectl --context minikube --request-timeout=10s get storageclass": { stdout: "true" },
    "kubectl --context minikube --request-timeout=10s get apiservice": { stdout: "True" },
    // What the project's own cluster needs: every command and file there, the toolchain built,
    // 200 GB free, 20 GB of memory available, no systemd.
    "sh -c command -v": { stdout: "/usr/bin/found\n" },
    "sh -c test -e": {},
    "sh -c test -d /run/systemd/system": refused(""),
    "bash": { stdout: "toolchain: every component is cached in /root/.cache/todo-k8s/toolchain\n" },
    "sh -c dir=": { stdout: dfOutput(200_000_000) },
    "cat /proc/meminfo": { stdout: meminfo(20_000_000) },
    "go version": { stdout: `go version go${minimumGoVersion()} linux/amd64\n` },
};

interface Call {
    line: string;
    env: NodeJS.ProcessEnv;
}

function machine(changes: Record<string, Partial<CommandResult> | undefined> = {}, probe: Partial<Probe> = {}): Probe & { calls: Call[] } {
    const answers = { ...HEALTHY, ...changes };
    const calls: Call[] = [];
    return {
        calls,
        env: { PATH: "/usr/bin" },
        nodeVersion: "24.22.0",
        canRunLocalCluster: false,
        toolchainPulumi: undefined,
        cacheDir: "/root/.cache/todo-k8s",
        ...probe,
        run: (command, args, env) => {
            const line = [command, ...args].join(" ");
            calls.push({ line, env });
            // The longest prefix answers; none (or one set to undefined) is a command not on PATH.
            const key = Object.keys(answers)
                .filter((prefix) => line.startsWith(prefix))
                .sort((a, b) => b.length - a.length)[0];
            const answer = key === undefined ? undefined : answers[key];
            return Promise.resolve(answer ? { status: 0, stdout: "", stderr: "", missing: false, ...answer } : { status: null, stdout: "", stderr: "", missing: true });
        },
    };
}

const missing = undefined;

function expectOneLineEach(found: Preflight): void {
    for (const line of [...found.errors, ...found.notes]) expect(line).not.toContain("\n");
}

describe("npm run up:dev's preflight", () => {
    test("a healthy Minikube: no problem, images go to Minikube's Docker, Pulumi from PATH", async () => {
        const probe = machine();
        const found = await preflightDev(probe);
        expect(found.errors).toEqual([]);
        expect(found.notes).toEqual([]);
        expect(found.pulumi).toBe("pulumi");
        expect(found.target).toEqual({
            kind: "minikube",
            context: "minikube",
            dockerEnv: { DOCKER_TLS_VERIFY: "1", DOCKER_HOST: "tcp://192.168.49.2:2376", MINIKUBE_ACTIVE_DOCKERD: "minikube" },
        });
        // The daemon asked is Minikube's, not the machine's.
        expect(probe.calls.find((call) => call.line.startsWith("docker version"))?.env.DOCKER_HOST).toBe("tcp://192.168.49.2:2376");
    });

    test("an old Node.js is one line naming the version it needs", async () => {
        const found = await preflightDev(machine({}, { nodeVersion: "20.20.2" }));
        expect(found.errors).toEqual(["Node.js 20.20.2 is older than the 22.0.0 the program needs: install Node.js 22 or newer (https://nodejs.org)"]);
    });

    test("no pulumi on PATH: the install command, or the offline toolchain's CLI said in one line", async () => {
        const without = await preflightDev(machine({ "pulumi version": missing }));
        expect(without.errors).toEqual(["no pulumi on PATH: install the Pulumi CLI (curl -fsSL https://get.pulumi.com | sh)"]);
        expect(without.pulumi).toBeUndefined();

        const toolchain = "/cache/toolchain/bin/pulumi";
        const withToolchain = await preflightDev(machine({ "pulumi version": missing }, { toolchainPulumi: toolchain }));
        expect(withToolchain.errors).toEqual([]);
        expect(withToolchain.notes).toEqual([`no pulumi on PATH: using the offline toolchain's (${toolchain})`]);
        expect(withToolchain.pulumi).toBe(toolchain);
    });

    test("a Pulumi CLI older than the tested one is refused with the version it needs", async () => {
        const found = await preflightDev(machine({ "pulumi version": { stdout: "v3.100.0\n" } }));
        expect(found.errors).toEqual([`pulumi 3.100.0 on PATH is older than the ${minimumPulumiVersion()} this program needs: upgrade it (curl -fsSL https://get.pulumi.com | sh)`]);
        expect(found.pulumi).toBeUndefined();
    });

    test("no Minikube and no kube context: the project's own cluster, where it can run; else how to start Minikube", async () => {
        const fresh = { "minikube status": missing, "kubectl config current-context": refused("error: current-context is not set"), "pulumi version": missing };
        const own = await preflightDev(machine(fresh, { canRunLocalCluster: true }));
        expect(own.errors).toEqual([]);
        expect(own.target).toEqual({ kind: "local-cluster", reason: "no minikube on PATH and there is no current kube context" });
        expect(own.notes).toEqual(["no pulumi on PATH: the offline toolchain builds one (local-cluster/toolchain)"]);

        const elsewhere = await preflightDev(machine({ ...fresh, "pulumi version": HEALTHY["pulumi version"] }));
        expect(elsewhere.errors).toEqual([
            "no minikube on PATH and there is no current kube context; the project's own cluster needs Linux and root: start Minikube: minikube start --cpus=4 --memory=4096 && minikube addons enable metrics-server",
        ]);
        expect(elsewhere.target).toBeUndefined();

        const stopped = await preflightDev(machine({ "minikube status": { status: 7, stdout: "Stopped\n" }, "kubectl config current-context": missing }, { canRunLocalCluster: true }));
        expect(stopped.target).toEqual({ kind: "local-cluster", reason: "Minikube is not running and no kubectl on PATH" });
    });

    test("a shared cluster's context is refused unless named on purpose", async () => {
        const shared = {
            "minikube status": missing,
            "kubectl config current-context": { stdout: "prod-eu\n" },
            "kubectl --context prod-eu --request-timeout=5s get --raw /readyz": { stdout: "ok" },
        };
        const refusedContext = await preflightDev(machine(shared));
        expect(refusedContext.errors).toEqual([
            "kube context prod-eu is not a local cluster: dev goes to Minikube or the project's own cluster; to deploy dev there anyway: npm run up:dev -- --context prod-eu",
        ]);
        expect(refusedContext.target).toBeUndefined();

        const named = machine({
            ...shared,
            "kubectl --context prod-eu --request-timeout=10s get --raw /readyz": { stdout: "ok" },
            "kubectl --context prod-eu --request-timeout=10s get storageclass": { stdout: "true" },
            "kubectl --context prod-eu --request-timeout=10s get apiservice": { stdout: "True" },
        });
        const found = await preflightDev(named, { context: "prod-eu" });
        expect(found.errors).toEqual([]);
        expect(found.target).toEqual({ kind: "context", context: "prod-eu" });
    });

    test("the project's own cluster as the current context is deployed as the project's own cluster", async () => {
        const own = machine(
            {
                "minikube status": missing,
                "kubectl config current-context": { stdout: "todo-k8s\n" },
                "kubectl --context todo-k8s --request-timeout=5s get --raw /readyz": { stdout: "ok" },
            },
            { canRunLocalCluster: true },
        );
        expect((await preflightDev(own)).target).toEqual({ kind: "local-cluster", reason: "no minikube on PATH and the current kube context is the project's own cluster" });
    });

    test("a current context whose API does not answer is passed over, with kubectl's reason", async () => {
        const unreachable = {
            "minikube status": missing,
            "kubectl config current-context": { stdout: "kind-dev\n" },
            "kubectl --context kind-dev --request-timeout=5s get --raw /readyz": refused("The connection to the server 127.0.0.1:36443 was refused - did you specify the right host or port?"),
        };
        const reason = "no minikube on PATH and kube context kind-dev does not answer (The connection to the server 127.0.0.1:36443 was refused - did you specify the right host or port?)";
        const own = machine(unreachable, { canRunLocalCluster: true });
        expect((await preflightDev(own)).target).toEqual({ kind: "local-cluster", reason });
        // Nothing more is asked of a cluster that does not answer.
        expect(own.calls.filter((call) => call.line.includes("storageclass"))).toEqual([]);
        expect((await preflightDev(machine(unreachable))).errors).toEqual([
            `${reason}; the project's own cluster needs Linux and root: start Minikube: minikube start --cpus=4 --memory=4096 && minikube addons enable metrics-server`,
        ]);
    });

    test("a named context that does not answer stops the job", async () => {
        const found = await preflightDev(machine({ "kubectl --context kind-x --request-timeout=10s get --raw /readyz": refused("error: context \"kind-x\" does not exist") }), { context: "kind-x" });
        expect(found.errors).toEqual(['kube context kind-x does not answer: error: context "kind-x" does not exist']);
    });

    test("no default StorageClass stops dev (its Postgres claims a volume); no metrics-server only warns", async () => {
        const noClass = await preflightDev(machine({ "kubectl --context minikube --request-timeout=10s get storageclass": { stdout: "" } }));
        expect(noClass.errors).toEqual([
            "kube context minikube has no default StorageClass: dev's Postgres needs one (minikube addons enable default-storageclass storage-provisioner)",
        ]);
        const noMetrics = await preflightDev(machine({ "kubectl --context minikube --request-timeout=10s get apiservice": refused('Error from server (NotFound): apiservices.apiregistration.k8s.io "v1beta1.metrics.k8s.io" not found') }));
        expect(noMetrics.errors).toEqual([]);
        expect(noMetrics.notes).toEqual(["warning: kube context minikube has no metrics-server: the HPAs stay at their minimum (minikube addons enable metrics-server)"]);
    });

    test("the Docker daemon the images are built into must answer", async () => {
        const down = await preflightDev(machine({ "docker version": refused("Cannot connect to the Docker daemon at tcp://192.168.49.2:2376. Is the docker daemon running?") }));
        expect(down.errors).toEqual(["no Docker daemon answers (Cannot connect to the Docker daemon at tcp://192.168.49.2:2376. Is the docker daemon running?): minikube's Docker: minikube start"]);
        const noCli = await preflightDev(machine({ "docker version": missing }));
        expect(noCli.errors).toEqual(["no docker on PATH: the images are built with it (apt-get install docker.io)"]);
    });

    test("several problems are all reported, one line each", async () => {
        const found = await preflightDev(machine({ "pulumi version": missing, "docker version": missing, "kubectl --context minikube --request-timeout=10s get storageclass": { stdout: "" } }, { nodeVersion: "16.0.0" }));
        expect(found.errors).toHaveLength(4);
        expectOneLineEach(found);
    });

    test("minikube docker-env is read as the variables it exports", () => {
        expect(parseDockerEnv(`${MINIKUBE_DOCKER_ENV}\n# To point your shell to minikube's docker-daemon, run:\n# eval $(minikube -p minikube docker-env)\n`)).toEqual({
            DOCKER_TLS_VERIFY: "1",
            DOCKER_HOST: "tcp://192.168.49.2:2376",
            MINIKUBE_ACTIVE_DOCKERD: "minikube",
        });
    });
});

describe("the project's own cluster: what the machine needs, all of it said at once", () => {
    // No Minikube, no context: the project's own cluster, on Linux as root.
    const OWN = { "minikube status": missing, "kubectl config current-context": refused("error: current-context is not set") };
    const own = (changes: Record<string, Partial<CommandResult> | undefined> = {}) => preflightDev(machine({ ...OWN, ...changes }, { canRunLocalCluster: true }));
    const check = (requirement: { kind: string; name: string }) => (requirement.kind === "command" ? `sh -c command -v ${requirement.name} >/dev/null` : `sh -c test -e ${requirement.name}`);

    test("a machine with everything: no problem, and each requirement was asked", async () => {
        const probe = machine(OWN, { canRunLocalCluster: true });
        const found = await preflightDev(probe);
        expect(found.errors).toEqual([]);
        for (const requirement of hostRequirements()) expect(probe.calls.map((call) => call.line)).toContain(check(requirement));
    });

    test.each(hostRequirements().map((requirement) => [requirement.name, requirement] as const))("without %s: one line naming it, what it is for and the package", async (_name, requirement) => {
        // A docker missing from PATH does not answer `docker version` either.
        const found = await own({ [check(requirement)]: refused(""), ...(requirement.name === "docker" ? { "docker version": missing } : {}) });
        expect(found.errors).toEqual([`missing ${requirement.kind === "file" ? `file ${requirement.name}` : requirement.name}, needed for ${requirement.purpose}: apt-get install -y ${requirement.package}`]);
    });

    test("with none of them: every one on its own line, and one command that installs them all", async () => {
        const found = await own({ "sh -c command -v": refused(""), "sh -c test -e": refused("") });
        const requirements = hostRequirements();
        expect(found.errors).toHaveLength(requirements.length);
        expect(found.notes).toContain(`all the missing packages at once: apt-get install -y ${[...new Set(requirements.map((requirement) => requirement.package))].join(" ")}`);
        expectOneLineEach(found);
    });

    test("Go is needed only while the toolchain has something to build, at the version its components need", async () => {
        const toBuild = { bash: { stdout: "toolchain: 2 components to build: cosign-v3.1.3 syft-v1.57.2\n" } };
        const fix = `install Go ${minimumGoVersion()} or newer (https://go.dev/dl; Debian's golang package is older), or with any Go 1.21+: export GOTOOLCHAIN=go${minimumGoVersion()}`;
        expect((await own({ ...toBuild, "go version": missing })).errors).toEqual([`no go on PATH: the toolchain builds the cluster from Go sources: ${fix}`]);
        expect((await own({ ...toBuild, "go version": { stdout: "go version go1.19.8 linux/amd64\n" } })).errors).toEqual([`go 1.19.8 is older than the ${minimumGoVersion()} the toolchain's components need: ${fix}`]);
        expect((await own({ ...toBuild })).errors).toEqual([]);
        expect((await own({ "go version": missing })).errors).toEqual([]);
    });

    test("free disk where the cache lives: what a cold toolchain needs, less once it is built", async () => {
        const kib = (bytes: number) => Math.floor(bytes / 1024);
        const toBuild = { bash: { stdout: "toolchain: 16 components to build: helm pulumi\n" } };
        expect((await own({ ...toBuild, "sh -c dir=": { stdout: dfOutput(kib(20 * 1024 ** 3)) } })).errors).toEqual([
            `20.0 GiB free where /root/.cache/todo-k8s lives; the first run needs ${(DISK_NEEDED.coldToolchain / 1024 ** 3).toFixed(1)} GiB (the toolchain's Go caches among them): free some space, or set TODO_CACHE_DIR to a larger disk`,
        ]);
        expect((await own({ "sh -c dir=": { stdout: dfOutput(kib(20 * 1024 ** 3)) } })).errors).toEqual([]);
        expect((await own({ "sh -c dir=": { stdout: dfOutput(kib(DISK_NEEDED.warmToolchain) - 1) } })).errors).toHaveLength(1);
    });

    test("available memory below what the cluster and the builds need", async () => {
        expect((await own({ "cat /proc/meminfo": { stdout: meminfo(2 * 1024 * 1024) } })).errors).toEqual([
            `2.0 GiB of memory available; the cluster and the toolchain's builds need ${(MEMORY_NEEDED / 1024 ** 3).toFixed(1)} GiB: stop other work, or use a larger machine`,
        ]);
    });

    test("a Docker daemon that does not answer: how to start it with systemd, and without", async () => {
        const down = { "docker version": refused("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?") };
        expect((await own(down)).errors).toEqual([
            "no Docker daemon answers (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?): start the Docker daemon (no systemd here): dockerd > /var/log/dockerd.log 2>&1 &",
        ]);
        expect((await own({ ...down, "sh -c test -d /run/systemd/system": {} })).errors[0]).toMatch(/: start the Docker daemon: systemctl start docker$/);
    });
});

describe("npm run up:dev on a machine with nothing on PATH", () => {
    test("stops before Pulumi with one line per missing thing and exit 1", () => {
        const empty = mkdtempSync(path.join(tmpdir(), "todo-empty-path-"));
        try {
            const tsx = path.join(__dirname, "..", "node_modules", "tsx", "dist", "cli.mjs");
            const result = spawnSync(process.execPath, [tsx, path.join(__dirname, "..", "launcher", "main-job.ts"), "up"], {
                env: { PATH: empty, HOME: empty, TODO_CACHE_DIR: empty },
                encoding: "utf8",
                timeout: 60_000,
            });
            // Where the project's own cluster can run (Linux, root: CI), it would be the target.
            const ownCluster = process.platform === "linux" && process.getuid?.() === 0;
            // With no sh on PATH, every command and file of the cluster's list counts as missing.
            const requirements = hostRequirements();
            expect(result.stderr.trim().split("\n")).toEqual(
                ownCluster
                    ? [
                          "up:dev: no pulumi on PATH: the offline toolchain builds one (local-cluster/toolchain)",
                          `up:dev: all the missing packages at once: apt-get install -y ${[...new Set(requirements.map((requirement) => requirement.package))].join(" ")}`,
                          ...requirements.map((requirement) => `up:dev: missing ${requirement.kind === "file" ? `file ${requirement.name}` : requirement.name}, needed for ${requirement.purpose}: apt-get install -y ${requirement.package}`),
                          `up:dev: no go on PATH: the toolchain builds the cluster from Go sources: install Go ${minimumGoVersion()} or newer (https://go.dev/dl; Debian's golang package is older), or with any Go 1.21+: export GOTOOLCHAIN=go${minimumGoVersion()}`,
                      ]
                    : [
                          "up:dev: no pulumi on PATH: install the Pulumi CLI (curl -fsSL https://get.pulumi.com | sh)",
                          "up:dev: no minikube on PATH and no kubectl on PATH; the project's own cluster needs Linux and root: start Minikube: minikube start --cpus=4 --memory=4096 && minikube addons enable metrics-server",
                      ],
            );
            expect(result.status).toBe(1);
        } finally {
            rmSync(empty, { recursive: true, force: true });
        }
    });
});

describe("todo:monitoring's question to the cluster: is the Prometheus operator's API served?", () => {
    const DISCOVERY = "kubectl --request-timeout=10s get --raw /apis/monitoring.coreos.com/v1";
    const resourceList = (...names: string[]) => JSON.stringify({ kind: "APIResourceList", groupVersion: "monitoring.coreos.com/v1", resources: names.map((name) => ({ name, namespaced: true })) });
    const ALL = resourceList("alertmanagers", "podmonitors", "probes", "prometheuses", "prometheusrules", "servicemonitors", "thanosrulers");

    /** A kubectl that gives one answer, and the command lines it was asked. */
    function kubectl(answer: Partial<CommandResult> | undefined): SyncRunner & { calls: string[] } {
        const calls: string[] = [];
        return Object.assign(
            (command: string, args: string[]): CommandResult => {
                calls.push([command, ...args].join(" "));
                return answer ? { status: 0, stdout: "", stderr: "", missing: false, ...answer } : { status: null, stdout: "", stderr: "", missing: true };
            },
            { calls },
        );
    }

    test("served: kube-prometheus-stack's CRDs answer the discovery of monitoring.coreos.com/v1", () => {
        const served = kubectl({ stdout: ALL });
        expect(checkMonitoringApi(served, undefined)).toEqual({ found: true });
        expect(served.calls).toEqual([DISCOVERY]);
        // The provider's kube context, when the stack names one (kubernetes:context).
        const named = kubectl({ stdout: ALL });
        checkMonitoringApi(named, "kind-dev");
        expect(named.calls).toEqual(["kubectl --context kind-dev --request-timeout=10s get --raw /apis/monitoring.coreos.com/v1"]);
    });

    test("not served: the API server's NotFound means every kind is missing; a partial install names what it lacks", () => {
        expect(checkMonitoringApi(kubectl(refused("Error from server (NotFound): the server could not find the requested resource")), undefined)).toEqual({
            found: false,
            missing: ["servicemonitors", "podmonitors", "prometheusrules"],
        });
        expect(checkMonitoringApi(kubectl({ stdout: resourceList("servicemonitors", "prometheusrules") }), undefined)).toEqual({ found: false, missing: ["podmonitors"] });
    });

    test("no answer to go by: no kubectl, a cluster that does not answer, or something that is no resource list", () => {
        expect(checkMonitoringApi(kubectl(missing), undefined)).toEqual({ found: "unknown", reason: "no kubectl on PATH" });
        expect(checkMonitoringApi(kubectl(refused("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")), undefined)).toEqual({
            found: "unknown",
            reason: "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?",
        });
        expect(checkMonitoringApi(kubectl({ stdout: "<html>proxy login</html>" }), undefined)).toEqual({ found: "unknown", reason: "kubectl printed no API resource list: <html>proxy login</html>" });
    });

    test("the program stops with the one line when the API is missing, warns when it cannot tell, and goes on when it is served", () => {
        expect(() => {
            requireMonitoringApi(kubectl({ stdout: ALL }));
        }).not.toThrow();
        let error: unknown;
        try {
            requireMonitoringApi(kubectl(refused("Error from server (NotFound): the server could not find the requested resource")));
        } catch (thrown) {
            error = thrown;
        }
        expect(pulumi.RunError.isInstance(error)).toBe(true);
        expect((error as Error).message).toBe(monitoringApiMissing(["servicemonitors", "podmonitors", "prometheusrules"]));
        expect((error as Error).message).not.toContain("\n");

        // Without an engine the SDK prints log.warn messages with console.warn.
        const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
        try {
            expect(() => {
                requireMonitoringApi(kubectl(missing));
            }).not.toThrow();
            expect(warn.mock.calls.map((call) => String(call[0]))).toEqual([expect.stringContaining("todo:monitoring: cannot tell whether the cluster serves monitoring.coreos.com/v1 (no kubectl on PATH)")]);
        } finally {
            warn.mockRestore();
        }
    });

    test("the system runner tells a missing command from one that fails, and keeps what it printed", () => {
        const run = systemSyncRunner();
        expect(run("todo-no-such-command", [])).toMatchObject({ status: null, missing: true });
        expect(run("sh", ["-c", "echo out; echo err >&2; exit 3"])).toEqual({ status: 3, stdout: "out\n", stderr: "err\n", missing: false });
    });
});
