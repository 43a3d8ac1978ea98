// Whether the Kubernetes provider reached the cluster of the current kube context. The provider
// finds out once, when it starts, and says nothing of it in a preview: every object is planned
// as a create, and `pulumi up` fails on the first one. Constructing a ConfigGroup is the one
// step it refuses in a preview when the cluster is unreachable, with its own reason
// ("configured Kubernetes cluster is unreachable: ..."). So an empty one goes first, and the
// resources that need the cluster wait for it.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** Pulumi type of the check; it creates nothing in the cluster. */
export const CLUSTER_CHECK_TYPE = "kubernetes:yaml/v2:ConfigGroup";

/** Options that make a resource wait until the Kubernetes provider has reached the cluster. */
export function afterClusterReached(): pulumi.ResourceOptions {
    const check = new k8s.yaml.v2.ConfigGroup("cluster-check", { objs: [] });
    return { dependsOn: [check] };
}
