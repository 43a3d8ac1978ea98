// Todo on Kubernetes: builds the frontend and backend images and deploys the app into the
// cluster of the current kube context. `pulumi up --stack dev` (Minikube) or `--stack prod`.
import * as pulumi from "@pulumi/pulumi";

import { ChartApp } from "./components/chart-app";
import { afterClusterReached, requireMonitoringApi } from "./components/cluster";
import { imagePullPolicy } from "./components/contract";
import { Database } from "./components/database";
import { GeneratedSecret } from "./components/generated-secret";
import { requireSigningTools } from "./components/image-signing";
import { Images } from "./components/images";
import { AppNamespace } from "./components/namespace";
import { NativeApp } from "./components/native-app";
import { loadStackConfig } from "./stacks/config";

// Validates every key before any resource is registered.
const config = loadStackConfig();
// Monitoring is made of the Prometheus operator's kinds: a cluster without them is told in one line.
if (config.monitoring) {
    requireMonitoringApi();
}
// A signing update needs cosign and syft, said before anything is built or pushed; a preview signs
// nothing, so a pull request's preview runs without them.
if (config.images.signing && !pulumi.runtime.isDryRun()) {
    requireSigningTools();
}

// Nothing is planned for a cluster the Kubernetes provider cannot reach. The images need no
// cluster and wait for none: `pulumi up --target` builds them alone (e2e does, to load them
// into its node), which a dependency outside the targets would refuse.
const afterCluster = afterClusterReached();
const images = new Images("images", { settings: config.images });
const namespace = new AppNamespace("namespace", { name: config.namespace }, afterCluster);
// Generated once per stack and kept in its state when the stack sets none (dev).
const jwtSecret = pulumi.secret(config.jwtSecret ?? new GeneratedSecret("jwt-secret", { length: 48 }, afterCluster).value);
// Shared by the frontend and the backend: with it the frontend names each person's address.
const forwardedAddressSecret = pulumi.secret(new GeneratedSecret("forwarded-address-secret", { length: 48 }, afterCluster).value);

// Both paths take the same arguments; the native one also runs the database itself.
const appArgs = { namespace: namespace.name, settings: config, images: { backend: images.backendRef, frontend: images.frontendRef }, jwtSecret, forwardedAddressSecret };

/** Every object as a Pulumi resource (the default). */
function deployNative(): NativeApp {
    const database = new Database("database", { namespace: namespace.name, settings: config.database, imagePullPolicy: imagePullPolicy(config.images) }, afterCluster);
    return new NativeApp("todo", { ...appArgs, database: { url: database.url, ready: database.ready } }, afterCluster);
}

/** The same app as a Helm release of helm/todo-app (helm history, rollback and test work on it). */
function deployChart(): ChartApp {
    return new ChartApp("todo", appArgs, afterCluster);
}

const app = config.deployMethod === "chart" ? deployChart() : deployNative();

const ns = config.namespace;
const { type: serviceType, nodePort } = config.frontendService;

export const stackEnvironment = config.environment;
export const deployMethod = config.deployMethod;
export { ns as namespace };
export const backendImage = images.backendRef;
export const frontendImage = images.frontendRef;
/** With todo:signingKey: each image's signed digest and its SBOM, and the key that verifies both (README: Signed images). */
export const imageSupplyChain = images.supplyChain;
export const signingPublicKey = images.signingPublicKey;
export const migrationJob = app.migrationJobName;
/** Where the app answers: the ingress host, the NodePort on the node's IP (`minikube ip`), or localhost through `commands.portForward`. */
export const frontendUrl = config.ingress
    ? `${config.ingress.tlsSecretName ? "https" : "http"}://${config.ingress.host}`
    : serviceType === "NodePort"
      ? `http://<node-ip>:${nodePort}`
      : "http://localhost:3000";
export const commands = {
    openFrontend: serviceType === "NodePort" ? `minikube service frontend -n ${ns} --url` : `kubectl -n ${ns} port-forward svc/frontend 3000:3000`,
    portForward: `kubectl -n ${ns} port-forward svc/frontend 3000:3000`,
    backendLogs: `kubectl -n ${ns} logs deployment/backend -f`,
    frontendLogs: `kubectl -n ${ns} logs deployment/frontend -f`,
    rolloutStatus: `kubectl -n ${ns} rollout status deployment/backend deployment/frontend`,
    rollback:
        config.deployMethod === "chart"
            ? `helm rollback todo -n ${ns}`
            : `kubectl -n ${ns} rollout undo deployment/backend && kubectl -n ${ns} rollout undo deployment/frontend`,
    pods: `kubectl -n ${ns} get pods,hpa`,
};
