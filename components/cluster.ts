// Whether the Kubernetes provider reached the cluster of the current kube context. The provider
// finds out once, when it starts, and says nothing of it in a preview: every object is planned
// as a create, and `pulumi up` fails on the first one. Constructing a ConfigGroup is the one
// step it refuses in a preview when the cluster is unreachable, with its own reason
// ("configured Kubernetes cluster is unreachable: ..."). So an empty one goes first, and the
// resources that need the cluster wait for it.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { firstLine, type SyncRunner, systemSyncRunner } from "./commands";

/** Pulumi type of the check; it creates nothing in the cluster. */
export const CLUSTER_CHECK_TYPE = "kubernetes:yaml/v2:ConfigGroup";

/** Options that make a resource wait until the Kubernetes provider has reached the cluster. */
export function afterClusterReached(): pulumi.ResourceOptions {
    const check = new k8s.yaml.v2.ConfigGroup("cluster-check", { objs: [] });
    return { dependsOn: [check] };
}

/**
 * With todo:monitoring: stops the program, before it registers anything, with one line that
 * says so and how to fix it when the cluster does not serve the Prometheus operator's API,
 * instead of a failure deep in the provider (or in Helm, on the chart path). The question goes
 * through kubectl to the kube context the provider uses (`kubernetes:context`, else the current
 * one); when it cannot be answered (no kubectl, no cluster), a warning says so and the program
 * goes on (an unreachable cluster is the cluster check's to report).
 */
export function requireMonitoringApi(run: SyncRunner = systemSyncRunner()): void {
    const answer = checkMonitoringApi(run, new pulumi.Config("kubernetes").get("context"));
    if (answer.found === false) {
        throw new pulumi.RunError(monitoringApiMissing(answer.missing));
    }
    if (answer.found === "unknown") {
        void pulumi.log.warn(`todo:monitoring: cannot tell whether the cluster serves ${MONITORING_API.groupVersion} (${answer.reason}); the monitoring objects need kube-prometheus-stack's CRDs`);
    }
}

/** The Prometheus operator's API (its CRDs), which the monitoring objects of both paths are made of. */
export const MONITORING_API = { groupVersion: "monitoring.coreos.com/v1", resources: ["servicemonitors", "podmonitors", "prometheusrules"] } as const;

/** What the cluster says of the operator's API: served, not served (with what is missing), or no answer to go by. */
export type MonitoringApiCheck = { found: true } | { found: false; missing: string[] } | { found: "unknown"; reason: string };

/** The one line `pulumi preview` and `pulumi up` stop with when todo:monitoring is on and the API is missing. */
export function monitoringApiMissing(missing: string[]): string {
    return (
        `todo:monitoring is true, but the cluster does not serve ${MONITORING_API.groupVersion} ${missing.join(", ")} (the Prometheus operator's CRDs): ` +
        "install kube-prometheus-stack (helm install kube-prometheus-stack prometheus-community/kube-prometheus-stack -n monitoring --create-namespace, README: Monitoring) " +
        "or turn monitoring off (pulumi config set todo:monitoring false)"
    );
}

/**
 * Asks the cluster's discovery (kubectl get --raw /apis/<group>/<version>) for the operator's
 * resources, in the kube context given or the current one. A cluster that does not answer is
 * "unknown": the program's cluster check reports that itself.
 */
export function checkMonitoringApi(run: SyncRunner, context: string | undefined): MonitoringApiCheck {
    const contextArgs = context === undefined ? [] : ["--context", context];
    const answer = run("kubectl", [...contextArgs, "--request-timeout=10s", "get", "--raw", `/apis/${MONITORING_API.groupVersion}`]);
    if (answer.missing) {
        return { found: "unknown", reason: "no kubectl on PATH" };
    }
    if (answer.status !== 0) {
        // What the API server answers for a group it does not serve.
        return /\(NotFound\)/.test(answer.stderr) ? { found: false, missing: [...MONITORING_API.resources] } : { found: "unknown", reason: firstLine(answer) };
    }
    let served: string[];
    try {
        served = ((JSON.parse(answer.stdout) as { resources?: { name?: string }[] }).resources ?? []).map((resource) => resource.name ?? "");
    } catch {
        return { found: "unknown", reason: `kubectl printed no API resource list: ${firstLine(answer)}` };
    }
    const missing = MONITORING_API.resources.filter((resource) => !served.includes(resource));
    return missing.length === 0 ? { found: true } : { found: false, missing };
}
