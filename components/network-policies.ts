// The app's NetworkPolicies on the native path: deny everything, then open DNS, the public face
// of the frontend, frontend -> backend, and backend (and migration) -> database; with monitoring,
// also Prometheus -> the metrics ports.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

import type { DatabaseSettings, MonitoringSettings } from "../stacks/config";
import { APP_NAME, type Component, INSTANCE, objectLabels, selectorLabels, type Workload, WORKLOAD_FACTS } from "./contract";
import { POSTGRES_PORT } from "./database";

type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;

/** The pod-to-pod peers the NetworkPolicies speak of. */
const peer = (...components: Component[]): NetworkPolicyPeer => ({
    podSelector: {
        matchLabels: { "app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": INSTANCE },
        matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: components }],
    },
});

const tcp = (port: number) => ({ protocol: "TCP", port });

type IngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;

/** Prometheus's way in to a workload's metrics port; none without monitoring. */
function scrapeIngress(monitoring: MonitoringSettings | undefined, workload: Workload): IngressRule[] {
    if (!monitoring) {
        return [];
    }
    const { namespace, podLabels } = monitoring.prometheus;
    const prometheus = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } }, podSelector: { matchLabels: podLabels } };
    return [{ from: [prometheus], ports: [tcp(WORKLOAD_FACTS[workload].metrics.port)] }];
}

/** Every policy carries the component label "backend", as on the chart path. */
export function deployNetworkPolicies(namespace: pulumi.Input<string>, database: DatabaseSettings, monitoring: MonitoringSettings | undefined, parent: pulumi.Resource): void {
    const policy = (name: string, spec: k8s.types.input.networking.v1.NetworkPolicySpec) =>
        new k8s.networking.v1.NetworkPolicy(name, { metadata: { name, namespace, labels: objectLabels("backend") }, spec }, { parent, deleteBeforeReplace: true });

    policy("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    policy("allow-dns", {
        podSelector: { matchLabels: { "app.kubernetes.io/name": APP_NAME } },
        policyTypes: ["Egress"],
        egress: [
            {
                to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
                ports: [
                    { protocol: "UDP", port: 53 },
                    { protocol: "TCP", port: 53 },
                ],
            },
        ],
    });
    policy("frontend", {
        podSelector: { matchLabels: selectorLabels("frontend") },
        policyTypes: ["Ingress", "Egress"],
        // The NodePort, an ingress controller or a port-forward: the frontend is the public face.
        ingress: [{ ports: [tcp(WORKLOAD_FACTS.frontend.port)] }, ...scrapeIngress(monitoring, "frontend")],
        egress: [{ to: [peer("backend")], ports: [tcp(WORKLOAD_FACTS.backend.port)] }],
    });
    const databasePeers: NetworkPolicyPeer[] = database.mode === "in-cluster" ? [peer("database")] : database.egressCidrs.map((cidr) => ({ ipBlock: { cidr } }));
    policy("backend", {
        podSelector: peer("backend", "migration").podSelector ?? {},
        policyTypes: ["Ingress", "Egress"],
        ingress: [{ from: [peer("frontend")], ports: [tcp(WORKLOAD_FACTS.backend.port)] }, ...scrapeIngress(monitoring, "backend")],
        egress: [{ to: databasePeers, ports: [tcp(POSTGRES_PORT)] }],
    });
    if (database.mode === "in-cluster") {
        policy("postgres", {
            podSelector: { matchLabels: selectorLabels("database") },
            policyTypes: ["Ingress"],
            ingress: [{ from: [peer("backend", "migration")], ports: [tcp(POSTGRES_PORT)] }],
        });
    }
}
