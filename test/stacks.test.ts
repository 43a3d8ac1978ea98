// The whole program, once per stack file, with every resource captured: what each stack deploys.
import { GENERATED_SECRET_TYPE } from "../components/generated-secret";
import { type CapturedResource, findManifest, type Inputs, manifests, type ProgramRun, runProgram, UNKNOWN } from "./harness";
import { podSpecOf } from "../policy/manifest-policies";

const NEON_URL = "postgresql://alice:n30n-pa55word@ep-cool-name-123456.eu-central-1.aws.neon.tech/todo";
const JWT = "prod-jwt-signing-key-0123456789abcdefghijklmnop";
const REGISTRY_TOKEN = "dckr_pat_registry-token-value";

/** What a user sets for prod beyond Pulumi.prod.yaml (see its header). */
const PROD_SETTINGS = {
    config: { imageRepository: "docker.io/alice", registryUsername: "alice", registryPassword: REGISTRY_TOKEN, databaseUrl: NEON_URL, jwtSecret: JWT, imagePullSecret: "true" },
    secretKeys: ["registryPassword", "databaseUrl", "jwtSecret"],
};

type Json = Record<string, any>;

/** The credentials a run handles: those of its Secrets (generated ones included), with the passwords inside URLs, and the configured ones. */
function credentialsOf(run: ProgramRun): string[] {
    const inSecrets = run.resources
        .filter((resource) => resource.type === "kubernetes:core/v1:Secret")
        .flatMap((resource) => Object.entries((resource.inputs.stringData ?? {}) as Record<string, string>))
        .filter(([key]) => /PASSWORD|SECRET|URL|dockerconfigjson/.test(key))
        .map(([, value]) => value);
    const urlPasswords = inSecrets.flatMap((value) => value.match(/:\/\/[^:/]+:([^@]+)@/)?.slice(1) ?? []);
    return [...new Set([...inSecrets, ...urlPasswords, REGISTRY_TOKEN, NEON_URL, JWT])];
}

/** Where a credential is an input of some resource without being marked secret there: Kind/name and the path. */
function plainCredentials(run: ProgramRun): string[] {
    const credentials = credentialsOf(run);
    const found: string[] = [];
    const visit = (resource: CapturedResource, value: unknown, at: string): void => {
        if (typeof value === "string") {
            const covered = resource.secretPaths.some((secret) => at === secret || at.startsWith(`${secret}.`) || at.startsWith(`${secret}[`));
            if (!covered && credentials.some((credential) => value.includes(credential))) {
                found.push(`${resource.type} ${resource.name}: ${at}`);
            }
        } else if (Array.isArray(value)) {
            value.forEach((item, index) => { visit(resource, item, `${at}[${String(index)}]`); });
        } else if (value !== null && typeof value === "object") {
            for (const [key, item] of Object.entries(value)) {
                visit(resource, item, at === "" ? key : `${at}.${key}`);
            }
        }
    };
    for (const resource of run.resources) {
        visit(resource, resource.inputs, "");
    }
    return found;
}

const container = (deployment: Inputs): Json => (podSpecOf(deployment)?.containers?.[0] ?? {});
const inventory = (run: ProgramRun): string[] => manifests(run).map((m) => `${String(m.kind)}/${String((m.metadata as Json).name)}`).sort();

let dev: ProgramRun;
let prod: ProgramRun;

beforeAll(async () => {
    dev = await runProgram("dev");
    prod = await runProgram("prod", PROD_SETTINGS);
});

describe.each([
    ["dev", () => dev],
    ["prod", () => prod],
])("%s stack", (_stack, run) => {
    test("backend probes: liveness /health 10/10/5/3, readiness /ready 5/5/3/2, startup /health", () => {
        const backend = container(findManifest(run(), "Deployment", "backend"));
        expect(backend.livenessProbe).toEqual({ httpGet: { path: "/health", port: "http" }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 });
        expect(backend.readinessProbe).toEqual({ httpGet: { path: "/ready", port: "http" }, initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 });
        expect(backend.startupProbe).toEqual({ httpGet: { path: "/health", port: "http" }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 150 });
        // The metrics have a port of their own, which the Service does not carry.
        expect(backend.ports).toEqual([
            { name: "http", containerPort: 8000 },
            { name: "metrics", containerPort: 9464 },
        ]);
    });

    test("frontend probes on /api/health and /api/ready with the same timings", () => {
        const frontend = container(findManifest(run(), "Deployment", "frontend"));
        expect(frontend.livenessProbe).toEqual({ httpGet: { path: "/api/health", port: "http" }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 });
        expect(frontend.readinessProbe).toEqual({ httpGet: { path: "/api/ready", port: "http" }, initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 });
        expect(frontend.startupProbe).toEqual({ httpGet: { path: "/api/health", port: "http" }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 150 });
        // Its request metrics are served on a port of their own (METRICS_PORT).
        expect(frontend.ports).toEqual([
            { name: "http", containerPort: 3000 },
            { name: "metrics", containerPort: 9464 },
        ]);
    });

    test("requests and limits from the seed: backend 200m/256Mi..1000m/1Gi, frontend 100m/128Mi..500m/512Mi; ephemeral storage 64Mi..256Mi", () => {
        expect(container(findManifest(run(), "Deployment", "backend")).resources).toEqual({
            requests: { cpu: "200m", memory: "256Mi", "ephemeral-storage": "64Mi" },
            limits: { cpu: "1000m", memory: "1Gi", "ephemeral-storage": "256Mi" },
        });
        expect(container(findManifest(run(), "Deployment", "frontend")).resources).toEqual({
            requests: { cpu: "100m", memory: "128Mi", "ephemeral-storage": "64Mi" },
            limits: { cpu: "500m", memory: "512Mi", "ephemeral-storage": "256Mi" },
        });
    });

    test("rolling updates drop no request: maxUnavailable 0, a 5 s preStop pause (the backend's drains), no replicas field under an HPA", () => {
        const preStop = {
            backend: { exec: { command: ["python", "-m", "todo_api", "drain", "--seconds", "5"] } },
            frontend: { sleep: { seconds: 5 } },
        };
        for (const name of ["backend", "frontend"] as const) {
            const deployment = findManifest(run(), "Deployment", name);
            expect(deployment.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
            expect(deployment.spec.replicas).toBeUndefined();
            expect(container(deployment).lifecycle).toEqual({ preStop: preStop[name] });
            expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(30);
        }
    });

    test("pods run as UID 10001, non-root, seccomp RuntimeDefault, no token, read-only root, drop ALL", () => {
        for (const name of ["backend", "frontend"]) {
            const pod = podSpecOf(findManifest(run(), "Deployment", name)) as Json;
            expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
            expect(pod.automountServiceAccountToken).toBe(false);
            expect(pod.serviceAccountName).toBe("todo-app");
            expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
        }
        expect((findManifest(run(), "ServiceAccount", "todo-app")).automountServiceAccountToken).toBe(false);
    });

    test("writable paths are emptyDirs of at most 64Mi: /tmp everywhere, the Next.js cache for the frontend", () => {
        expect(container(findManifest(run(), "Deployment", "backend")).volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
        expect(container(findManifest(run(), "Deployment", "frontend")).volumeMounts).toEqual([
            { name: "tmp", mountPath: "/tmp" },
            { name: "next-cache", mountPath: "/app/.next/cache" },
        ]);
        expect((podSpecOf(findManifest(run(), "Deployment", "frontend")) as Json).volumes).toEqual([
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            { name: "next-cache", emptyDir: { sizeLimit: "64Mi" } },
        ]);
        expect((podSpecOf(findManifest(run(), "Deployment", "backend")) as Json).volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }]);
    });

    test("the namespace enforces Pod Security Admission restricted", () => {
        const labels = (findManifest(run(), "Namespace", "todo-app")).metadata.labels;
        for (const mode of ["enforce", "audit", "warn"]) {
            expect(labels[`pod-security.kubernetes.io/${mode}`]).toBe("restricted");
        }
    });

    test("the backend finds its database and JWT key in the Secret, the frontend the backend by DNS", () => {
        const backend = container(findManifest(run(), "Deployment", "backend"));
        const forwarded = { name: "FORWARDED_ADDRESS_SECRET", valueFrom: { secretKeyRef: { name: "todo-secrets", key: "FORWARDED_ADDRESS_SECRET" } } };
        expect(backend.env).toEqual([
            { name: "PASSWORD_HASH_CONCURRENCY", value: "2" },
            { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "todo-secrets", key: "DATABASE_URL" } } },
            { name: "JWT_SECRET", valueFrom: { secretKeyRef: { name: "todo-secrets", key: "JWT_SECRET" } } },
            { name: "METRICS_PORT", value: "9464" },
            forwarded,
        ]);
        // The frontend passes each person's address on to the backend with the secret they share.
        expect(container(findManifest(run(), "Deployment", "frontend")).env).toContainEqual(forwarded);
        const job = manifests(run()).find((m) => m.kind === "Job") as Json;
        expect(JSON.stringify(job)).not.toContain("FORWARDED_ADDRESS_SECRET");
        expect(backend.envFrom).toEqual([{ configMapRef: { name: "todo-config" } }]);
        expect((findManifest(run(), "ConfigMap", "todo-config")).data.BACKEND_URL).toBe("http://backend.todo-app.svc.cluster.local:8000");
        expect(container(findManifest(run(), "Deployment", "frontend")).env).toContainEqual({ name: "BACKEND_URL", valueFrom: { configMapKeyRef: { name: "todo-config", key: "BACKEND_URL" } } });
    });

    test("the backend Service is ClusterIP 8000", () => {
        expect((findManifest(run(), "Service", "backend")).spec).toEqual({
            type: "ClusterIP",
            selector: { "app.kubernetes.io/name": "todo-app", "app.kubernetes.io/instance": "todo", "app.kubernetes.io/component": "backend" },
            ports: [{ name: "http", port: 8000, targetPort: "http" }],
        });
    });

    test("the migration Job runs `python -m todo_api migrate` with the backend image, named after it", () => {
        const job = findManifest(run(), "Job", (manifests(run()).find((m) => m.kind === "Job")?.metadata as Json).name);
        const backendImage = container(findManifest(run(), "Deployment", "backend")).image;
        const migrate = job.spec.template.spec.containers[0];
        expect(job.metadata.name).toMatch(/^migrate-[0-9a-f]{10}$/);
        expect(migrate.command).toEqual(["python", "-m", "todo_api", "migrate"]);
        expect(migrate.image).toBe(backendImage);
        expect(job.spec.template.spec.restartPolicy).toBe("Never");
        expect(job.spec.backoffLimit).toBe(3);
    });

    test("NetworkPolicies: default deny, DNS, frontend -> backend 8000 only", () => {
        expect((findManifest(run(), "NetworkPolicy", "default-deny")).spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        const dns = (findManifest(run(), "NetworkPolicy", "allow-dns")).spec;
        expect(dns.egress[0].ports).toEqual([
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
        ]);
        const frontend = (findManifest(run(), "NetworkPolicy", "frontend")).spec;
        expect(frontend.ingress).toEqual([{ ports: [{ protocol: "TCP", port: 3000 }] }]);
        expect(frontend.egress).toHaveLength(1);
        expect(frontend.egress[0].ports).toEqual([{ protocol: "TCP", port: 8000 }]);
        expect(frontend.egress[0].to[0].podSelector.matchExpressions).toEqual([{ key: "app.kubernetes.io/component", operator: "In", values: ["backend"] }]);
        const backend = (findManifest(run(), "NetworkPolicy", "backend")).spec;
        expect(backend.ingress).toEqual([
            {
                from: [
                    {
                        podSelector: {
                            matchLabels: { "app.kubernetes.io/name": "todo-app", "app.kubernetes.io/instance": "todo" },
                            matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: ["frontend"] }],
                        },
                    },
                ],
                ports: [{ protocol: "TCP", port: 8000 }],
            },
        ]);
    });

    test("every credential is passed as a secret wherever the program puts it", () => {
        expect(plainCredentials(run())).toEqual([]);
    });

    test("no secret value appears in a ConfigMap, an env value, an annotation or a plain export", () => {
        const secretValues = run()
            .resources.filter((resource) => resource.type === "kubernetes:core/v1:Secret")
            .flatMap((resource) => Object.entries((resource.inputs.stringData ?? {}) as Record<string, string>))
            .filter(([key]) => /PASSWORD|SECRET|URL|dockerconfigjson/.test(key))
            .map(([, value]) => value)
            .flatMap((value) => [value, ...(value.match(/:\/\/[^:]+:([^@]+)@/)?.slice(1) ?? [])]);
        expect(secretValues.length).toBeGreaterThanOrEqual(2);
        const exposed = JSON.stringify([
            manifests(run()).filter((m) => m.kind !== "Secret"),
            Object.fromEntries(Object.entries(run().outputs).filter(([name]) => !run().secretOutputs.includes(name))),
        ]);
        for (const value of secretValues) {
            expect(exposed).not.toContain(value);
        }
    });
});

describe("dev stack", () => {
    test("deploys exactly the app, its in-cluster Postgres and its policies", () => {
        const job = manifests(dev).find((m) => m.kind === "Job");
        expect(inventory(dev)).toEqual(
            [
                "ConfigMap/todo-config",
                "Deployment/backend",
                "Deployment/frontend",
                "HorizontalPodAutoscaler/backend",
                "HorizontalPodAutoscaler/frontend",
                `Job/${String((job?.metadata as Json).name)}`,
                "Namespace/todo-app",
                "NetworkPolicy/allow-dns",
                "NetworkPolicy/backend",
                "NetworkPolicy/default-deny",
                "NetworkPolicy/frontend",
                "NetworkPolicy/postgres",
                "PodDisruptionBudget/backend",
                "PodDisruptionBudget/frontend",
                "Secret/postgres-credentials",
                "Secret/todo-secrets",
                "Service/backend",
                "Service/frontend",
                "Service/postgres",
                "ServiceAccount/todo-app",
                "StatefulSet/postgres",
            ].sort(),
        );
    });

    test("images are built into the local Docker, not pushed, and deployed by content tag", () => {
        const builds = dev.resources.filter((resource) => resource.type === "docker-build:index:Image");
        expect(builds.map((build) => build.name).sort()).toEqual(["backend", "frontend"]);
        for (const build of builds) {
            expect(build.inputs.exports).toEqual([{ raw: "type=docker" }]);
            expect(build.inputs.registries).toBeUndefined();
            expect(build.inputs.tags).toEqual([expect.stringMatching(new RegExp(`^todo-${build.name}:[0-9a-f]{12}$`))]);
            const deployed = container(findManifest(dev, "Deployment", build.name));
            expect(deployed.image).toBe((build.inputs.tags as string[])[0]);
            expect(deployed.imagePullPolicy).toBe("IfNotPresent");
        }
        expect(dev.resources.find((r) => r.name === "backend" && r.type === "docker-build:index:Image")?.inputs.buildArgs).toEqual({ PYTHON_IMAGE: "python:3.12-alpine" });
        expect(dev.resources.find((r) => r.name === "frontend" && r.type === "docker-build:index:Image")?.inputs.buildArgs).toEqual({ NODE_IMAGE: "node:24-alpine" });
    });

    test("the frontend is reachable on NodePort 30000", () => {
        expect((findManifest(dev, "Service", "frontend")).spec).toMatchObject({ type: "NodePort", ports: [{ name: "http", port: 3000, targetPort: "http", nodePort: 30000 }] });
        expect(dev.outputs.frontendUrl).toBe("http://<node-ip>:30000");
        expect((dev.outputs.commands as Json).openFrontend).toBe("minikube service frontend -n todo-app --url");
    });

    test("HPAs scale 1..5 on 70 % CPU", () => {
        for (const name of ["backend", "frontend"]) {
            expect((findManifest(dev, "HorizontalPodAutoscaler", name)).spec).toEqual({
                scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
                minReplicas: 1,
                maxReplicas: 5,
                metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
            });
            expect((findManifest(dev, "PodDisruptionBudget", name)).spec.maxUnavailable).toBe(1);
        }
    });

    test("Postgres runs as a StatefulSet with a 1Gi claim, a headless Service and a generated password", () => {
        const statefulSet = findManifest(dev, "StatefulSet", "postgres");
        expect(statefulSet.spec.replicas).toBe(1);
        expect(statefulSet.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } });
        expect(statefulSet.spec.template.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 10002, runAsGroup: 10002, fsGroup: 10002, seccompProfile: { type: "RuntimeDefault" } });
        expect(statefulSet.spec.template.spec.containers[0].resources).toEqual({
            requests: { cpu: "100m", memory: "256Mi", "ephemeral-storage": "64Mi" },
            limits: { cpu: "500m", memory: "1Gi", "ephemeral-storage": "256Mi" },
        });
        expect(statefulSet.spec.template.spec.volumes).toEqual([
            { name: "run", emptyDir: { sizeLimit: "64Mi" } },
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
        ]);
        expect(statefulSet.spec.template.spec.containers[0].imagePullPolicy).toBe("IfNotPresent");
        // Stopped the fast way: a smart shutdown would wait for the pooled connections, then be killed.
        expect(statefulSet.spec.template.spec.containers[0].lifecycle).toEqual({
            preStop: { exec: { command: ["pg_ctl", "stop", "-D", "/var/lib/postgresql/data/pgdata", "-m", "fast", "--no-wait"] } },
        });
        expect(statefulSet.spec.template.spec.containers[0].readinessProbe).toMatchObject({ initialDelaySeconds: 2, periodSeconds: 2 });
        expect((findManifest(dev, "Service", "postgres")).spec.clusterIP).toBe("None");
        const password = dev.resources.find((r) => r.type === GENERATED_SECRET_TYPE && r.name === "postgres-password");
        expect(password?.inputs).toMatchObject({ length: 32 });
        const credentials = (findManifest(dev, "Secret", "postgres-credentials")).stringData;
        const url = new URL((findManifest(dev, "Secret", "todo-secrets")).stringData.DATABASE_URL);
        expect(url.host).toBe("postgres.todo-app.svc.cluster.local:5432");
        expect(url.password).toBe(credentials.POSTGRES_PASSWORD);
    });

    test("backend egress reaches only the in-cluster Postgres, which admits only backend and migration", () => {
        const backend = (findManifest(dev, "NetworkPolicy", "backend")).spec;
        expect(backend.egress).toEqual([
            {
                to: [
                    {
                        podSelector: {
                            matchLabels: { "app.kubernetes.io/name": "todo-app", "app.kubernetes.io/instance": "todo" },
                            matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: ["database"] }],
                        },
                    },
                ],
                ports: [{ protocol: "TCP", port: 5432 }],
            },
        ]);
        const postgres = (findManifest(dev, "NetworkPolicy", "postgres")).spec;
        expect(postgres.ingress[0].from[0].podSelector.matchExpressions[0].values).toEqual(["backend", "migration"]);
    });

    test("the JWT key is generated once and kept in state (48 characters)", () => {
        expect(dev.resources.find((r) => r.name === "jwt-secret")?.inputs).toMatchObject({ length: 48 });
        expect((findManifest(dev, "Secret", "todo-secrets")).stringData.JWT_SECRET).toHaveLength(48);
    });
});

describe("prod stack", () => {
    test("deploys no database and no Ingress by default; adds the pull secret", () => {
        const kinds = inventory(prod);
        expect(kinds.filter((k) => k.includes("postgres"))).toEqual([]);
        expect(kinds).toContain("Secret/registry-credentials");
        expect(kinds.filter((k) => k.startsWith("Ingress/"))).toEqual([]);
    });

    test("images are pushed to the registry with a build cache and deployed by tag@digest", () => {
        const builds = prod.resources.filter((resource) => resource.type === "docker-build:index:Image");
        for (const build of builds) {
            const repository = `docker.io/alice/todo-${build.name}`;
            expect(build.inputs.exports).toEqual([{ raw: "type=registry" }]);
            expect(build.inputs.tags).toEqual([expect.stringMatching(new RegExp(`^${repository}:[0-9a-f]{12}$`))]);
            expect(build.inputs.registries).toEqual([{ address: "docker.io", username: "alice", password: REGISTRY_TOKEN }]);
            expect(build.inputs.cacheFrom).toEqual([{ registry: { ref: `${repository}:buildcache` } }]);
            expect(build.inputs.cacheTo).toEqual([{ registry: { ref: `${repository}:buildcache`, mode: "max", imageManifest: true, ociMediaTypes: true } }]);
            const deployment = findManifest(prod, "Deployment", build.name);
            expect(container(deployment).image).toMatch(new RegExp(`^${repository}:[0-9a-f]{12}@sha256:[0-9a-f]{64}$`));
            expect(deployment.spec.template.spec.imagePullSecrets).toEqual([{ name: "registry-credentials" }]);
            // Pinned by digest, so Always costs a manifest check and re-checks the pull credentials.
            expect(container(deployment).imagePullPolicy).toBe("Always");
        }
        expect(findManifest(prod, "Job", String(prod.outputs.migrationJob)).spec.template.spec.containers[0].imagePullPolicy).toBe("Always");
        expect(prod.outputs.backendImage).toMatch(/@sha256:/);
    });

    test("the pull secret is a dockerconfigjson for Docker Hub's index", () => {
        const secret = findManifest(prod, "Secret", "registry-credentials");
        expect(secret.type).toBe("kubernetes.io/dockerconfigjson");
        const config = JSON.parse(secret.stringData[".dockerconfigjson"]) as Json;
        expect(config.auths["https://index.docker.io/v1/"]).toEqual({ username: "alice", password: REGISTRY_TOKEN, auth: Buffer.from(`alice:${REGISTRY_TOKEN}`).toString("base64") });
    });

    test("HPAs keep 2..5 replicas; the frontend Service is ClusterIP", () => {
        for (const name of ["backend", "frontend"]) {
            expect((findManifest(prod, "HorizontalPodAutoscaler", name)).spec).toMatchObject({ minReplicas: 2, maxReplicas: 5 });
        }
        const frontend = (findManifest(prod, "Service", "frontend")).spec;
        expect(frontend.type).toBe("ClusterIP");
        expect(frontend.ports[0].nodePort).toBeUndefined();
    });

    test("the Neon URL reaches the Secret with sslmode=require, and backend egress goes to the configured CIDRs", () => {
        expect((findManifest(prod, "Secret", "todo-secrets")).stringData).toEqual({
            DATABASE_URL: `${NEON_URL}?sslmode=require`,
            JWT_SECRET: JWT,
            FORWARDED_ADDRESS_SECRET: expect.stringMatching(/^.{32,}$/),
        });
        expect((findManifest(prod, "NetworkPolicy", "backend")).spec.egress).toEqual([{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 5432 }] }]);
        // Only the frontend-to-backend secret is generated: prod sets the JWT key itself.
        expect(prod.resources.filter((r) => r.type === GENERATED_SECRET_TYPE).map((r) => r.name)).toEqual(["forwarded-address-secret"]);
    });

    test("two uvicorn workers per pod in prod", () => {
        expect((findManifest(prod, "ConfigMap", "todo-config")).data).toEqual({
            BACKEND_URL: "http://backend.todo-app.svc.cluster.local:8000",
            LOG_LEVEL: "info",
            API_DOCS: "false",
            CORS_ORIGINS: "",
            WEB_CONCURRENCY: "2",
            JWT_EXPIRE_MINUTES: "60",
            DB_POOL_SIZE: "5",
        });
    });

    test("the backend's API docs are off unless todo:apiDocs turns them on", async () => {
        expect(findManifest(dev, "ConfigMap", "todo-config").data.API_DOCS).toBe("false");
        expect(findManifest(prod, "ConfigMap", "todo-config").data.API_DOCS).toBe("false");
        const documented = await runProgram("dev", { config: { apiDocs: "true" } });
        expect(findManifest(documented, "ConfigMap", "todo-config").data.API_DOCS).toBe("true");
    });

    test("todo:passwordHashConcurrency sizes the backend's hashing pool", async () => {
        const run = await runProgram("prod", { ...PROD_SETTINGS, config: { ...PROD_SETTINGS.config, passwordHashConcurrency: "3" } });
        for (const [kind, name] of [["Deployment", "backend"], ["Job", String(run.outputs.migrationJob)]] as const) {
            expect(findManifest(run, kind, name).spec.template.spec.containers[0].env).toContainEqual({ name: "PASSWORD_HASH_CONCURRENCY", value: "3" });
        }
    });

    test("an ingress host adds an Ingress to the frontend, with TLS when a secret is named", async () => {
        const run = await runProgram("prod", { ...PROD_SETTINGS, config: { ...PROD_SETTINGS.config, ingressHost: "todo.example.com", ingressTlsSecret: "todo-tls" } });
        expect((findManifest(run, "Ingress", "todo")).spec).toEqual({
            ingressClassName: "nginx",
            tls: [{ hosts: ["todo.example.com"], secretName: "todo-tls" }],
            rules: [{ host: "todo.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "frontend", port: { name: "http" } } } }] } }],
        });
        expect(run.outputs.frontendUrl).toBe("https://todo.example.com");
    });
});

describe("stability across runs", () => {
    test("a second run with no code change registers the same images and manifests", async () => {
        const again = await runProgram("dev");
        expect(manifests(again)).toEqual(manifests(dev));
    });

    test("a preview knows the exact dev image tags (nothing deployed shows as unknown)", async () => {
        const preview = await runProgram("dev", { preview: true });
        for (const name of ["backend", "frontend"]) {
            expect(container(findManifest(preview, "Deployment", name)).image).toBe(container(findManifest(dev, "Deployment", name)).image);
        }
        expect(preview.outputs.migrationJob).toBe(dev.outputs.migrationJob);
    });

    test("in a prod preview the pushed images' digests are unknown, as the engine leaves them", async () => {
        const preview = await runProgram("prod", { ...PROD_SETTINGS, preview: true });
        expect(container(findManifest(preview, "Deployment", "backend")).image).toBe(UNKNOWN);
        expect(preview.outputs.backendImage).toBe(UNKNOWN);
    });
});

describe("chart deploy method", () => {
    test.each([
        ["dev", {}],
        ["prod", PROD_SETTINGS],
    ] as const)("%s: every credential is passed as a secret wherever the program puts it", async (stack, settings) => {
        const run = await runProgram(stack, { ...settings, config: { ...("config" in settings ? settings.config : {}), deployMethod: "chart" } });
        expect(plainCredentials(run)).toEqual([]);
    });

    test("deploys one Helm release of helm/todo-app instead of native workloads, rolled back with helm", async () => {
        const run = await runProgram("dev", { config: { deployMethod: "chart" } });
        const releases = run.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release");
        expect(releases).toHaveLength(1);
        expect(releases[0]?.inputs).toMatchObject({ name: "todo", namespace: "todo-app", atomic: true });
        expect(String(releases[0]?.inputs.chart)).toMatch(/helm\/todo-app$/);
        expect(manifests(run).filter((m) => m.kind === "Deployment" || m.kind === "StatefulSet")).toEqual([]);
        expect(inventory(run)).toEqual(["Namespace/todo-app", "Secret/todo-secrets"]);
        expect((run.outputs.commands as Json).rollback).toBe("helm rollback todo -n todo-app");
    });
});
