import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { objectLabels } from "./contract";

export const PULL_SECRET_NAME = "registry-credentials";

export interface RegistryCredentials {
    /** Registry host, e.g. docker.io or 127.0.0.1:5000. */
    address: string;
    username: string;
    password: pulumi.Input<string>;
}

/**
 * A Docker config (`config.json`) holding one registry's credentials: the pull Secret's content,
 * and what cosign and syft read. Docker Hub's are keyed by its v1 index URL, every other by host.
 */
export function dockerConfigJson(address: string, username: string, password: string): string {
    const server = address === "docker.io" ? "https://index.docker.io/v1/" : address;
    return JSON.stringify({ auths: { [server]: { username, password, auth: Buffer.from(`${username}:${password}`).toString("base64") } } });
}

/** An image pull Secret (kubernetes.io/dockerconfigjson) for a private registry, its content secret. */
export function imagePullSecret(namespace: pulumi.Input<string>, credentials: RegistryCredentials, parent: pulumi.Resource): k8s.core.v1.Secret {
    const dockerConfig = pulumi.output(credentials.password).apply((password) => dockerConfigJson(credentials.address, credentials.username, password));
    return new k8s.core.v1.Secret(
        "registry-credentials",
        {
            metadata: { name: PULL_SECRET_NAME, namespace, labels: objectLabels("backend") },
            type: "kubernetes.io/dockerconfigjson",
            stringData: { ".dockerconfigjson": pulumi.secret(dockerConfig) },
        },
        { parent, deleteBeforeReplace: true },
    );
}
