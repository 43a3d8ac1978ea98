// Whether the Kubernetes provider reached the cluster of the current kube context. The provider
// finds out once, when it starts, and says nothing of it in a preview: every object is planned
// as a create, and `pulumi up` fails on the first one. Constructing a ConfigGroup is the one
// step it refuses in a preview when the cluster is unreachable, with its own reason
// ("configured Kubernetes cluster is unreachable: ..."). So an empty one goes first, and the
// resources that need the cluster wait for it.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { checkMonitoringApi, MONITORING_API, monitoringApiMissing, type SyncRunner, systemSyncRunner } from "../stacks/preflight";

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
