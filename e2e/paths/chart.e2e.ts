// The chart path: the dev stack with `todo:deployMethod chart`, so the app is the Helm release
// of helm/todo-app, installed by Pulumi and checked with the helm CLI.
import { expect } from "@jest/globals";

import { INSTANCE as RELEASE_NAME } from "../../components/contract";
import { type Account, signUpAndAddTodo, uniqueTitle } from "../support/browser";
import {
    ContainerUserWatch,
    deploymentsReady,
    everyContainerNonRoot,
    namespaceEnforcesRestricted,
    namespacesFree,
    podSecurityRefuses,
    registerNoDriftChecks,
    registerTeardown,
} from "../support/checks";
import { inClusterDatabase } from "../support/database";
import { buildAndLoadImages } from "../support/images";
import { deploymentImage } from "../support/kube";
import { E2ePath } from "../support/path";
import { registerNetworkPolicyChecks } from "../support/network-policies";
import { registerRolledBackReleaseWorks, registerRolledForwardReleaseReads, registerRolloutChecks, rollBack, rollForward } from "../support/rollout-checks";
import { output } from "../../local-cluster/shell";
import { TestStack } from "../support/stack";

const NAMESPACE = "todo-chart";
const NODE_PORT = 30001;

const path = new E2ePath("chart", 40);
path.namespaces.push(NAMESPACE);
const { target } = path.run;
const { projectDir } = path;
let account: Account | undefined;
const titleBefore = uniqueTitle("Deployed by Pulumi");
const frontendUrl = `http://${target.nodeAddress}:${NODE_PORT}`;

interface Revision {
    revision: number;
    status: string;
    description: string;
}

const helm = (args: string[], timeoutSeconds = 240): Promise<string> => output("helm", args, { timeoutSeconds });

async function releaseHistory(): Promise<Revision[]> {
    const history = JSON.parse(await helm(["history", RELEASE_NAME, "-n", NAMESPACE, "-o", "json"])) as Revision[];
    for (const entry of history) path.say(`revision ${entry.revision} ${entry.status} ${entry.description}`);
    return history;
}

/** The history has REVISIONS revisions and the last one is deployed. */
async function historyShows(revisions: number): Promise<Revision> {
    const history = await releaseHistory();
    expect(history).toHaveLength(revisions);
    const last = history.at(-1);
    if (!last) throw new Error(`release ${RELEASE_NAME} has no history`);
    expect(last).toMatchObject({ revision: revisions, status: "deployed" });
    return last;
}

path.require("its namespace does not exist yet", () => namespacesFree([NAMESPACE]));

path.require("pulumi up builds both images into the local Docker, loaded into the node", async () => {
    path.useStack(await TestStack.create(projectDir, "chart", {
        ...target.stackSettings,
        "todo:postgresImage": target.postgresImage,
        "todo:deployMethod": "chart",
        "todo:namespace": NAMESPACE,
        "todo:frontendNodePort": String(NODE_PORT),
    }));
    await path.time("build images", () => buildAndLoadImages(path, path.stack()));
});

// The migration hook's pod is gone once it succeeds: its containers' UIDs are read while `up` runs.
const hookPods = new ContainerUserWatch(NAMESPACE);

path.require("pulumi up installs the chart, Deployments ready", () => hookPods.during(() => path.time("up", () => path.stack().up())), { timeoutSeconds: 2400 });

registerNoDriftChecks(path, "the first up", NAMESPACE);

path.check("both Deployments have ready pods", () => deploymentsReady(path, NAMESPACE, 1));

path.check("helm test passes", async () => {
    path.say((await path.time("helm test", () => helm(["test", RELEASE_NAME, "-n", NAMESPACE, "--timeout", "180s"]))).trim());
});

path.check("helm history shows the release, revision 1 deployed", async () => {
    await historyShows(1);
});

path.check("the namespace enforces PSA restricted", () => namespaceEnforcesRestricted(path, NAMESPACE));

path.check("admission refuses a privileged pod and a root pod in the namespace", async () =>
    podSecurityRefuses(path, NAMESPACE, await deploymentImage(NAMESPACE, "frontend")),
);

// The chart's migration Job is a hook deleted once it succeeds (helm.sh/hook-delete-policy): its
// pod (wait-for-database included) was read during `up`.
path.check("every container of every pod (Job and init containers included) runs as non-root", () =>
    everyContainerNonRoot(path, [NAMESPACE], { jobPodExpected: true, watched: hookPods }),
);

path.require("sign up, add a todo and list it through the NodePort", async () => {
    account = await signUpAndAddTodo(frontendUrl, titleBefore, path.say);
});

path.check("a second pulumi up changes nothing (--expect-no-changes)", () => path.time("second up", () => path.stack().up({ expectNoChanges: true })));

registerNetworkPolicyChecks(path, {
    namespace: NAMESPACE,
    frontendUrl: () => frontendUrl,
    database: () => ({ host: `postgres.${NAMESPACE}.svc.cluster.local`, port: 5432, inCluster: true }),
    backendService: `backend.${NAMESPACE}.svc.cluster.local`,
});

const subject = {
    namespace: NAMESPACE,
    database: () => inClusterDatabase(NAMESPACE),
    frontendUrl: () => frontendUrl,
    account: () => {
        if (!account) throw new Error("no account was made");
        return account;
    },
    titleBefore: () => titleBefore,
    buildImages: () => buildAndLoadImages(path, path.stack()),
};
const rollout = registerRolloutChecks(path, subject);

path.check("the rollout is revision 2 of the release", async () => {
    await historyShows(2);
});

path.check("helm rollback restores the previous backend image", async () => {
    await rollBack(path, NAMESPACE, rollout, () => helm(["rollback", RELEASE_NAME, "1", "-n", NAMESPACE, "--wait", "--timeout", "180s"]));
    expect((await historyShows(3)).description).toContain("Rollback to 1");
});

registerRolledBackReleaseWorks(path, subject, rollout);

// Rolling forward again: revision 2's manifest (the new release) re-applied. The chart's migration
// hook runs on install and upgrade only; the column is there since revision 2.
path.check("helm rollback to revision 2 rolls the new backend image forward again", async () => {
    await rollForward(path, NAMESPACE, rollout, () => helm(["rollback", RELEASE_NAME, "2", "-n", NAMESPACE, "--wait", "--timeout", "180s"]));
    expect((await historyShows(4)).description).toContain("Rollback to 2");
});

registerRolledForwardReleaseReads(path, subject, rollout);

registerTeardown(path, NAMESPACE);

path.teardown("no Helm release is left", async () => {
    const releases = (await helm(["list", "-A", "-q", "-a", "--filter", `^${RELEASE_NAME}$`])).trim();
    path.say(`releases named ${RELEASE_NAME}: ${releases || "none"}`);
    expect(releases).toBe("");
});
