// A namespace under the "restricted" Pod Security level and one ConfigMap in it: enough to
// exercise the CLI, the Node.js language host and the Kubernetes provider against the cluster.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const greeting = config.get("greeting") ?? "hello from the offline engine";

const namespace = new k8s.core.v1.Namespace("smoke", {
  metadata: {
    name: "e2e-smoke",
    labels: { "pod-security.kubernetes.io/enforce": "restricted" },
  },
});

const configMap = new k8s.core.v1.ConfigMap("greeting", {
  metadata: { name: "greeting", namespace: namespace.metadata.name },
  data: { greeting },
});

export const configMapName = configMap.metadata.name;
export const namespaceName = namespace.metadata.name;
