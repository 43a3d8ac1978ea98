// The dev path: the dev stack as checked in (local images, in-cluster Postgres, NodePort), plus
// the settings the target needs (reachable base images, the database image).
import { expect } from "@jest/globals";

import { E2ePath } from "../support/path";
import { signUpAndAddTodo, uniqueTitle } from "../support/browser";
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
import { buildAndLoadImages, imageTargets } from "../support/images";
import { runLoadPlan } from "../support/loadplan";
import { registerMonitoringChecks } from "../support/monitoring";
import { registerNetworkPolicyChecks } from "../support/network-policies";
import { deploymentImage, kubectl } from "../support/kube";
import { type PlannedStep, TestStack } from "../support/stack";
import { POLICY_PACK_NAME, policies } from "../../policy/policies";
import { policyProblems, policyReport } from "../support/workflows";
import { WORKLOAD_FACTS } from "../../components/contract";

const NAMESPACE = "todo-dev";
const NODE_PORT = 30000;

// type::name of every resource the dev stack creates on its first preview: what a user reviews.
const EXPECTED_CREATES = [
    "docker-build:index:Image::backend",
    "docker-build:index:Image::frontend",
    "kubernetes:core/v1:Namespace::namespace",
    "kubernetes:core/v1:Secret::postgres-credentials",
    "kubernetes:core/v1:Service::postgres",
    "kubernetes:apps/v1:StatefulSet::postgres",
    "kubernetes:core/v1:ServiceAccount::service-account",
    "kubernetes:core/v1:ConfigMap::config",
    "kubernetes:core/v1:Secret::secrets",
    "kubernetes:batch/v1:Job::migrate",
    "kubernetes:apps/v1:Deployment::backend",
    "kubernetes:apps/v1:Deployment::frontend",
    "kubernetes:core/v1:Service::backend",
    "kubernetes:core/v1:Service::frontend",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler::backend",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler::frontend",
    "kubernetes:policy/v1:PodDisruptionBudget::backend",
    "kubernetes:policy/v1:PodDisruptionBudget::frontend",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy::default-deny",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy::allow-dns",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy::frontend",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy::backend",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy::postgres",
    "pulumi-nodejs:dynamic/todo:GeneratedSecret::jwt-secret",
    "pulumi-nodejs:dynamic/todo:GeneratedSecret::postgres-password",
];

const path = new E2ePath("dev", 33);
path.namespaces.push(NAMESPACE);
const { target } = path.run;
const { projectDir } = path;
let preview: PlannedStep[] = [];

path.require("its namespace does not exist yet", () => namespacesFree([NAMESPACE]));

path.require("pulumi preview lists the expected creates", async () => {
    path.useStack(await TestStack.create(projectDir, "dev", { ...target.stackSettings, "todo:postgresImage": target.postgresImage, "todo:namespace": NAMESPACE }));
    preview = await path.time("preview", () => path.stack().preview());
    const creates = preview.filter((step) => step.op === "create").map((step) => `${step.type}::${step.name}`);
    path.say(`preview creates ${creates.length} resources`);
    expect(creates).toEqual(expect.arrayContaining(EXPECTED_CREATES));
    expect(imageTargets(preview)).toHaveLength(3);
});

// The project's CrossGuard pack over the dev stack's objects (the prod path runs it as the
// workflows do, and a violation with it).
path.check("pulumi preview --policy-pack policy: every policy runs and passes", async () => {
    const events = await path.time("preview with policies", () => path.stack().previewWithPolicies([`${projectDir}/policy`]));
    const report = policyReport(events, POLICY_PACK_NAME);
    path.say(`packs: ${report.packs.join(" ")}; policies that passed: ${report.passed.size}`);
    expect(report.packs).toHaveLength(1);
    expect(policyProblems(report, policies.map((policy) => policy.name), [])).toEqual([]);
});

path.require("pulumi up builds both images into the local Docker, loaded into the node", () =>
    path.time("build images", () => buildAndLoadImages(path, path.stack())),
);

path.require("pulumi up deploys everything, Deployments ready", () => path.time("up", () => path.stack().up()), { timeoutSeconds: 2400 });

registerNoDriftChecks(path, "the first up", NAMESPACE);

path.check("the migration Job completed", async () => migrationJobCompleted(path, NAMESPACE, await path.stack().output("migrationJob")));

path.check("both Deployments have ready pods", () => deploymentsReady(path, NAMESPACE, 1));

path.check("the images are the local builds named by content, not pushed anywhere", async () => {
    for (const name of WORKLOAD_NAMES) {
        const image = await deploymentImage(NAMESPACE, name);
        path.say(`${name} image: ${image}`);
        expect(image).toMatch(new RegExp(`^todo-${name}:[0-9a-f]{12}$`));
        expect(image).toBe(await path.stack().output(`${name}Image`));
    }
});

path.check("sign up, add a todo and list it through the NodePort", async () => {
    await signUpAndAddTodo(`http://${target.nodeAddress}:${NODE_PORT}`, uniqueTitle("Deployed by Pulumi"), path.say);
});

path.check("the backend's /ready answers 200 inside the cluster, by its Service's DNS name", async () => {
    // From a frontend pod: the NetworkPolicies let only the frontend reach the backend.
    const script = `fetch(process.argv[1]).then(async (r) => { console.log(r.status + " " + (await r.text())); process.exit(r.status === 200 ? 0 : 1); }).catch((e) => { console.error(String(e)); process.exit(1); })`;
    const url = `http://backend.${NAMESPACE}.svc.cluster.local:${WORKLOAD_FACTS.backend.port}/ready`;
    path.say(`${url}: ${(await kubectl(["-n", NAMESPACE, "exec", "deployment/frontend", "--", "node", "-e", script, url])).trim()}`);
});

registerNetworkPolicyChecks(path, {
    namespace: NAMESPACE,
    frontendUrl: () => `http://${target.nodeAddress}:${NODE_PORT}`,
    database: () => ({ host: `postgres.${NAMESPACE}.svc.cluster.local`, port: 5432, inCluster: true }),
    backendService: `backend.${NAMESPACE}.svc.cluster.local`,
});

// The Prometheus checks leave todo:monitoring on: the checks after them hold with it as well.
const monitoring = registerMonitoringChecks(path, { namespace: NAMESPACE, frontendUrl: () => `http://${target.nodeAddress}:${NODE_PORT}` });

// The design's load plan, shortened: the smoke profile's 5 users for 150 s, long enough for
// three faults one after another (each once the app is whole again after the one before, 15 s
// apart). Dev runs one backend replica, so its deletion leaves no pod behind the Service for a
// few seconds; the database's pod is deleted, then its server crashes. The frontend's retries
// (with idempotency keys on writes) must hide all three: every gate, including each fault
// window's own, and not one failed request through the frontend in any window.
const DATABASE_AND_BACKEND_FAULTS = ["backend-pod", "postgres-pod", "postgres-crash"] as const;
path.check("load plan: smoke through a backend pod deletion, a database pod deletion and a database crash passes every gate, with 0 failed through the frontend and no write lost or applied twice", async () => {
    const { summary, reportDir } = await path.time("load plan with three faults", () =>
        runLoadPlan({ rootDir: path.run.rootDir, projectDir, stack: "dev", faults: DATABASE_AND_BACKEND_FAULTS, durationSeconds: 150, reportsDir: `${path.run.resultsDir}/loadplan`, contextName: target.contextName }),
    );
    path.say(`report: ${reportDir}`);
    path.say(`${summary.overall.requests} requests, p95 ${summary.overall.p95_ms} ms, errors ${(summary.overall.error_rate * 100).toFixed(2)} %, ${summary.data_loss.checked ?? "?"} writes read back, ${summary.data_loss.lost ?? "?"} lost, ${summary.data_loss.duplicated ?? "?"} applied twice`);
    for (const figures of summary.faults) {
        path.say(`${figures.kind}: ${JSON.stringify(figures.failed_by_channel)} failed, longest gap ${JSON.stringify(figures.longest_gap_without_success_seconds)} s, ready again after ${figures.time_to_full_readiness_seconds ?? "?"} s`);
    }
    expect(summary.faults.map((figures) => [figures.kind, figures.skipped, figures.failed_by_channel?.frontend ?? 0])).toEqual(DATABASE_AND_BACKEND_FAULTS.map((kind) => [kind, null, 0]));
    expect([summary.data_loss.lost, summary.data_loss.duplicated]).toEqual([0, 0]);
    expect(summary.gates.filter((gate) => !gate.passed)).toEqual([]);
}, { timeoutSeconds: 1200 });

// Last of the monitoring checks: the dashboard's panels over the load plan's ten minutes.
monitoring.dashboardCheck();

path.check("the namespace enforces PSA restricted", () => namespaceEnforcesRestricted(path, NAMESPACE));

path.check("admission refuses a privileged pod and a root pod in the namespace", async () =>
    podSecurityRefuses(path, NAMESPACE, await deploymentImage(NAMESPACE, "frontend")),
);

path.check("every container of every pod (Job and init containers included) runs as non-root", () =>
    everyContainerNonRoot(path, [NAMESPACE], { jobPodExpected: true }),
);

path.check("a second pulumi up changes nothing (--expect-no-changes)", () => path.time("second up", () => path.stack().up({ expectNoChanges: true })));

registerTeardown(path, NAMESPACE);
// After the stack is gone: its monitors need the CRDs until then.
monitoring.teardown();
