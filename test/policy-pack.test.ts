// The CrossGuard pack's policies, run through the pack's test helpers on the dev stack's real
// resources (each must pass) and on a broken copy of one of them (each must fail, naming it).
import { MANIFEST_POLICIES, SET_POLICIES } from "../policy/manifest-policies";
import { policies, runFacts } from "../policy/policies";
import { runResourcePolicy, runStackPolicy, type TestResource } from "../policy/testing";
import { type ProgramRun, runProgram } from "./harness";

let dev: ProgramRun;

beforeAll(async () => {
    dev = await runProgram("dev");
}, 10 * 60 * 1000);

const kubernetesResources = (): TestResource[] => dev.resources.filter((resource) => resource.type.startsWith("kubernetes:")).map(({ type, inputs }) => ({ type, props: inputs }));

/** A copy of the dev stack's object of this kind and name, free to break. */
function object(kind: string, name: string): TestResource {
    const found = kubernetesResources().find((resource) => resource.props.kind === kind && (resource.props.metadata as { name?: string }).name === name);
    if (!found) {
        throw new Error(`the dev stack has no ${kind}/${name}`);
    }
    return structuredClone(found);
}

function policy(name: string): (typeof policies)[number] {
    const found = policies.find((candidate) => candidate.name === name);
    if (!found) {
        throw new Error(`the pack has no policy ${name}`);
    }
    return found;
}

async function violationsOf(name: string, resources: TestResource[]): Promise<string[]> {
    const chosen = policy(name);
    if ("validateStack" in chosen) {
        return runStackPolicy(chosen, resources);
    }
    return (await Promise.all(resources.map((resource) => runResourcePolicy(chosen, resource)))).flat();
}

const podSpec = (resource: TestResource): any => (resource.props as any).spec.template.spec;

test("the pack has one mandatory policy per shared check", () => {
    expect(policies.map((candidate) => candidate.name).sort()).toEqual([...Object.keys(MANIFEST_POLICIES), ...Object.keys(SET_POLICIES)].sort());
    expect(policies.every((candidate) => candidate.enforcementLevel === "mandatory" && candidate.description.length > 20)).toBe(true);
});

test("every policy passes the dev stack's resources", async () => {
    for (const candidate of policies) {
        expect([candidate.name, await violationsOf(candidate.name, kubernetesResources())]).toEqual([candidate.name, []]);
    }
});

test("every policy passes the dev stack's resources with monitoring on (monitors, rules, dashboard, opened policies)", async () => {
    const monitored = await runProgram("dev", { config: { monitoring: "true" } });
    const resources = monitored.resources.filter((resource) => resource.type.startsWith("kubernetes:")).map(({ type, inputs }) => ({ type, props: inputs }));
    expect(resources.filter((resource) => resource.props.kind === "PrometheusRule")).toHaveLength(1);
    for (const candidate of policies) {
        expect([candidate.name, await violationsOf(candidate.name, resources)]).toEqual([candidate.name, []]);
    }
});

test("the pack reads the run from the language host's variables: preview, and whether the stack pushes", () => {
    expect(runFacts({})).toEqual({ preview: false, pushesImages: false });
    expect(runFacts({ PULUMI_NODEJS_DRY_RUN: "true", PULUMI_CONFIG: JSON.stringify({ "todo:pushImages": "true", "todo:environment": "prod" }) })).toEqual({ preview: true, pushesImages: true });
    expect(runFacts({ PULUMI_NODEJS_DRY_RUN: "false", PULUMI_CONFIG: JSON.stringify({ "todo:pushImages": "false" }) })).toEqual({ preview: false, pushesImages: false });
});

test("hpa-owns-replicas reads a live object's replica count by who wrote it", async () => {
    const hpa = object("HorizontalPodAutoscaler", "backend");
    // An update hands stack policies live objects: a replica count is always there, and
    // managedFields say who set it.
    const live = (owners: { manager: string; subresource?: string; ownsReplicas: boolean }[]): TestResource => {
        const deployment = object("Deployment", "backend");
        (deployment.props.spec as { replicas?: number }).replicas = 3;
        (deployment.props.metadata as Record<string, unknown>).managedFields = owners.map(({ manager, subresource, ownsReplicas }) => ({
            manager,
            operation: subresource ? "Update" : "Apply",
            ...(subresource ? { subresource } : {}),
            fieldsV1: { "f:spec": ownsReplicas ? { "f:replicas": {}, "f:selector": {} } : { "f:selector": {} } },
        }));
        return deployment;
    };
    const scaledByTheHpa = live([{ manager: "pulumi-kubernetes-1a2b3c4d", ownsReplicas: false }, { manager: "kube-controller-manager", subresource: "scale", ownsReplicas: true }]);
    expect(await violationsOf("hpa-owns-replicas", [scaledByTheHpa, hpa])).toEqual([]);
    const appliedByTheProgram = live([{ manager: "pulumi-kubernetes-1a2b3c4d", ownsReplicas: true }]);
    expect(await violationsOf("hpa-owns-replicas", [appliedByTheProgram, hpa])).toEqual([
        "Deployment/backend: an HPA owns its replica count, so it must not set spec.replicas",
    ]);
});

test("pinned-images checks the app's image builds by their tags: a content tag, never latest", async () => {
    const build = (tags: string[]): TestResource => ({ type: "docker-build:index:Image", props: { tags } });
    expect(await violationsOf("pinned-images", [build(["127.0.0.1:5001/todo/todo-backend:0123456789ab"])])).toEqual([]);
    expect(await violationsOf("pinned-images", [build(["ghcr.io/acme/todo-frontend:latest"])])).toEqual([
        'image build ghcr.io/acme/todo-frontend: tag "latest" is not a content tag (12 hex digits)',
    ]);
    expect(await violationsOf("restricted-pod-security", [build(["ghcr.io/acme/todo-frontend:latest"])])).toEqual([]);
});

test("resource policies ignore what is not a Kubernetes object (an image build's tags aside)", async () => {
    const image = dev.resources.find((resource) => resource.type === "docker-build:index:Image");
    expect(image).toBeDefined();
    for (const candidate of policies.filter((entry) => "validateResource" in entry)) {
        expect(await violationsOf(candidate.name, [{ type: "docker-build:index:Image", props: { ...image?.inputs, kind: "Pod", spec: {} } }])).toEqual([]);
    }
});

/** Each case: the policy, and a dev object broken so that it must fail it. */
const BROKEN: [string, string, () => TestResource[], RegExp][] = [
    ["restricted-pod-security", "a pod that may run as root", () => {
        const deployment = object("Deployment", "backend");
        delete podSpec(deployment).securityContext.runAsNonRoot;
        return [deployment];
    }, /^Deployment\/backend: pod must set runAsNonRoot: true$/],
    ["restricted-pod-security", "a container that may escalate privileges", () => {
        const deployment = object("Deployment", "backend");
        podSpec(deployment).containers[0].securityContext.allowPrivilegeEscalation = true;
        return [deployment];
    }, /^Deployment\/backend container backend: must set allowPrivilegeEscalation: false$/],
    ["hardened-pods", "a mounted service-account token", () => {
        const deployment = object("Deployment", "frontend");
        podSpec(deployment).automountServiceAccountToken = true;
        return [deployment];
    }, /^Deployment\/frontend: pod must not mount a service-account token$/],
    ["resource-bounds", "a container without limits", () => {
        const deployment = object("Deployment", "backend");
        delete podSpec(deployment).containers[0].resources.limits;
        return [deployment];
    }, /^Deployment\/backend container backend: missing cpu limits$/],
    ["resource-bounds", "a container without an ephemeral-storage request", () => {
        const deployment = object("Deployment", "frontend");
        delete podSpec(deployment).containers[0].resources.requests["ephemeral-storage"];
        return [deployment];
    }, /^Deployment\/frontend container frontend: missing ephemeral-storage requests$/],
    ["pinned-images", "a :latest image", () => {
        const deployment = object("Deployment", "frontend");
        podSpec(deployment).containers[0].image = "todo-frontend:latest";
        return [deployment];
    }, /^Deployment\/frontend container frontend: image "todo-frontend:latest" is not pinned/],
    ["pinned-images", "a local image pulled Always", () => {
        const deployment = object("Deployment", "backend");
        podSpec(deployment).containers[0].imagePullPolicy = "Always";
        return [deployment];
    }, /^Deployment\/backend container backend: imagePullPolicy Always needs an image pinned by digest/],
    ["probed-workloads", "a container without a readiness probe", () => {
        const deployment = object("Deployment", "backend");
        delete podSpec(deployment).containers[0].readinessProbe;
        return [deployment];
    }, /^Deployment\/backend container backend: needs liveness and readiness probes$/],
    ["spread-replicas", "replicas not spread over zones", () => {
        const deployment = object("Deployment", "frontend");
        podSpec(deployment).topologySpreadConstraints = podSpec(deployment).topologySpreadConstraints.filter((constraint: any) => constraint.topologyKey !== "topology.kubernetes.io/zone");
        return [deployment];
    }, /^Deployment\/frontend: must spread replicas across topology.kubernetes.io\/zone$/],
    ["no-load-balancer", "a LoadBalancer Service", () => {
        const service = object("Service", "frontend");
        (service.props as any).spec.type = "LoadBalancer";
        return [service];
    }, /^Service\/frontend: type LoadBalancer is not allowed/],
    ["secrets-in-secrets", "a credential in the ConfigMap", () => {
        const configMap = object("ConfigMap", "todo-config");
        (configMap.props as any).data.JWT_SECRET = "in-plain-sight";
        return [configMap];
    }, /^ConfigMap\/todo-config: JWT_SECRET is a credential; keep it in a Secret$/],
    ["secrets-in-secrets", "a credential as a literal variable", () => {
        const deployment = object("Deployment", "backend");
        podSpec(deployment).containers[0].env.push({ name: "DATABASE_URL", value: "postgresql://u:p@db/todo" });
        return [deployment];
    }, /^Deployment\/backend container backend: DATABASE_URL is a credential given as a literal/],
    ["network-policy-coverage", "a workload no NetworkPolicy selects", () => {
        const stack = kubernetesResources().filter((resource) => resource.props.kind !== "NetworkPolicy");
        return [...stack, object("NetworkPolicy", "backend")];
    }, /^Deployment\/frontend: no NetworkPolicy selects its pods$/],
    ["hpa-owns-replicas", "a replica count the HPA owns", () => {
        const deployment = object("Deployment", "backend");
        (deployment.props as any).spec.replicas = 2;
        return [...kubernetesResources().filter((resource) => resource.props.kind !== "Deployment"), deployment];
    }, /^Deployment\/backend: an HPA owns its replica count, so it must not set spec.replicas$/],
];

test.each(BROKEN)("%s fails %s", async (name, _case, broken, expected) => {
    const violations = await violationsOf(name, broken());
    expect(violations.length).toBeGreaterThan(0);
    expect(violations).toContainEqual(expect.stringMatching(expected));
});

test("every policy has a failing case", () => {
    expect(new Set(BROKEN.map(([name]) => name))).toEqual(new Set(policies.map((candidate) => candidate.name)));
});
