// The backend's HPA under a CPU load (logins, argon2, from a frontend pod): at its minimum before,
// above it during, back to it after. The replica count the HPA chose is no change to the program:
// a preview taken as the HPA scales up plans nothing (the state still holds the count of the last
// update), and while the HPA holds it at its maximum, every replica ready, a refresh finds no
// drift, after which a preview and an update plan nothing either. (A refresh taken while a new replica is still starting records an
// initialization error: see deploymentsSettled.)
import { afterAll } from "@jest/globals";

import { eventually, run } from "../../local-cluster/shell";
import { deploymentsSettled, SETTLE_SECONDS } from "./checks";
import { desiredReplicas, kubectl, kubectlJson } from "./kube";
import { Load } from "./loads";
import type { E2ePath } from "./path";

// The load's bound: scaling up, then a preview, a refresh and an update while scaled. It stops
// by itself after this long whatever happens to the suite.
const CPU_LOAD_SECONDS = 600;
const SCALE_UP_SECONDS = 210;

/** Registers the checks; the load runs from the second check to the last. */
export function registerScalingChecks(path: E2ePath, namespace: string): void {
    const downSeconds = path.run.target.hpaDownSeconds;
    let minimum = 0;
    let load: Load | undefined;
    afterAll(async () => {
        await load?.stop();
    });
    const aboveMinimum = async (): Promise<number> => {
        const replicas = await desiredReplicas(namespace, "backend");
        if (replicas <= minimum) throw new Error(`the backend is back at ${replicas} replicas (minimum ${minimum}): the check needs it above`);
        return replicas;
    };

    path.check("before the CPU load the backend runs its HPA's minimum of replicas", async () => {
        const metrics = await run("kubectl", ["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"]);
        if (metrics.status !== 0) throw new Error("the metrics API does not answer: the HPA needs metrics-server (minikube addons enable metrics-server)");
        minimum = (await kubectlJson<{ spec: { minReplicas: number } }>(["-n", namespace, "get", "hpa", "backend"])).spec.minReplicas;
        await eventually(downSeconds, `backend at ${minimum} replicas`, async () => ((await desiredReplicas(namespace, "backend")) === minimum ? true : undefined));
        path.say(`backend: ${await desiredReplicas(namespace, "backend")} replicas, HPA minimum ${minimum}`);
    }, { timeoutSeconds: downSeconds + 60 });

    path.check("under CPU load (logins) the backend scales above its minimum", async () => {
        load = Load.fromFrontendPod("logins", namespace, "cpu", CPU_LOAD_SECONDS, 4);
        const started = Date.now();
        let highest = 0;
        await load.started();
        await path.time("hpa up", () =>
            eventually(SCALE_UP_SECONDS, "the backend scaled above its minimum", async () => {
                highest = Math.max(highest, await desiredReplicas(namespace, "backend"));
                return highest > minimum ? true : undefined;
            }),
        );
        path.say(`HPA: ${(await kubectl(["-n", namespace, "get", "hpa", "backend", "--no-headers"])).trim()}`);
        path.say(`${highest} replicas (minimum ${minimum}) after ${Math.round((Date.now() - started) / 1000)} s of load`);
    }, { timeoutSeconds: SCALE_UP_SECONDS + 90 });

    path.check("as the HPA scales the backend up, pulumi preview plans no change (--expect-no-changes)", async () => {
        path.say(`backend asks ${await aboveMinimum()} replicas`);
        await path.time("preview while scaling", () => path.stack().preview({ expectNoChanges: true }));
    });

    path.check("while the HPA holds the backend at its maximum: refresh finds no drift, then preview and up plan nothing (--expect-no-changes)", async () => {
        // Under the load the HPA climbs to its maximum and stays: a steady count above the minimum.
        const maximum = (await kubectlJson<{ spec: { maxReplicas: number } }>(["-n", namespace, "get", "hpa", "backend"])).spec.maxReplicas;
        await eventually(SCALE_UP_SECONDS, `the backend at its maximum of ${maximum}`, async () => ((await desiredReplicas(namespace, "backend")) === maximum ? true : undefined));
        await deploymentsSettled(path, namespace, "at the maximum");
        path.say(`backend at ${await aboveMinimum()} replicas (maximum ${maximum}), all ready`);
        await path.time("refresh while scaled", () => path.stack().refreshFindsNoDrift());
        await path.time("preview while scaled", () => path.stack().preview({ expectNoChanges: true }));
        await path.time("up while scaled", () => path.stack().up({ expectNoChanges: true }));
        path.say(`backend at ${await aboveMinimum()} replicas after the update`);
    }, { timeoutSeconds: SCALE_UP_SECONDS + SETTLE_SECONDS + 300 });

    path.check("with the load gone the backend scales back to its minimum", async () => {
        path.say(`load logins: ${JSON.stringify(await load?.stop())}`);
        load = undefined;
        await path.time("hpa down", () =>
            eventually(downSeconds, `backend back at ${minimum} replicas`, async () => ((await desiredReplicas(namespace, "backend")) === minimum ? true : undefined)),
        );
    }, { timeoutSeconds: downSeconds + 60 });
}
