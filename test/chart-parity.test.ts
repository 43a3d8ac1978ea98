// Parity of the two deploy paths. The program (index.ts) runs under mocks twice per stack
// configuration: with `todo:deployMethod: native`, and with `chart`, where it registers a Helm
// release of helm/todo-app plus a few objects of its own. The release's values are rendered
// by the real helm, and the chart's objects plus those few are compared, object by object and
// field by field, with the native run's. Every difference fails the test unless an allowance
// below explains it.
import { type Allowance, applyAllowances, compareManifests, type Difference, type Manifest } from "./chart/compare";
import { ensureHelm, renderChart } from "./chart/render";
import { splitImageRef } from "../components/chart-app";
import { OBJECT_NAMES } from "../components/contract";
import { type CapturedResource, manifests, type ProgramRun, type RunOptions, runProgram, type StackName } from "./harness";
import { checkPolicies } from "../policy/manifest-policies";

const PROD: RunOptions = {
    config: {
        imageRepository: "ghcr.io/acme",
        registryUsername: "acme",
        registryPassword: "ghp_registry-token",
        databaseUrl: "postgresql://alice:n30n-pa55word@ep-cool-name-123456.eu-central-1.aws.neon.tech/todo",
        jwtSecret: "prod-jwt-signing-key-0123456789abcdefghijklmnop",
        imagePullSecret: "true",
        databaseEgressCidrs: JSON.stringify(["3.120.0.0/14", "18.156.0.0/14"]),
    },
    secretKeys: ["registryPassword", "databaseUrl", "jwtSecret"],
};

/** Dev with every optional setting moved off its default. */
const DEV_OPTIONS: RunOptions = {
    config: {
        ingressHost: "todo.example.com",
        ingressClassName: "traefik",
        ingressTlsSecret: "todo-tls",
        corsOrigins: JSON.stringify(["https://todo.example.com"]),
        logLevel: "debug",
        webConcurrency: "3",
        passwordHashConcurrency: "4",
        jwtExpireMinutes: "30",
        frontendServiceType: "LoadBalancer",
        backendMinReplicas: "2",
        backendMaxReplicas: "7",
        cpuTargetUtilization: "60",
        backendCpuLimit: "1500m",
        frontendMemoryLimit: "768Mi",
        postgresStorageSize: "5Gi",
        postgresStorageClass: "standard",
        monitoring: "true",
        prometheusNamespace: "observability",
        prometheusPodSelector: "app.kubernetes.io/name=prometheus,prometheus=k8s",
    },
};

/** Prod as its stack file and the README's `pulumi config set` lines leave it. */
const PROD_MINIMAL: RunOptions = {
    config: {
        imageRepository: "docker.io/alice",
        registryUsername: "alice",
        registryPassword: "dckr_pat_registry-token",
        databaseUrl: "postgresql://alice:n30n-pa55word@ep-cool-name-123456.eu-central-1.aws.neon.tech/todo",
        jwtSecret: "prod-jwt-signing-key-0123456789abcdefghijklmnop",
    },
    secretKeys: ["registryPassword", "databaseUrl", "jwtSecret"],
};

/** Where the chart's values come from: ChartApp (`todo:deployMethod: chart`), or a values file of the chart as a plain helm user installs it. */
type ValuesSource = "ChartApp" | "values-dev.yaml" | "values-prod.yaml";

const SCENARIOS: [string, StackName, RunOptions, ValuesSource][] = [
    ["dev", "dev", {}, "ChartApp"],
    ["prod", "prod", PROD, "ChartApp"],
    ["dev with every option set", "dev", DEV_OPTIONS, "ChartApp"],
    ["helm install -f values-dev.yaml", "dev", {}, "values-dev.yaml"],
    ["helm install -f values-prod.yaml", "prod", PROD_MINIMAL, "values-prod.yaml"],
];

const MIGRATION_JOB = /^Job\/migrate-[0-9a-f]{10}$/;

/**
 * The differences that are right. Each says why; an allowance that no scenario needs fails the
 * last test, so the list cannot rot.
 */
const ALLOWANCES: Allowance[] = [
    // Who manages the object is the point of the two paths: "pulumi" vs "Helm".
    { object: /./, path: /(^|\.)labels\.app\.kubernetes\.io\/managed-by$/, why: "managed-by differs by design" },
    // Helm's conventional chart label, and the app version label, which only the chart sets
    // (the native objects carry no app.kubernetes.io/version).
    { object: /./, path: /(^|\.)labels\.(helm\.sh\/chart|app\.kubernetes\.io\/version)$/, why: "chart-only labels" },
    // The checksum that rolls pods on a configuration change hashes the same data in two
    // encodings (native: JSON of the ConfigMap's data; chart: its rendered YAML).
    { object: /^Deployment\//, path: /^spec\.template\.metadata\.annotations\.checksum\/config$/, why: "config checksum encodings" },
    // A plain helm user's credentials are generated or looked up by the chart, the native
    // path's by Pulumi: different values, so different checksums. ChartApp passes the native one.
    {
        object: /^Deployment\//,
        path: /^spec\.template\.metadata\.annotations\.checksum\/secrets$/,
        why: "secrets checksum of other credentials",
        scenarios: ["helm install -f values-dev.yaml", "helm install -f values-prod.yaml"],
    },
    // The chart's migration Job is a Helm hook (README, "Database migrations"): its annotations,
    // and the namespace's default ServiceAccount, because as a pre-install hook it can run
    // before the chart's ServiceAccount exists. Its environment is compared (see effectiveEnv).
    { object: MIGRATION_JOB, path: /^metadata\.annotations$/, why: "helm hook annotations" },
    { object: MIGRATION_JOB, path: /^spec\.template\.spec\.serviceAccountName$/, why: "hook may run before the ServiceAccount exists" },
    // The native path creates the Job only once the Postgres StatefulSet is ready (dependsOn);
    // Helm does not order a post-install hook after it (without --wait), so the chart's Job
    // waits for the database's port in an init container, bounded to 300 s.
    {
        object: MIGRATION_JOB,
        path: /^spec\.template\.spec\.initContainers$/,
        why: "hook waits for the database itself",
        accepts: (difference) => difference.native === undefined && JSON.stringify((difference.chart as { name: string }[]).map((container) => container.name)) === '["wait-for-database"]',
    },
    // The contract has every pod use the ServiceAccount todo-app; the native Postgres pods use
    // the namespace's default one (components/database.ts sets no serviceAccountName). Neither
    // mounts a token, so both are equally closed; the chart keeps to the contract.
    { object: /^StatefulSet\/postgres$/, path: /^spec\.template\.spec\.serviceAccountName$/, why: "native Postgres pods use the default ServiceAccount" },
    // A plain helm user on values-dev.yaml lets the chart make the app's Secret (ChartApp makes
    // it with Pulumi): Helm's labels on it, and the migration hook's own copy (README).
    { object: /^Secret\/todo-migrate-secrets$/, path: /^$/, why: "migration hook's copy of the chart-made Secret", scenarios: ["helm install -f values-dev.yaml"] },
    // A plain helm user creates the namespace (`--create-namespace`) and labels it for Pod
    // Security Admission as the chart's README and NOTES say; the chart renders no Namespace.
    { object: /^Namespace\/todo-app$/, path: /^$/, why: "namespace made by the operator", scenarios: ["helm install -f values-dev.yaml", "helm install -f values-prod.yaml"] },
    // With values-prod.yaml the operator creates todo-secrets with kubectl before installing
    // (README), so the chart only references it.
    { object: /^Secret\/todo-secrets$/, path: /^$/, why: "prod Secret created beforehand with kubectl", scenarios: ["helm install -f values-prod.yaml"] },
];

/**
 * The migration Job's containers with the environment they get rather than how it is spelt:
 * the native Job reads todo-config with envFrom, the chart's hook has the same settings inlined
 * (at pre-upgrade todo-config still holds the previous revision's), and reads the hook's copy
 * of the app Secret, todo-migrate-secrets, made from the same values.
 */
function effectiveEnv(objects: Manifest[]): Manifest[] {
    const configMap = objects.find((manifest) => manifest.kind === "ConfigMap" && (manifest.metadata as { name?: string } | undefined)?.name === OBJECT_NAMES.configMap);
    const configData = ((configMap as { data?: Record<string, string> } | undefined)?.data ?? {});
    return objects.map((manifest) => {
        if (manifest.kind !== "Job") {
            return manifest;
        }
        const job = structuredClone(manifest) as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
        for (const container of job.spec.template.spec.containers) {
            const fromConfigMap = ((container.envFrom ?? []) as { configMapRef?: unknown }[]).some((source) => source.configMapRef !== undefined)
                ? Object.entries(configData).map(([name, value]) => ({ name, value }))
                : [];
            const env = ((container.env ?? []) as { valueFrom?: { secretKeyRef?: { name: string } } }[]).map((variable) => {
                const ref = variable.valueFrom?.secretKeyRef;
                return ref?.name === "todo-migrate-secrets" ? { ...variable, valueFrom: { secretKeyRef: { ...ref, name: "todo-secrets" } } } : variable;
            });
            container.env = [...fromConfigMap, ...env];
            delete container.envFrom;
        }
        return job;
    });
}

interface ScenarioResult {
    native: ProgramRun;
    /** The program's run in chart mode, when the values come from it. */
    chartRun?: ProgramRun;
    /** What helm rendered. */
    rendered: Manifest[];
    differences: Difference[];
}

const RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";

function releaseOf(run: ProgramRun): CapturedResource {
    const releases = run.resources.filter((resource) => resource.type === RELEASE_TYPE);
    const release = releases[0];
    if (releases.length !== 1 || !release) {
        throw new Error(`the program registered ${String(releases.length)} Helm releases in chart mode`);
    }
    return release;
}

/** The chart's side of a scenario: what helm renders, plus the objects the program creates itself in chart mode. */
async function chartSide(stack: StackName, options: RunOptions, source: ValuesSource, native: ProgramRun): Promise<{ chartRun?: ProgramRun; objects: Manifest[]; rendered: Manifest[] }> {
    const namespace = String(native.outputs.namespace);
    if (source !== "ChartApp") {
        // A plain helm user: the chart's values file, the images passed with --set as the README shows.
        const images = { backend: splitImageRef(String(native.outputs.backendImage)), frontend: splitImageRef(String(native.outputs.frontendImage)) };
        const rendered = renderChart(helm, namespace, [source], { backend: { image: images.backend }, frontend: { image: images.frontend } });
        return { objects: rendered, rendered };
    }
    const chartRun = await runProgram(stack, { ...options, config: { ...options.config, deployMethod: "chart" } });
    const release = releaseOf(chartRun);
    if (release.inputs.namespace !== namespace) {
        throw new Error(`the release installs into ${String(release.inputs.namespace)}, the native path into ${namespace}`);
    }
    const rendered = renderChart(helm, namespace, [], release.inputs.values);
    return { chartRun, objects: [...rendered, ...manifests(chartRun)], rendered };
}

const usedAllowances = new Set<Allowance>();
const results = new Map<string, ScenarioResult>();
let helm = "";

beforeAll(() => {
    // Builds helm on a cold machine (minutes, once); later runs find it in the cache.
    helm = ensureHelm();
}, 20 * 60 * 1000);

describe.each(SCENARIOS)("%s", (scenario, stack, options, source) => {
    beforeAll(async () => {
        const native = await runProgram(stack, options);
        const { chartRun, objects, rendered } = await chartSide(stack, options, source, native);
        // Helm test pods and their NetworkPolicies only exist while `helm test` runs.
        const chart = objects.filter((manifest) => !isTestHook(manifest));
        const allowances = ALLOWANCES.filter((allowance) => !allowance.scenarios || allowance.scenarios.includes(scenario));
        const differences = compareManifests(effectiveEnv(manifests(native)), effectiveEnv(chart));
        results.set(scenario, { native, chartRun, rendered, differences: applyAllowances(differences, allowances, usedAllowances) });
    });

    const result = (): ScenarioResult => {
        const found = results.get(scenario);
        if (!found) {
            throw new Error(`scenario ${scenario} did not run`);
        }
        return found;
    };

    test("the chart renders the native path's objects, with no unexplained difference", () => {
        expect(result().differences).toEqual([]);
    });

    test("the chart's objects pass the project's policy checks (those of the CrossGuard pack too)", () => {
        // The chart, like the config, offers a LoadBalancer Service; the pack refuses it.
        const expected = options.config?.frontendServiceType === "LoadBalancer" ? [expect.stringMatching(/^Service\/frontend: type LoadBalancer is not allowed/)] : [];
        expect(checkPolicies(result().rendered)).toEqual(expected);
    });

    if (source !== "ChartApp") {
        return;
    }
    test("the release is `todo` of helm/todo-app, in the stack's namespace, its secrets secret", () => {
        const chartRun = result().chartRun;
        if (!chartRun) {
            throw new Error("no chart-mode run");
        }
        const release = releaseOf(chartRun);
        expect(release.inputs.name).toBe("todo");
        expect(release.inputs.chart).toMatch(/helm\/todo-app$/);
        const values = release.inputs.values as { database: { inCluster: { enabled: boolean } } };
        expect(isSecret(release.secretPaths, "values.database.inCluster.password")).toBe(values.database.inCluster.enabled);
        const appSecret = chartRun.resources.find((resource) => resource.inputs.kind === "Secret" && resource.inputs.metadata.name === "todo-secrets");
        // Marked secret value by value by the program, as on the native path.
        const nativeSecret = result().native.resources.find((resource) => resource.inputs.kind === "Secret" && resource.inputs.metadata.name === "todo-secrets");
        expect(appSecret?.secretPaths).toEqual(["stringData.DATABASE_URL", "stringData.JWT_SECRET", "stringData.FORWARDED_ADDRESS_SECRET"]);
        expect(appSecret?.secretPaths).toEqual(nativeSecret?.secretPaths);
        // Neither the database URL nor the JWT secret nor the frontend's secret travels in the values.
        const secretTexts = Object.values((appSecret?.inputs.stringData ?? {}) as Record<string, string>);
        expect(secretTexts.length).toBe(3);
        for (const text of secretTexts) {
            expect(JSON.stringify(release.inputs.values)).not.toContain(text);
        }
    });
});

test("on the chart path a changed credential rolls the pods, as on the native path", async () => {
    const podAnnotations = async (jwtSecret: string) => {
        const run = await runProgram("prod", { ...PROD, config: { ...PROD.config, jwtSecret, deployMethod: "chart" } });
        const rendered = renderChart(helm, "todo-app", [], releaseOf(run).inputs.values);
        return (["backend", "frontend"] as const).map((name) => {
            const deployment = rendered.find((manifest) => manifest.kind === "Deployment" && (manifest.metadata as { name: string }).name === name) as { spec: { template: { metadata: { annotations: Record<string, string> } } } };
            return deployment.spec.template.metadata.annotations["checksum/secrets"];
        });
    };
    const before = await podAnnotations("prod-jwt-signing-key-0123456789abcdefghijklmnop");
    const after = await podAnnotations("rotated-jwt-signing-key-0123456789abcdefghijklm");
    expect(before[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
});

test("every allowance is needed by some scenario", () => {
    const unused = ALLOWANCES.filter((allowance) => !usedAllowances.has(allowance)).map((allowance) => allowance.why);
    expect(unused).toEqual([]);
});

/** Whether the value at a path was passed as a secret: the SDK may mark an enclosing value instead. */
function isSecret(secretPaths: string[], at: string): boolean {
    return secretPaths.some((secret) => at === secret || at.startsWith(`${secret}.`) || at.startsWith(`${secret}[`));
}

function isTestHook(manifest: Manifest): boolean {
    const annotations = (manifest.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
    return annotations["helm.sh/hook"] === "test";
}
