// Every manifest either stack produces is valid against the Kubernetes OpenAPI schema, strictly
// (offline, with kubeconform: an unknown field is an error), and passes the project's policies.
import { findManifest, manifests, type ProgramRun, runProgram } from "./harness";
import { ensureKubeconform, invalidManifests, type Kubeconform } from "./kubeconform";
import { checkPolicies, MANIFEST_POLICIES, type ManifestCheck, pinnedImages, restrictedPodSecurity, spreadReplicas } from "../policy/manifest-policies";

let kubeconform: Kubeconform;
const runs: Record<string, ProgramRun> = {};

beforeAll(async () => {
    kubeconform = ensureKubeconform();
    runs.dev = await runProgram("dev");
    runs.prod = await runProgram("prod", {
        config: { imageRepository: "ghcr.io/acme", registryUsername: "acme", registryPassword: "ghp_token", databaseUrl: "postgresql://u:p@db.example.com/todo", jwtSecret: "x".repeat(40), imagePullSecret: "true", ingressHost: "todo.example.com" },
        secretKeys: ["registryPassword", "databaseUrl", "jwtSecret"],
    });
}, 10 * 60 * 1000);

describe.each(["dev", "prod"])("%s manifests", (stack) => {
    test("validate strictly against the Kubernetes OpenAPI schema", () => {
        const all = manifests(runs[stack] as ProgramRun);
        expect(all.length).toBeGreaterThan(15);
        expect(invalidManifests(kubeconform, all)).toEqual([]);
    });

    test("pass every policy (restricted pods, hardening, bounds, pinned images, probes)", () => {
        expect(checkPolicies(manifests(runs[stack] as ProgramRun))).toEqual([]);
    });
});

type Deployment = Record<string, any>;

describe("the checks can fail", () => {
    test.each([
        ["a string where an integer belongs", (deployment: Deployment) => (deployment.spec.revisionHistoryLimit = "ten")],
        ["a misspelled Deployment field (spec.replica)", (deployment: Deployment) => (deployment.spec.replica = 2)],
        ["a misspelled probe (readinessProb)", (deployment: Deployment) => (deployment.spec.template.spec.containers[0].readinessProb = {})],
        ["a misspelled security field (runAsNonroot)", (deployment: Deployment) => (deployment.spec.template.spec.securityContext.runAsNonroot = true)],
    ])("schema validation refuses %s", (_case, breakIt) => {
        const deployment = structuredClone<Deployment>(findManifest(runs.dev as ProgramRun, "Deployment", "backend"));
        breakIt(deployment);
        expect(invalidManifests(kubeconform, [deployment])).toEqual([expect.stringMatching(/^Deployment\/backend: statusInvalid /)]);
    });
    test("policies flag a root, privileged pod with a :latest image", () => {
        const bad = {
            kind: "Pod",
            metadata: { name: "bad" },
            spec: { securityContext: { runAsUser: 0 }, containers: [{ name: "app", image: "todo-backend:latest", imagePullPolicy: "Always", securityContext: { privileged: true } }] },
        };
        expect(restrictedPodSecurity(bad)).toEqual([
            "Pod/bad: pod must set runAsNonRoot: true",
            "Pod/bad: pod must not run as UID 0",
            "Pod/bad: pod must use the RuntimeDefault seccomp profile",
            "Pod/bad container app: must set allowPrivilegeEscalation: false",
            "Pod/bad container app: must not be privileged",
            "Pod/bad container app: must drop ALL capabilities",
            "Pod/bad container app: must run as non-root",
        ]);
        expect(pinnedImages(bad)).toEqual([
            'Pod/bad container app: image "todo-backend:latest" is not pinned by tag or digest',
            "Pod/bad container app: imagePullPolicy Always needs an image pinned by digest (a tag may move, a local image cannot be pulled)",
            'Pod/bad container app: the app\'s image "todo-backend:latest" must carry its content tag (12 hex digits)',
        ]);
        expect(checkPolicies([bad]).length).toBeGreaterThan(8);
    });

    test("the app's images carry their content tag; a pushing stack deploys them by digest, checked in an update", () => {
        const pod = (image: string): Record<string, unknown> => ({
            kind: "Pod",
            metadata: { name: "app" },
            spec: { containers: [{ name: "backend", image }] },
        });
        const tagged = "ghcr.io/acme/todo-backend:0123456789ab";
        const pinned = `${tagged}@sha256:${"e".repeat(64)}`;
        const pushing = { preview: false, pushesImages: true };
        expect(pinnedImages(pod(tagged), pushing)).toEqual([
            'Pod/app container backend: the pushed image "ghcr.io/acme/todo-backend:0123456789ab" must be deployed by digest (<repository>:<content tag>@sha256:...)',
        ]);
        expect(pinnedImages(pod(tagged), { ...pushing, preview: true })).toEqual([]);
        expect(pinnedImages(pod(pinned), pushing)).toEqual([]);
        expect(pinnedImages(pod(tagged))).toEqual([]);
        expect(pinnedImages(pod("ghcr.io/acme/todo-backend:v1.2.3"), { ...pushing, preview: true })).toEqual([
            'Pod/app container backend: the app\'s image "ghcr.io/acme/todo-backend:v1.2.3" must carry its content tag (12 hex digits)',
        ]);
        expect(pinnedImages(pod(`${tagged}@sha256:123`), pushing)).toEqual(['Pod/app container backend: image "ghcr.io/acme/todo-backend:0123456789ab@sha256:123" has a malformed digest']);
        // Other images keep the general rule: a tag that is not latest.
        expect(pinnedImages(pod("postgres:16-alpine"), pushing)).toEqual([]);
    });

    test("policies read a compliant object's name only to report a violation (in a preview it may be unknown)", () => {
        const job = structuredClone(manifests(runs.prod as ProgramRun).find((manifest) => manifest.kind === "Job"));
        expect(job).toBeDefined();
        // The migration Job's name comes from its image: unknown in a preview that rebuilds it.
        Object.defineProperty((job as { metadata: object }).metadata, "name", {
            get: () => {
                throw new Error("string value at .metadata.name can't be known during preview");
            },
        });
        const checks = Object.values<ManifestCheck>(MANIFEST_POLICIES);
        expect(checks.flatMap((check) => check(job as Record<string, unknown>, { preview: true, pushesImages: true }))).toEqual([]);
    });

    test("policies check each container, whose settings override the pod's", () => {
        const deployment = structuredClone<Deployment>(findManifest(runs.dev as ProgramRun, "Deployment", "backend"));
        Object.assign(deployment.spec.template.spec.containers[0].securityContext, { runAsNonRoot: false, runAsUser: 0, seccompProfile: { type: "Unconfined" } });
        expect(restrictedPodSecurity(deployment)).toEqual([
            "Deployment/backend container backend: must run as non-root",
            "Deployment/backend container backend: must not run as UID 0",
            "Deployment/backend container backend: seccomp profile Unconfined is not allowed",
        ]);
    });

    test("policies want replicas spread softly over nodes and zones", () => {
        const deployment = structuredClone<Deployment>(findManifest(runs.dev as ProgramRun, "Deployment", "frontend"));
        deployment.spec.template.spec.topologySpreadConstraints = [{ topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule" }];
        expect(spreadReplicas(deployment)).toEqual([
            "Deployment/frontend: must spread replicas across topology.kubernetes.io/zone",
            "Deployment/frontend: spreading across kubernetes.io/hostname must be ScheduleAnyway (a single node must still schedule every replica)",
        ]);
    });
});
